"""The orchestrator (§5.1): reads the learner's situation, picks the agent and the teaching mode,
and applies the interaction patterns of §7.3 around the agent's reply.

Routing, by lesson type (§6.3) and then by what the learner asks:

    concept → Tutor (Adaptive)            guided-discovery → Tutor (Socratic)
    code-along → Tutor (Scaffolded)       sandbox → Code Reviewer for reviews, else Tutor
    challenge → Assessor (minimal help)   project-milestone → Project Guide
    reflection → Mentor                   quiz → Tutor (Socratic)

Intent overrides: "review my code" → Code Reviewer (the Project Guide in project lessons, which also
plans and checks the rubric; "why does it fail?" there goes to the Tutor); "quiz me" → Quiz Generator;
progress, goals or
careers → Mentor; "I give up" (struggle) → Tutor in Adaptive mode, which explains rather than asks
(the Mentor answers struggle only in reflection lessons); an answer to a pending practice
question → Assessor. tests/test_orchestrator_routing.py holds the whole table.

Mode changes within the Tutor (confusion detection): three failed submissions in a row, a pause
of five minutes or more after a failure, or words of confusion → Adaptive; after two hints and
two failed attempts → Scaffolded.
"""

from __future__ import annotations

from typing import Any

from sidecar.agents.policy import mentor, project_guide, socratic, tone, tutor
from sidecar.agents.policy.turn import Reply, Turn, cite
from sidecar.agents.quiz import assessor
from sidecar.courseware.lesson_types import LESSON_TYPES

# The teaching mode each lesson type starts in: one entry per type of the lesson schema, no more
# (checked here at import and by tests/test_orchestrator_routing.py).
BASE_MODE = {"concept": "adaptive", "guided-discovery": "socratic", "code-along": "scaffolded",
             "sandbox": "socratic", "challenge": "minimal", "project-milestone": "scaffolded",
             "reflection": "socratic", "quiz": "socratic"}
if set(BASE_MODE) != set(LESSON_TYPES):
    raise RuntimeError(f"orchestrator.BASE_MODE must cover exactly the lesson schema's types {LESSON_TYPES}; "
                       f"it has {tuple(BASE_MODE)}")
LONG_PAUSE_SECONDS = 300
REPEATED_ERRORS = 3
QUICK_PASS_SECONDS = 120
CHECKIN_EVERY = 6  # within the design's "every 5-7 interactions"


def choose_mode(*, lesson_type: str | None, activity: Any, confusion: int, idle_seconds: float | None,
                intent: str) -> str:
    mode = BASE_MODE.get(lesson_type or "", "socratic")
    if mode == "minimal":
        return mode
    failing = activity is not None and activity.failed_since_pass > 0
    if intent in ("struggle",) or confusion >= 2:
        return "adaptive"
    if activity is not None and activity.failed_since_pass >= REPEATED_ERRORS:
        return "adaptive"
    if failing and idle_seconds is not None and idle_seconds >= LONG_PAUSE_SECONDS:
        return "adaptive"
    if activity is not None and activity.hints_seen >= 2 and activity.failed >= 2 and not activity.passed:
        return "scaffolded"
    return mode


def route(*, intent: str, lesson_type: str | None, has_pending_item: bool) -> str:
    if lesson_type == "challenge":
        return "assessor"
    if intent == "injection":
        return "tutor"
    if has_pending_item and intent in ("question", "check_answer", "explain", "greeting"):
        return "assessor"  # the learner is answering the practice question
    if intent == "review":
        return "project_guide" if lesson_type == "project-milestone" else "reviewer"
    if intent == "quiz":
        return "quiz_generator"
    if intent == "mentor":
        return "mentor"
    if lesson_type == "reflection" and intent not in ("hint", "answer_request"):
        return "mentor"
    if lesson_type == "project-milestone" and intent in ("project", "question", "check_answer"):
        return "project_guide"  # "why is it failing?" (explain) goes to the tutor, who looks at the mistake
    if intent == "project":
        return "project_guide"
    return "tutor"


def detect_events(*, activity: Any, seen_submissions: int, interactions: int, last_checkin: int,
                  idle_seconds: float | None) -> dict[str, Any]:
    events: dict[str, Any] = {}
    if activity is not None and activity.attempts > seen_submissions and activity.failed_since_pass == 0 \
            and activity.passed:
        events["new_pass"] = True
        if activity.attempts == 1 and (activity.first_pass_seconds or 0) <= QUICK_PASS_SECONDS:
            events["quick_pass"] = True
    if interactions - last_checkin >= CHECKIN_EVERY:
        events["checkin"] = True
    if idle_seconds is not None and idle_seconds >= LONG_PAUSE_SECONDS:
        events["long_pause"] = True
    return events


def _format_review(review: Any, turn: Turn) -> Reply:
    lines = [review.summary]
    for finding in review.findings[:6]:
        where = f"line {finding.line}: " if finding.line else ""
        lines.append(f"- **{finding.category}** — {where}{finding.message} *{finding.question}*")
    if review.debugging_steps:
        lines.append("**A debugging method:**\n" + "\n".join(f"{i}. {s}" for i, s in
                                                                   enumerate(review.debugging_steps, 1)))
    return Reply(text="\n\n".join(lines), agent="reviewer", mode="socratic", citations=cite(turn.passages, 1))


