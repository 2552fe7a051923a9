"""A lesson is completed → reward: the one path from any completion to XP, streak, achievements and totals.

Lessons complete three ways: on reading (a progress event, events.py), by a passing exercise
submission and by a passing quiz attempt (both in grading). Each entry point calls in here inside
its own write transaction, and answers with the `Reward` built here in that same transaction:

- `lesson_awards` decides what a completion earns, as (XP ledger source key, award) pairs: the
  lesson's XP (first try and streak bonuses, or a challenge's no-hints bonus) and a passed quiz's
  own XP. No other code decides the XP of a lesson (tests/test_reward_path.py checks).
- `complete_lesson` applies a completion: the lesson's state (a conditional update: of concurrent
  completions exactly one finds the lesson not yet completed), the streak day, the awards, module
  XP and achievements. XP goes into the ledger under unique source keys (`lesson:`, `quiz:`,
  `module:`, `achievement:`), so whatever is sent twice pays once. `start_lesson` is the same for
  a "started" event.
- The learner's standing afterwards (total XP, streak, the lesson's state) is read in one query in
  the same transaction, so the totals a response carries include exactly what it wrote.

Transactions are the callers': BEGIN IMMEDIATE under this process's writer lock on SQLite; on
PostgreSQL the streak update locks the learner's profile row (FOR UPDATE) until commit, which
serialises one learner's completions. Everything here is plain SQL on the driver (`Tx`): the
progress event path is the busiest endpoint (see events.py).

The streak bonus asks `streak_active` after today's activity is recorded (docs/gamification.md),
for every kind of completion alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from sidecar.auth.tables import UserProfile
from sidecar.catalog import readers
from sidecar.catalog.service import CatalogIndex, LessonInfo, get_index
from sidecar.db.engine import Tx, read_tx
from sidecar.db.upsert import insert_ignore
from sidecar.errors import NotFound
from sidecar.gamification import levels, streaks, xp
from sidecar.gamification import service as gamification
from sidecar.gamification.models import AchievementPublic
from sidecar.xapi import service as xapi

from . import metrics as _achievement_metrics  # noqa: F401  (registers progress's achievement metrics)
from .models import RewardPublic, RewardStreakPublic
from .tables import LessonProgress

_PROGRESS = LessonProgress.__table__.c
_PROFILE = UserProfile.__table__.c

# The learner's standing: streak, the lesson's state and XP so far, in one round trip of indexed
# lookups. events.py extends it (before the FROM) with a column of its own.
STANDING_COLUMNS = ("SELECT p.timezone, p.streak_current, p.streak_longest, p.streak_last_day, p.streak_freezes, "
                    "(SELECT state FROM progress WHERE user_id = :user_id AND lesson_id = :lesson_id), "
                    "(SELECT COALESCE(SUM(amount), 0) FROM xp_transactions WHERE user_id = :user_id)")
STANDING_FROM = " FROM user_profiles p WHERE p.user_id = :user_id"
_STANDING = STANDING_COLUMNS + STANDING_FROM


@dataclass(frozen=True)
class Standing:
    """Where a learner stands at one moment."""

    timezone: str
    streak: streaks.StreakState
    lesson_state: str  # of the lesson asked about: not_started, started or completed
    total_xp: int


def standing_from_row(tx: Tx, row: Any) -> Standing:
    """A Standing from the first columns of a row selected with STANDING_COLUMNS."""
    last_day = tx.from_db(_PROFILE.streak_last_day, row[3])
    return Standing(timezone=str(row[0]),
                    streak=streaks.StreakState(current=int(row[1] or 0), longest=int(row[2] or 0), last_day=last_day,
                                               freezes=int(row[4] or 0)),
                    lesson_state=str(row[5] or "not_started"), total_xp=int(row[6] or 0))


def read_standing(tx: Tx, *, user_id: str, lesson_id: str | None) -> Standing:
    row = tx.row(_STANDING, {"user_id": user_id, "lesson_id": lesson_id})
    if row is None:
        raise NotFound("No learner profile for this account.")
    return standing_from_row(tx, row)


@dataclass
class CourseOutcome:
    """What a course-level rule (a certificate tier) paid when a completion moved the course on."""

    xp_awarded: int = 0
    new_achievements: list[AchievementPublic] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)  # NewCertificatePublic fields


# Domains above progress (certificates: Bronze is issued the moment its last requirement is met)
# act on completions through hooks: called inside the completion's transaction, after the lesson's
# own awards, whenever a lesson completed or a quiz attempt was saved. Registered once at import of the
# domain; each hook decides for itself whether it is configured for this request.
CourseHook = Callable[..., CourseOutcome]
_course_hooks: list[CourseHook] = []


def register_course_hook(hook: CourseHook) -> None:
    if hook not in _course_hooks:
        _course_hooks.append(hook)


@dataclass(frozen=True)
class Reward:
    """What one request earned and where the learner stands after it; `public()` is the API's RewardPublic."""

    lesson_id: str | None
    standing: Standing
    gamification_enabled: bool
    at: datetime  # the server's time of the request: the streak's "today"
    xp_awarded: int = 0
    new_achievements: list[AchievementPublic] = field(default_factory=list)
    new_certificates: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> RewardPublic:
        state = self.standing.lesson_state
        if not self.gamification_enabled:
            return RewardPublic(enabled=False, lesson_id=self.lesson_id, lesson_state=state, xp_awarded=0,
                                total_xp=None, level=None, level_title=None, level_floor_xp=None, next_level_xp=None,
                                level_progress=None, streak=None, new_achievements=[],
                                new_certificates=list(self.new_certificates))
        level = levels.level_progress(self.standing.total_xp)
        streak = self.standing.streak
        today = streaks.local_day(instant=self.at, tz=self.standing.timezone)
        return RewardPublic(
            enabled=True, lesson_id=self.lesson_id, lesson_state=state, xp_awarded=self.xp_awarded,
            total_xp=self.standing.total_xp, level=level.level, level_title=level.title,
            level_floor_xp=level.level_floor_xp, next_level_xp=level.next_level_xp, level_progress=level.progress,
            streak=RewardStreakPublic(current=streaks.current_streak(state=streak, today=today),
                                      longest=streak.longest,
                                      today_counted=streak.last_day is not None and streak.last_day >= today),
            new_achievements=list(self.new_achievements), new_certificates=list(self.new_certificates))


