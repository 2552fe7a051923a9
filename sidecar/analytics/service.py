"""The four levels of dashboards (design §10.1) over the rollups, with who may see what.

Every dashboard first folds what is new (rollup.fold_on_read, bounded), then reads only rollup rows of the
people it is about: never the event table. Who may see what (docs/analytics.md, "Who sees what"):
- individual: the learner; a drill-down to a learner only for the managers of a team the learner is in;
- team: the team's managers and the organisation's admins (and super admins); the per-person rows and
  alerts only for the team's managers;
- organisation: its admins and analytics viewers (and super admins);
- platform: super admins.
Aggregates over fewer than k people (ANALYTICS_K) are suppressed: value null, suppressed true.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Float, Select, and_, case, cast, func, literal, select, text
from sqlalchemy.orm import Session

from sidecar.agents.api import service as agents
from sidecar.agents.memory import state as agents_memory
from sidecar.assignments import service as assignments
from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.catalog.service import CatalogIndex, get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import is_sqlite, read_session
from sidecar.errors import Forbidden, InvalidInput, NotFound
from sidecar.orgs import service as orgs
from sidecar.orgs.tables import TeamMember
from sidecar.progress import service as progress
from sidecar.review import service as review
from sidecar.settings import Settings

from . import metrics as m
from . import rollup
from .models import (
    AlertPublic,
    ChartPublic,
    Column,
    DashboardPublic,
    MetricPublic,
    RecommendationPublic,
    Subject,
    TeamManagersPublic,
    VisibilityPublic,
)
from .tables import (
    AnalyticsCourse,
    AnalyticsDaily,
    AnalyticsPlatformDaily,
    AnalyticsPlatformWeekly,
    AnalyticsSkill,
    AnalyticsUser,
    AnalyticsUserWeek,
    AnalyticsWatermark,
)

TREND_WEEKS = 12
SKILL_GAP_ROWS = 15

METRICS: dict[str, tuple[str, str, str]] = {
    "learning_velocity": ("Learning velocity", "lessons/hour",
                          "Lessons completed per hour of learning time, over the last 28 days."),
    "knowledge_retention": ("Knowledge retention", "%",
                            "Spaced reviews answered right (re-attempts a day or more later, where there is no "
                            "review yet)."),
    "engagement_score": ("Engagement score", "/100",
                         "Sessions × hours × interactions over the last 28 days, each against a steady "
                         "learner's, as one score out of 100."),
    "struggle_index": ("Struggle index", "× typical",
                       "Attempts per success × (1 + hints per attempt) × time per attempt, per skill; "
                       "1 is typical, 3 or more is struggling."),
    "predicted_completion": ("Predicted completion", "days",
                             "Days to finish the current course at the learner's pace shrunk toward the "
                             "cohort's, with an 80% interval."),
    "skill_decay_risk": ("Skill decay risk", "%",
                         "The chance a mastered skill is forgotten by now: 1 − FSRS retrievability, from "
                         "days since practice and the skill's stability."),
}


def _metric(metric_id: str, value: float | None, *, interval: Sequence[float] | None = None,
            suppressed: bool = False, digits: int = 2) -> MetricPublic:
    label, unit, help_ = METRICS[metric_id]
    if suppressed:
        return MetricPublic(id=metric_id, label=label, value=None, unit=unit, help=help_, interval=None,
                            suppressed=True)
    shown = [v for v in (m.finite(x, 1) for x in interval) if v is not None] if interval else None
    return MetricPublic(id=metric_id, label=label, value=m.finite(value, digits), unit=unit, help=help_,
                        interval=shown if shown and len(shown) == 2 else None, suppressed=False)


def _chart(chart_id: str, title: str, kind: str, x: str, series: Sequence[tuple[str, str]],
           columns: Sequence[tuple[str, str]], rows: list[dict[str, Any]], *, suppressed: bool = False,
           note: str | None = None) -> ChartPublic:
    return ChartPublic(id=chart_id, title=title, kind=kind, x=x,
                       series=[Column(key=k, label=label) for k, label in series],
                       columns=[Column(key=k, label=label) for k, label in columns],
                       rows=[] if suppressed else rows, suppressed=suppressed, note=note)


# ---- reading the rollups of a group of people ------------------------------------------------------------


Members = Select[Any]


@dataclass
class Person:
    """One person's six metrics and what the charts need of them."""

    user_id: str
    velocity: float | None = None
    retention: float | None = None
    engagement: float | None = None
    struggle: float | None = None
    prediction: m.Prediction | None = None
    predicted_course: str | None = None
    decay: float | None = None
    lessons_window: int = 0
    active_s_window: float = 0.0
    last_at: datetime | None = None
    skills: list[Any] = field(default_factory=list)  # AnalyticsSkill rows
    courses: list[Any] = field(default_factory=list)  # AnalyticsCourse rows


def _days_since(engine_is_sqlite: bool, column: Any, now: datetime) -> Any:
    """Days from `column` (a UTC datetime) to now, in SQL, for both databases."""
    if engine_is_sqlite:
        return func.julianday(literal(now.strftime("%Y-%m-%d %H:%M:%S"))) - func.julianday(column)
    return func.extract("epoch", literal(now) - column) / 86400.0


def _risk_sql(skills: Any, *, sqlite: bool, now: datetime) -> Any:
    """metrics.decay_risk in SQL: 1 − (1 + FACTOR · whole days since practice / stability) ^ DECAY."""
    elapsed = cast(func.floor(_days_since(sqlite, skills.last_at, now)), Float)
    days = case((elapsed < 0, 0.0), else_=elapsed)
    return 1.0 - func.power(1.0 + m.FSRS_FACTOR * days / skills.stability, m.FSRS_DECAY)


def _struggle_sql(skills: Any) -> Any:
    """metrics.skill_struggle in SQL (NULL for a skill never attempted, so AVG skips it as the mean does)."""
    attempts = cast(skills.attempts, Float)
    per_success = attempts / case((skills.successes > 1, skills.successes), else_=1)
    timing = case((skills.duration_s > 0, skills.duration_s / attempts / m.TYPICAL_ATTEMPT_S), else_=1.0)
    return case((skills.attempts > 0, per_success * (1.0 + skills.hints / attempts) * timing))


@dataclass(frozen=True)
class _SkillSums:
    """What a person's retention, struggle index and decay risk need of their skills, summed."""

    delayed_attempts: int = 0
    delayed_successes: int = 0
    struggle: float | None = None
    decay: float | None = None  # percent


