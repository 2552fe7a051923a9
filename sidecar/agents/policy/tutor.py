"""The Tutor agent's offline teaching policy (§5.2): Socratic, Adaptive and Scaffolded modes.

Socratic asks and never tells; Adaptive explains from the course's own text, then asks a
smaller question; Scaffolded shows the solution's shape with the answer-carrying parts blank.
Hints come only from the authored ladder, through the grading service (sidecar/grading/hints.py),
which holds the bottom-out rung until the learner has earned it (different failed attempts and time
on the exercise) and then says what is still missing.
"""

from __future__ import annotations

import re
from typing import Any

from sidecar.agents.policy import scaffold, socratic, structure, tone
from sidecar.agents.policy.turn import Reply, Turn, cite, read_more
from sidecar.errors import Conflict, NotFound

_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def excerpt(text: str, limit: int = 420) -> str:
    """The first paragraph(s) of a passage, cut at a sentence, code fences kept whole."""
    out = ""
    for paragraph in text.split("\n\n"):
        if out and len(out) + len(paragraph) > limit:
            break
        out += paragraph.strip() + "\n\n"
    out = out.strip()
    if len(out) > limit and "```" not in out:
        cut = [m.start() for m in _SENTENCE_END.finditer(out[:limit])]
        out = out[: cut[-1]] if cut else out[:limit] + "…"
    return out


def _rung_done(turn: Turn, rung: int) -> bool:
    """Whether the learner's code already does what rung `rung` (1-based) asks: its authored
    `done_when` pattern matches their code."""
    if turn.exercise is None or not 0 < rung <= len(turn.exercise.hints):
        return False
    pattern = turn.exercise.hints[rung - 1].get("done_when")
    code = socratic.learner_code(turn)
    if not pattern or not code.strip():
        return False
    try:
        return re.search(pattern, code) is not None
    except re.error:
        return False


MAX_SKIPPED_RUNGS = 3


def reply_hint(turn: Turn) -> Reply:
    citations = cite(turn.passages)
    if turn.exercise is None:
        return Reply(text=tone.join(socratic.probing_question(turn), read_more(citations)), agent="tutor",
                     mode=turn.mode, citations=citations)
    skipped: list[int] = []
    while True:
        try:
            hint = turn.services.reveal_hint(turn.exercise.id)
        except Conflict as gate:
            return Reply(text=tone.join(gate.message, "While you try: " + socratic.probing_question(turn)),
                         agent="tutor", mode=turn.mode, citations=citations)
        except NotFound:
            return Reply(text=socratic.probing_question(turn), agent="tutor", mode=turn.mode, citations=citations)
        # A rung the learner's code already satisfies is recorded as seen and passed over.
        if hint.bottom_out or hint.remaining == 0 or len(skipped) >= MAX_SKIPPED_RUNGS \
                or not _rung_done(turn, hint.rung):
            break
        skipped.append(hint.rung)
    total = hint.rung + hint.remaining
    label = f"**Hint {hint.rung} of {total}{' — the answer' if hint.bottom_out else ''}**"
    note = ""
    if skipped:
        rungs = " and ".join(str(r) for r in skipped)
        note = f"(I skipped hint{'s' if len(skipped) > 1 else ''} {rungs}: your code already does that.)"
    follow = ("Type it in yourself rather than pasting it, then run **Check**: it sticks better."
              if hint.bottom_out else "Try it, then run **Check**. Ask again if you need the next one.")
    if hint.remaining == 0 and not hint.bottom_out:
        follow = "That was the last hint."
    return Reply(text=tone.join(label, note, hint.text, follow), agent="tutor", mode=turn.mode, citations=citations,
                 hint={"rung": hint.rung, "total": total, "bottom_out": hint.bottom_out},
                 reveals_solution=hint.bottom_out)


def _explanation(turn: Turn) -> str:
    if not turn.passages:
        return ""
    return explanation_of(turn.passages[0])


