"""The spaced-review queue: cards from what the learner met, FSRS schedules, the day's session and its XP.

Where cards come from: the learner's graded history, read lazily when the queue is asked for (no hook
on the grading hot path). Every item of a quiz they took becomes a card, first rated by how they
answered it then; an exercise becomes a card when they pass it, or when a failed submission matches
one of its authored misconceptions (then rated "again": that is what most needs coming back to).

A review is graded here, never by the learner's browser: quiz items against catalog.db's keys, an
exercise in the grading sandbox like any submission. Each rating goes to FSRS and to the review log,
with FSRS's predicted recall beside the outcome: the retention record for analytics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, func, select

from sidecar.catalog import readers
from sidecar.catalog.service import get_index
from sidecar.db.engine import Tx, read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, InvalidInput, NotFound
from sidecar.gamification import service as gamification
from sidecar.grading import exercises as grading_exercises
from sidecar.grading import service as grading
from sidecar.grading.models import TestResultPublic
from sidecar.progress import completion
from sidecar.xapi import service as xapi

from . import scheduling
from .models import (
    DAILY_LIMIT,
    RetentionPublic,
    ReviewAnswerCreate,
    ReviewAnswerPublic,
    ReviewItemPublic,
    ReviewQueuePublic,
)
from .tables import ReviewCard, ReviewDay, ReviewLog, ReviewSync

# Re-read a little of the history before the last sync: a quiz attempt committed while we read is
# not missed. Cards already made are skipped (each source is one card, made once).
SYNC_OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True)
class _Meeting:
    source_key: str
    item_key: str
    kind: str
    origin: str
    skills: list[str]
    correct: bool
    at: datetime


def _misconception_hit(exercise: readers.ExerciseRecord, code: str) -> bool:
    for mc in exercise.misconceptions:
        pattern = mc.get("pattern")
        if not pattern:
            continue
        try:
            if re.search(pattern, code):
                return True
        except re.error:
            continue
    return False


def _meetings(*, engine: Engine, catalog_db: Path, user_id: str, since: datetime | None) -> list[_Meeting]:
    found: list[_Meeting] = []
    items_of: dict[str, list[dict[str, Any]]] = {}
    for attempt in grading.quiz_attempts_since(engine=engine, user_id=user_id, since=since):
        if attempt.quiz_id not in items_of:
            try:
                items_of[attempt.quiz_id] = readers.quiz_items(catalog_db, quiz_id=attempt.quiz_id)
            except Exception:  # noqa: BLE001  (a quiz that left the catalog has nothing to review)
                items_of[attempt.quiz_id] = []
        for item in items_of[attempt.quiz_id]:
            found.append(_Meeting(
                source_key=f"quiz-attempt:{attempt.id}:{item['id']}", item_key=f"quiz-item:{item['id']}",
                kind=str(item["kind"]), origin="quiz", skills=json.loads(item["skills"] or "[]"),
                correct=grading.is_correct(item, (attempt.answers or {}).get(item["id"])), at=attempt.created_at))
    known = readers.exercises(catalog_db)
    for sub in grading_exercises.submissions_since(engine=engine, user_id=user_id, since=since):
        exercise = known.get(sub["exercise_id"])
        if exercise is None:
            continue
        if sub["passed"]:
            origin, correct = "exercise", True
        elif _misconception_hit(exercise, sub["code"] or ""):
            origin, correct = "misconception", False
        else:
            continue  # a plain failure: the learner is still working on it, not yet something to recall
        found.append(_Meeting(source_key=f"submission:{sub['id']}", item_key=f"exercise:{exercise.id}",
                              kind="exercise", origin=origin, skills=list(exercise.skills), correct=correct,
                              at=sub["created_at"]))
    return found


def sync(*, engine: Engine, catalog_db: Path, user_id: str, now: datetime) -> int:
    """Make cards for what the learner met since the last sync; returns how many were made."""
    with read_session(engine) as session:
        row = session.get(ReviewSync, user_id)
        since = row.synced_until - SYNC_OVERLAP if row is not None else None
    meetings = _meetings(engine=engine, catalog_db=catalog_db, user_id=user_id, since=since)
    if not meetings and row is not None and now - row.synced_until < SYNC_OVERLAP:
        return 0  # nothing new, read recently: no write transaction for a read
    made = 0
    with write_session(engine) as session:
        for meeting in meetings:
            card, _, _ = scheduling.review(scheduling.new_card(), correct=meeting.correct, at=meeting.at)
            if not insert_ignore(session, ReviewCard, {
                    "user_id": user_id, "item_key": meeting.item_key, "kind": meeting.kind, "origin": meeting.origin,
                    "skills": meeting.skills, "fsrs": card.to_dict(), "due": card.due, "reps": 0,
                    "lapses": 0 if meeting.correct else 1, "created_at": meeting.at}, ["user_id", "item_key"]):
                continue  # met before: the card's schedule is the queue's now
            made += 1
            session.add(_log(user_id=user_id, item_key=meeting.item_key, client_id=meeting.source_key,
                             kind="meeting", correct=meeting.correct, card=card, recall=None, elapsed=None,
                             at=meeting.at, result=None))
        if insert_ignore(session, ReviewSync, {"user_id": user_id, "synced_until": now}, ["user_id"]) is False:
            record = session.get(ReviewSync, user_id, with_for_update=True)
            if record is not None and record.synced_until < now:
                record.synced_until = now
    return made


def _log(*, user_id: str, item_key: str, client_id: str, kind: str, correct: bool, card: Any,
         recall: float | None, elapsed: float | None, at: datetime, result: dict[str, Any] | None) -> ReviewLog:
    return ReviewLog(user_id=user_id, item_key=item_key, client_id=client_id, kind=kind,
                     rating=int(scheduling.rating(correct=correct)), correct=correct, retrievability=recall,
                     elapsed_days=elapsed, stability=float(card.stability or 0.0),
                     difficulty=float(card.difficulty or 0.0),
                     scheduled_days=(card.due - at).total_seconds() / 86400, result=result, reviewed_at=at)


def _public_item(catalog_db: Path, card: ReviewCard) -> ReviewItemPublic | None:
    """The card as the learner sees it (no answer, no hidden test); None when its content left the catalog."""
    prefix, _, ref = card.item_key.partition(":")
    index = get_index(catalog_db=catalog_db)
    if prefix == "quiz-item":
        rows = readers.quiz_items(catalog_db, item_id=ref)
        if not rows:
            return None
        item = rows[0]
        quiz = readers.quizzes(catalog_db).get(item["quiz_id"])
        lesson = index.lessons.get(quiz.lesson_id or "") if quiz else None
        return ReviewItemPublic(item_key=card.item_key, kind=str(item["kind"]), origin=card.origin,
                                title=quiz.title if quiz else "Quiz item", prompt=str(item["prompt"] or ""),
                                code=item["code"], choices=json.loads(item["choices"]) if item["choices"] else None,
                                url=lesson.url if lesson else None, due=card.due)
    if prefix == "exercise":
        exercise = readers.exercises(catalog_db).get(ref)
        if exercise is None:
            return None
        lesson = index.lessons.get(exercise.lesson_id or "")
        return ReviewItemPublic(item_key=card.item_key, kind="exercise", origin=card.origin,
                                title=exercise.title, prompt=exercise.prompt, starter=exercise.starter,
                                url=lesson.url if lesson else None, due=card.due)
    return None


def _today(session: Any, *, user_id: str, now: datetime) -> str:
    return gamification.today_for(session=session, user_id=user_id, now=now).isoformat()


def retention(session: Any, *, user_id: str) -> RetentionPublic:
    reviews, recalled, predicted = session.execute(
        select(func.count(), func.coalesce(func.sum(case((ReviewLog.correct.is_(True), 1), else_=0)), 0),
               func.avg(ReviewLog.retrievability))
        .where(ReviewLog.user_id == user_id, ReviewLog.kind == "review")).one()
    reviews, recalled = int(reviews or 0), int(recalled or 0)
    return RetentionPublic(reviews=reviews, recalled=recalled,
                           recall_rate=round(recalled / reviews, 4) if reviews else None,
                           predicted_recall=round(float(predicted), 4) if predicted is not None else None)


def queue(*, engine: Engine, catalog_db: Path, user_id: str, now: datetime) -> ReviewQueuePublic:
    """Today's review: the due items (oldest due first, up to the daily limit) and where the learner stands."""
    sync(engine=engine, catalog_db=catalog_db, user_id=user_id, now=now)
    with read_session(engine) as session:
        today = _today(session, user_id=user_id, now=now)
        day = session.get(ReviewDay, (user_id, today))
        answered = day.answered if day else 0
        due_cards = list(session.scalars(select(ReviewCard).where(ReviewCard.user_id == user_id, ReviewCard.due <= now)
                                         .order_by(ReviewCard.due, ReviewCard.item_key)))
        # Only today's share is rendered (a catalog read per item); a card whose content left the catalog is
        # skipped, and the next one takes its place.
        wanted = max(0, DAILY_LIMIT - answered)
        session_items: list[ReviewItemPublic] = []
        for card in due_cards:
            if len(session_items) >= wanted:
                break
            if (item := _public_item(catalog_db, card)) is not None:
                session_items.append(item)
        total = session.scalar(select(func.count()).select_from(ReviewCard).where(ReviewCard.user_id == user_id))
        next_due = session.scalar(select(func.min(ReviewCard.due)).where(ReviewCard.user_id == user_id,
                                                                           ReviewCard.due > now))
        kept = retention(session, user_id=user_id)
    return ReviewQueuePublic(today=today, due_count=len(due_cards), session=session_items, answered_today=answered,
                             correct_today=day.correct if day else 0,
                             done_today=bool(day and day.completed_at is not None),
                             xp_awarded_today=day.xp_awarded if day else 0, cards=int(total or 0),
                             next_due=next_due, retention=kept)


