"""Trusted exercise grading: the server re-runs the visible tests plus the hidden ones in the sandbox.

Anything that awards XP or completes a lesson comes from here, never from the browser's own
Check. Submissions are idempotent by the client's submission id, so a retried request is graded
once; the first passing submission completes the lesson and earns XP per the design's §8.2.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from sidecar.catalog import readers
from sidecar.catalog.readers import ExerciseRecord
from sidecar.catalog.service import get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, InvalidInput, Unavailable
from sidecar.progress import completion
from sidecar.progress.models import RewardPublic
from sidecar.xapi import service as xapi

from . import challenges
from .models import SubmissionPublic, TestResultPublic
from .tables import HintReveal, Submission

MAX_CODE_CHARS = 50_000


def load_exercise(catalog_db: Path, exercise_id: str) -> ExerciseRecord:
    """The exercise (NotFound when the catalog has none with that id): sidecar.catalog.readers.exercise."""
    return readers.exercise(catalog_db, exercise_id)


def _public_results(results: list[dict[str, Any]]) -> list[TestResultPublic]:
    # The harness already replaced hidden tests' details with their authored feedback.
    return [TestResultPublic(name=r["name"], passed=r["passed"], message=r["message"], hidden=r["hidden"])
            for r in results]


def _to_public(sub: Submission, *, reward: RewardPublic | None, message: str, duplicate: bool) -> SubmissionPublic:
    """`reward` None: a listing, which tells no lesson state or reward."""
    return SubmissionPublic(id=sub.id, submission_id=sub.client_id, exercise_id=sub.exercise_id, passed=sub.passed,
                            status=sub.status, message=message, results=_public_results(sub.results),
                            xp_awarded=sub.xp_awarded, lesson_id=sub.lesson_id,
                            lesson_state=reward.lesson_state if reward else "",
                            new_achievements=reward.new_achievements if reward else [], duplicate=duplicate,
                            created_at=sub.created_at, reward=reward)


@dataclass(frozen=True)
class Pending:
    """A submission accepted for grading: what the sandbox needs, and what recording it needs."""

    exercise: ExerciseRecord
    code: str
    client_id: str
    seed: int
    tests: list[dict[str, Any]]
    at: datetime
    challenge_mode: Literal["timed", "practice"] | None = None  # challenge lessons: see challenges.py
    practice_xp: bool = True  # the challenge's policy: does a practice pass earn the ordinary lesson XP


def prepare_submission(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str, code: str,
                       client_id: str | None, gamification_enabled: bool) -> SubmissionPublic | Pending:
    """Check a submission before grading; a retry of one already graded is answered from storage."""
    if len(code) > MAX_CODE_CHARS:
        raise InvalidInput(f"Code is limited to {MAX_CODE_CHARS:,} characters.")
    exercise = load_exercise(catalog_db, exercise_id)
    client_id = client_id or uuid.uuid4().hex
    with read_session(engine) as session:
        previous = session.scalar(select(Submission).where(Submission.user_id == user_id,
                                                           Submission.client_id == client_id))
    if previous is not None:
        # A retry of a request we already graded: answer it again, grade nothing twice.
        if previous.exercise_id != exercise_id:
            raise Conflict("That submission id was used for another exercise.")
        # Its XP is the stored one; the reward says where the learner stands now and earns nothing again.
        reward = completion.current_reward(engine, user_id=user_id, lesson_id=previous.lesson_id,
                                           gamification_enabled=gamification_enabled, at=utcnow())
        return _to_public(previous, reward=reward.public(), duplicate=True, message="Already graded.")
    lesson = get_index(catalog_db=catalog_db).lessons.get(exercise.lesson_id or "")
    now = utcnow()
    challenge_mode: Literal["timed", "practice"] | None = None
    practice_xp = True
    found = challenges.challenge(catalog_db, lesson.id) if lesson is not None else None
    if found is not None:
        state = challenges.state_of(engine=engine, found=found, user_id=user_id, now=now)
        mode = state.submission_mode(grace=challenges.GRACE)
        if mode == "locked":
            if state.latest is None:
                raise Conflict("Press Start first: this challenge is graded only while its clock runs.",
                               {"status": state.status})
            raise Conflict("Time is up for this challenge: this submission was not graded.",
                           {"deadline": state.latest.deadline.isoformat(), "status": state.status,
                            "retake_at": state.retake_at.isoformat() if state.retake_at else None})
        challenge_mode = mode
        practice_xp = found.policy.practice_xp
    # Randomized exercises draw fresh inputs per submission, on the trusted side.
    seed = secrets.randbelow(2**31) if exercise.randomized else 0
    tests = exercise.tests
    return Pending(exercise=exercise, code=code, client_id=client_id, seed=seed, tests=tests, at=now,
                   challenge_mode=challenge_mode, practice_xp=practice_xp)


def grade_pending(*, pending: Pending, sandbox: Callable[[], Any]) -> Any:
    """The sandbox's verdicts (a GradeResult): the only place a submission is run."""
    from sidecar.sandbox import SandboxUnavailable

    try:
        return sandbox().grade(pending.code, pending.tests, seed=pending.seed,
                               time_limit=pending.exercise.time_limit, memory_mb=pending.exercise.memory_mb)
    except SandboxUnavailable as exc:
        raise Unavailable(f"Grading is unavailable right now ({exc}); your code was not graded.") from None


