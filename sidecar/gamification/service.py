"""XP ledger, levels, streaks, achievements and leaderboards over the learner database.

Other domains call in here (never into these tables): progress.completion, the one path of every
lesson completion (read, or graded in grading), records activity days and awards lesson, quiz,
challenge and module XP through award_xp.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from sidecar.auth.tables import User, UserProfile
from sidecar.catalog import readers
from sidecar.catalog.readers import AchievementRecord
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Forbidden, InvalidInput, NotFound, Unavailable
from sidecar.orgs.tables import Organization, Team, TeamMember

from . import levels, live, rules, streaks
from . import metrics as achievement_metrics
from .models import (
    AchievementPublic,
    GamificationProfilePublic,
    LeaderboardEntry,
    LeaderboardPublic,
    StreakPublic,
    XpEventPublic,
)
from .tables import AchievementDefinition, ActivityDay, UserAchievement, XpTransaction
from .xp import XpAward

MODES = ("full", "moderate", "minimal", "off")
# §4.2: students get the full experience, professionals a lighter one, self-learners choose.
DEFAULT_MODE_BY_KIND = {"student": "full", "professional": "moderate", "self_learner": "full"}
LEADERBOARD_SIZE = 50
SCOPES = ("global", "team", "class", "cohort")
PERIODS = ("weekly", "all_time")


def effective_mode(*, enabled: bool, user: User, profile: UserProfile, org_mode: str | None) -> str:
    if not enabled:
        return "off"
    if profile.gamification_mode in MODES:
        return profile.gamification_mode
    if org_mode in MODES:
        return str(org_mode)
    return DEFAULT_MODE_BY_KIND.get(user.learner_kind or "", "full")


def _tx(session: Session | Tx) -> Tx:
    # The writes below are plain SQL on the transaction's driver connection: the progress hot path
    # runs them under SQLite's single writer lock, where ORM overhead would serialise every request.
    return session if isinstance(session, Tx) else Tx.of_session(session)


_PROFILE = UserProfile.__table__.c
_ACHIEVEMENTS = AchievementDefinition.__table__.c
_STREAK_COLUMNS = "timezone, streak_current, streak_longest, streak_last_day, streak_freezes"


def award_xp(*, session: Session | Tx, user_id: str, source_key: str, award: XpAward) -> int:
    """Append to the ledger once per (user, source_key); returns the XP actually added (announced to the
    learner's open tabs once the transaction commits: live.py)."""
    tx = _tx(session)
    inserted = insert_ignore(tx, XpTransaction, {
        "user_id": user_id, "source_key": source_key, "activity": str(award.activity), "base": award.base,
        "bonuses": [list(b) for b in award.bonuses], "amount": award.amount, "created_at": utcnow(),
    }, ["user_id", "source_key"])
    if inserted:
        live.xp_added(tx, user_id=user_id, amount=award.amount, source_key=source_key, activity=str(award.activity))
    return award.amount if inserted else 0


def total_xp(session: Session, user_id: str) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(XpTransaction.amount), 0))
                              .where(XpTransaction.user_id == user_id)) or 0)


def xp_by_source(session: Session, user_id: str) -> dict[str, int]:
    """The learner's XP ledger as {source key: XP}: what each lesson, quiz, module and badge paid."""
    paid: dict[str, int] = {}
    for key, amount in session.execute(select(XpTransaction.source_key, XpTransaction.amount)
                                       .where(XpTransaction.user_id == user_id)):
        paid[key] = paid.get(key, 0) + int(amount)
    return paid


def _streak(tx: Tx, user_id: str, *, lock: bool) -> tuple[str, streaks.StreakState] | None:
    """(time zone, streak state) of the learner; `lock` holds the row on PostgreSQL until commit."""
    row = tx.row(f"SELECT {_STREAK_COLUMNS} FROM user_profiles WHERE user_id = :user_id"  # noqa: S608
                 + (tx.for_update if lock else ""), {"user_id": user_id})
    if row is None:
        return None
    return row[0], streaks.StreakState(current=row[1], longest=row[2],
                                       last_day=tx.from_db(_PROFILE.streak_last_day, row[3]), freezes=row[4])