@dataclass(frozen=True)
class Prepared:
    """An answer accepted for grading: the card it is for and what grading it needs."""

    item_key: str
    kind: str
    quiz_item: dict[str, Any] | None
    exercise_id: str | None


def prepare_answer(*, engine: Engine, catalog_db: Path, user_id: str, body: ReviewAnswerCreate,
                   now: datetime) -> ReviewAnswerPublic | Prepared:
    """Check an answer before grading: a retry is answered from the log, a card not due is refused."""
    sync(engine=engine, catalog_db=catalog_db, user_id=user_id, now=now)  # what was met since the queue was read
    with read_session(engine) as session:
        replay = session.scalar(select(ReviewLog).where(ReviewLog.user_id == user_id,
                                                        ReviewLog.client_id == f"review:{body.review_id}"))
        if replay is not None:
            if replay.item_key != body.item_key:
                raise Conflict("That review id was used for another item.")
            return ReviewAnswerPublic.model_validate({**(replay.result or {}), "duplicate": True, "reward": None})
        card = session.get(ReviewCard, (user_id, body.item_key))
        if card is None:
            raise NotFound("That item is not in your review queue.")
        if card.due > now:
            raise Conflict("That item is not due yet: it comes back on its own day.", {"due": card.due.isoformat()})
        day = session.get(ReviewDay, (user_id, _today(session, user_id=user_id, now=now)))
        if day is not None and day.answered >= DAILY_LIMIT:
            raise Conflict(f"That's today's {DAILY_LIMIT} reviews done; the rest wait for tomorrow.")
    prefix, _, ref = body.item_key.partition(":")
    if prefix == "quiz-item":
        rows = readers.quiz_items(catalog_db, item_id=ref)
        if not rows:
            raise NotFound("That item is no longer in the course.")
        if isinstance(body.answer, str) and len(body.answer) > grading.MAX_ANSWER_CHARS:
            raise InvalidInput(f"Answers are limited to {grading.MAX_ANSWER_CHARS} characters.")
        return Prepared(item_key=body.item_key, kind=str(rows[0]["kind"]), quiz_item=rows[0], exercise_id=None)
    if prefix == "exercise":
        if body.code is None:
            raise InvalidInput("An exercise is answered with code.", {"field": "code"})
        return Prepared(item_key=body.item_key, kind="exercise", quiz_item=None, exercise_id=ref)
    raise NotFound("That item is not in your review queue.")