@dataclass(frozen=True)
class QuizPass:
    """A passed quiz: it earns XP of its own (once per quiz), besides completing its lesson."""

    quiz_id: str
    score_percent: float
    pass_percent: int


@dataclass(frozen=True)
class Attempt:
    """How the learner came to complete: what the XP depends on besides the lesson itself."""

    source: Literal["reading", "exercise", "quiz"]
    first_try: bool = True  # no earlier graded attempt at this exercise or quiz (reading: always)
    hints_used: int = 0  # hints revealed on the exercise (a challenge's no-hints bonus)
    quiz: QuizPass | None = None
    practice: bool = False  # a challenge passed with no timed attempt running (grading/challenges.py)
    practice_xp: bool = True  # the challenge's policy: a practice pass earns the ordinary lesson XP

    @classmethod
    def reading(cls) -> Attempt:
        return cls(source="reading")

    @classmethod
    def exercise(cls, *, first_try: bool, hints_used: int, practice: bool = False, practice_xp: bool = True
                 ) -> Attempt:
        return cls(source="exercise", first_try=first_try, hints_used=hints_used, practice=practice,
                   practice_xp=practice_xp)

    @classmethod
    def quiz_passed(cls, *, first_try: bool, quiz: QuizPass) -> Attempt:
        return cls(source="quiz", first_try=first_try, quiz=quiz)


