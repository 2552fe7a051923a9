"""Tone by learner kind (§4.2): students get encouragement and patience, professionals directness,
self-learners something in between. The words change, never the teaching rules."""

from __future__ import annotations

PRAISE = {
    "student": "Well done — that's exactly the kind of thinking that makes it stick!",
    "professional": "Correct.",
    "self_learner": "Nice work.",
}
OPEN_QUESTION = {
    "student": "Good question! Let's work it out together.",
    "professional": "",
    "self_learner": "Let's think it through.",
}
ENCOURAGE = {
    "student": "Being stuck is part of learning, and you're closer than it feels. Let's take one small step.",
    "professional": "Let's narrow it down to one small step.",
    "self_learner": "This one is tricky; that's normal. Let's take a smaller step.",
}


def pick(table: dict[str, str], learner_kind: str | None) -> str:
    return table.get(learner_kind or "self_learner", table["self_learner"])


def join(*parts: str | None) -> str:
    """Paragraphs of a reply, skipping empty ones."""
    return "\n\n".join(p.strip() for p in parts if p and p.strip())