def grade_quiz_item(*, engine: Engine, catalog_db: Path, user_id: str, prepared: Prepared,
                    body: ReviewAnswerCreate) -> tuple[bool, dict[str, Any]]:
    """(right?, what the learner may see): the key and explanation only for a quiz they passed before."""
    item = prepared.quiz_item
    assert item is not None
    quiz = readers.quiz(catalog_db, item["quiz_id"])
    reveal = quiz.id in grading.passed_quizzes(engine=engine, user_id=user_id)
    result = grading.review(catalog_db=catalog_db, quiz=quiz, items=[item], answers={item["id"]: body.answer},
                            reveal=reveal)[0]
    return result.correct, {"answer": result.answer, "explanation_html": result.explanation_html,
                            "nudge": result.nudge, "review_url": result.review_url}


def record_answer(*, engine: Engine, catalog_db: Path, user_id: str, body: ReviewAnswerCreate, correct: bool,
                  shown: dict[str, Any], results: list[TestResultPublic], now: datetime,
                  gamification_enabled: bool) -> ReviewAnswerPublic:
    """Rate the card (FSRS), log the review, count it for today; the day's last due item pays the day's XP."""
    with write_session(engine) as session:
        card = session.get(ReviewCard, (user_id, body.item_key), with_for_update=True)
        if card is None:
            raise NotFound("That item is not in your review queue.")
        if card.due > now:
            # Answered meanwhile by another request (another tab): one review counts, not two.
            raise Conflict("That item was just reviewed.", {"due": card.due.isoformat()})
        after, recall, elapsed = scheduling.review(scheduling.load(card.fsrs), correct=correct, at=now)
        card.fsrs, card.due = dict(after.to_dict()), after.due
        card.reps += 1
        card.lapses += 0 if correct else 1
        today = _today(session, user_id=user_id, now=now)
        insert_ignore(session, ReviewDay, {"user_id": user_id, "day": today, "answered": 0, "correct": 0,
                                           "completed_at": None, "xp_awarded": 0}, ["user_id", "day"])
        day = session.get(ReviewDay, (user_id, today), with_for_update=True, populate_existing=True)
        assert day is not None
        day.answered += 1
        day.correct += 1 if correct else 0
        session.flush()
        left = session.scalar(select(func.count()).select_from(ReviewCard).where(
            ReviewCard.user_id == user_id, ReviewCard.due <= now)) or 0
        reward = None
        if day.completed_at is None and (left == 0 or day.answered >= DAILY_LIMIT):
            day.completed_at = now
            session.flush()
            done = completion.complete_review(Tx.of_session(session), user_id=user_id, day=today,
                                              all_right=day.correct == day.answered, at=now, catalog_db=catalog_db,
                                              gamification_enabled=gamification_enabled)
            day.xp_awarded = done.xp_awarded
            reward = done.public()
        public = ReviewAnswerPublic(item_key=body.item_key, correct=correct, results=results, next_due=after.due,
                                    done_today=day.completed_at is not None, reward=reward, **shown)
        _record_statement(session, catalog_db=catalog_db, user_id=user_id, card=card, body=body, correct=correct,
                          recall=recall, elapsed=elapsed, at=now)
        session.add(_log(user_id=user_id, item_key=body.item_key, client_id=f"review:{body.review_id}", kind="review",
                         correct=correct, card=after, recall=recall, elapsed=elapsed, at=now,
                         result=public.model_dump(mode="json", exclude={"reward"})))
    return public