def _quiz(turn: Turn) -> Reply:
    item = turn.services.generate_item(turn) if turn.services else None
    if item is None:
        return Reply(text=tone.join("I couldn't make a verified question for this lesson right now.",
                                    socratic.checkin_question(turn)), agent="quiz_generator", mode="socratic")
    public = item["public"]
    body = [f"**Practice question** ({public['kind'].replace('_', ' ')}): {public['prompt']}"]
    if public.get("code"):
        body.append(f"```python\n{public['code']}\n```")
    if public.get("choices"):
        body.append("\n".join(f"{i}. {c}" for i, c in enumerate(public["choices"], 1)))
    body.append("Type your answer as your next message.")
    return Reply(text="\n\n".join(body), agent="quiz_generator", mode="socratic", item=public,
                 pending_item=item, citations=cite(turn.passages, 1))


def _answer_pending(turn: Turn) -> Reply:
    result = turn.services.check_pending(turn)
    verdict = tone.pick(tone.PRAISE, turn.learner_kind) if result["correct"] else \
        "Not quite — and that's useful to know."
    text = tone.join(verdict, result.get("explanation", ""),
                     "Want another? Say *quiz me*." if result["correct"] else
                     "Look at it once more: which line decides the outcome?")
    return Reply(text=text, agent="assessor", mode="socratic", pending_item=None,
                 meta={"answer_correct": result["correct"]})


def policy_reply(turn: Turn, agent: str) -> Reply:
    """The offline teaching policy for the chosen agent."""
    if agent == "assessor":
        if turn.pending_item is not None and turn.lesson and turn.lesson.type != "challenge":
            return _answer_pending(turn)
        return assessor.challenge_respond(turn)
    if agent == "reviewer":
        return _format_review(turn.services.review(turn), turn)
    if agent == "quiz_generator":
        return _quiz(turn)
    if agent == "mentor":
        return mentor.respond(turn)
    if agent == "project_guide":
        return project_guide.respond(turn)
    return tutor.respond(turn)


def apply_patterns(reply: Reply, turn: Turn) -> Reply:
    """§7.3: celebrate and advance on a pass, go deeper after a quick one, check in regularly."""
    events = turn.events
    before, after = "", ""
    if events.get("new_pass") and turn.lesson is not None and reply.agent != "assessor":
        before = tone.pick(tone.PRAISE, turn.learner_kind) + " Your solution passed every test."
        if turn.lesson.next_url:
            before += f" Next up: [{turn.lesson.next_title}](/{turn.lesson.next_url.lstrip('/')})."
        if events.get("quick_pass"):
            after = ("**Going deeper:** you solved that quickly. Could you solve it a different way — for example "
                     "without one of the constructs you used — and which version is easier to read?")
    elif events.get("checkin") and reply.agent in ("tutor", "mentor") and not reply.hint:
        after = socratic.checkin_question(turn)
        reply.meta["checkin"] = True
    if before or after:
        reply.text = tone.join(before, reply.text, after)
    return reply


def _normalise(text: str) -> str:
    return " ".join(text.split())


def repeats(text: str, turn: Turn) -> bool:
    """Whether `text` (whitespace aside) is an earlier reply of this conversation, the model's included."""
    said = _normalise(text)
    return bool(said) and any(_normalise(t) == said for t in earlier_replies(turn))


def earlier_replies(turn: Turn) -> list[str]:
    """Every earlier reply of the assistant in this conversation (the stored list, and the history)."""
    return list(turn.earlier_replies) + [h["content"] for h in turn.history if h.get("role") != "learner"]


def _variants(reply: Reply, turn: Turn) -> list[str]:
    """Other texts for a reply that would repeat an earlier one, best first: a different question of
    the same policy, a different passage of the course, then a new angle in front of it."""
    text = reply.text
    asked = socratic.questions(turn)
    out: list[str] = []
    current = next((q for q in asked if q in text), None)
    if current is not None:
        out.extend(text.replace(current, q) for q in asked if q != current and q not in text)
    if turn.passages:
        first = tutor.explanation_of(turn.passages[0])
        if first in text:
            out.extend(text.replace(first, tutor.explanation_of(p)) for p in turn.passages[1:])
    unused = [q for q in asked if q not in text]
    out.extend(tone.join(f"Let's look at it from another angle: {q}", text) for q in unused)
    return out


def vary_repeat(reply: Reply, turn: Turn) -> Reply:
    """Never say the same thing twice in a conversation: a reply whose text (whitespace aside)
    equals an earlier reply's is replaced by the first variant that is new."""
    if not repeats(reply.text, turn):
        return reply
    seen = {_normalise(t) for t in earlier_replies(turn)}
    for candidate in _variants(reply, turn):
        if _normalise(candidate) not in seen:
            reply.text = candidate
            reply.meta["varied"] = True
            return reply
    count = 2
    while _normalise(last := tone.join(f"Let's look at it from another angle (take {count}):", reply.text)) in seen:
        count += 1
    reply.text = last
    reply.meta["varied"] = True
    return reply


def respond(turn: Turn, agent: str) -> Reply:
    """The offline reply for a turn: the agent's policy, the §7.3 patterns, never a verbatim repeat.
    Every offline reply passes through here before the leak guard (sidecar/agents/api/service.py)."""
    return vary_repeat(apply_patterns(policy_reply(turn, agent), turn), turn)