def explanation_of(passage: Any) -> str:
    """A passage of the course, introduced: the Adaptive mode's explanation."""
    where = passage.lesson_title if passage.heading in ("", passage.lesson_title) else \
        f"{passage.lesson_title} › {passage.heading}"
    return f"Here is the idea again, from *{where}*:\n\n{excerpt(passage.text)}"


def _scaffold(turn: Turn) -> str:
    exercise = turn.exercise
    if exercise is None:
        return ""
    activity = turn.activity
    attempts = activity.attempts if activity else 0
    hints = activity.hints_seen if activity else 0
    total = sum(1 for line in exercise.solution.splitlines() if line.strip() and not line.strip().startswith("#"))
    outline = scaffold.skeleton(exercise.solution, exercise.starter,
                                reveal=scaffold.lines_to_reveal(attempts=attempts, hints_seen=hints, total=total))
    return ("Here is the shape of one way to do it; each `...` is yours to fill in:\n\n"
            f"```python\n{outline}\n```")


def solved(turn: Turn) -> bool:
    """The learner's exercise passed and nothing has failed since: the lesson's work is done."""
    activity = turn.activity
    return turn.exercise is not None and activity is not None and bool(activity.passed) \
        and activity.failed_since_pass == 0


def next_lesson(turn: Turn) -> str:
    if turn.lesson is not None and turn.lesson.next_url:
        return f"Next up: [{turn.lesson.next_title}](/{turn.lesson.next_url.lstrip('/')})."
    return "That was the last lesson of this course."


def reply_after_pass(turn: Turn) -> Reply:
    """After a pass: no hint rung, no solution shape; where to go next (the praise itself is §7.3's,
    added by the orchestrator on the turn of the new pass)."""
    further = "To go further, ask me to **review** your code or to **quiz me** on this lesson."
    if turn.events.get("new_pass"):
        text = further  # the praise and the next lesson come first (§7.3): one clear next step
    else:
        text = tone.join("You've already solved this exercise — every test passed.", next_lesson(turn), further)
    return Reply(text=text, agent="tutor", mode="socratic", citations=cite(turn.passages, 1))


def _said_before(turn: Turn, text: str) -> bool:
    folded = " ".join(text.split())
    return any(folded in " ".join(earlier.split()) for earlier in turn.earlier_replies)


def reply_explain_again(turn: Turn) -> Reply:
    """"Explain it again" / "I still don't get it": the same point at a simpler level, from a second
    explanation of the concept behind the learner's mistake, else a shorter passage of the course
    not quoted yet, then a smaller question than before."""
    citations = cite(turn.passages)
    found = socratic.findings(turn)
    asked = [q for q in socratic.questions(turn) if not _said_before(turn, q)]
    simpler = next((structure.SIMPLER[f.concept] for f in found
                    if f.concept in structure.SIMPLER and not _said_before(turn, structure.SIMPLER[f.concept])), None)
    if simpler is not None:
        concept_question = next((f.question for f in found if structure.SIMPLER.get(f.concept) == simpler), "")
        question = concept_question if concept_question and not _said_before(turn, concept_question) else \
            (asked[0] if asked else socratic.FOLLOW_UPS[1])
        return Reply(text=tone.join("Let me put it more simply.", simpler, f"Now a smaller step: {question}",
                                    read_more(citations)),
                     agent="tutor", mode="adaptive", citations=citations)
    for passage in turn.passages:
        short = excerpt(passage.text, limit=260)
        if short and not _said_before(turn, short):
            where = passage.lesson_title if passage.heading in ("", passage.lesson_title) else \
                f"{passage.lesson_title} › {passage.heading}"
            question = asked[0] if asked else socratic.FOLLOW_UPS[1]
            return Reply(text=tone.join(f"Another way to see it, from *{where}*:", short,
                                        f"Now a smaller step: {question}"),
                         agent="tutor", mode="adaptive", citations=citations)
    return Reply(text=tone.join("Let's find the exact part that's unclear.", socratic.FOLLOW_UPS[1],
                                read_more(citations)), agent="tutor", mode="adaptive", citations=citations)