def _skill_aggregates(*, now: datetime, sqlite: bool) -> list[Any]:
    """What both groupings of an organisation's skill rows sum (per member: retention, struggle index and
    decay risk; per skill: the skill gaps): delayed attempts and successes, mean struggle, the mastered
    skills' mean decay risk, every known skill's mean decay risk, rows, rows mastered, rows wheel-spinning."""
    skills = AnalyticsSkill.__table__.c
    known = skills.stability.is_not(None)
    mastered = skills.mastered_at.is_not(None)
    risk = _risk_sql(skills, sqlite=sqlite, now=now)
    spinning = and_(skills.mastered_at.is_(None), skills.attempts >= m.WHEEL_SPINNING_ATTEMPTS)
    return [func.sum(skills.delayed_attempts), func.sum(skills.delayed_successes), func.avg(_struggle_sql(skills)),
            func.avg(case((and_(known, mastered), risk))), func.avg(case((known, risk))), func.count(),
            func.count(skills.mastered_at), func.sum(case((spinning, 1), else_=0))]


def _member_sums(rows: Iterable[Sequence[Any]]) -> dict[str, _SkillSums]:
    """_SkillSums per member from (user id, *_skill_aggregates) rows."""
    return {uid: _SkillSums(delayed_attempts=int(da or 0), delayed_successes=int(ds or 0),
                            struggle=None if struggle is None else float(struggle),
                            decay=None if (r := mastered_risk if mastered_risk is not None else any_risk) is None
                            else 100 * float(r))
            for uid, da, ds, struggle, mastered_risk, any_risk, *_ in rows}


def _skill_sums_in_sql(session: Session, members: Members, *, now: datetime,
                       sqlite: bool) -> dict[str, _SkillSums]:
    """One grouped query instead of every skill row of every member (an organisation's are tens of
    thousands): the same numbers as metrics.struggle_index and skill_decay_risk over the rows."""
    skills = AnalyticsSkill.__table__.c
    return _member_sums(session.execute(select(skills.user_id, *_skill_aggregates(now=now, sqlite=sqlite))
                                        .where(skills.user_id.in_(members)).group_by(skills.user_id)))


def _skills_both_ways(session: Session, members: Members, *, k: int, now: datetime,
                      sqlite: bool) -> tuple[dict[str, _SkillSums], tuple[list[dict[str, Any]], int]]:
    """_skill_sums_in_sql and _skill_gaps at once. On PostgreSQL one query groups the members' skill rows
    both ways (GROUPING SETS): the rows are read and joined to the members once, not twice (each read was
    ~0.1 s of an organisation dashboard at 100,000 learners). SQLite has no grouping sets: two queries."""
    if sqlite:
        return (_skill_sums_in_sql(session, members, now=now, sqlite=sqlite),
                _skill_gaps(session, members, k=k, now=now, sqlite=sqlite))
    skills = AnalyticsSkill.__table__.c
    by_member: list[Sequence[Any]] = []
    by_skill: list[Sequence[Any]] = []
    both = (select(func.grouping(skills.user_id), skills.user_id, skills.skill,
                   *_skill_aggregates(now=now, sqlite=sqlite))
            .where(skills.user_id.in_(members)).group_by(func.grouping_sets(skills.user_id, skills.skill)))
    for by_skill_row, uid, skill, *figures in session.execute(both):
        if by_skill_row:
            by_skill.append((skill, *figures))
        else:
            by_member.append((uid, *figures))
    return _member_sums(by_member), _gap_rows(by_skill, k=k)


_NO_SKILLS = _SkillSums()


def _skill_sums(skills: Sequence[Any], *, now: datetime) -> _SkillSums:
    return _SkillSums(delayed_attempts=sum(s.delayed_attempts for s in skills),
                      delayed_successes=sum(s.delayed_successes for s in skills),
                      struggle=m.struggle_index(skills), decay=m.skill_decay_risk(skills, now=now))


# Cohort priors, shared by the dashboards of one hour: (database, folded up to seq, hour) -> course -> prior.
# A prior sums over every learner of a course (~0.2 s at 100,000 learners on PostgreSQL), and it changes only
# when the fold adds statements, and barely within an hour. Its rates are taken at the start of the hour.
_PRIORS: dict[tuple[str, int, datetime], dict[str, m.Prior]] = {}
_PRIORS_LOCK = threading.Lock()


def _priors(session: Session, *, sqlite: bool, course_ids: set[str], now: datetime) -> dict[str, m.Prior]:
    """Each course's cohort prior, from every learner of it (one grouped query over analytics_courses),
    computed once per hour and fold state for the courses not yet known."""
    if not course_ids:
        return {}
    hour = now.replace(minute=0, second=0, microsecond=0)
    seq = session.scalar(select(AnalyticsWatermark.seq).where(AnalyticsWatermark.name == rollup.SOURCE)) or 0
    key = (str(session.get_bind().engine.url), int(seq), hour)
    with _PRIORS_LOCK:
        known = _PRIORS.get(key, {})
    missing = course_ids - set(known)
    if missing:
        days = _days_since(sqlite, AnalyticsCourse.first_at, hour)
        rate = AnalyticsCourse.lessons_completed / case((days < 1.0, 1.0), else_=days)
        rows = session.execute(select(AnalyticsCourse.course_id, func.count(), func.sum(rate), func.sum(rate * rate))
                               .where(AnalyticsCourse.course_id.in_(missing)).group_by(AnalyticsCourse.course_id))
        found = {c: m.cohort_prior(n=int(n), rate_sum=float(s or 0), rate_sq_sum=float(q or 0)) for c, n, s, q in rows}
        found.update({c: m.WEAK_PRIOR for c in missing - set(found)})
        with _PRIORS_LOCK:
            if len(_PRIORS) > 16:  # older hours and fold states are never asked again
                _PRIORS.clear()
            known = _PRIORS.setdefault(key, {})
            known.update(found)
    return {c: known[c] for c in course_ids}


def _course_sizes(index: CatalogIndex) -> dict[str, int]:
    return {c.id: sum(len(index.modules[mid].lesson_ids) for mid in c.module_ids if mid in index.modules)
            for c in index.courses.values()}


