"""The organisation dashboard reads its members' skill rows once and groups them both ways (per member and
per skill: GROUPING SETS on PostgreSQL, two queries on SQLite). Its numbers must be the ones computed
straightforwardly, row by row with metrics.py, on both databases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sidecar.analytics import metrics as m
from sidecar.analytics import service as analytics
from sidecar.analytics.tables import AnalyticsSkill
from sidecar.auth.roles import Role
from sidecar.auth.service import create_user
from sidecar.auth.tables import User
from sidecar.db.engine import get_engine, is_sqlite, read_session, write_session

SKILLS = ["loops", "lists", "dicts", "strings", "functions", "classes"]


def test_skills_grouped_both_ways_are_the_row_by_row_figures(db_url: str) -> None:
    rng = random.Random(17)
    engine = get_engine(db_url)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    with write_session(engine) as session:
        users = [create_user(session=session, email=f"g{i}@example.com", password="a long password 1",
                             display_name=f"g{i}", role=Role.LEARNER).id for i in range(14)]
        for uid in users[:-2]:  # the last two never practised: no skill rows
            for skill in rng.sample(SKILLS, rng.randint(1, len(SKILLS))):
                attempts = rng.choice([0, 1, 3, 10, 14])
                last = now - timedelta(days=rng.choice([0, 0.4, 1.5, 9, 70]), hours=rng.randint(0, 23))
                row = {"user_id": uid, "skill": skill, "attempts": attempts, "successes": rng.randint(0, attempts),
                       "hints": rng.randint(0, 4), "duration_s": rng.choice([0.0, 95.0, 1200.0]), "streak": 0,
                       "delayed_attempts": rng.randint(0, 3), "delayed_successes": rng.randint(0, 1),
                       "first_at": last, "last_at": last,
                       "mastered_at": last if attempts >= 3 and rng.random() < 0.6 else None,
                       "attempts_to_mastery": None,
                       "stability": None if attempts == 0 else rng.choice([0.5, 3.0, 40.0]),
                       "difficulty": 5.0}
                session.add(AnalyticsSkill(**row))
                rows.append(row)
    members = select(User.id).where(User.id.in_(users[1:]))  # not everyone: the first one's rows stay out
    with read_session(engine) as session:
        sums, (gaps, hidden) = analytics._skills_both_ways(session, members, k=3, now=now, sqlite=is_sqlite(engine))
    mine = [r for r in rows if r["user_id"] != users[0]]
    per_member: dict[str, list[Any]] = {}
    per_skill: dict[str, list[Any]] = {}
    for r in mine:
        per_member.setdefault(r["user_id"], []).append(_Row(r))
        per_skill.setdefault(r["skill"], []).append(_Row(r))
    assert set(sums) == set(per_member)
    for uid, skill_rows in per_member.items():
        got = sums[uid]
        assert (got.delayed_attempts, got.delayed_successes) == (sum(s.delayed_attempts for s in skill_rows),
                                                                 sum(s.delayed_successes for s in skill_rows))
        for name, expected in (("struggle", m.struggle_index(skill_rows)),
                               ("decay", m.skill_decay_risk(skill_rows, now=now))):
            value = getattr(got, name)
            assert (value is None) == (expected is None), (uid, name, value, expected)
            assert value is None or value == pytest.approx(expected, rel=1e-9), (uid, name, value, expected)
    assert any(s.decay is not None for s in sums.values()) and any(s.struggle for s in sums.values())
    expected_gaps = {}
    for skill, skill_rows in per_skill.items():
        if len(skill_rows) < 3:
            continue
        done = [s for s in skill_rows if s.mastered_at is not None]
        risks = [m.decay_risk(stability=s.stability, last_at=s.last_at, now=now) for s in done
                 if s.stability is not None]
        expected_gaps[skill] = (len(skill_rows), round(100 * len(done) / len(skill_rows), 1),
                                round(100 * sum(r for r in risks if r is not None) / len(risks), 1) if risks else None,
                                sum(1 for s in skill_rows if s.mastered_at is None and s.attempts >= 10))
    assert {g["skill"]: (g["learners"], g["mastered_percent"], g["decay_risk"], g["wheel_spinning"])
            for g in gaps} == expected_gaps
    assert expected_gaps and hidden == sum(1 for skill_rows in per_skill.values() if len(skill_rows) < 3)


class _Row:
    """A skill row as metrics.py reads it (attributes)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self.mastered = values["mastered_at"] is not None