def _record_statement(session: Any, *, catalog_db: Path, user_id: str, card: ReviewCard, body: ReviewAnswerCreate,
                      correct: bool, recall: float | None, elapsed: float | None, at: datetime) -> None:
    """The learning record: one card reviewed, keyed by the client's review id (counted once)."""
    prefix, _, ref = body.item_key.partition(":")
    course_id = None
    if prefix == "exercise":
        exercise = readers.exercises(catalog_db).get(ref)
        module = get_index(catalog_db=catalog_db).modules.get(exercise.module_id) if exercise is not None else None
        course_id = module.course_id if module is not None else None
    xapi.record(db=session, key=body.review_id, user_id=user_id, verb="reviewed", object_type="review_card",
                object_id=body.item_key, course_id=course_id, skills=list(card.skills or []), success=correct,
                score=1.0 if correct else 0.0, timestamp=at,
                extensions={"kind": prefix, "retrievability": recall, "elapsed_days": elapsed, "reps": card.reps})


def retention_records(*, engine: Engine, user_id: str) -> list[dict[str, Any]]:
    """Every rating of the learner, oldest first: predicted recall beside the outcome (analytics, export)."""
    with read_session(engine) as session:
        rows = session.scalars(select(ReviewLog).where(ReviewLog.user_id == user_id)
                               .order_by(ReviewLog.reviewed_at, ReviewLog.id))
        return [{"item_key": r.item_key, "kind": r.kind, "correct": r.correct, "rating": r.rating,
                 "retrievability": r.retrievability, "elapsed_days": r.elapsed_days, "stability": r.stability,
                 "difficulty": r.difficulty, "scheduled_days": r.scheduled_days,
                 "reviewed_at": r.reviewed_at.isoformat()} for r in rows]


def due_count(*, engine: Engine, user_id: str, now: datetime) -> int:
    """How many of the learner's cards are due now (read only: the queue's sync runs when it is opened)."""
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(ReviewCard).where(
            ReviewCard.user_id == user_id, ReviewCard.due <= now)) or 0)