def _people(session: Session, members: Members, *, now: datetime, index: CatalogIndex, sqlite: bool,
            intervals: bool = False, skill_rows: bool = True,
            skill_sums: dict[str, _SkillSums] | None = None) -> dict[str, Person]:
    """The six metrics of every member who has any activity; members without any get an empty Person.
    With skill_rows, each Person carries its skill rows (a team's alerts read them); without, the skill
    metrics come summed from SQL (an organisation), or from `skill_sums` where the caller sums them
    (an organisation's dashboard, beside its skill gaps: _skills_both_ways)."""
    since = (now - timedelta(days=m.WINDOW_DAYS)).date()
    people: dict[str, Person] = {str(uid): Person(user_id=str(uid)) for uid in session.scalars(members)}
    window = session.execute(
        select(AnalyticsDaily.user_id, func.sum(AnalyticsDaily.lessons_completed), func.sum(AnalyticsDaily.active_s),
               func.sum(AnalyticsDaily.sessions), func.sum(AnalyticsDaily.events))
        .where(AnalyticsDaily.user_id.in_(members), AnalyticsDaily.day > since).group_by(AnalyticsDaily.user_id))
    for uid, lessons, active_s, sessions, events in window:
        p = people.setdefault(uid, Person(user_id=uid))
        p.lessons_window, p.active_s_window = int(lessons or 0), float(active_s or 0)
        p.velocity = m.learning_velocity(lessons_completed=p.lessons_window, active_s=p.active_s_window)
        p.engagement = m.engagement_score(sessions=int(sessions or 0), active_s=p.active_s_window,
                                          interactions=int(events or 0))
    totals = {row.user_id: row for row in session.execute(
        select(AnalyticsUser.user_id, AnalyticsUser.reviews, AnalyticsUser.reviews_correct, AnalyticsUser.last_at)
        .where(AnalyticsUser.user_id.in_(members)))}
    skills = AnalyticsSkill.__table__.c
    summed: dict[str, _SkillSums] = {}
    if skill_rows:
        # Plain rows (attribute access, no ORM identity map).
        for row in session.execute(select(skills.user_id, skills.skill, skills.attempts, skills.successes,
                                          skills.hints, skills.duration_s, skills.delayed_attempts,
                                          skills.delayed_successes, skills.last_at, skills.mastered_at,
                                          skills.stability, skills.mastered_at.is_not(None).label("mastered"))
                                   .where(skills.user_id.in_(members))):
            people.setdefault(row.user_id, Person(user_id=row.user_id)).skills.append(row)
        summed = {p.user_id: _skill_sums(p.skills, now=now) for p in people.values() if p.skills}
    else:
        summed = skill_sums if skill_sums is not None else _skill_sums_in_sql(session, members, now=now,
                                                                               sqlite=sqlite)
        for uid in summed:
            people.setdefault(uid, Person(user_id=uid))
    courses = AnalyticsCourse.__table__.c
    for course_row in session.execute(select(courses.user_id, courses.course_id, courses.lessons_completed,
                                             courses.first_at, courses.last_at).where(courses.user_id.in_(members))):
        people.setdefault(course_row.user_id, Person(user_id=course_row.user_id)).courses.append(course_row)
    sizes = _course_sizes(index)
    current: dict[str, Any] = {}
    for p in people.values():
        open_courses = [c for c in p.courses if c.course_id in sizes and c.lessons_completed < sizes[c.course_id]]
        if open_courses:
            current[p.user_id] = max(open_courses, key=lambda c: c.last_at)
    priors = _priors(session, sqlite=sqlite, course_ids={c.course_id for c in current.values()}, now=now)
    for p in people.values():
        total = totals.get(p.user_id)
        p.last_at = total.last_at if total is not None else None
        sums = summed.get(p.user_id, _NO_SKILLS)
        p.retention, _ = m.knowledge_retention(
            reviews=total.reviews if total is not None else 0,
            reviews_correct=total.reviews_correct if total is not None else 0,
            delayed_attempts=sums.delayed_attempts, delayed_successes=sums.delayed_successes)
        p.struggle, p.decay = sums.struggle, sums.decay
        course = current.get(p.user_id)
        if course is not None:
            p.predicted_course = course.course_id
            p.prediction = m.predicted_completion(
                remaining=sizes[course.course_id] - course.lessons_completed, lessons_done=course.lessons_completed,
                days_elapsed=max(0.0, (now - course.first_at).total_seconds() / 86400),
                prior=priors.get(course.course_id, m.WEAK_PRIOR), interval=intervals)
    return people


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _group_metrics(people: Sequence[Person], *, suppressed: bool) -> list[MetricPublic]:
    """A group's metrics: the mean over its members who have a value (predicted completion: the median of
    their predicted days, with the members' 10th-90th percentile spread as the interval)."""
    if suppressed:
        return [_metric(metric_id, None, suppressed=True) for metric_id in METRICS]
    days = sorted(p.prediction.days for p in people if p.prediction is not None)
    median = days[len(days) // 2] if days else None
    spread = [days[int(0.1 * (len(days) - 1))], days[int(0.9 * (len(days) - 1))]] if len(days) >= 2 else None
    return [_metric("learning_velocity", _mean(p.velocity for p in people)),
            _metric("knowledge_retention", _mean(p.retention for p in people), digits=1),
            _metric("engagement_score", _mean(p.engagement for p in people), digits=1),
            _metric("struggle_index", _mean(p.struggle for p in people)),
            _metric("predicted_completion", median, interval=spread, digits=1),
            _metric("skill_decay_risk", _mean(p.decay for p in people), digits=1)]


_week_start = rollup.week_of


def _weekly(session: Session, members: Members, *, now: datetime) -> list[dict[str, Any]]:
    """The members' last TREND_WEEKS weeks (Monday first): lessons, hours, attempts, success rate, active
    learners; from their weekly rows (analytics_user_weeks: one per member and active week)."""
    first = _week_start(now.date()) - timedelta(weeks=TREND_WEEKS - 1)
    weeks = AnalyticsUserWeek.__table__.c
    query = (select(weeks.week, func.sum(weeks.lessons_completed), func.sum(weeks.active_s), func.sum(weeks.attempts),
                    func.sum(weeks.successes), func.count())
             .where(weeks.week >= first, weeks.user_id.in_(members)).group_by(weeks.week))
    found: dict[str, tuple[Any, ...]] = {}
    for w, lessons, active_s, attempts, successes, learners in session.execute(query):
        key = w.isoformat()[:10] if hasattr(w, "isoformat") else str(w)[:10]
        found[key] = (lessons, active_s, attempts, successes, learners)
    return _trend_rows(first, found)


def _platform_weekly(session: Session, days: Sequence[Any], *, now: datetime) -> list[dict[str, Any]]:
    """_weekly for the whole platform, from its daily rows (`days`, from the first trend week on) and the
    weekly count of active learners: no scan of the learners' daily rows."""
    first = _week_start(now.date()) - timedelta(weeks=TREND_WEEKS - 1)
    learners: dict[date, int] = {w: n for w, n in session.execute(
        select(AnalyticsPlatformWeekly.week, AnalyticsPlatformWeekly.active_users)
        .where(AnalyticsPlatformWeekly.week >= first))}
    sums: dict[date, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0])
    for d in days:
        acc = sums[_week_start(d.day)]
        for i, amount in enumerate((d.lessons_completed, d.active_s, d.attempts, d.successes)):
            acc[i] += amount
    found = {w.isoformat(): (*sums.get(w, (0, 0.0, 0, 0)), learners.get(w, 0)) for w in set(sums) | set(learners)}
    return _trend_rows(first, found)