def record_activity(*, session: Session | Tx, user_id: str, instant: datetime) -> streaks.StreakUpdate:
    """Count a day of practice in the learner's own time zone; updates the streak atomically."""
    tx = _tx(session)
    found = _streak(tx, user_id, lock=True)
    if found is None:
        raise NotFound("No learner profile for this account.")
    timezone, state = found
    day = streaks.local_day(instant=instant, tz=timezone)
    update = streaks.record_activity(state=state, day=day)
    insert_ignore(tx, ActivityDay, {"user_id": user_id, "day": day, "kind": "active"}, ["user_id", "day"])
    for frozen in update.frozen_days:
        insert_ignore(tx, ActivityDay, {"user_id": user_id, "day": frozen, "kind": "frozen"}, ["user_id", "day"])
    new = update.state
    if new != state:  # a repeat day changes nothing: no write
        tx.execute("UPDATE user_profiles SET streak_current = :current, streak_longest = :longest, "
                   "streak_last_day = :last_day, streak_freezes = :freezes WHERE user_id = :user_id",
                   {"current": new.current, "longest": new.longest, "freezes": new.freezes, "user_id": user_id,
                    "last_day": tx.to_db(_PROFILE.streak_last_day, new.last_day)})
    return update


def streak_is_active(*, session: Session | Tx, user_id: str, instant: datetime) -> bool:
    found = _streak(_tx(session), user_id, lock=False)
    if found is None:
        return False
    timezone, state = found
    return streaks.streak_active(state=state, today=streaks.local_day(instant=instant, tz=timezone))


def evaluate_achievements(*, session: Session | Tx, user_id: str, courses_completed: int | None = None,
                          lessons_completed: int | None = None, extra_metrics: Mapping[str, int] | None = None,
                          catalog_db: Path | None = None) -> list[AchievementPublic]:
    """Award every achievement whose rule now holds; returns the new ones (for toasts).

    `lessons_completed` and `courses_completed` may be passed by a caller that just counted them.
    `extra_metrics` are counters that domains above this one own (certificates: `certificates_earned`,
    `gold_certificates`), counted by the caller in the same transaction. Every other metric an
    unearned rule needs comes from the sources other domains registered (metrics.py), asked only
    when some rule still needs it.
    """
    tx = _tx(session)
    definitions = [AchievementRecord(id=r[0], slug=r[1], title=r[2], category=r[3], description=r[4], xp=r[5],
                                     rule=tx.from_db(_ACHIEVEMENTS.rule, r[6]))
                   for r in tx.rows("SELECT id, slug, title, category, description, xp, rule FROM achievements", {})]
    if not definitions:
        return []
    earned = {r[0] for r in tx.rows("SELECT achievement_id FROM user_achievements WHERE user_id = :user_id",
                                    {"user_id": user_id})}
    if earned >= {d.id for d in definitions}:
        return []  # nothing left to earn: skip the metrics
    if lessons_completed is None:
        lessons_completed = int(tx.row("SELECT count(*) FROM progress WHERE user_id = :user_id "
                                       "AND state = 'completed'", {"user_id": user_id})[0])
    found = _streak(tx, user_id, lock=False)
    metrics = {"lessons_completed": lessons_completed, "streak_days": found[1].current if found else 0,
               **(extra_metrics or {})}
    if courses_completed is not None:
        metrics["courses_completed"] = courses_completed
    needed = {str(d.rule["metric"]) for d in definitions if d.id not in earned} - set(metrics)
    if needed:
        metrics.update(achievement_metrics.counted(tx, user_id=user_id, needed=needed, catalog_db=catalog_db))
    candidates = rules.newly_earned(definitions=[{"id": d.id, "rule": d.rule} for d in definitions],
                                    metrics=metrics, earned_ids=earned)
    by_id = {d.id: d for d in definitions}
    fresh: list[AchievementPublic] = []
    now = utcnow()
    for candidate in candidates:
        definition = by_id[str(candidate["id"])]
        if insert_ignore(tx, UserAchievement, {"user_id": user_id, "achievement_id": definition.id,
                                               "earned_at": now}, ["user_id", "achievement_id"]):
            live.achievement_unlocked(tx, user_id=user_id, achievement_id=definition.id, slug=definition.slug,
                                      title=definition.title, description=definition.description,
                                      category=definition.category, earned_at=now)
            if definition.xp:
                award_xp(session=tx, user_id=user_id, source_key=f"achievement:{definition.id}",
                         award=XpAward(activity=_achievement_activity(), base=definition.xp, bonuses=()))
            fresh.append(_achievement_public(definition, now))
    return fresh


