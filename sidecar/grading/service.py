"""Quiz grading on the server: answer keys never leave catalog.db."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from sidecar.catalog import readers
from sidecar.catalog.readers import LessonRecord, QuizRecord
from sidecar.catalog.service import get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_session, write_session
from sidecar.errors import InvalidInput
from sidecar.gamification import xp
from sidecar.progress import completion
from sidecar.xapi import service as xapi

from . import metrics as _achievement_metrics  # noqa: F401  (registers grading's achievement metrics)
from .models import Answer, QuizAttemptPublic, QuizItemResult
from .tables import QuizAttempt

MAX_ANSWER_CHARS = 10_000


def _normalize_output(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _normalize_code(text: str) -> str:
    return " ".join(text.split())


def is_correct(item: dict[str, Any], answer: Answer) -> bool:
    key = json.loads(item["answer"])
    kind = item["kind"]
    if answer is None:
        return False
    if kind in ("multiple-choice", "find-the-bug"):
        try:
            return int(answer) == int(key)
        except (TypeError, ValueError):
            return False
    text = str(answer)
    if kind == "predict-output":
        return _normalize_output(text) == _normalize_output(str(key))
    accepted = [str(key), *json.loads(item["accept"] or "[]")]
    return _normalize_code(text) in {_normalize_code(a) for a in accepted}


def grade_quiz(*, catalog_db: Path, quiz_id: str, answers: dict[str, Answer]) -> QuizAttemptPublic:
    quiz = readers.quiz(catalog_db, quiz_id)
    items = readers.quiz_items(catalog_db, quiz_id=quiz_id)
    known = {item["id"] for item in items}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidInput("Some answers are for items that are not in this quiz.", {"unknown_items": unknown})
    too_long = [k for k, v in answers.items() if isinstance(v, str) and len(v) > MAX_ANSWER_CHARS]
    if too_long:
        raise InvalidInput(f"Answers are limited to {MAX_ANSWER_CHARS} characters.", {"items": too_long})
    marks = [is_correct(item, answers.get(item["id"])) for item in items]
    score = round(100.0 * sum(marks) / len(marks), 1) if marks else 0.0
    passed = score >= quiz.pass_percent
    return QuizAttemptPublic(quiz_id=quiz_id, score_percent=score, passed=passed, revealed=passed,
                             items=review(catalog_db=catalog_db, quiz=quiz, items=items, answers=answers,
                                          reveal=passed))


def _public_key(item: dict[str, Any]) -> Answer:
    key = json.loads(item["answer"])
    if item["kind"] in ("multiple-choice", "find-the-bug"):
        return int(key)
    return str(key)


def _lesson_to_reread(catalog_db: Path, quiz: QuizRecord, skills: list[str]) -> LessonRecord | None:
    """The lesson of the quiz's module that teaches most of the item's skills (the earliest on a tie)."""
    best: tuple[int, int] | None = None
    found: LessonRecord | None = None
    for lesson in readers.lessons(catalog_db).values():
        if lesson.module_id != quiz.module_id or lesson.id == quiz.lesson_id:
            continue
        shared = len(set(lesson.skills) & set(skills))
        rank = (-shared, lesson.position)
        if shared and (best is None or rank < best):
            best, found = rank, lesson
    return found


def review(*, catalog_db: Path, quiz: QuizRecord, items: list[dict[str, Any]], answers: dict[str, Answer],
           reveal: bool) -> list[QuizItemResult]:
    """Per-item results. `reveal` (a passing attempt) adds the key and the explanation; otherwise a wrong
    item gets a nudge towards the lesson to re-read, and nothing that gives the answer away."""
    results = []
    for item in items:
        given = answers.get(item["id"])
        correct = is_correct(item, given)
        result = QuizItemResult(item_id=item["id"], correct=correct, given=given)
        if reveal:
            result.answer = _public_key(item)
            result.explanation_html = item["explanation_html"]
        elif not correct:
            lesson = _lesson_to_reread(catalog_db, quiz, json.loads(item["skills"] or "[]"))
            if given is None:
                result.nudge = "No answer given."
            else:
                result.nudge = "Not quite."
            if lesson is not None:
                result.nudge += f" Re-read the part about this in “{lesson.title}”, then try again."
                result.review_url = lesson.url
            else:
                result.nudge += " Re-read this module's lessons, then try again."
        results.append(result)
    return results


def latest_quiz_attempt(*, engine: Engine, catalog_db: Path, user_id: str, quiz_id: str) -> QuizAttemptPublic | None:
    """The learner's latest stored attempt at a quiz, reviewed again against the current catalog (None: no
    attempt yet). The key comes only when that attempt passed."""
    quiz = readers.quiz(catalog_db, quiz_id)
    with read_session(engine) as session:
        record = session.scalars(select(QuizAttempt).where(
            QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz_id).order_by(
            QuizAttempt.created_at.desc(), QuizAttempt.id.desc()).limit(1)).first()
        best = session.scalar(select(func.max(QuizAttempt.score_percent)).where(
            QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz_id))
        if record is None:
            return None
        answers: dict[str, Answer] = {k: v for k, v in (record.answers or {}).items() if isinstance(v, (int, str))}
        attempt = QuizAttemptPublic(
            quiz_id=quiz_id, score_percent=record.score_percent, passed=record.passed, revealed=record.passed,
            saved=True, xp_awarded=record.xp_awarded, best_score_percent=best, created_at=record.created_at,
            items=review(catalog_db=catalog_db, quiz=quiz, items=readers.quiz_items(catalog_db, quiz_id=quiz_id),
                         answers=answers, reveal=record.passed))
    return attempt


def record_quiz_attempt(*, engine: Engine, catalog_db: Path, user_id: str, attempt: QuizAttemptPublic,
                        answers: dict[str, Answer], gamification_enabled: bool) -> QuizAttemptPublic:
    """Store a signed-in learner's attempt; the first pass earns quiz XP and completes the quiz lesson."""
    quiz = readers.quizzes(catalog_db).get(attempt.quiz_id)
    index = get_index(catalog_db=catalog_db)
    lesson = index.lessons.get(quiz.lesson_id or "") if quiz else None
    module = index.modules.get(quiz.module_id) if quiz else None
    item_skills = {item["id"]: json.loads(item["skills"] or "[]")
                   for item in readers.quiz_items(catalog_db, quiz_id=attempt.quiz_id)}
    now = utcnow()
    attempt_id = str(uuid.uuid4())
    # The learning record: each item answered, keyed by this attempt (built and validated before the lock).
    statements = [xapi.prepare(key=attempt_id, user_id=user_id, verb="answered", object_type="quiz_item",
                               object_id=item.item_id, course_id=module.course_id if module is not None else None,
                               skills=item_skills.get(item.item_id, ()), success=item.correct,
                               score=1.0 if item.correct else 0.0, timestamp=now,
                               extensions={"quiz_id": attempt.quiz_id, "answered": item.given is not None})
                  for item in attempt.items]
    with write_session(engine) as session:
        earlier = session.scalar(select(func.count()).select_from(QuizAttempt).where(
            QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == attempt.quiz_id)) or 0
        record = QuizAttempt(id=attempt_id, user_id=user_id, quiz_id=attempt.quiz_id, answers=dict(answers),
                             score_percent=attempt.score_percent, passed=attempt.passed, created_at=now)
        session.add(record)
        session.flush()  # the completion path reads best scores with plain SQL (Bronze needs this attempt's)
        for statement in statements:
            xapi.store(session, statement, now=now)
        tx = Tx.of_session(session)
        lesson_id = lesson.id if lesson is not None else None
        if attempt.passed:
            # The quiz's own XP and its lesson's, decided and paid in one place (progress.completion).
            passed = completion.QuizPass(quiz_id=attempt.quiz_id, score_percent=attempt.score_percent,
                                         pass_percent=quiz.pass_percent if quiz else xp.DEFAULT_PASS_PERCENT)
            reward = completion.complete_graded_lesson(
                tx, catalog_db=catalog_db, user_id=user_id, lesson_id=lesson_id, at=now,
                attempt=completion.Attempt.quiz_passed(first_try=earlier == 0, quiz=passed),
                gamification_enabled=gamification_enabled)
        elif quiz is not None:
            reward = completion.quiz_scored(tx, catalog_db=catalog_db, user_id=user_id, module_id=quiz.module_id,
                                            lesson_id=lesson_id, at=now, gamification_enabled=gamification_enabled)
        else:
            reward = completion.unchanged(tx, user_id=user_id, lesson_id=lesson_id,
                                          gamification_enabled=gamification_enabled, at=now)
        record.xp_awarded = reward.xp_awarded
        best = session.scalar(select(func.max(QuizAttempt.score_percent)).where(
            QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == attempt.quiz_id))
    public = reward.public()
    return attempt.model_copy(update={"saved": True, "xp_awarded": reward.xp_awarded, "best_score_percent": best,
                                      "new_achievements": public.new_achievements, "reward": public,
                                      "created_at": now})


def quiz_attempts_since(*, engine: Engine, user_id: str, since: datetime | None) -> list[QuizAttempt]:
    """The learner's saved quiz attempts from `since` on (all when None), oldest first (spaced review's source)."""
    with read_session(engine) as session:
        query = select(QuizAttempt).where(QuizAttempt.user_id == user_id)
        if since is not None:
            query = query.where(QuizAttempt.created_at >= since)
        rows = list(session.scalars(query.order_by(QuizAttempt.created_at, QuizAttempt.id)))
        session.expunge_all()
    return rows


def passed_quizzes(*, engine: Engine, user_id: str) -> set[str]:
    """Quizzes the learner has passed: their keys were shown to the learner already."""
    with read_session(engine) as session:
        return set(session.scalars(select(QuizAttempt.quiz_id).where(QuizAttempt.user_id == user_id,
                                                                     QuizAttempt.passed.is_(True))))
