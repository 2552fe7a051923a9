"""The Assessor agent (§5.2): adaptive questions, feedback, and the skill estimates.

Adaptive selection: every candidate item's skills have an estimate from the learner model (its
probability of a correct answer: sidecar/learner_model); the next item is the one whose predicted
success is closest to 60 % (informative, not demoralising), skipping skills already mastered. The
onboarding skill check uses the same loop per module: a correct first answer skips the module's
second item; two misses in a row in one module end the check early, since later modules build on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sidecar.agents.memory import mastery
from sidecar.agents.policy import socratic, tone
from sidecar.agents.policy.turn import Reply, Turn, cite
from sidecar.grading.service import is_correct
from sidecar.learner_model import online as learner_model

TARGET_SUCCESS = 0.6
KNOWN = 0.59  # an estimate (predicted success) from which a skill counts as known (0.6 minus rounding)
MAX_ITEMS = 12


@dataclass(frozen=True)
class Step:
    item: dict[str, Any] | None  # the next question (public fields only), or None when done
    feedback: list[dict[str, Any]]  # per answered item: id, correct, explanation
    estimates: dict[str, float]
    known_skills: list[str]
    done: bool


def public_item(item: dict[str, Any]) -> dict[str, Any]:
    """What the learner may see: never the answer, the accepted variants or the explanation."""
    choices = item.get("choices")
    return {"id": item["id"], "kind": item["kind"], "prompt": item["prompt"], "code": item.get("code"),
            "choices": json.loads(choices) if isinstance(choices, str) else choices,
            "skills": json.loads(item["skills"]) if isinstance(item["skills"], str) else item["skills"]}


def _skills(item: dict[str, Any]) -> list[str]:
    return json.loads(item["skills"]) if isinstance(item["skills"], str) else list(item["skills"])


def fold(estimates: dict[str, float], item: dict[str, Any], correct: bool,
         tracker: learner_model.Tracker) -> dict[str, float]:
    """The estimates after one answer: the learner model observes it on each of the item's skills (the
    overall success rate moves every skill's estimate, so all of the tracker's skills come back)."""
    for skill in dict.fromkeys(_skills(item)):
        tracker.observe(skill, correct)
    return {**estimates, **tracker.estimates()}


def adaptive_step(items: list[dict[str, Any]], answers: dict[str, Any], *, onboarding: bool,
                  prior: dict[str, float] | None = None, fold_answers: bool = True,
                  tracker: learner_model.Tracker | None = None) -> Step:
    """Grade the answers given so far and choose the next item (or finish). Stateless: the
    client sends every answer of this check again, so a retried request changes nothing.
    `fold_answers=False` when `prior` already contains these answers (they were stored).
    `tracker` is the learner's state under the learner model (default: no history, bundled parameters);
    answers are folded into it, and skills without an estimate get its prediction."""
    by_id = {item["id"]: item for item in items}
    tracker = tracker or learner_model.Tracker(learner_model.params())
    estimates = dict(prior or {})
    feedback: list[dict[str, Any]] = []
    missed_in_module: dict[str, int] = {}
    stop = False
    for item_id, answer in answers.items():
        item = by_id.get(item_id)
        if item is None:
            continue
        ok = is_correct(item, answer)
        if fold_answers:
            estimates = fold(estimates, item, ok, tracker)
        feedback.append({"item_id": item_id, "correct": ok, "explanation": item.get("explanation_html") or
                         item.get("explanation", "")})
        module = item.get("module_id", "")
        missed_in_module[module] = 0 if ok else missed_in_module.get(module, 0) + 1
        if onboarding and missed_in_module[module] >= 2:
            stop = True
    if onboarding:
        # The check asks each module's skills once or twice: a skill is known when every answer on
        # it was right (as the fixed check decided), not when one answer lifted a BKT estimate.
        results: dict[str, list[bool]] = {}
        for fb in feedback:
            for skill in _skills(by_id[fb["item_id"]]):
                results.setdefault(skill, []).append(fb["correct"])
        known = sorted(s for s, oks in results.items() if all(oks))
    else:
        known = sorted(s for s, p in estimates.items() if p >= KNOWN)
    if stop or len(answers) >= MAX_ITEMS:
        return Step(item=None, feedback=feedback, estimates=estimates, known_skills=known, done=True)
    remaining = [i for i in items if i["id"] not in answers]
    if onboarding:
        # Module by module: the first unanswered item of a module not yet shown to be known.
        for item in remaining:
            module_items = [i for i in items if i.get("module_id") == item.get("module_id")]
            answered = [i for i in module_items if i["id"] in answers]
            if answered and all(is_correct(i, answers[i["id"]]) for i in answered):
                continue  # the module's first answer was right: skip its other items
            return Step(item=public_item(item), feedback=feedback, estimates=estimates, known_skills=known,
                        done=False)
        return Step(item=None, feedback=feedback, estimates=estimates, known_skills=known, done=True)

    def estimate(skill: str) -> float:
        return estimates[skill] if skill in estimates else tracker.estimate(skill)

    candidates = [i for i in remaining if not all(estimate(s) >= mastery.MASTERED for s in _skills(i))]
    if not candidates:
        return Step(item=None, feedback=feedback, estimates=estimates, known_skills=known, done=True)

    def distance(item: dict[str, Any]) -> float:
        skills = _skills(item) or [""]
        chance = sum(estimate(s) for s in skills) / len(skills)  # the model's estimate is P(correct)
        return abs(chance - TARGET_SUCCESS)

    best = min(candidates, key=distance)
    return Step(item=public_item(best), feedback=feedback, estimates=estimates, known_skills=known, done=False)


def challenge_respond(turn: Turn) -> Reply:
    """Challenges get minimal help (§6.3): the hint ladder only, at the cost of the bonus."""
    from sidecar.agents.policy.tutor import reply_hint

    if turn.intent == "hint":
        reply = reply_hint(turn)
        reply.agent = "assessor"
        return reply
    # Minimal help still reads an error out plainly: which line Python stopped on, and why (what the
    # test output says anyway), never what to change.
    failing = socratic.failing_test(turn)
    error = socratic.describe_error(str(failing.get("message", "") or "")) if failing and not failing.get("hidden") \
        else None
    text = tone.join("This is a timed challenge, so I only give **Hint**s (each one cancels the no-hints bonus). "
                     "You can do this: read the task once more and start with the simplest case.",
                     error, "Which line would you check first?" if error else None,
                     socratic.checkin_question(turn) if turn.events.get("checkin") else None)
    return Reply(text=text, agent="assessor", mode="minimal", citations=cite(turn.passages, limit=1))