def lesson_awards(lesson: LessonInfo | None, attempt: Attempt, *, streak_active: bool
                  ) -> list[tuple[str, xp.XpAward]]:
    """What a completion earns, as (XP ledger source key, award): the one place lesson XP is decided.

    `lesson` is the lesson completed just now, None when none was (completed before, or a quiz that
    no lesson places). A challenge passed by its exercise in a timed attempt earns the challenge's XP
    (no-hints bonus); passed in practice mode (no attempt running) it earns the ordinary lesson XP
    (the table's 50, streak bonus, never the first-try bonus: practice comes after or instead of
    the timed try), or nothing when its policy says `practice_xp: false`. Any other completion earns
    the lesson's (first-try and streak bonuses). A passed quiz adds its own. Everything pays under
    `lesson:<id>` and only when the lesson completes just now, so a timed pass after a practice pass
    (or the reverse) pays nothing again.
    """
    awards: list[tuple[str, xp.XpAward]] = []
    if lesson is not None:
        award: xp.XpAward | None
        if lesson.type == "challenge" and attempt.source == "exercise" and attempt.practice:
            award = xp.lesson_xp(first_attempt=False, streak_active=streak_active) if attempt.practice_xp else None
        elif lesson.type == "challenge" and attempt.source == "exercise":
            award = xp.challenge_xp(base=lesson.xp, hints_used=attempt.hints_used)
        else:
            award = xp.lesson_xp(base=lesson.xp, first_attempt=attempt.first_try, streak_active=streak_active)
        if award is not None:
            awards.append((f"lesson:{lesson.id}", award))
    if attempt.quiz is not None:
        quiz = xp.quiz_xp(score_percent=attempt.quiz.score_percent, pass_percent=attempt.quiz.pass_percent)
        if quiz is not None:
            awards.append((f"quiz:{attempt.quiz.quiz_id}", quiz))
    return awards


def complete_lesson(tx: Tx, *, user_id: str, lesson: LessonInfo | None, index: CatalogIndex, at: datetime,
                    rewarded_at: datetime, attempt: Attempt, gamification_enabled: bool) -> Reward:
    """Complete `lesson` (once) and pay what it earns; the caller's transaction makes it all or nothing.

    `at` is when it happened (history: the lesson's completed time), `rewarded_at` the server's time,
    for everything that earns rewards (the streak's day, the streak bonus, the module's par time).
    A passed quiz that no lesson places (`lesson` None) earns its quiz XP only.
    """
    completed_now = lesson is not None and _mark(tx, user_id=user_id, lesson=lesson, kind="completed", at=at)
    if completed_now and lesson is not None:
        _record_completion(tx, user_id=user_id, lesson=lesson, index=index, at=at, attempt=attempt)
    awarded = 0
    fresh: list[AchievementPublic] = []
    if gamification_enabled:
        if lesson is not None:
            gamification.record_activity(session=tx, user_id=user_id, instant=rewarded_at)
        streak_active = completed_now and gamification.streak_is_active(session=tx, user_id=user_id,
                                                                        instant=rewarded_at)
        for source_key, award in lesson_awards(lesson if completed_now else None, attempt,
                                               streak_active=streak_active):
            awarded += gamification.award_xp(session=tx, user_id=user_id, source_key=source_key, award=award)
        if completed_now and lesson is not None:
            module_xp, courses_done, lessons_done = _after_completion(tx, user_id=user_id, lesson=lesson,
                                                                      index=index, at=rewarded_at)
            awarded += module_xp
            fresh = gamification.evaluate_achievements(session=tx, user_id=user_id, courses_completed=courses_done,
                                                       lessons_completed=lessons_done, catalog_db=index.source)
        else:
            # A pass that completes nothing new (a retake, a second exercise) may still be what a
            # rule waited for: a perfect quiz, a bug found, a first-try exercise.
            fresh = gamification.evaluate_achievements(session=tx, user_id=user_id, catalog_db=index.source)
    certificates: list[dict[str, Any]] = []
    if lesson is not None and (completed_now or attempt.quiz is not None):
        outcome = _run_course_hooks(tx, user_id=user_id, course_id=lesson.course_id, at=rewarded_at,
                                    gamification_enabled=gamification_enabled)
        awarded += outcome.xp_awarded
        fresh = [*fresh, *outcome.new_achievements]
        certificates.extend(outcome.certificates)
    lesson_id = lesson.id if lesson is not None else None
    return Reward(lesson_id=lesson_id, standing=read_standing(tx, user_id=user_id, lesson_id=lesson_id),
                  gamification_enabled=gamification_enabled, at=rewarded_at, xp_awarded=awarded,
                  new_achievements=fresh, new_certificates=certificates)