def _achievement_activity() -> Any:
    from .xp import Activity

    return Activity("achievement") if "achievement" in Activity.__members__.values() else Activity.LESSON


def _achievement_public(definition: AchievementDefinition | AchievementRecord, earned_at: datetime | None,
                        capacity: Mapping[str, int] | None = None) -> AchievementPublic:
    reason = None
    if earned_at is None and capacity is not None and isinstance(definition.rule, Mapping):
        reason = achievement_metrics.coming_reason(str(definition.rule.get("metric")),
                                                   int(definition.rule.get("threshold") or 0), capacity)
    return AchievementPublic(id=definition.id, slug=definition.slug, title=definition.title,
                             category=definition.category, description=definition.description,
                             earned_at=earned_at, coming=reason is not None, coming_reason=reason)


def sync_achievements(*, engine: Engine, catalog_db: Path) -> int:
    """Mirror the achievement definitions of catalog.db (git owns them) into the learner database."""
    if not catalog_db.is_file():
        return 0
    try:
        rows = readers.achievements(catalog_db)
    except Unavailable as exc:  # a catalog from another drona version: start anyway; its requests say to rebuild
        logging.getLogger("drona").warning("achievements not synced: %s", exc.message)
        return 0
    with write_session(engine) as session:
        keep = {r.id for r in rows}
        session.execute(delete(AchievementDefinition).where(AchievementDefinition.id.not_in(keep)))
        for row in rows:
            # Insert-or-update without a read first: several sidecar processes starting together on
            # PostgreSQL would otherwise each insert the same new definitions (a unique violation).
            fields = {"slug": row.slug, "title": row.title, "category": row.category,
                      "description": row.description, "xp": row.xp, "rule": row.rule}
            if not insert_ignore(session, AchievementDefinition, {"id": row.id, **fields}, ["id"]):
                session.execute(update(AchievementDefinition).where(AchievementDefinition.id == row.id)
                                .values(**fields))
    return len(rows)


def _org_mode(session: Session, user: User) -> str | None:
    if not user.organization_id:
        return None
    org = session.get(Organization, user.organization_id)
    return org.gamification_mode if org else None


def get_profile(*, engine: Engine, user_id: str, enabled: bool, now: datetime | None = None,
                catalog_db: Path | None = None) -> GamificationProfilePublic:
    now = now or utcnow()
    capacity: dict[str, int] | None = None
    if catalog_db is not None and catalog_db.is_file():
        try:
            capacity = achievement_metrics.capacities(catalog_db)
        except Unavailable:
            capacity = None  # a catalog of another version: every badge shows, none marked coming
    with read_session(engine) as session:
        user = session.get(User, user_id)
        profile = session.get(UserProfile, user_id)
        assert user is not None and profile is not None
        mode = effective_mode(enabled=enabled, user=user, profile=profile, org_mode=_org_mode(session, user))
        xp = total_xp(session, user_id)
        progress = levels.level_progress(xp)
        state = streaks.StreakState(current=profile.streak_current, longest=profile.streak_longest,
                                    last_day=profile.streak_last_day, freezes=profile.streak_freezes)
        today = streaks.local_day(instant=now, tz=profile.timezone)
        days = session.scalars(select(ActivityDay).where(ActivityDay.user_id == user_id,
                                                         ActivityDay.day >= today - timedelta(days=90))).all()
        earned_at = dict(session.execute(select(UserAchievement.achievement_id, UserAchievement.earned_at).where(
            UserAchievement.user_id == user_id)).all())
        # Every definition, earned ones first: the dashboard shows the rest as locked badges.
        definitions = session.scalars(select(AchievementDefinition)).all()
        earned = sorted(((d, earned_at.get(d.id)) for d in definitions),
                        key=lambda pair: (pair[1] is None, pair[1] or now, pair[0].slug))
        history = session.scalars(select(XpTransaction).where(XpTransaction.user_id == user_id)
                                  .order_by(XpTransaction.created_at.desc()).limit(100)).all()
    return GamificationProfilePublic(
        enabled=mode != "off", mode=mode, xp=xp, level=progress.level, level_title=progress.title,
        level_floor_xp=progress.level_floor_xp, next_level_xp=progress.next_level_xp,
        level_progress=progress.progress,
        streak=StreakPublic(current=streaks.current_streak(state=state, today=today), longest=profile.streak_longest,
                            freezes=profile.streak_freezes, today=today,
                            calendar={d.day.isoformat(): d.kind for d in days}),
        achievements=[_achievement_public(d, at, capacity) for d, at in earned],
        history=[XpEventPublic(source_key=t.source_key, activity=t.activity, amount=t.amount, base=t.base,
                               bonuses=[(str(b[0]), int(b[1])) for b in t.bonuses], created_at=t.created_at)
                 for t in history])