def _trend_rows(first: date, found: dict[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The trend's TREND_WEEKS rows from `found`: week (ISO date) → (lessons, active s, attempts, successes,
    learners); a week without any is zeros."""
    rows = []
    for i in range(TREND_WEEKS):
        key = (first + timedelta(weeks=i)).isoformat()
        lessons, active_s, attempts, successes, learners = found.get(key, (0, 0.0, 0, 0, 0))
        rows.append({"week": key, "lessons": int(lessons or 0), "hours": round(float(active_s or 0) / 3600, 2),
                     "attempts": int(attempts or 0),
                     "success_rate": round(100 * int(successes or 0) / int(attempts), 1) if attempts else None,
                     "learners": int(learners or 0)})
    return rows


WEEKLY_COLUMNS = (("week", "Week of"), ("lessons", "Lessons completed"), ("hours", "Hours"),
                  ("attempts", "Graded attempts"), ("success_rate", "Success rate (%)"),
                  ("learners", "Active learners"))


def _skill_label(skill: str) -> str:
    text = skill.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else skill


# ---- who may see what -------------------------------------------------------------------------------------


def _is_super(actor: User) -> bool:
    return has_role(actor.role, Role.SUPER_ADMIN)


def _is_org_admin(actor: User, org_id: str) -> bool:
    return _is_super(actor) or (has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id == org_id)


@contextmanager
def _rollup_reads(engine: Engine) -> Iterator[Session]:
    """A read session for the dashboards. On PostgreSQL it prices a random page read as 1.1 sequential ones
    (the default is 4, for spinning disks): a group's rows are found by key in rollups that stay cached, and
    at the default the planner scans a whole rollup table instead, so an organisation's dashboard grew with
    the platform rather than the organisation. At 100,000 learners this halves the reads of an organisation's
    2,000 members (docs/analytics.md, "Benchmark"). SET LOCAL: only this transaction."""
    with read_session(engine) as session:
        if not is_sqlite(engine):
            session.execute(text("SET LOCAL random_page_cost = 1.1"))
        yield session


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _fresh(engine: Engine) -> None:
    rollup.fold_on_read(engine=engine)


# ---- individual -----------------------------------------------------------------------------------------


def learner_dashboard(*, engine: Engine, settings: Settings, catalog_db: Path, actor: User,
                      user_id: str | None = None, now: datetime | None = None) -> DashboardPublic:
    """The learner's own dashboard (user_id None or their own id), or a drill-down into one learner for a
    manager of a team that learner is in. Anyone else gets 403, whether or not the account exists."""
    now = _now(now)
    subject_id = user_id or actor.id
    if subject_id != actor.id:
        managed = orgs.managed_team_ids(engine=engine, user=actor)
        if not managed or not any(subject_id in orgs.team_member_ids(engine=engine, team_id=t) for t in managed):
            raise Forbidden("Only the learner and the managers of their team may see this dashboard.")
    _fresh(engine)
    index = get_index(catalog_db=catalog_db)
    sqlite = is_sqlite(engine)
    with _rollup_reads(engine) as session:
        subject = session.get(User, subject_id)
        if subject is None:
            raise NotFound("No such learner.")
        members: Members = select(User.id).where(User.id == subject_id)
        person = _people(session, members, now=now, index=index, sqlite=sqlite, intervals=True)[subject_id]
        weekly = _weekly(session, members, now=now)
        name = subject.display_name
    estimates = _mastery_estimates(engine=engine, user_id=subject_id)
    mine = progress.get_progress(engine=engine, catalog_db=catalog_db, user_id=subject_id)
    p = person.prediction
    metrics = [
        _metric("learning_velocity", person.velocity),
        _metric("knowledge_retention", person.retention, digits=1),
        _metric("engagement_score", person.engagement, digits=1),
        _metric("struggle_index", person.struggle),
        _metric("predicted_completion", p.days if p else None, interval=[p.low, p.high] if p else None, digits=1),
        _metric("skill_decay_risk", person.decay, digits=1),
    ]
    if p is not None and person.predicted_course in index.courses:
        finish = (now + timedelta(days=p.days)).date().isoformat()
        metrics[4].help += f" {index.courses[person.predicted_course].title}: about {finish}."
    skill_rows = []
    for s in sorted(person.skills, key=lambda s: s.skill):
        risk = m.decay_risk(stability=s.stability, last_at=s.last_at, now=now)
        mastery = estimates.get(s.skill, (s.successes + 1) / (s.attempts + 2))
        spinning = m.wheel_spinning(attempts=s.attempts, mastered=s.mastered_at is not None)
        status = ("wheel_spinning" if spinning else "fading" if s.mastered_at and (risk or 0) >= m.FADING
                  else "mastered" if s.mastered_at else "learning")
        skill_rows.append({"skill": s.skill, "label": _skill_label(s.skill), "mastery": round(mastery, 3),
                           "decay_risk": round(risk, 3) if risk is not None else None, "status": status,
                           "attempts": s.attempts})
    course_rows = [{"course": c.title, "percent": c.percent, "completed_lessons": c.completed_lessons,
                    "total_lessons": c.total_lessons} for c in mine.courses]
    charts = [
        _chart("skill_map", "Skill map", "skillmap", "label", [("mastery", "Mastery"), ("decay_risk", "Decay risk")],
               [("label", "Skill"), ("mastery", "Mastery (0-1)"), ("decay_risk", "Decay risk (0-1)"),
                ("status", "Status"), ("attempts", "Attempts")], skill_rows,
               note=None if skill_rows else "No graded work yet: the map fills in as you answer and submit."),
        _chart("progress", "Progress by course", "hbar", "course", [("percent", "Complete (%)")],
               [("course", "Course"), ("percent", "Complete (%)"), ("completed_lessons", "Lessons done"),
                ("total_lessons", "Lessons")], course_rows),
        _chart("weekly_trend", "Weekly trend", "line", "week", [("lessons", "Lessons completed"), ("hours", "Hours")],
               WEEKLY_COLUMNS, weekly),
    ]
    recommendations = _recommendations(engine=engine, user_id=subject_id, now=now, skills=skill_rows,
                                       next_lesson=mine.continue_lesson)
    alerts = [AlertPublic(user_id=subject_id, name=name, kind="wheel_spinning",
                          detail=f"{row['label']}: {row['attempts']} attempts without three right in a row.")
              for row in skill_rows if row["status"] == "wheel_spinning"]
    return DashboardPublic(level="individual", subject=Subject(id=subject_id, name=name), generated_at=now,
                           k=settings.ANALYTICS_K, metrics=metrics, charts=charts, recommendations=recommendations,
                           alerts=alerts)


def visibility(*, engine: Engine, settings: Settings, actor: User) -> VisibilityPublic:
    """Who may see the actor's analytics: by name, the managers of each team the actor is in (the only
    ones who may open their dashboard); the organisation's admins and viewers see groups of k or more."""
    org = orgs.my_organization(engine=engine, user=actor)
    drill_down = []
    for team in orgs.my_teams(engine=engine, user_id=actor.id):
        names = [name for uid, _email, name, role in orgs.team_roster(engine=engine, team_id=team.id)
                 if role == "manager" and uid != actor.id]
        if names:
            drill_down.append(TeamManagersPublic(team=team.name, managers=names))
    return VisibilityPublic(organization=Subject(id=org.id, name=org.name) if org is not None else None,
                            k=settings.ANALYTICS_K, drill_down=drill_down)