def _record_completion(tx: Tx, *, user_id: str, lesson: LessonInfo, index: CatalogIndex, at: datetime,
                       attempt: Attempt) -> None:
    """The learning record's "completed" statement: once per learner and lesson (its key), however it completed."""
    record = readers.lessons(index.source).get(lesson.id) if index.source is not None else None
    xapi.record(db=tx, key="completed", user_id=user_id, verb="completed", object_type="lesson", object_id=lesson.id,
                course_id=lesson.course_id, skills=record.skills if record is not None else (), success=True,
                timestamp=at, extensions={"via": attempt.source})


def start_lesson(tx: Tx, *, user_id: str, lesson: LessonInfo, at: datetime, rewarded_at: datetime,
                 gamification_enabled: bool, catalog_db: Path | None = None) -> Reward:
    """A "started" event: the lesson is started (unless it is already) and today counts for the streak."""
    _mark(tx, user_id=user_id, lesson=lesson, kind="started", at=at)
    fresh: list[AchievementPublic] = []
    if gamification_enabled:
        gamification.record_activity(session=tx, user_id=user_id, instant=rewarded_at)
        # A session that starts early in the learner's morning counts toward Early Bird.
        fresh = gamification.evaluate_achievements(session=tx, user_id=user_id, catalog_db=catalog_db)
    return Reward(lesson_id=lesson.id, standing=read_standing(tx, user_id=user_id, lesson_id=lesson.id),
                  gamification_enabled=gamification_enabled, at=rewarded_at, new_achievements=fresh)


def complete_graded_lesson(tx: Tx, *, catalog_db: Path, user_id: str, lesson_id: str | None, at: datetime,
                           attempt: Attempt, gamification_enabled: bool) -> Reward:
    """Grading's entry: a passing submission or quiz attempt completes its lesson (None: no lesson places it)."""
    index = get_index(catalog_db=catalog_db)
    lesson = None
    if lesson_id is not None:
        lesson = index.lessons.get(lesson_id)
        if lesson is None:
            raise NotFound(f"No lesson with id {lesson_id} in the catalog.")
    return complete_lesson(tx, user_id=user_id, lesson=lesson, index=index, at=at, rewarded_at=at, attempt=attempt,
                           gamification_enabled=gamification_enabled)


def _run_course_hooks(tx: Tx, *, user_id: str, course_id: str, at: datetime,
                      gamification_enabled: bool) -> CourseOutcome:
    total = CourseOutcome()
    for hook in _course_hooks:
        outcome = hook(tx, user_id=user_id, course_id=course_id, at=at, gamification_enabled=gamification_enabled)
        total.xp_awarded += outcome.xp_awarded
        total.new_achievements.extend(outcome.new_achievements)
        total.certificates.extend(outcome.certificates)
    return total


def quiz_scored(tx: Tx, *, catalog_db: Path, user_id: str, module_id: str, lesson_id: str | None, at: datetime,
                gamification_enabled: bool) -> Reward:
    """A saved quiz attempt below the quiz's pass mark: nothing of its own is earned, but it may be
    what a course-level requirement waited for (Bronze asks 70 %, a quiz may pass at 80 %)."""
    module = get_index(catalog_db=catalog_db).modules.get(module_id)
    outcome = CourseOutcome()
    fresh: list[AchievementPublic] = []
    if gamification_enabled:
        # A failed attempt may still find a bug (Bug Hunter counts each question answered right).
        fresh = gamification.evaluate_achievements(session=tx, user_id=user_id, catalog_db=catalog_db)
    if module is not None:
        outcome = _run_course_hooks(tx, user_id=user_id, course_id=module.course_id, at=at,
                                    gamification_enabled=gamification_enabled)
    return Reward(lesson_id=lesson_id, standing=read_standing(tx, user_id=user_id, lesson_id=lesson_id),
                  gamification_enabled=gamification_enabled, at=at, xp_awarded=outcome.xp_awarded,
                  new_achievements=[*fresh, *outcome.new_achievements], new_certificates=outcome.certificates)


