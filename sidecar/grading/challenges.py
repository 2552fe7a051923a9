"""Timed challenges: attempts the learner starts (the Start button), and the retake policy.

A challenge lesson's clock starts only when the learner asks (POST /api/challenges/{id}/start);
opening or reloading the page reads the state (GET) and starts nothing. Each start is a numbered
attempt (ChallengeAttempt); a start while one runs returns it, and the attempt number in the primary
key makes two concurrent starts one attempt.

The policy (schemas/attempt-policy.schema.json, a lesson's `attempt_policy`) says how many attempts,
the cool-down between them (from the previous deadline), and what a submission gets when no attempt
runs: `practice` grades it in practice mode (a pass completes the lesson, so the course can always be
finished, but never pays the timed XP: see progress.completion.lesson_awards), `locked` refuses it.
Submitting before any start follows the same rule: with `practice`, a learner who never wants the
clock can still finish the course; with `locked` the author asked for timed work only, and Start is
always available to a learner who has not started yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sidecar.catalog import readers
from sidecar.catalog.service import get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, NotFound
from sidecar.progress.tables import LessonProgress

from .models import AttemptPolicyPublic, ChallengePublic
from .tables import ChallengeAttempt

# Grace for the request in flight when a challenge's clock runs out.
GRACE = timedelta(seconds=5)

Status = Literal["not_started", "running", "expired", "passed"]
Mode = Literal["timed", "practice", "locked"]


@dataclass(frozen=True)
class AttemptPolicy:
    """A retake policy with its defaults filled in (attempt-policy.schema.json documents the fields)."""

    max_attempts: int | None = None  # None: unlimited
    cooldown_minutes: int = 60
    after_expiry: Literal["practice", "locked"] = "practice"
    practice_xp: bool = True

    @classmethod
    def of(cls, authored: dict[str, Any] | None) -> AttemptPolicy:
        # Validated at build time against the schema; here only the defaults are applied.
        data = authored or {}
        limit = data.get("max_attempts", "unlimited")
        return cls(max_attempts=None if limit == "unlimited" else int(limit),
                   cooldown_minutes=int(data.get("cooldown_minutes", cls.cooldown_minutes)),
                   after_expiry="locked" if data.get("after_expiry") == "locked" else "practice",
                   practice_xp=bool(data.get("practice_xp", True)))

    def public(self) -> AttemptPolicyPublic:
        return AttemptPolicyPublic(max_attempts=self.max_attempts, cooldown_minutes=self.cooldown_minutes,
                                   after_expiry=self.after_expiry, practice_xp=self.practice_xp)


@dataclass(frozen=True)
class Challenge:
    lesson_id: str
    time_limit_minutes: int
    policy: AttemptPolicy


@dataclass(frozen=True)
class State:
    """A learner's standing on one challenge at one moment of the server's clock."""

    challenge: Challenge
    now: datetime
    latest: ChallengeAttempt | None
    passed: bool

    @property
    def running(self) -> bool:
        return self.latest is not None and self.now < self.latest.deadline

    @property
    def status(self) -> Status:
        if self.passed:
            return "passed"
        if self.running:
            return "running"
        return "expired" if self.latest is not None else "not_started"

    @property
    def attempts_used(self) -> int:
        return self.latest.attempt if self.latest is not None else 0

    @property
    def attempts_left(self) -> int | None:
        limit = self.challenge.policy.max_attempts
        return None if limit is None else max(0, limit - self.attempts_used)

    @property
    def retake_at(self) -> datetime | None:
        """When a new attempt may start (None: one may start now, or never again)."""
        if self.passed or self.latest is None or self.running or self.attempts_left == 0:
            return None
        at = self.latest.deadline + timedelta(minutes=self.challenge.policy.cooldown_minutes)
        return at if at > self.now else None

    @property
    def can_start(self) -> bool:
        return (not self.passed and not self.running and self.attempts_left != 0 and self.retake_at is None)

    def submission_mode(self, *, grace: timedelta = timedelta(0)) -> Mode:
        """What a submission made now gets: graded in the running attempt, in practice mode, or refused."""
        if self.latest is not None and self.now <= self.latest.deadline + grace:
            return "timed"
        return "practice" if self.challenge.policy.after_expiry == "practice" else "locked"

    def public(self) -> ChallengePublic:
        latest = self.latest
        left = max(0.0, (latest.deadline - self.now).total_seconds()) if latest is not None and self.running else 0.0
        return ChallengePublic(
            lesson_id=self.challenge.lesson_id, status=self.status, attempt=self.attempts_used,
            attempts_left=self.attempts_left, started_at=latest.started_at if latest else None,
            deadline=latest.deadline if latest else None, seconds_left=left, retake_at=self.retake_at,
            can_start=self.can_start, submission_mode=self.submission_mode(),
            time_limit_minutes=self.challenge.time_limit_minutes, policy=self.challenge.policy.public(),
            server_time=self.now)


def challenge(catalog_db: Path, lesson_id: str) -> Challenge | None:
    """The challenge lesson with that id, None when the lesson is not a challenge (NotFound: no such lesson)."""
    lesson = get_index(catalog_db=catalog_db).lessons.get(lesson_id)
    if lesson is None:
        raise NotFound("No challenge lesson with that id.")
    if lesson.type != "challenge":
        return None
    record = readers.lesson(catalog_db, lesson_id)
    return Challenge(lesson_id=lesson_id, time_limit_minutes=readers.time_limit_minutes(catalog_db, lesson_id),
                     policy=AttemptPolicy.of(record.attempt_policy))


def _challenge_or_404(catalog_db: Path, lesson_id: str) -> Challenge:
    found = challenge(catalog_db, lesson_id)
    if found is None:
        raise NotFound("No challenge lesson with that id.")
    return found


def _read(session: Session, found: Challenge, user_id: str, now: datetime) -> State:
    latest = session.scalar(select(ChallengeAttempt).where(
        ChallengeAttempt.user_id == user_id, ChallengeAttempt.lesson_id == found.lesson_id)
        .order_by(ChallengeAttempt.attempt.desc()).limit(1))
    progress = session.scalar(select(LessonProgress.state).where(LessonProgress.user_id == user_id,
                                                                 LessonProgress.lesson_id == found.lesson_id))
    return State(challenge=found, now=now, latest=latest, passed=progress == "completed")


def state_of(*, engine: Engine, found: Challenge, user_id: str, now: datetime) -> State:
    with read_session(engine) as session:
        return _read(session, found, user_id, now)


def read_state(*, engine: Engine, catalog_db: Path, user_id: str, lesson_id: str) -> State:
    """The learner's state (GET): starts nothing."""
    return state_of(engine=engine, found=_challenge_or_404(catalog_db, lesson_id), user_id=user_id, now=utcnow())


