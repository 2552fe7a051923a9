"""XP and achievements as live events (sidecar/live), published once their transaction commits.

award_xp and evaluate_achievements note what they added on the transaction's CommitHooks
(sidecar/db/engine.py). Last inside the transaction, one query per learner reads the new total and
streak; once it has committed, one `xp` event per learner (the XP the whole transaction added) and
one `achievement` event per badge go out. A transaction that rolls back runs neither: no event ever
reports an award that did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sidecar.auth.tables import UserProfile
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx
from sidecar.live import achievement_event, publish, xp_event

from . import levels, streaks

_KEY = "gamification.live"
_PROFILE = UserProfile.__table__.c
_STANDING = ("SELECT (SELECT COALESCE(SUM(amount), 0) FROM xp_transactions WHERE user_id = :user_id), "
             "timezone, streak_current, streak_longest, streak_last_day, streak_freezes "
             "FROM user_profiles WHERE user_id = :user_id")


@dataclass
class _Learner:
    delta: int = 0
    sources: list[str] = field(default_factory=list)
    activities: list[str] = field(default_factory=list)
    achievements: list[dict[str, Any]] = field(default_factory=list)
    standing: dict[str, Any] | None = None


@dataclass
class _Changes:
    learners: dict[str, _Learner] = field(default_factory=dict)

    def learner(self, user_id: str) -> _Learner:
        return self.learners.setdefault(user_id, _Learner())

    def read_totals(self, tx: Tx) -> None:
        """Inside the transaction, last: each learner's total and streak as they will be committed."""
        now = utcnow()
        for user_id, learner in self.learners.items():
            if learner.delta <= 0:
                continue
            row = tx.row(_STANDING, {"user_id": user_id})
            if row is None:
                continue
            total = int(row[0] or 0)
            progress = levels.level_progress(total)
            state = streaks.StreakState(current=int(row[2] or 0), longest=int(row[3] or 0),
                                        last_day=tx.from_db(_PROFILE.streak_last_day, row[4]),
                                        freezes=int(row[5] or 0))
            today = streaks.local_day(instant=now, tz=str(row[1]))
            learner.standing = {
                "total_xp": total, "level": progress.level, "level_title": progress.title,
                "level_floor_xp": progress.level_floor_xp, "next_level_xp": progress.next_level_xp,
                "level_progress": progress.progress,
                "streak": {"current": streaks.current_streak(state=state, today=today), "longest": state.longest,
                           "today_counted": state.last_day is not None and state.last_day >= today}}

    def publish(self) -> None:
        """Committed: tell every open tab and device of each learner."""
        for user_id, learner in self.learners.items():
            if learner.standing is not None:
                reason = learner.activities[0] if learner.activities else "xp"
                publish(user_id, xp_event(delta=learner.delta, reason=reason, sources=list(learner.sources),
                                          **learner.standing))
            for achievement in learner.achievements:
                publish(user_id, achievement_event(**achievement))


def _changes(tx: Tx) -> _Changes:
    hooks = tx.hooks
    changes = hooks.state.get(_KEY)
    if changes is None:
        changes = hooks.state[_KEY] = _Changes()
        hooks.before[_KEY] = changes.read_totals
        hooks.after[_KEY] = changes.publish
    assert isinstance(changes, _Changes)
    return changes


def xp_added(tx: Tx, *, user_id: str, amount: int, source_key: str, activity: str) -> None:
    if amount <= 0:
        return
    learner = _changes(tx).learner(user_id)
    learner.delta += amount
    learner.sources.append(source_key)
    if activity not in learner.activities:
        learner.activities.append(activity)


def achievement_unlocked(tx: Tx, *, user_id: str, achievement_id: str, slug: str, title: str, description: str,
                         category: str, earned_at: datetime) -> None:
    _changes(tx).learner(user_id).achievements.append({
        "achievement_id": achievement_id, "slug": slug, "title": title, "description": description or "",
        "category": category, "earned_at": earned_at.isoformat()})