def record_submission(*, engine: Engine, catalog_db: Path, user_id: str, pending: Pending, graded: Any,
                      gamification_enabled: bool,
                      finish: Callable[[Session, SubmissionPublic], None] | None = None) -> SubmissionPublic:
    """Store the verdict, once per (learner, submission id), with what it earns, in one transaction;
    Conflict when that submission id is stored already (nothing is written then). `finish` runs last,
    inside the same transaction (the grader fleet marks its job graded there)."""
    return _record(engine=engine, catalog_db=catalog_db, user_id=user_id, pending=pending, graded=graded,
                   gamification_enabled=gamification_enabled, finish=finish)


def submit(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str, code: str, client_id: str | None,
           gamification_enabled: bool, sandbox: Any) -> SubmissionPublic:
    """Prepare, grade and record in one call (the API goes through the fair grading queue instead)."""
    pending = prepare_submission(engine=engine, catalog_db=catalog_db, user_id=user_id, exercise_id=exercise_id,
                                 code=code, client_id=client_id, gamification_enabled=gamification_enabled)
    if isinstance(pending, SubmissionPublic):
        return pending
    graded = grade_pending(pending=pending, sandbox=lambda: sandbox)
    return record_submission(engine=engine, catalog_db=catalog_db, user_id=user_id, pending=pending, graded=graded,
                             gamification_enabled=gamification_enabled)


def _record(*, engine: Engine, catalog_db: Path, user_id: str, pending: Pending, graded: Any,
            gamification_enabled: bool,
            finish: Callable[[Session, SubmissionPublic], None] | None = None) -> SubmissionPublic:
    exercise, code, client_id, at = pending.exercise, pending.code, pending.client_id, pending.at
    with write_session(engine) as session:
        earlier = session.scalar(select(func.count()).select_from(Submission).where(
            Submission.user_id == user_id, Submission.exercise_id == exercise.id)) or 0
        hints_used = session.scalar(select(func.count()).select_from(HintReveal).where(
            HintReveal.user_id == user_id, HintReveal.exercise_id == exercise.id)) or 0
        submission = Submission(id=str(uuid.uuid4()), user_id=user_id, client_id=client_id, exercise_id=exercise.id,
                                lesson_id=exercise.lesson_id, code=code, passed=bool(graded.passed),
                                status=graded.status, results=list(graded.results), hints_used=hints_used,
                                duration_ms=int(graded.duration_ms), xp_awarded=0, created_at=at)
        if not insert_ignore(session, Submission, {c.name: getattr(submission, c.name)
                                                   for c in Submission.__table__.columns}, ["user_id", "client_id"]):
            raise Conflict("This submission is being graded already.")
        _record_statement(session, catalog_db=catalog_db, user_id=user_id, pending=pending, graded=graded,
                          attempt=earlier + 1, hints_used=hints_used)
        tx = Tx.of_session(session)
        if graded.passed and exercise.lesson_id:
            # The first pass completes the lesson; what it earns is decided in progress.completion.
            reward = completion.complete_graded_lesson(
                tx, catalog_db=catalog_db, user_id=user_id, lesson_id=exercise.lesson_id, at=at,
                attempt=completion.Attempt.exercise(first_try=earlier == 0, hints_used=hints_used,
                                                    practice=pending.challenge_mode == "practice",
                                                    practice_xp=pending.practice_xp),
                gamification_enabled=gamification_enabled)
            session.execute(update(Submission).where(Submission.id == submission.id)
                            .values(xp_awarded=reward.xp_awarded))
            submission.xp_awarded = reward.xp_awarded
        else:
            reward = completion.unchanged(tx, user_id=user_id, lesson_id=exercise.lesson_id,
                                          gamification_enabled=gamification_enabled, at=at)
        public = _to_public(submission, reward=reward.public(), duplicate=False, message=graded.message)
        public.challenge_mode = pending.challenge_mode
        if finish is not None:
            finish(session, public)
    return public