def start(*, engine: Engine, catalog_db: Path, user_id: str, lesson_id: str) -> State:
    """Start an attempt, or return the running one; 409 when the policy allows none now."""
    found = _challenge_or_404(catalog_db, lesson_id)
    now = utcnow()
    with write_session(engine) as session:
        current = _read(session, found, user_id, now)
        if current.running:
            return current
        if current.passed:
            raise Conflict("You have passed this challenge already: there is nothing to retake.",
                           {"status": "passed"})
        if current.attempts_left == 0:
            raise Conflict("You have used every attempt at this challenge.",
                           {"attempts_left": 0, "submission_mode": current.submission_mode()})
        if current.retake_at is not None:
            raise Conflict(f"You can retake this challenge from {current.retake_at.isoformat(timespec='seconds')}.",
                           {"retake_at": current.retake_at.isoformat()})
        number = current.attempts_used + 1
        # The primary key (user, lesson, attempt) makes concurrent starts of the same number one row.
        insert_ignore(session, ChallengeAttempt, {"user_id": user_id, "lesson_id": lesson_id, "attempt": number,
                                                  "started_at": now,
                                                  "deadline": now + timedelta(minutes=found.time_limit_minutes)},
                      ["user_id", "lesson_id", "attempt"])
        return _read(session, found, user_id, now)
