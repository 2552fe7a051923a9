"""The Mentor agent's offline policy (§5.2): progress and goals, encouragement during struggle,
skills-to-career connections, and a weekly reflection prompt.

Works from the learner's real numbers (progress, XP, streak, skill estimates, onboarding goals)
that the orchestrator gathers through those domains' services.
"""

from __future__ import annotations

from typing import Any

from sidecar.agents.memory import mastery
from sidecar.agents.policy import tone
from sidecar.agents.policy.turn import Reply, Turn, cite, read_more

REFLECTION_QUESTIONS = (
    "What is one thing you can do now that you couldn't do a week ago?",
    "Which moment this week was hardest, and what got you through it?",
    "What will you try next week, and when will you make time for it?",
)


def _skills_line(skills: dict[str, float]) -> str:
    if not skills:
        return "Once you've had a few exercises graded, I'll be able to tell which skills are solid."
    strong = [s for s, p in sorted(skills.items(), key=lambda kv: -kv[1]) if mastery.level(p) == "mastered"][:3]
    weak = [s for s, p in sorted(skills.items(), key=lambda kv: kv[1]) if mastery.level(p) == "struggling"][:3]
    parts = []
    if strong:
        parts.append("Solid: " + ", ".join(f"`{s}`" for s in strong) + ".")
    if weak:
        parts.append("Worth another round of practice: " + ", ".join(f"`{s}`" for s in weak) + ".")
    return " ".join(parts) or "Your skills are all in the 'learning' zone: keep practising and they'll firm up."


def _progress_line(summary: dict[str, Any]) -> str:
    courses = [c for c in summary.get("courses", []) if c["completed_lessons"]]
    lines = [f"- **{c['title']}**: {c['completed_lessons']} of {c['total_lessons']} lessons ({c['percent']:.0f}%)"
             for c in courses[:3]]
    head = []
    if summary.get("xp") is not None:
        head.append(f"You have **{summary['xp']} XP** (level {summary['level']}, *{summary['level_title']}*)")
    if summary.get("streak"):
        head.append(f"a **{summary['streak']}-day streak**")
    out = " and ".join(head) + "." if head else ""
    if lines:
        out = tone.join(out, "\n".join(lines))
    elif not out:
        out = "You're just getting started: every lesson you finish will show up here."
    return out


def _career_line(summary: dict[str, Any]) -> str:
    track = summary.get("track_title")
    if not track:
        return ""
    about = summary.get("track_summary") or ""
    return (f"You're on the **{track}** track. {about} Each skill you master here is one that job descriptions "
            "for that role ask for, so your progress is building a portfolio, not just XP.")


def respond(turn: Turn) -> Reply:
    summary: dict[str, Any] = turn.services.learner_summary() if turn.services else {}
    citations = cite(turn.passages, limit=1)
    goals = summary.get("goals") or []
    goal_line = f"Your goal: *{goals[0]}*." if goals else "You haven't set a goal yet — what would you like to build?"
    if turn.intent == "struggle":
        text = tone.join(tone.pick(tone.ENCOURAGE, turn.learner_kind),
                         f"Look how far you've come: {_progress_line(summary)}",
                         "Take a short break if you need one, then try the next **Hint** — small steps count.")
        return Reply(text=text, agent="mentor", mode="adaptive", citations=citations)
    reflective = turn.lesson is not None and turn.lesson.type == "reflection"
    asked = any(word in turn.message.lower() for word in ("reflect", "week"))
    if reflective or asked or summary.get("reflection_due"):
        questions = "\n".join(f"{i}. {q}" for i, q in enumerate(REFLECTION_QUESTIONS, 1))
        text = tone.join("Let's reflect on your week.", _progress_line(summary), questions,
                         "Answer in a few sentences; there are no wrong answers.")
        return Reply(text=text, agent="mentor", mode="socratic", citations=citations, meta={"reflection": True})
    text = tone.join(_progress_line(summary), goal_line, _skills_line(turn.mastery), _career_line(summary),
                     read_more(citations))
    return Reply(text=text, agent="mentor", mode="adaptive", citations=citations)