def _record_statement(session: Session, *, catalog_db: Path, user_id: str, pending: Pending, graded: Any,
                      attempt: int, hints_used: int) -> None:
    """The learning record: an exercise attempted, keyed by the client's submission id (graded once)."""
    exercise = pending.exercise
    results = list(graded.results)
    module = get_index(catalog_db=catalog_db).modules.get(exercise.module_id)
    xapi.record(db=session, key=pending.client_id, user_id=user_id, verb="attempted", object_type="exercise",
                object_id=exercise.id, course_id=module.course_id if module is not None else None,
                skills=exercise.skills, success=bool(graded.passed),
                score=sum(1 for r in results if r.get("passed")) / len(results) if results else None,
                timestamp=pending.at, extensions={"attempt": attempt, "hints_used": hints_used,
                                                  "status": str(graded.status),
                                                  "challenge_mode": pending.challenge_mode})


@dataclass(frozen=True)
class LastCode:
    """The code a learner last sent for grading on one exercise (restores their editor elsewhere)."""

    code: str
    passed: bool
    created_at: datetime


def last_code(session: Session, *, user_id: str, exercise_id: str) -> LastCode | None:
    """The learner's newest submission's code on the exercise, None when there is none."""
    row = session.scalars(select(Submission).where(Submission.user_id == user_id,
                                                   Submission.exercise_id == exercise_id)
                          .order_by(Submission.created_at.desc()).limit(1)).first()
    return LastCode(code=row.code, passed=row.passed, created_at=row.created_at) if row else None


def history(*, engine: Engine, user_id: str, exercise_id: str) -> list[SubmissionPublic]:
    with read_session(engine) as session:
        rows = session.scalars(select(Submission).where(Submission.user_id == user_id,
                                                        Submission.exercise_id == exercise_id)
                               .order_by(Submission.created_at.desc()).limit(50)).all()
    return [_to_public(r, reward=None, duplicate=False, message="") for r in rows]


@dataclass(frozen=True)
class ExerciseActivity:
    """What the tutor needs to know about a learner's work on one exercise (read-only)."""

    attempts: int
    failed: int
    passed: bool
    failed_since_pass: int  # consecutive failed submissions at the end (repeated errors)
    last_results: list[dict[str, Any]]  # the newest submission's public results
    last_code: str | None
    last_at: datetime | None
    first_pass_seconds: float | None  # from the first submission to the first pass (quick or slow)
    hints_seen: int
    bottom_out_seen: bool


def activity(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str) -> ExerciseActivity:
    exercise = load_exercise(catalog_db, exercise_id)
    with read_session(engine) as session:
        subs = session.execute(select(Submission.passed, Submission.results, Submission.code, Submission.created_at)
                               .where(Submission.user_id == user_id, Submission.exercise_id == exercise_id)
                               .order_by(Submission.created_at)).all()
        rungs = set(session.scalars(select(HintReveal.rung).where(HintReveal.user_id == user_id,
                                                                  HintReveal.exercise_id == exercise_id)).all())
    bottom = {i for i, hint in enumerate(exercise.hints) if hint.get("bottom_out")}
    failed_since_pass = 0
    for sub in subs:
        failed_since_pass = 0 if sub.passed else failed_since_pass + 1
    first_pass = next((s.created_at for s in subs if s.passed), None)
    last = subs[-1] if subs else None
    return ExerciseActivity(
        attempts=len(subs), failed=sum(1 for s in subs if not s.passed), passed=first_pass is not None,
        failed_since_pass=failed_since_pass,
        last_results=[r.model_dump() for r in _public_results(last.results)] if last else [],
        last_code=last.code if last else None, last_at=last.created_at if last else None,
        first_pass_seconds=(first_pass - subs[0].created_at).total_seconds() if first_pass else None,
        hints_seen=len(rungs), bottom_out_seen=bool(rungs & bottom))


def graded_since(*, engine: Engine, user_id: str, source_keys_seen: set[str]) -> list[dict[str, Any]]:
    """Graded exercise results not yet in `source_keys_seen`, oldest first (for skill estimates)."""
    with read_session(engine) as session:
        rows = session.execute(select(Submission.id, Submission.lesson_id, Submission.passed)
                               .where(Submission.user_id == user_id).order_by(Submission.created_at)).all()
    return [{"source_key": f"submission:{r.id}", "lesson_id": r.lesson_id, "passed": r.passed}
            for r in rows if f"submission:{r.id}" not in source_keys_seen]


def submissions_since(*, engine: Engine, user_id: str, since: datetime | None) -> list[dict[str, Any]]:
    """The learner's graded submissions from `since` on (all when None), oldest first (spaced review's source)."""
    with read_session(engine) as session:
        query = select(Submission.id, Submission.exercise_id, Submission.code, Submission.passed,
                       Submission.created_at).where(Submission.user_id == user_id)
        if since is not None:
            query = query.where(Submission.created_at >= since)
        rows = session.execute(query.order_by(Submission.created_at, Submission.id)).all()
    return [{"id": r.id, "exercise_id": r.exercise_id, "code": r.code, "passed": r.passed, "created_at": r.created_at}
            for r in rows]