def complete_review(tx: Tx, *, user_id: str, day: str, all_right: bool, at: datetime, catalog_db: Path | None,
                    gamification_enabled: bool) -> Reward:
    """The day's spaced review is done: the day counts for the streak and pays its XP, once per local day."""
    awarded = 0
    fresh: list[AchievementPublic] = []
    if gamification_enabled:
        gamification.record_activity(session=tx, user_id=user_id, instant=at)
        streak_active = gamification.streak_is_active(session=tx, user_id=user_id, instant=at)
        awarded = gamification.award_xp(session=tx, user_id=user_id, source_key=f"review:{day}",
                                        award=xp.review_xp(all_right=all_right, streak_active=streak_active))
        fresh = gamification.evaluate_achievements(session=tx, user_id=user_id, catalog_db=catalog_db)
    return Reward(lesson_id=None, standing=read_standing(tx, user_id=user_id, lesson_id=None),
                  gamification_enabled=gamification_enabled, at=at, xp_awarded=awarded, new_achievements=fresh)


def unchanged(tx: Tx, *, user_id: str, lesson_id: str | None, gamification_enabled: bool, at: datetime) -> Reward:
    """The reward of a request that earned nothing (a failed attempt, a replay): the standing as it is."""
    return Reward(lesson_id=lesson_id, standing=read_standing(tx, user_id=user_id, lesson_id=lesson_id),
                  gamification_enabled=gamification_enabled, at=at)


def current_reward(engine: Engine, *, user_id: str, lesson_id: str | None, gamification_enabled: bool,
                   at: datetime) -> Reward:
    """`unchanged`, in a read-only transaction of its own (answers to replays)."""
    with read_tx(engine) as tx:
        return unchanged(tx, user_id=user_id, lesson_id=lesson_id, gamification_enabled=gamification_enabled, at=at)


def _mark(tx: Tx, *, user_id: str, lesson: LessonInfo, kind: str, at: datetime) -> bool:
    """Apply a started/completed transition; True when the lesson became completed just now."""
    values = {"user_id": user_id, "lesson_id": lesson.id, "module_id": lesson.module_id,
              "course_id": lesson.course_id, "state": kind, "started_at": at,
              "completed_at": at if kind == "completed" else None, "updated_at": at}
    if insert_ignore(tx, LessonProgress, values, ["user_id", "lesson_id"]):
        return kind == "completed"
    if kind != "completed":
        return False
    # Conditional: of concurrent completions only one finds the row not yet completed.
    changed = tx.row("UPDATE progress SET state = 'completed', completed_at = :at, updated_at = :at "
                     "WHERE user_id = :user_id AND lesson_id = :lesson_id AND state <> 'completed' "
                     "RETURNING lesson_id",
                     {"at": tx.to_db(_PROGRESS.completed_at, at), "user_id": user_id, "lesson_id": lesson.id})
    return changed is not None


def _after_completion(tx: Tx, *, user_id: str, lesson: LessonInfo, index: CatalogIndex, at: datetime
                      ) -> tuple[int, int, int]:
    """Module XP when the lesson finished its module; returns (module XP, courses completed, lessons completed)."""
    awarded = 0
    # One query serves the module check, the per-course counts and the achievements' lesson count.
    completed = tx.rows("SELECT lesson_id, course_id FROM progress WHERE user_id = :user_id AND state = 'completed'",
                        {"user_id": user_id})
    module = index.modules[lesson.module_id]
    if set(module.lesson_ids) <= {row[0] for row in completed}:
        first = tx.row("SELECT MIN(started_at) FROM progress WHERE user_id = :user_id AND module_id = :module_id",
                       {"user_id": user_id, "module_id": module.id})[0]
        first_start = tx.from_db(_PROGRESS.started_at, first) or at
        # At least 0: a start the client dated a few minutes ahead (within MAX_CLOCK_SKEW) may lie
        # after the server's time of completion.
        minutes = max(0.0, (at - first_start).total_seconds() / 60)
        awarded += gamification.award_xp(session=tx, user_id=user_id, source_key=f"module:{module.id}",
                                         award=xp.module_xp(minutes_spent=minutes, par_minutes=module.par_minutes))
    done_per_course = Counter(row[1] for row in completed)
    courses_done = sum(
        1 for course in index.courses.values()
        if (size := sum(len(index.modules[m].lesson_ids) for m in course.module_ids))
        and done_per_course.get(course.id, 0) >= size)
    return awarded, courses_done, len(completed)