def _mastery_estimates(*, engine: Engine, user_id: str) -> dict[str, float]:
    """The tutor's learner model's estimate per skill (the skill map's mastery), where it has one."""
    return {skill: float(p) for skill, p in agents_memory.tracker(engine=engine, user_id=user_id).estimates().items()}


def _recommendations(*, engine: Engine, user_id: str, now: datetime, skills: list[dict[str, Any]],
                     next_lesson: Any) -> list[RecommendationPublic]:
    found: list[RecommendationPublic] = []
    due = review.due_count(engine=engine, user_id=user_id, now=now)
    if due:
        found.append(RecommendationPublic(kind="review", title=f"Review {due} item{'s' if due != 1 else ''}",
                                          url="review/", reason="Due today: reviewing now keeps them from fading."))
    fading = sorted((s for s in skills if s["status"] == "fading"), key=lambda s: -s["decay_risk"])
    for s in fading[:3]:
        found.append(RecommendationPublic(kind="review", title=f"Practise {s['label']}", url="review/",
                                          reason=f"About {round(100 * s['decay_risk'])}% likely forgotten by now."))
    if next_lesson is not None:
        found.append(RecommendationPublic(kind="next", title=next_lesson.title, url=next_lesson.url,
                                          reason="Continue where you left off." if next_lesson.state != "not_started"
                                          else "The next lesson of your course."))
    return found


# ---- team -----------------------------------------------------------------------------------------------


def _assigned(*, engine: Engine, org_id: str, people: set[str],
              team_members: dict[str, set[str]]) -> list[tuple[str, str, datetime]]:
    """(course id, user id, due) for each assignment of the organisation that falls on one of `people`
    (the earliest due date when a course is assigned to someone twice)."""
    earliest: dict[tuple[str, str], datetime] = {}
    for a in assignments.org_assignments(engine=engine, org_id=org_id):
        targets = {a.user_id} if a.user_id else team_members.get(a.team_id or "", set())
        for uid in targets & people:
            key = (a.course_id, uid)
            if key not in earliest or a.due_at < earliest[key]:
                earliest[key] = a.due_at
    return [(course, uid, due) for (course, uid), due in earliest.items()]


def _done(person: Person | None, course_id: str, sizes: dict[str, int]) -> bool:
    if person is None or course_id not in sizes:
        return False
    return any(c.course_id == course_id and c.lessons_completed >= sizes[course_id] for c in person.courses)


def _course_progress_rows(people: Sequence[Person], index: CatalogIndex, k: int) -> tuple[list[dict[str, Any]], int]:
    """Per course: learners who started it, mean percent, completed; courses with fewer than k learners left out
    (returns the rows and how many were left out)."""
    sizes = _course_sizes(index)
    per: dict[str, list[int]] = defaultdict(list)
    for p in people:
        for c in p.courses:
            if sizes.get(c.course_id):
                per[c.course_id].append(min(c.lessons_completed, sizes[c.course_id]))
    rows: list[dict[str, Any]] = []
    hidden = 0
    for course_id, done in per.items():
        if len(done) < k:
            hidden += 1
            continue
        size = sizes[course_id]
        rows.append({"course": index.courses[course_id].title, "learners": len(done),
                     "percent": round(100 * sum(done) / (size * len(done)), 1),
                     "completed": sum(1 for d in done if d >= size)})
    rows.sort(key=lambda r: (-r["learners"], r["course"]))
    return rows, hidden


def _hidden_note(hidden: int, k: int) -> str | None:
    return f"{hidden} row{'s' if hidden != 1 else ''} over fewer than {k} people hidden." if hidden else None