def respond(turn: Turn) -> Reply:
    kind = turn.learner_kind
    citations = cite(turn.passages)
    more = read_more(citations)
    question = socratic.probing_question(turn)
    intent = turn.intent
    done = solved(turn)

    if done and (intent in ("question", "greeting", "check_answer", "explain_again")
                 or (intent == "hint" and turn.events.get("new_pass"))):
        return reply_after_pass(turn)
    if intent == "hint":
        return reply_hint(turn)
    if intent == "explain_again" and not done:
        return reply_explain_again(turn)
    if intent == "injection":
        text = tone.join(
            "I can't change how I work: I won't show my instructions, switch roles, or hand over a solution "
            "before you've had a real go — that's what makes the practice count.",
            f"Back to the task: {question}", more)
        return Reply(text=text, agent="tutor", mode="socratic", citations=citations)
    if intent == "answer_request":
        text = tone.join(
            "I won't write the answer for you — the figuring out is the part that teaches you. "
            "If you've tried and are still stuck, ask for a **Hint**: the ladder ends with a worked answer once "
            "you've submitted a few different attempts and spent a few minutes on it.",
            f"Let's take the next step together: {question}", more)
        return Reply(text=text, agent="tutor", mode="socratic", citations=citations)
    if intent == "check_answer":
        text = tone.join(
            "I can't mark code by reading it — **Check** runs the real tests, so that's the way to know. "
            "Before you press it, predict: what will your program print for the example in the task?",
            question, more)
        return Reply(text=text, agent="tutor", mode=turn.mode, citations=citations)
    if intent == "example":
        if turn.exercise is not None and turn.exercise.example:
            text = tone.join("A worked example on a *different* problem — the same pattern, not your answer:",
                             turn.exercise.example, "Which part of it matches what your task needs?", more)
        else:
            text = tone.join(_explanation(turn) or "Let's look at the lesson's own example.",
                             "How does this example relate to your task?", more)
        return Reply(text=text, agent="tutor", mode=turn.mode, citations=citations)
    if intent == "greeting":
        text = tone.join(f"Hi {turn.display_name}! Ask me anything about this lesson, ask for a **Hint**, or tell "
                         "me what you've tried.", question if turn.exercise else None)
        return Reply(text=text, agent="tutor", mode=turn.mode, citations=citations)

    opener = ""
    if intent == "struggle" or turn.mode == "adaptive":
        opener = tone.pick(tone.ENCOURAGE, kind) if intent == "struggle" else tone.pick(tone.OPEN_QUESTION, kind)
    # A mistake we can name comes first: the learner's own line beats an outline or a passage.
    pinpointed = bool(socratic.matching_misconception(turn) or socratic.findings(turn))
    if turn.mode == "scaffolded" and turn.exercise is not None and not done:
        if pinpointed:
            return Reply(text=tone.join(opener, question, more), agent="tutor", mode="scaffolded",
                         citations=citations)
        return Reply(text=tone.join(opener, _scaffold(turn), question, more), agent="tutor", mode="scaffolded",
                     citations=citations)
    if turn.mode == "adaptive":
        if pinpointed:
            return Reply(text=tone.join(opener, question, _explanation(turn), more), agent="tutor",
                         mode="adaptive", citations=citations)
        smaller = ("Now a smaller question: " + question) if turn.exercise else question
        return Reply(text=tone.join(opener, _explanation(turn), smaller, more), agent="tutor", mode="adaptive",
                     citations=citations)
    # Socratic: a question, a pointer to the lesson, no telling.
    pointer = ""
    if citations:
        pointer = f"The lesson [{citations[0]['title']}]({citations[0]['url']}) covers this."
    return Reply(text=tone.join(tone.pick(tone.OPEN_QUESTION, kind) if intent == "explain" else "", question,
                                pointer),
                 agent="tutor", mode="socratic", citations=citations)