def week_start(now: datetime) -> datetime:
    """Weekly boards run Monday 00:00 to Monday 00:00 UTC, the same week for every learner."""
    monday = (now.astimezone(UTC) - timedelta(days=now.astimezone(UTC).weekday())).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def _display_name(user: User, profile: UserProfile, viewer_id: str) -> str:
    if profile.leaderboard_anonymous and user.id != viewer_id:
        return f"Anonymous learner {user.id[:4].upper()}"
    return user.display_name


def leaderboard(*, engine: Engine, viewer_id: str, scope: str, period: str, view: str, team_id: str | None,
                enabled: bool, now: datetime | None = None) -> LeaderboardPublic:
    if scope not in SCOPES or period not in PERIODS or view not in ("top", "neighbours"):
        raise InvalidInput(f"scope must be one of {SCOPES}, period one of {PERIODS}, view top or neighbours.")
    now = now or utcnow()
    with read_session(engine) as session:
        viewer = session.get(User, viewer_id)
        viewer_profile = session.get(UserProfile, viewer_id)
        assert viewer is not None and viewer_profile is not None
        if effective_mode(enabled=enabled, user=viewer, profile=viewer_profile,
                          org_mode=_org_mode(session, viewer)) in ("off", "minimal"):
            raise Forbidden("Leaderboards are off in your gamification mode.")
        members = _scope_members(session, viewer_id=viewer_id, scope=scope, team_id=team_id)
        xp_sum = func.coalesce(func.sum(XpTransaction.amount), 0)
        query = (select(User, UserProfile, xp_sum.label("xp"))
                 .join(UserProfile, UserProfile.user_id == User.id)
                 .outerjoin(XpTransaction, (XpTransaction.user_id == User.id)
                            & (XpTransaction.created_at >= week_start(now) if period == "weekly" else True))
                 .where(User.is_active.is_(True))
                 .group_by(User.id, UserProfile.user_id))
        if members is None:
            query = query.where(UserProfile.leaderboard_opt_in.is_(True))
        else:
            query = query.where(User.id.in_(members))
        rows = session.execute(query).all()
    ranked = sorted(rows, key=lambda r: (-int(r.xp), r[0].id))
    entries = [LeaderboardEntry(rank=i + 1, display_name=_display_name(u, p, viewer_id), xp=int(xp),
                                level=levels.level_for_xp(int(xp)), is_you=u.id == viewer_id)
               for i, (u, p, xp) in enumerate(ranked)]
    you = next((i for i, e in enumerate(entries) if e.is_you), None)
    if view == "neighbours":
        shown: Sequence[LeaderboardEntry] = rules.neighbours(ranking=entries, index=you) if you is not None else []
    else:
        shown = entries[:LEADERBOARD_SIZE]
    return LeaderboardPublic(scope=scope, period=period, view=view, entries=list(shown), total=len(entries),
                             your_rank=entries[you].rank if you is not None else None,
                             opted_in=viewer_profile.leaderboard_opt_in)


def _scope_members(session: Session, *, viewer_id: str, scope: str, team_id: str | None) -> list[str] | None:
    """None for the global (opt-in) board; else the member ids of the viewer's team of that kind."""
    if scope == "global":
        return None
    teams = session.execute(select(Team.id).join(TeamMember, TeamMember.team_id == Team.id).where(
        TeamMember.user_id == viewer_id, Team.kind == scope)).scalars().all()
    if team_id is not None:
        if team_id not in teams:
            raise Forbidden("You are not a member of that group.")
        teams = [team_id]
    if not teams:
        raise Forbidden(f"You are not in any {scope} yet.")
    return list(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id.in_(teams))).all())


def today_for(*, session: Session, user_id: str, now: datetime) -> date:
    profile = session.get(UserProfile, user_id)
    return streaks.local_day(instant=now, tz=profile.timezone if profile else "UTC")