def team_dashboard(*, engine: Engine, settings: Settings, catalog_db: Path, actor: User, team_id: str,
                   now: datetime | None = None) -> DashboardPublic:
    now = _now(now)
    k = settings.ANALYTICS_K
    team = orgs.team(engine=engine, team_id=team_id)
    if team is None:
        raise NotFound("No such team.")
    manager = team_id in orgs.managed_team_ids(engine=engine, user=actor)
    if not (manager or _is_org_admin(actor, team.organization_id)):
        raise Forbidden("Only the team's managers and the organisation's admins may see this dashboard.")
    _fresh(engine)
    index = get_index(catalog_db=catalog_db)
    sqlite = is_sqlite(engine)
    roster = [r for r in orgs.team_roster(engine=engine, team_id=team_id) if r[3] != "manager"]
    names = {r[0]: r[2] for r in roster}
    members: Members = select(TeamMember.user_id).where(TeamMember.team_id == team_id, TeamMember.role != "manager")
    with _rollup_reads(engine) as session:
        people = _people(session, members, now=now, index=index, sqlite=sqlite)
        weekly = _weekly(session, members, now=now)
    small = len(names) < k
    group = [people[uid] for uid in names if uid in people]
    sizes = _course_sizes(index)
    assigned = _assigned(engine=engine, org_id=team.organization_id, people=set(names),
                         team_members={team_id: set(names)})
    progress_rows, hidden = _course_progress_rows(group, index, k)
    deadline_rows = _deadline_rows(assigned, people, index, sizes, now)
    person_rows: list[dict[str, Any]] = []
    alerts: list[AlertPublic] = []
    if manager:
        for uid, name in sorted(names.items(), key=lambda kv: kv[1].lower()):
            p = people.get(uid, Person(user_id=uid))
            mine = [(c, due) for c, u, due in assigned if u == uid]
            overdue = [c for c, due in mine if due < now and not _done(p, c, sizes)]
            person_rows.append({
                "name": name, "user_id": uid, "lessons": sum(c.lessons_completed for c in p.courses),
                "lessons_28d": p.lessons_window,
                "assigned_done": sum(1 for c, _ in mine if _done(p, c, sizes)), "assigned": len(mine),
                "overdue": len(overdue), "engagement": m.finite(p.engagement, 1), "struggle": m.finite(p.struggle),
                "last_active": p.last_at.date().isoformat() if p.last_at else None})
            alerts += _person_alerts(uid, name, p, overdue, index)
    metrics = _group_metrics(group + [Person(user_id=u) for u in names if u not in people], suppressed=small)
    charts = [
        _chart("team_progress", "Team progress by course", "bar", "course",
               [("percent", "Average complete (%)"), ("completed", "Completed")],
               [("course", "Course"), ("learners", "Learners"), ("percent", "Average complete (%)"),
                ("completed", "Completed")], progress_rows, suppressed=small, note=_hidden_note(hidden, k)),
        _chart("people", "Each person's progress", "hbar", "name",
               [("lessons", "Lessons completed"), ("assigned_done", "Assigned courses done")],
               [("name", "Name"), ("lessons", "Lessons completed"), ("lessons_28d", "Lessons, last 28 days"),
                ("assigned_done", "Assigned done"), ("assigned", "Assigned"), ("overdue", "Overdue"),
                ("engagement", "Engagement"), ("struggle", "Struggle index"), ("last_active", "Last active")],
               person_rows, note=None if manager else "Only the team's managers see each person's progress."),
        _chart("deadlines", "Deadlines", "bar", "course",
               [("done", "Done"), ("open", "Open"), ("overdue", "Overdue")],
               [("course", "Course"), ("due", "Due"), ("assigned", "People"), ("done", "Done"), ("open", "Open"),
                ("overdue", "Overdue")], deadline_rows, suppressed=small),
        _chart("weekly_trend", "Weekly trend", "line", "week", [("lessons", "Lessons completed"), ("hours", "Hours")],
               WEEKLY_COLUMNS, weekly, suppressed=small),
    ]
    return DashboardPublic(level="team", subject=Subject(id=team.id, name=team.name), generated_at=now, k=k,
                           metrics=metrics, charts=charts, alerts=alerts)


def _person_alerts(uid: str, name: str, p: Person, overdue: list[str], index: CatalogIndex) -> list[AlertPublic]:
    alerts = []
    if p.struggle is not None and p.struggle >= m.STRUGGLING:
        alerts.append(AlertPublic(user_id=uid, name=name, kind="struggling",
                                  detail=f"Struggle index {p.struggle:.1f} (3 or more is struggling)."))
    for s in p.skills:
        if m.wheel_spinning(attempts=s.attempts, mastered=s.mastered_at is not None):
            alerts.append(AlertPublic(user_id=uid, name=name, kind="wheel_spinning",
                                      detail=f"{_skill_label(s.skill)}: {s.attempts} attempts without mastery."))
    for course_id in overdue:
        title = index.courses[course_id].title if course_id in index.courses else "An assigned course"
        alerts.append(AlertPublic(user_id=uid, name=name, kind="overdue", detail=f"{title} is overdue."))
    return alerts


def _deadline_rows(assigned: list[tuple[str, str, datetime]], people: dict[str, Person], index: CatalogIndex,
                   sizes: dict[str, int], now: datetime) -> list[dict[str, Any]]:
    per: dict[str, dict[str, Any]] = {}
    for course_id, uid, due in assigned:
        row = per.setdefault(course_id, {"course": index.courses[course_id].title if course_id in index.courses
                                         else course_id, "due": due.date().isoformat(), "assigned": 0, "done": 0,
                                         "open": 0, "overdue": 0})
        row["due"] = min(row["due"], due.date().isoformat())
        row["assigned"] += 1
        row["done" if _done(people.get(uid), course_id, sizes) else "overdue" if due < now else "open"] += 1
    return sorted(per.values(), key=lambda r: (r["due"], r["course"]))


# ---- organisation ---------------------------------------------------------------------------------------


# Two threads for an organisation dashboard's side queries (bounded: at most two more connections in use,
# however many dashboards are asked at once; the rest wait their turn).
_SIDE_QUERIES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="drona-dashboard")
_T = TypeVar("_T")


def _read(engine: Engine, query: Callable[[Session], _T]) -> _T:
    with _rollup_reads(engine) as session:
        return query(session)


