"""One tutor turn end to end: prepare (state, retrieval, routing, the offline reply), then the
router streams it (or the model's guarded reply), then finish (store the reply, update state).

The expensive or blocking parts (database, sandbox) run in worker threads; the model call is
async. Other domains are reached only through their services (grading, progress, gamification,
onboarding).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from sidecar.agents.api.models import ChatCreate, ReplyPublic
from sidecar.agents.guard.guarded import LeakPolicy
from sidecar.agents.guard.injection import classify_message
from sidecar.agents.memory import conversations
from sidecar.agents.memory import state as learner_state
from sidecar.agents.policy import intents, llm, orchestrator
from sidecar.agents.policy.content import Content, get_content
from sidecar.agents.policy.turn import Reply, Turn
from sidecar.agents.tables import AiLeakEvent, AiModelCall
from sidecar.auth.tables import User, UserProfile
from sidecar.catalog.readers import ExerciseRecord, LessonRecord
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.errors import InvalidInput, NotFound
from sidecar.grading import exercises as grading
from sidecar.grading import hints
from sidecar.observability import metrics
from sidecar.settings import Settings
from sidecar.xapi import service as xapi

logger = logging.getLogger("drona.agents")

QUICK_ACTIONS = {"hint": "Hint, please.", "explain": "Can you explain?", "example": "Show me an example.",
                 "review": "Please review my code.", "quiz": "Quiz me."}


@dataclass
class Prepared:
    session_id: str
    learner_message_id: str
    client_id: str | None
    turn: Turn
    agent: str
    reply: Reply  # the offline policy's reply, already guarded
    policy: LeakPolicy
    use_model: bool
    replay: ReplyPublic | None = None
    stopped: str | None = None  # the policy's own reply when the leak guard replaced it (for evaluation)


class TurnServices:
    """What agents may ask of other domains during one turn."""

    def __init__(self, *, engine: Engine, settings: Settings, user_id: str, content: Content) -> None:
        self.engine, self.settings, self.user_id, self.content = engine, settings, user_id, content

    def reveal_hint(self, exercise_id: str) -> Any:
        # The same path as POST /api/exercises/{id}/hints: recorded, and the bottom-out rung only once
        # hints.bottom_out_status says it is earned (Conflict otherwise).
        return hints.reveal_next(engine=self.engine, catalog_db=self.settings.catalog_db, user_id=self.user_id,
                                 exercise_id=exercise_id)

    def learner_summary(self) -> dict[str, Any]:
        from sidecar.gamification import service as gamification
        from sidecar.progress import service as progress

        summary: dict[str, Any] = {}
        report = progress.get_progress(engine=self.engine, catalog_db=self.settings.catalog_db, user_id=self.user_id)
        summary["courses"] = [c.model_dump() for c in report.courses]
        if report.courses:
            track = report.courses[0].track_id
            summary["track_title"] = self.content.track_titles.get(track)
            summary["track_summary"] = self.content.track_summaries.get(track)
        profile = gamification.get_profile(engine=self.engine, user_id=self.user_id,
                                           enabled=self.settings.ENABLE_GAMIFICATION)
        if profile.enabled:
            summary.update(xp=profile.xp, level=profile.level, level_title=profile.level_title,
                           streak=profile.streak.current)
        # The weekly reflection (§5.2 Mentor): due once a week for a learner who has done something.
        last = conversations.last_reply_with_intent(engine=self.engine, user_id=self.user_id, intent="reflection")
        active = any(c["completed_lessons"] for c in summary["courses"])
        summary["reflection_due"] = active and (last is None or utcnow() - last > timedelta(days=7))
        return summary

    def review(self, turn: Turn) -> Any:
        from sidecar.agents.review.reviewer import review_code

        code = turn.code or (turn.activity.last_code if turn.activity else None) or ""
        if not code.strip():
            raise InvalidInput("There is no code to review yet: write some in the editor first.")
        grading_result = None
        if turn.activity is not None and turn.activity.last_code == code:
            grading_result = {"results": turn.activity.last_results}
        return review_code(code, grading=grading_result, solution=turn.exercise.solution if turn.exercise else None,
                           lesson_skills=turn.lesson.skills if turn.lesson else ())

    def generate_item(self, turn: Turn) -> dict[str, Any] | None:
        from sidecar.agents.quiz.quizgen import generate_items
        from sidecar.grading.fleet import sandbox_for

        if turn.lesson is None:
            return None
        seed = turn.interactions
        items = generate_items(catalog_db=self.settings.catalog_db, sandbox=sandbox_for(self.settings),
                               lesson_id=turn.lesson.id,
                               count=2, seed=seed)
        # Items built from an exercise's reference solution (find-the-bug, completion) show most of
        # it: only for a learner who has already solved that exercise.
        items = [i for i in items if not i.source.get("from_solution") or self._solved(i.source.get("exercise_id"))]
        if not items:
            return None
        item = items[0]
        public = {"id": f"gen-{uuid.uuid4().hex[:12]}", "kind": item.kind, "prompt": item.prompt, "code": item.code,
                  "choices": item.choices, "skills": list(item.skills)}
        stored = {"kind": item.kind, "prompt": item.prompt, "code": item.code, "choices": item.choices,
                  "answer": item.answer, "explanation": item.explanation, "source": item.source,
                  "verified": item.verified, "skills": list(item.skills)}
        return {"public": public, "item": stored}

    def _solved(self, exercise_id: str | None) -> bool:
        if not exercise_id:
            return False
        return grading.activity(engine=self.engine, catalog_db=self.settings.catalog_db, user_id=self.user_id,
                                exercise_id=exercise_id).passed

    def check_pending(self, turn: Turn) -> dict[str, Any]:
        from sidecar.agents.quiz.quizgen import GeneratedItem, check_answer

        pending = turn.pending_item or {}
        data = pending.get("item", {})
        item = GeneratedItem(**data)
        correct = check_answer(item, turn.message)
        learner_state.record_result(engine=self.engine, user_id=self.user_id, skills=list(item.skills),
                                    correct=correct, source_key=f"practice:{pending.get('public', {}).get('id')}",
                                    multiple_choice=item.kind == "mcq",
                                    model_params=self.settings.LEARNER_MODEL_PARAMS)
        return {"correct": correct, "explanation": item.explanation}


def _retrieve(settings: Settings, query: str, lesson: LessonRecord | None) -> list[Any]:
    try:
        from sidecar.agents.retrieval import get_retriever

        retriever = get_retriever(settings.catalog_db, settings)
        found = list(retriever.search(query, k=5, lesson_id=lesson.id if lesson else None,
                                      course_id=lesson.course_id if lesson else None))
        if not found and lesson is not None:
            # Nothing matched the words: the lesson the learner is on is still the relevant reading.
            found = list(retriever.search(lesson.title, k=2, lesson_id=lesson.id, course_id=lesson.course_id))
        return found
    except Exception:  # noqa: BLE001 - retrieval failing must not take the tutor down
        logger.exception("retrieval failed")
        return []


def where_the_learner_is(passages: list[Any], lesson: LessonRecord | None, content: Content) -> list[Any]:
    """Passages from the current lesson first, then earlier lessons of the course, then the rest:
    a lesson-1 question is answered from lesson 1, not from a later module (stable within each)."""
    if lesson is None:
        return passages
    order = content.lesson_order
    here = order.get(lesson.id, 0)

    def place(passage: Any) -> int:
        other = content.lessons.get(passage.lesson_id)
        if passage.lesson_id == lesson.id:
            return 0
        if other is not None and other.course_id == lesson.course_id and order.get(other.id, here) < here:
            return 1
        if other is not None and order.get(other.id, here) < here:
            return 2
        return 3

    return sorted(passages, key=place)


def _resolve(content: Content, body: ChatCreate) -> tuple[LessonRecord | None, ExerciseRecord | None]:
    exercise = None
    if body.exercise_id:
        exercise = content.exercises.get(body.exercise_id)
        if exercise is None:
            raise NotFound(f"No exercise with id {body.exercise_id}.")
    lesson_id = body.lesson_id or (exercise.lesson_id if exercise else None)
    lesson = None
    if lesson_id:
        lesson = content.lessons.get(lesson_id)
        if lesson is None:
            raise NotFound(f"No lesson with id {lesson_id}.")
    if exercise is None and lesson is not None and len(lesson.exercise_ids) == 1:
        exercise = content.exercises.get(lesson.exercise_ids[0])
    return lesson, exercise


def prepare(*, engine: Engine, settings: Settings, user: User, profile: UserProfile, body: ChatCreate,
            tone: str | None = None) -> Prepared:
    """`tone`: the learner kind whose words the tutor uses (the organisation's tone), else the learner's own."""
    content = get_content(settings.catalog_db)
    lesson, exercise = _resolve(content, body)
    message = body.message.strip()
    # One normalising pass (the costly part on long messages) gives both verdicts.
    category = classify_message(message)
    injection = None if category == "answer_request" else category
    intent = body.intent if body.intent not in ("chat",) else intents.classify(message, injection=injection)
    if injection:
        intent = "injection"
    elif body.intent == "chat" and category == "answer_request":
        intent = "answer_request"  # in any of the languages the guard knows: a kind reply, not a refusal
    session_id = conversations.open_session(engine=engine, user_id=user.id, session_id=body.session_id,
                                            lesson_id=lesson.id if lesson else None,
                                            exercise_id=exercise.id if exercise else None,
                                            title=lesson.title if lesson else message[:80])
    message_id, earlier = conversations.add_learner_message(engine=engine, user_id=user.id, session_id=session_id,
                                                            content=message, client_id=body.client_id, intent=intent)
    activity = grading.activity(engine=engine, catalog_db=settings.catalog_db, user_id=user.id,
                                exercise_id=exercise.id) if exercise else None
    confused = intent in ("struggle", "explain_again") or (intent == "explain" and intents.confusion_words(message))
    lesson_state, idle = (learner_state.touch_lesson(engine=engine, user_id=user.id, lesson_id=lesson.id,
                                                     confused=confused)
                          if lesson else (None, None))
    mastery = learner_state.refresh_mastery(engine=engine, catalog_db=settings.catalog_db, user_id=user.id,
                                            model_params=settings.LEARNER_MODEL_PARAMS)
    query = f"{message} {exercise.title}" if exercise else message
    passages = where_the_learner_is(_retrieve(settings, query, lesson), lesson, content)
    mode = orchestrator.choose_mode(lesson_type=lesson.type if lesson else None, activity=activity,
                                    confusion=lesson_state.confusion if lesson_state else 0, idle_seconds=idle,
                                    intent=intent)
    events = orchestrator.detect_events(activity=activity,
                                        seen_submissions=lesson_state.seen_submissions if lesson_state else 0,
                                        interactions=lesson_state.interactions if lesson_state else 0,
                                        last_checkin=lesson_state.last_checkin if lesson_state else 0,
                                        idle_seconds=idle)
    turn = Turn(user_id=user.id, message=message, intent=intent, mode=mode, learner_kind=tone or user.learner_kind,
                display_name=user.display_name, lesson=lesson, exercise=exercise, code=body.code, activity=activity,
                passages=passages, mastery=mastery, interactions=lesson_state.interactions if lesson_state else 1,
                history=conversations.history(engine=engine, session_id=session_id),
                earlier_replies=conversations.reply_texts(engine=engine, session_id=session_id),
                pending_item=lesson_state.pending_item if lesson_state else None,
                services=TurnServices(engine=engine, settings=settings, user_id=user.id, content=content),
                events=events)
    agent = orchestrator.route(intent=intent, lesson_type=lesson.type if lesson else None,
                               has_pending_item=turn.pending_item is not None)
    if earlier is not None:
        return Prepared(session_id=session_id, learner_message_id=message_id, client_id=body.client_id, turn=turn,
                        agent=earlier.agent or agent, reply=Reply(text=earlier.content, agent=earlier.agent or agent,
                                                                  mode=earlier.mode or mode),
                        policy=LeakPolicy(exercise=None, protected=False, context=""), use_model=False,
                        replay=ReplyPublic(session_id=session_id, message_id=earlier.id, text=earlier.content,
                                           agent=earlier.agent or agent, mode=earlier.mode or mode,
                                           llm=bool((earlier.meta or {}).get("llm")),
                                           guarded=bool((earlier.meta or {}).get("guarded")),
                                           citations=earlier.citations or [], hint=(earlier.meta or {}).get("hint")))
    reply = orchestrator.respond(turn, agent)
    # The guard stands down only once the bottom-out rung has been revealed (now or before), and
    # hints.reveal_next reveals it only when hints.bottom_out_status holds: never on a first try.
    earned = reply.reveals_solution or (activity is not None and activity.bottom_out_seen)
    policy = LeakPolicy(exercise=exercise, protected=not earned,
                        context="\n".join([exercise.prompt if exercise else "", message,
                                           *(p.text for p in passages)]),
                        learner_code=tuple(c for c in (body.code, activity.last_code if activity else None) if c))
    verdict = policy.check(_without_quotes(reply.text, turn))
    stopped = None
    if verdict is not None:
        # The policy's own reply tripped the guard (e.g. a scaffold too close to the answer): ask instead.
        log_leak(engine=engine, user_id=user.id, session_id=session_id, exercise_id=exercise.id if exercise else None,
                 source="policy", verdict=verdict)
        from sidecar.agents.policy.socratic import probing_question

        stopped = reply.text
        reply = orchestrator.vary_repeat(Reply(text=probing_question(turn), agent=reply.agent, mode="socratic",
                                               citations=reply.citations), turn)
    use_model = (llm.model_for(settings, agent) is not None and intent not in ("hint",) and reply.hint is None
                 and agent not in ("quiz_generator",) and reply.item is None and turn.pending_item is None)
    return Prepared(session_id=session_id, learner_message_id=message_id, client_id=body.client_id, turn=turn,
                    agent=agent, reply=reply, policy=policy, use_model=use_model, stopped=stopped)


def _without_quotes(text: str, turn: Turn) -> str:
    """The policy's reply minus the course text it quotes verbatim: lesson passages and the worked
    example are public on the site (and validated not to contain the solution), so a number in
    them ("3 + 4 = 7" in the lesson) is not the policy giving an answer away."""
    from sidecar.agents.policy.tutor import excerpt

    for passage in turn.passages:
        text = text.replace(excerpt(passage.text), "")
    if turn.exercise is not None and turn.exercise.example:
        text = text.replace(turn.exercise.example.strip(), "")
    return text


def log_leak(*, engine: Engine, user_id: str | None, session_id: str | None, exercise_id: str | None, source: str,
             verdict: Any) -> None:
    logger.warning("answer leak stopped: source=%s kind=%s score=%.2f exercise=%s (%s)", source, verdict.kind,
                   verdict.score, exercise_id, verdict.detail)
    metrics.record_leak(source=source, kind=verdict.kind or "code")
    with write_session(engine) as session:
        session.add(AiLeakEvent(id=str(uuid.uuid4()), user_id=user_id, session_id=session_id, exercise_id=exercise_id,
                                source=source, kind=verdict.kind or "code", score=float(verdict.score), replaced=True,
                                created_at=utcnow()))


def _turn_statement(prepared: Prepared, *, llm_used: bool, guarded: bool) -> xapi.Prepared:
    """The learning record's statement of one tutor turn, keyed by the learner's message (one per turn)."""
    turn, reply = prepared.turn, prepared.reply
    skills = list(turn.exercise.skills if turn.exercise is not None else ())
    if turn.lesson is not None:
        skills += turn.lesson.skills
    return xapi.prepare(
        key=prepared.learner_message_id, user_id=turn.user_id, verb="interacted", object_type="conversation",
        object_id=prepared.session_id, course_id=turn.lesson.course_id if turn.lesson is not None else None,
        skills=skills, timestamp=utcnow(),
        extensions={"lesson_id": turn.lesson.id if turn.lesson is not None else None,
                    "exercise_id": turn.exercise.id if turn.exercise is not None else None,
                    "agent": reply.agent, "mode": reply.mode, "intent": turn.intent, "llm": llm_used,
                    "guarded": guarded, "hint": bool(reply.hint)})


def finish(*, engine: Engine, prepared: Prepared, text: str, llm_used: bool, guarded: bool) -> ReplyPublic:
    if prepared.replay is not None:
        return prepared.replay
    reply, turn = prepared.reply, prepared.turn
    meta: dict[str, Any] = {"llm": llm_used, "guarded": guarded, "intent": turn.intent}
    if reply.hint:
        meta["hint"] = reply.hint
    if reply.meta.get("checkin"):
        meta["checkin"] = True
    message_id = conversations.add_reply(engine=engine, user_id=turn.user_id, session_id=prepared.session_id,
                                         reply_to=prepared.learner_message_id, client_id=prepared.client_id,
                                         text=text, agent=reply.agent, mode=reply.mode, citations=reply.citations,
                                         meta=meta, intent="reflection" if reply.meta.get("reflection") else None,
                                         statement=_turn_statement(prepared, llm_used=llm_used, guarded=guarded))
    if turn.lesson is not None:
        learner_state.after_reply(engine=engine, user_id=turn.user_id, lesson_id=turn.lesson.id,
                                  seen_submissions=turn.activity.attempts if turn.activity else None,
                                  checkin=bool(reply.meta.get("checkin")), pending_item=reply.pending_item)
    metrics.record_tutor_turn(agent=reply.agent, outcome="guarded" if guarded or prepared.stopped
                              else "model" if llm_used else "policy")
    return ReplyPublic(session_id=prepared.session_id, message_id=message_id, text=text, agent=reply.agent,
                       mode=reply.mode, llm=llm_used, guarded=guarded, citations=reply.citations, hint=reply.hint,
                       item=reply.item)



# ---- for the platform dashboard (analytics): leaks stopped, and what model calls took and cost ----------------


def record_model_calls(*, engine: Engine, calls: list[llm.ModelCall]) -> None:
    """Keep each model call of a turn (llm.stream fills the list as it tries the models)."""
    if not calls:
        return
    with write_session(engine) as session:
        session.add_all(AiModelCall(agent=c.agent, provider=c.provider, model=c.model, ok=c.ok,
                                    latency_ms=c.latency_ms, prompt_tokens=c.prompt_tokens,
                                    completion_tokens=c.completion_tokens, cost_usd=c.cost_usd, created_at=utcnow())
                        for c in calls)


@dataclass(frozen=True)
class ModelStats:
    provider: str
    model: str
    calls: int
    failures: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_usd: float


def model_call_stats(*, engine: Engine, since: datetime) -> list[ModelStats]:
    """Per provider and model since `since`: calls, failures, latency percentiles (answered calls) and cost."""
    found: dict[tuple[str, str], list[tuple[bool, float, float | None]]] = {}
    with read_session(engine) as session:
        for provider, model, ok, latency, cost in session.execute(
                select(AiModelCall.provider, AiModelCall.model, AiModelCall.ok, AiModelCall.latency_ms,
                       AiModelCall.cost_usd).where(AiModelCall.created_at >= since)):
            found.setdefault((provider, model), []).append((bool(ok), float(latency), cost))
    stats = []
    for (provider, model), calls in sorted(found.items()):
        answered = sorted(latency for ok, latency, _ in calls if ok)

        def pick(q: float, values: list[float] = answered) -> float | None:
            return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else None

        stats.append(ModelStats(provider=provider, model=model, calls=len(calls),
                                failures=sum(1 for ok, _, _ in calls if not ok), latency_p50_ms=pick(0.5),
                                latency_p95_ms=pick(0.95), cost_usd=sum(c or 0.0 for _, _, c in calls)))
    return stats


def leak_counts(*, engine: Engine, since: datetime) -> list[tuple[datetime, str]]:
    """(when, source) of every answer leak stopped since `since`."""
    with read_session(engine) as session:
        return [(at, source) for at, source in session.execute(
            select(AiLeakEvent.created_at, AiLeakEvent.source).where(AiLeakEvent.created_at >= since))]