def org_dashboard(*, engine: Engine, settings: Settings, catalog_db: Path, actor: User, org_id: str,
                  now: datetime | None = None) -> DashboardPublic:
    now = _now(now)
    k = settings.ANALYTICS_K
    if not (_is_super(actor) or (has_role(actor.role, Role.ANALYTICS_VIEWER) and actor.organization_id == org_id)):
        raise Forbidden("Only this organisation's admins and analytics viewers may see its dashboard.")
    name, _seats, _teams = orgs.org_overview(engine=engine, org_id=org_id)
    _fresh(engine)
    index = get_index(catalog_db=catalog_db)
    sqlite = is_sqlite(engine)
    members: Members = select(User.id).where(User.organization_id == org_id, User.is_active.is_(True))
    # The trend is a grouped query over thousands of members' rows, independent of the per-member metrics:
    # it runs beside them, on its own connection (with the skill gaps then: ~0.45 s in a row at 2,000 members
    # and 10,000,000 statements on PostgreSQL, ~0.25 s side by side on 2 cores).
    # PostgreSQL reads the skill rows once for the members' skill metrics and the skill gaps
    # (_skills_both_ways); SQLite, without grouping sets, runs the gaps beside the metrics as their own query.
    weekly_f = _SIDE_QUERIES.submit(_read, engine, lambda s: _weekly(s, members, now=now))
    gaps_f = _SIDE_QUERIES.submit(_read, engine, lambda s: _skill_gaps(s, members, k=k, now=now, sqlite=sqlite)) \
        if sqlite else None
    with _rollup_reads(engine) as session:
        sums, gaps = (None, None) if sqlite else _skills_both_ways(session, members, k=k, now=now, sqlite=sqlite)
        people = _people(session, members, now=now, index=index, sqlite=sqlite, skill_rows=False,
                         skill_sums=sums)
        teams = orgs.team_members_of(session, team_ids=set(orgs.teams_of_org(engine=engine, org_id=org_id)))
    weekly = weekly_f.result()
    skill_rows, hidden_skills = gaps_f.result() if gaps_f is not None else gaps or ([], 0)
    everyone = list(people.values())
    small = len(everyone) < k
    sizes = _course_sizes(index)
    progress_rows, hidden = _course_progress_rows(everyone, index, k)
    assigned = _assigned(engine=engine, org_id=org_id, people=set(people), team_members=teams)
    compliance, hidden_compliance = [], 0
    for row in _deadline_rows(assigned, people, index, sizes, now):
        if row["assigned"] < k:
            hidden_compliance += 1
            continue
        row["percent_done"] = round(100 * row["done"] / row["assigned"], 1)
        compliance.append(row)
    roi = [{"week": r["week"], "hours": r["hours"], "lessons": r["lessons"], "learners": r["learners"]}
           for r in weekly]
    courses_done = sum(1 for p in everyone for c in p.courses if sizes.get(c.course_id)
                       and c.lessons_completed >= sizes[c.course_id])
    hours = sum(r["hours"] for r in weekly)
    charts = [
        _chart("company_progress", "Company progress by course", "bar", "course",
               [("percent", "Average complete (%)"), ("completed", "Completed")],
               [("course", "Course"), ("learners", "Learners"), ("percent", "Average complete (%)"),
                ("completed", "Completed")], progress_rows, suppressed=small, note=_hidden_note(hidden, k)),
        _chart("compliance", "Compliance: required courses", "hbar", "course",
               [("done", "Done"), ("open", "Open"), ("overdue", "Overdue")],
               [("course", "Course"), ("due", "First due"), ("assigned", "People"), ("done", "Done"),
                ("open", "Open"), ("overdue", "Overdue"), ("percent_done", "Done (%)")], compliance,
               suppressed=small, note=_hidden_note(hidden_compliance, k)),
        _chart("skill_gaps", "Skill gaps", "hbar", "label",
               [("mastered_percent", "Mastered (%)"), ("decay_risk", "Decay risk (%)")],
               [("label", "Skill"), ("learners", "Learners practising"), ("mastered_percent", "Mastered (%)"),
                ("decay_risk", "Decay risk (%)"), ("wheel_spinning", "Wheel-spinning")], skill_rows,
               suppressed=small, note=_hidden_note(hidden_skills, k)),
        _chart("roi", "Hours and completion (return on investment)", "line", "week",
               [("hours", "Hours"), ("lessons", "Lessons completed")],
               [("week", "Week of"), ("hours", "Hours"), ("lessons", "Lessons completed"),
                ("learners", "Active learners")], roi, suppressed=small,
               note=None if small else f"Last {TREND_WEEKS} weeks: {hours:.1f} hours; {courses_done} courses "
                                       "completed in all."),
    ]
    return DashboardPublic(level="organization", subject=Subject(id=org_id, name=name), generated_at=now, k=k,
                           metrics=_group_metrics(everyone, suppressed=small), charts=charts)


def _skill_gaps(session: Session, members: Members, *, k: int, now: datetime,
                sqlite: bool) -> tuple[list[dict[str, Any]], int]:
    """Per skill over the members practising it (one grouped query): share mastered, the mastered ones'
    mean decay risk, and how many are wheel-spinning; skills practised by fewer than k left out."""
    skills = AnalyticsSkill.__table__.c
    return _gap_rows(session.execute(select(skills.skill, *_skill_aggregates(now=now, sqlite=sqlite))
                                     .where(skills.user_id.in_(members)).group_by(skills.skill)), k=k)


def _gap_rows(found: Iterable[Sequence[Any]], *, k: int) -> tuple[list[dict[str, Any]], int]:
    """The skill gaps' rows from (skill, *_skill_aggregates) rows."""
    rows: list[dict[str, Any]] = []
    hidden = 0
    for skill, _da, _ds, _struggle, risk, _any_risk, learners, mastered_count, wheel_spinning in found:
        if learners < k:
            hidden += 1
            continue
        rows.append({"skill": skill, "label": _skill_label(skill), "learners": int(learners),
                     "mastered_percent": round(100 * int(mastered_count) / int(learners), 1),
                     "decay_risk": None if risk is None else round(100 * float(risk), 1),
                     "wheel_spinning": int(wheel_spinning or 0)})
    rows.sort(key=lambda r: (r["mastered_percent"], -r["learners"], r["skill"]))
    return rows[:SKILL_GAP_ROWS], hidden


# ---- platform -------------------------------------------------------------------------------------------


def platform_dashboard(*, engine: Engine, settings: Settings, actor: User,
                       now: datetime | None = None) -> DashboardPublic:
    now = _now(now)
    if not _is_super(actor):
        raise Forbidden("Only super admins may see the platform dashboard.")
    _fresh(engine)
    since = (now - timedelta(days=m.WINDOW_DAYS)).date()
    first = _week_start(now.date()) - timedelta(weeks=TREND_WEEKS - 1)
    with _rollup_reads(engine) as session:
        users = int(session.scalar(select(func.count()).select_from(User).where(User.is_active.is_(True))) or 0)
        active = int(session.scalar(select(func.count()).select_from(AnalyticsUser).where(
            AnalyticsUser.last_at >= now - timedelta(days=m.WINDOW_DAYS))) or 0)
        days = session.execute(select(AnalyticsPlatformDaily).where(AnalyticsPlatformDaily.day >= first)
                               .order_by(AnalyticsPlatformDaily.day)).scalars().all()
        weekly = _platform_weekly(session, days, now=now)
    window = [d for d in days if d.day > since]

    def total(name: str, rows: Sequence[Any] = window) -> float:
        return float(sum(getattr(d, name) for d in rows))

    sessions, active_s, events = total("sessions"), total("active_s"), total("events")
    per_learner = max(1, active)
    struggle = m.skill_struggle(attempts=int(total("attempts")), successes=int(total("successes")),
                                hints=int(total("hints")), duration_s=0.0)
    retention, _ = m.knowledge_retention(reviews=int(total("reviews")), reviews_correct=int(total("reviews_correct")),
                                         delayed_attempts=0, delayed_successes=0)
    metrics = [
        _metric("learning_velocity", m.learning_velocity(lessons_completed=int(total("lessons_completed")),
                                                          active_s=active_s)),
        _metric("knowledge_retention", retention, digits=1),
        _metric("engagement_score", m.engagement_score(sessions=round(sessions / per_learner),
                                                        active_s=active_s / per_learner,
                                                        interactions=round(events / per_learner)) if active else None,
                digits=1),
        _metric("struggle_index", struggle),
        _metric("predicted_completion", None),
        _metric("skill_decay_risk", None),
    ]
    metrics[2].help += " Platform: the average active learner's."
    metrics[4].help = "Per learner, team and organisation (not meaningful for the whole platform)."
    metrics[5].help = "Per learner, team and organisation (not meaningful for the whole platform)."
    by_week: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for d in days:
        week = _week_start(d.day).isoformat()
        for name in ("new_users", "events", "sessions", "active_s", "tutor_turns", "hints", "hinted", "hint_passes",
                     "attempts", "successes"):
            by_week[week][name] += getattr(d, name)
    learners = {r["week"]: r["learners"] for r in weekly}
    user_rows, engagement_rows, ai_rows = [], [], []
    for i in range(TREND_WEEKS):
        week = (first + timedelta(weeks=i)).isoformat()
        w = by_week.get(week, {})
        user_rows.append({"week": week, "active": learners.get(week, 0), "new": int(w.get("new_users", 0))})
        engagement_rows.append({"week": week, "sessions": int(w.get("sessions", 0)),
                                "hours": round(w.get("active_s", 0) / 3600, 2), "events": int(w.get("events", 0))})
        hinted = w.get("hinted", 0)
        ai_rows.append({"week": week, "tutor_turns": int(w.get("tutor_turns", 0)), "hints": int(w.get("hints", 0)),
                        "hint_to_pass": round(100 * w.get("hint_passes", 0) / hinted, 1) if hinted else None})
    leaks = agents.leak_counts(engine=engine, since=datetime.combine(first, datetime.min.time(), now.tzinfo))
    leak_rows: list[dict[str, Any]] = [{"week": (first + timedelta(weeks=i)).isoformat(), "llm": 0, "policy": 0}
                                       for i in range(TREND_WEEKS)]
    for at, source in leaks:
        i = (_week_start(at.date()) - first).days // 7
        if 0 <= i < TREND_WEEKS and source in ("llm", "policy"):
            leak_rows[i][source] += 1
    model_rows = [{"provider": s.provider, "model": s.model, "calls": s.calls, "failures": s.failures,
                   "latency_p50_ms": s.latency_p50_ms, "latency_p95_ms": s.latency_p95_ms,
                   "cost_usd": round(s.cost_usd, 4)}
                  for s in agents.model_call_stats(engine=engine, since=now - timedelta(days=m.WINDOW_DAYS))]
    hinted_all, passes_all = total("hinted", days), total("hint_passes", days)
    charts = [
        _chart("users", "Users", "line", "week", [("active", "Active learners"), ("new", "New learners")],
               [("week", "Week of"), ("active", "Active learners"), ("new", "New learners")], user_rows,
               note=f"{users} active accounts; {active} learners active in the last {m.WINDOW_DAYS} days."),
        _chart("engagement", "Engagement", "line", "week", [("sessions", "Sessions"), ("hours", "Hours")],
               [("week", "Week of"), ("sessions", "Sessions"), ("hours", "Hours"), ("events", "Interactions")],
               engagement_rows),
        _chart("ai_performance", "AI tutor: turns and hint-to-pass conversion", "bar", "week",
               [("tutor_turns", "Tutor turns"), ("hints", "Hints")],
               [("week", "Week of"), ("tutor_turns", "Tutor turns"), ("hints", "Hints"),
                ("hint_to_pass", "Hint-to-pass (%)")], ai_rows,
               note=(f"Hint-to-pass conversion over {TREND_WEEKS} weeks: "
                     f"{100 * passes_all / hinted_all:.1f}% of the exercises hinted on were then passed."
                     if hinted_all else None)),
        _chart("leaks", "Answer leaks stopped", "bar", "week",
               [("llm", "From the model"), ("policy", "From the policy")],
               [("week", "Week of"), ("llm", "From the model"), ("policy", "From the policy")], leak_rows),
        _chart("models", "Model latency and cost per provider", "hbar", "model",
               [("latency_p95_ms", "Latency p95 (ms)"), ("cost_usd", "Cost (USD)")],
               [("provider", "Provider"), ("model", "Model"), ("calls", "Calls"), ("failures", "Failures"),
                ("latency_p50_ms", "Latency p50 (ms)"), ("latency_p95_ms", "Latency p95 (ms)"),
                ("cost_usd", "Cost (USD, LiteLLM's cost map)")], model_rows,
               note=None if model_rows else f"No model calls in the last {m.WINDOW_DAYS} days (offline policy)."),
    ]
    return DashboardPublic(level="platform", subject=Subject(id="platform", name="Platform"), generated_at=now,
                           k=settings.ANALYTICS_K, metrics=metrics, charts=charts)


# ---- CSV ------------------------------------------------------------------------------------------------


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A cell as text, defused: a spreadsheet runs text starting with = + - @ as a formula, so it gets a '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def chart_csv(dashboard: DashboardPublic, chart_id: str) -> str:
    """One chart's table as CSV: the header is the column labels, one line per row."""
    chart = next((c for c in dashboard.charts if c.id == chart_id), None)
    if chart is None:
        raise InvalidInput(f"No chart '{chart_id}' here; this dashboard has: "
                           f"{', '.join(c.id for c in dashboard.charts)}.",
                           {"charts": [c.id for c in dashboard.charts]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(c.label) for c in chart.columns])
    for row in chart.rows:
        writer.writerow([_cell(row.get(c.key)) for c in chart.columns])
    return out.getvalue()


def fold(*, engine: Engine, limit: int | None = None) -> int:
    """The scheduled job: fold every new statement into the rollups (exactly once; see rollup.py)."""
    return rollup.fold(engine=engine, limit=limit)

