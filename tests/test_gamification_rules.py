"""Gamification rules: the XP table, the level curve, streaks in local time, achievements, leaderboard window."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest
import yaml

from sidecar.gamification import levels, rules, streaks, xp
from sidecar.gamification.levels import level_for_xp, level_progress, title_for_level, xp_for_level
from sidecar.gamification.streaks import StreakState, current_streak, local_day, record_activity, streak_active
from sidecar.gamification.xp import Activity, XpAward
from sidecar.settings import REPO_ROOT

# --- XP: every row of the §8.2 table, each bonus on and off ---------------------------------------


@pytest.mark.parametrize(
    ("first_attempt", "streak", "expected", "bonus_names"),
    [
        (False, False, 50, ()),
        (True, False, 63, ("first_attempt",)),  # 62.5 rounds half up
        (False, True, 55, ("streak",)),
        (True, True, 68, ("first_attempt", "streak")),  # additive: 50 * 1.35 = 67.5 -> 68, not 50*1.25*1.1
    ],
)
def test_lesson_xp(first_attempt: bool, streak: bool, expected: int, bonus_names: tuple[str, ...]) -> None:
    award = xp.lesson_xp(first_attempt=first_attempt, streak_active=streak)
    assert award.activity is Activity.LESSON
    assert award.base == 50
    assert tuple(name for name, _ in award.bonuses) == bonus_names
    assert award.amount == expected


@pytest.mark.parametrize(
    ("base", "first_attempt", "streak", "expected"),
    [
        (30, True, False, 38),  # 37.5 -> 38
        (2, True, False, 3),  # 2.5 -> 3; banker's rounding would give 2
        (10, True, True, 14),  # 13.5 -> 14
        (70, True, True, 95),  # 94.5 -> 95
        (150, False, False, 150),  # lessons may declare their own base
        (150, True, True, 203),  # 202.5 -> 203
        (0, True, True, 0),
    ],
)
def test_lesson_xp_custom_base_rounds_half_up(base: int, first_attempt: bool, streak: bool, expected: int) -> None:
    assert xp.lesson_xp(base=base, first_attempt=first_attempt, streak_active=streak).amount == expected


def test_bonus_percents_match_the_table() -> None:
    assert xp.lesson_xp(first_attempt=True, streak_active=True).bonuses == (("first_attempt", 25), ("streak", 10))
    assert xp.quiz_xp(score_percent=100) == XpAward(Activity.QUIZ, 100, (("perfect_score", 50),))
    assert xp.challenge_xp(hints_used=0).bonuses == (("no_hints", 100),)
    assert xp.module_xp(minutes_spent=1, par_minutes=2).bonuses == (("under_par", 25),)
    assert xp.silver_xp(first_attempt=True).bonuses == (("first_attempt", 50),)
    assert xp.gold_xp(exceptional=True).bonuses == (("exceptional_review", 100),)


def test_amount_is_exact_integer_arithmetic() -> None:
    assert XpAward(Activity.LESSON, 1, (("a", 50),)).amount == 2  # 1.5 -> 2
    assert XpAward(Activity.LESSON, 3, (("a", 50),)).amount == 5  # 4.5 -> 5
    assert XpAward(Activity.LESSON, 10**20 + 1, (("a", 50),)).amount == (3 * (10**20 + 1) + 1) // 2
    assert XpAward(Activity.LESSON, 50, (("a", 25), ("b", 10))).percent == 35


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0, None), (50, None), (79.9, None), (79.999, None), (80, 100), (80.0, 100), (95, 100), (99.99, 100), (100, 150)],
)
def test_quiz_xp_pass_boundary(score: float, expected: int | None) -> None:
    award = xp.quiz_xp(score_percent=score)
    if expected is None:
        assert award is None
    else:
        assert award is not None
        assert award.activity is Activity.QUIZ
        assert award.amount == expected


def test_quiz_xp_custom_pass_percent() -> None:
    assert xp.quiz_xp(score_percent=69.9, pass_percent=70) is None
    award = xp.quiz_xp(score_percent=70, pass_percent=70)
    assert award is not None and award.amount == 100
    assert xp.quiz_xp(score_percent=85, pass_percent=90) is None
    perfect = xp.quiz_xp(score_percent=100, pass_percent=100)
    assert perfect is not None and perfect.amount == 150


@pytest.mark.parametrize(
    ("hints", "base", "expected"), [(0, 150, 300), (1, 150, 150), (7, 150, 150), (0, 200, 400), (2, 200, 200)]
)
def test_challenge_xp(hints: int, base: int, expected: int) -> None:
    award = xp.challenge_xp(base=base, hints_used=hints)
    assert award.activity is Activity.CHALLENGE
    assert award.amount == expected


def test_challenge_xp_default_base() -> None:
    assert xp.challenge_xp(hints_used=0).amount == 300
    assert xp.challenge_xp(hints_used=3).amount == 150


@pytest.mark.parametrize(
    ("minutes", "par", "expected"), [(0, 30, 375), (29.9, 30, 375), (30, 30, 300), (30.01, 30, 300), (90, 30, 300)]
)
def test_module_xp_under_par_is_strict(minutes: float, par: int, expected: int) -> None:
    award = xp.module_xp(minutes_spent=minutes, par_minutes=par)
    assert award.activity is Activity.MODULE
    assert award.amount == expected


def test_certificate_xp() -> None:
    assert xp.bronze_xp() == XpAward(Activity.BRONZE, 500, ())
    assert xp.bronze_xp().amount == 500
    assert xp.silver_xp(first_attempt=False).amount == 1_000
    assert xp.silver_xp(first_attempt=True).amount == 1_500
    assert xp.gold_xp(exceptional=False).amount == 2_500
    assert xp.gold_xp(exceptional=True).amount == 5_000
    assert xp.silver_xp(first_attempt=True).activity is Activity.SILVER
    assert xp.gold_xp(exceptional=True).activity is Activity.GOLD


def test_the_daily_review_pays_the_lesson_row() -> None:
    assert xp.BASE_XP[Activity.REVIEW] == xp.BASE_XP[Activity.LESSON] == 50
    assert xp.review_xp(all_right=False, streak_active=False).amount == 50
    assert xp.review_xp(all_right=True, streak_active=False).amount == 63  # 62.5 rounds half up
    assert xp.review_xp(all_right=True, streak_active=True).amount == 68  # bonuses add: 67.5
    assert xp.review_xp(all_right=False, streak_active=True).amount == 55
    assert xp.review_xp(all_right=True, streak_active=False).activity is Activity.REVIEW


def test_activity_values() -> None:
    assert [str(a) for a in Activity] == ["lesson", "quiz", "challenge", "module", "bronze", "silver", "gold", "review"]
    assert xp.BASE_XP == {
        Activity.LESSON: 50,
        Activity.QUIZ: 100,
        Activity.CHALLENGE: 150,
        Activity.MODULE: 300,
        Activity.BRONZE: 500,
        Activity.SILVER: 1000,
        Activity.GOLD: 2500,
        Activity.REVIEW: 50,
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda: xp.lesson_xp(base=-1, first_attempt=True, streak_active=False),
        lambda: xp.challenge_xp(base=-150, hints_used=0),
        lambda: xp.challenge_xp(hints_used=-1),
        lambda: xp.quiz_xp(score_percent=-0.1),
        lambda: xp.quiz_xp(score_percent=100.1),
        lambda: xp.quiz_xp(score_percent=math.nan),
        lambda: xp.quiz_xp(score_percent=90, pass_percent=101),
        lambda: xp.quiz_xp(score_percent=90, pass_percent=-1),
        lambda: xp.module_xp(minutes_spent=10, par_minutes=0),
        lambda: xp.module_xp(minutes_spent=10, par_minutes=-30),
        lambda: xp.module_xp(minutes_spent=-1, par_minutes=30),
        lambda: xp.module_xp(minutes_spent=math.nan, par_minutes=30),
        lambda: xp.module_xp(minutes_spent=math.inf, par_minutes=30),
    ],
)
def test_xp_rejects_nonsense(call: Any) -> None:
    with pytest.raises(ValueError):
        call()


# --- Levels ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "threshold"), [(1, 0), (10, 5_000), (25, 25_000), (50, 100_000), (100, 500_000)])
def test_level_anchors_exact(level: int, threshold: int) -> None:
    assert xp_for_level(level) == threshold
    assert level_for_xp(threshold) == level


def test_thresholds_strictly_increasing() -> None:
    thresholds = [xp_for_level(level) for level in range(1, 301)]
    assert all(later > earlier for earlier, later in zip(thresholds, thresholds[1:], strict=False))


def test_curve_is_smooth_across_anchors() -> None:
    # No kinks: the XP for one level never changes by more than a fifth from the level before.
    steps = [xp_for_level(level + 1) - xp_for_level(level) for level in range(1, 300)]
    assert all(0.8 < later / earlier < 1.25 for earlier, later in zip(steps, steps[1:], strict=False))


def test_table_matches_function() -> None:
    assert len(levels.LEVEL_XP) == 101
    assert all(levels.LEVEL_XP[level] == xp_for_level(level) for level in range(1, 101))


def test_linear_past_level_100() -> None:
    slope = levels.END_SLOPE
    assert slope == 8_000  # Fritsch-Carlson end tangent: the last segment's secant, 400,000 / 50
    assert xp_for_level(101) == 508_000
    assert xp_for_level(150) == 900_000
    assert xp_for_level(1_000) == 500_000 + 900 * 8_000
    assert xp_for_level(10**6) == 500_000 + (10**6 - 100) * 8_000


@pytest.mark.parametrize("level", [*range(1, 151), 1_000, 10**6, 10**15])
def test_level_for_xp_around_every_threshold(level: int) -> None:
    threshold = xp_for_level(level)
    assert level_for_xp(threshold) == level
    assert level_for_xp(xp_for_level(level + 1) - 1) == level
    if level > 1:
        assert level_for_xp(threshold - 1) == level - 1


@pytest.mark.parametrize("total", [10**12, 10**30])
def test_huge_xp_gives_finite_level(total: int) -> None:
    level = level_for_xp(total)
    assert level > 100
    assert xp_for_level(level) <= total < xp_for_level(level + 1)


@pytest.mark.parametrize(
    ("level", "title"),
    [
        (1, "Novice"),
        (9, "Novice"),
        (10, "Explorer"),
        (24, "Explorer"),
        (25, "Practitioner"),
        (49, "Practitioner"),
        (50, "Expert"),
        (99, "Expert"),
        (100, "Master"),
        (10**6, "Master"),
    ],
)
def test_titles_at_boundaries(level: int, title: str) -> None:
    assert title_for_level(level) == title


@pytest.mark.parametrize("call", [lambda: xp_for_level(0), lambda: level_for_xp(-1), lambda: title_for_level(0)])
def test_levels_reject_nonsense(call: Any) -> None:
    with pytest.raises(ValueError):
        call()


def test_level_progress() -> None:
    start = level_progress(0)
    assert (start.level, start.title, start.level_floor_xp, start.progress) == (1, "Novice", 0, 0.0)
    assert start.next_level_xp == xp_for_level(2)
    at_anchor = level_progress(5_000)
    assert (at_anchor.level, at_anchor.title, at_anchor.level_floor_xp, at_anchor.progress) == (
        10,
        "Explorer",
        5_000,
        0,
    )
    just_below = level_progress(4_999)
    assert just_below.level == 9 and just_below.next_level_xp == 5_000 and 0.99 < just_below.progress < 1
    beyond = level_progress(504_000)
    assert (beyond.level, beyond.title, beyond.level_floor_xp, beyond.next_level_xp) == (
        100,
        "Master",
        500_000,
        508_000,
    )
    assert beyond.progress == 0.5
    assert beyond.xp == 504_000


def test_fritsch_carlson_shrinks_steep_tangents() -> None:
    # A steep middle segment makes the averaged tangents overshoot; the method must keep the curve monotone.
    xs = [Fraction(x) for x in (0, 1, 2, 3)]
    ys = [Fraction(y) for y in (0, 1, 100, 101)]
    tangents = levels._fritsch_carlson_tangents(xs, ys)
    assert tangents[0] < 1 and tangents[-1] < 1
    samples = [levels._hermite(xs, ys, tangents, Fraction(i, 100)) for i in range(301)]
    assert all(b > a for a, b in zip(samples, samples[1:], strict=False))
    with pytest.raises(ValueError):
        levels._fritsch_carlson_tangents(xs, [Fraction(y) for y in (0, 1, 1, 2)])


# --- Streaks: local days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "last_second_utc", "first_second_utc"),
    [
        # Local 2025-12-31 23:59:59 and 2026-01-01 00:00:00, written in UTC.
        ("Asia/Kolkata", datetime(2025, 12, 31, 18, 29, 59, tzinfo=UTC), datetime(2025, 12, 31, 18, 30, tzinfo=UTC)),
        ("America/Los_Angeles", datetime(2026, 1, 1, 7, 59, 59, tzinfo=UTC), datetime(2026, 1, 1, 8, 0, tzinfo=UTC)),
        (
            "Pacific/Kiritimati",
            datetime(2025, 12, 31, 9, 59, 59, tzinfo=UTC),
            datetime(2025, 12, 31, 10, 0, tzinfo=UTC),
        ),
    ],
)
def test_local_day_at_midnight(tz: str, last_second_utc: datetime, first_second_utc: datetime) -> None:
    assert local_day(instant=last_second_utc, tz=tz) == date(2025, 12, 31)
    assert local_day(instant=first_second_utc, tz=tz) == date(2026, 1, 1)


def test_local_day_accepts_any_aware_instant() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    assert local_day(instant=datetime(2026, 1, 1, 0, 0, tzinfo=ist), tz="UTC") == date(2025, 12, 31)


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # Spring forward, 2026-03-08 (02:00 EST -> 03:00 EDT): 00:30 EST and 23:30 EDT.
        (datetime(2026, 3, 8, 5, 30, tzinfo=UTC), date(2026, 3, 8)),
        (datetime(2026, 3, 9, 3, 30, tzinfo=UTC), date(2026, 3, 8)),
        (datetime(2026, 3, 9, 4, 0, tzinfo=UTC), date(2026, 3, 9)),  # 00:00 EDT
        # Fall back, 2026-11-01 (02:00 EDT -> 01:00 EST): 00:30 EDT, both 01:30s, and 23:30 EST.
        (datetime(2026, 11, 1, 4, 30, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 2, 4, 30, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), date(2026, 11, 2)),  # 00:00 EST
    ],
)
def test_local_day_across_dst(utc: datetime, expected: date) -> None:
    assert local_day(instant=utc, tz="America/New_York") == expected


@pytest.mark.parametrize(
    ("instants", "days"),
    [
        # 23:30 local on the evenings around spring forward: EST, then EDT on the 23-hour day, then EDT.
        (
            [
                datetime(2026, 3, 8, 4, 30, tzinfo=UTC),
                datetime(2026, 3, 9, 3, 30, tzinfo=UTC),
                datetime(2026, 3, 10, 3, 30, tzinfo=UTC),
            ],
            [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)],
        ),
        # 00:30 local on the mornings around fall back: EDT, EDT (the 25-hour day), EST.
        (
            [
                datetime(2026, 10, 31, 4, 30, tzinfo=UTC),
                datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
                datetime(2026, 11, 2, 5, 30, tzinfo=UTC),
            ],
            [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)],
        ),
        # 23:30 EST on 2026-11-01, then 00:30 on 2026-11-02 an hour later: two days, not one.
        (
            [
                datetime(2026, 10, 31, 4, 30, tzinfo=UTC),
                datetime(2026, 11, 2, 4, 30, tzinfo=UTC),
                datetime(2026, 11, 2, 5, 30, tzinfo=UTC),
            ],
            [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)],
        ),
    ],
)
def test_streak_unbroken_across_dst(instants: list[datetime], days: list[date]) -> None:
    state = StreakState()
    for instant, day in zip(instants, days, strict=True):
        assert local_day(instant=instant, tz="America/New_York") == day
        state = record_activity(state=state, day=day).state
    assert (state.current, state.longest, state.last_day) == (3, 3, days[-1])


def test_time_zone_change_neither_breaks_nor_double_counts() -> None:
    state = StreakState()
    # Tokyo (UTC+9): 08:00 local on 2026-05-10 and 2026-05-11.
    for utc in (datetime(2026, 5, 9, 23, 0, tzinfo=UTC), datetime(2026, 5, 10, 23, 0, tzinfo=UTC)):
        state = record_activity(state=state, day=local_day(instant=utc, tz="Asia/Tokyo")).state
    assert (state.current, state.last_day) == (2, date(2026, 5, 11))
    # Five hours later, now in Los Angeles (UTC-7), it is 21:00 on 2026-05-10: an earlier local day.
    earlier_day = local_day(instant=datetime(2026, 5, 11, 4, 0, tzinfo=UTC), tz="America/Los_Angeles")
    assert earlier_day == date(2026, 5, 10)
    earlier = record_activity(state=state, day=earlier_day)
    assert earlier.state == state and not earlier.extended and earlier.frozen_days == ()
    # 03:00 on 2026-05-11 in LA: the same local day as the last Tokyo activity, already counted.
    same_day = local_day(instant=datetime(2026, 5, 11, 10, 0, tzinfo=UTC), tz="America/Los_Angeles")
    assert same_day == date(2026, 5, 11)
    same = record_activity(state=state, day=same_day)
    assert same.state == state and not same.extended
    assert current_streak(state=state, today=same_day) == 2
    # The next LA day continues the streak by exactly one.
    next_day = local_day(instant=datetime(2026, 5, 12, 17, 0, tzinfo=UTC), tz="America/Los_Angeles")
    assert next_day == date(2026, 5, 12)
    state = record_activity(state=state, day=next_day).state
    assert (state.current, state.longest, state.last_day) == (3, 3, date(2026, 5, 12))
    assert current_streak(state=state, today=next_day) == 3


def test_local_day_rejects_naive_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day(instant=datetime(2026, 1, 1, 12, 0), tz="Asia/Kolkata")


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "America", "", "../etc/passwd", "/etc/localtime"])
def test_local_day_rejects_unknown_time_zone(tz: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        local_day(instant=datetime(2026, 1, 1, tzinfo=UTC), tz=tz)


# --- Streaks: counting and freezes --------------------------------------------------------------------

D0 = date(2026, 1, 1)


def _days(*offsets: int) -> list[date]:
    return [D0 + timedelta(days=offset) for offset in offsets]


def _run(days: list[date], state: StreakState | None = None) -> StreakState:
    state = state or StreakState()
    for day in days:
        state = record_activity(state=state, day=day).state
    return state


def test_first_activity_starts_a_streak() -> None:
    update = record_activity(state=StreakState(), day=D0)
    assert update.state == StreakState(current=1, longest=1, last_day=D0, freezes=0)
    assert update.extended and not update.freeze_earned and update.frozen_days == ()


def test_same_or_earlier_day_changes_nothing() -> None:
    state = _run(_days(0, 1, 2))
    for day in _days(2, 1, -5):
        update = record_activity(state=state, day=day)
        assert update.state == state
        assert not update.extended and not update.freeze_earned and update.frozen_days == ()


def test_consecutive_days_extend() -> None:
    update = record_activity(state=_run(_days(0, 1)), day=D0 + timedelta(days=2))
    assert update.extended
    assert (update.state.current, update.state.longest) == (3, 3)


def test_gap_without_freeze_breaks_and_keeps_longest() -> None:
    state = _run(_days(0, 1, 2, 3))
    update = record_activity(state=state, day=D0 + timedelta(days=5))
    assert (update.state.current, update.state.longest, update.state.last_day) == (1, 4, D0 + timedelta(days=5))
    assert not update.extended and update.frozen_days == ()
    assert _run(_days(6, 7), update.state).longest == 4


@pytest.mark.parametrize(("freezes", "missed"), [(1, 1), (2, 1), (2, 2)])
def test_gap_covered_by_freezes(freezes: int, missed: int) -> None:
    state = StreakState(current=5, longest=9, last_day=D0, freezes=freezes)
    update = record_activity(state=state, day=D0 + timedelta(days=missed + 1))
    assert update.frozen_days == tuple(_days(*range(1, missed + 1)))
    assert update.state.freezes == freezes - missed
    assert update.state.current == 6  # frozen days keep the streak, today adds one
    assert update.state.longest == 9
    assert update.extended


@pytest.mark.parametrize(("freezes", "missed"), [(0, 1), (1, 2), (2, 3), (2, 30)])
def test_gap_bigger_than_freezes_breaks_and_keeps_freezes(freezes: int, missed: int) -> None:
    state = StreakState(current=5, longest=5, last_day=D0, freezes=freezes)
    update = record_activity(state=state, day=D0 + timedelta(days=missed + 1))
    assert (update.state.current, update.state.longest, update.state.freezes) == (1, 5, freezes)
    assert update.frozen_days == () and not update.extended


def test_freezes_earned_at_7_and_14_and_capped_at_2() -> None:
    state = StreakState()
    earned_on: list[int] = []
    for offset in range(28):
        update = record_activity(state=state, day=D0 + timedelta(days=offset))
        state = update.state
        if update.freeze_earned:
            earned_on.append(state.current)
    assert earned_on == [7, 14]  # 21 and 28 earn nothing: already holding MAX_FREEZES
    assert state.freezes == streaks.MAX_FREEZES == 2
    assert (state.current, state.longest) == (28, 28)


def test_freeze_earned_again_after_one_was_used() -> None:
    state = _run(_days(*range(14)))  # 2 freezes
    state = _run(_days(15), state)  # missed day 14: one freeze used, current 15
    assert (state.current, state.freezes) == (15, 1)
    state = _run(_days(*range(16, 21)), state)  # current 20
    update = record_activity(state=state, day=D0 + timedelta(days=21))
    assert update.state.current == 21 and update.freeze_earned and update.state.freezes == 2


def test_freeze_not_earned_when_frozen_day_would_land_on_7() -> None:
    # Frozen days do not count as streak days, so skipping day 6 makes today the 6th day, not the 7th.
    state = StreakState(current=5, longest=5, last_day=D0, freezes=1)
    update = record_activity(state=state, day=D0 + timedelta(days=2))
    assert update.state.current == 6 and not update.freeze_earned


@pytest.mark.parametrize(
    ("days_since", "freezes", "expected"),
    [
        (0, 0, 4),  # active today
        (1, 0, 4),  # yesterday: still alive
        (2, 0, 0),  # one missed day, no freeze
        (2, 1, 4),  # one missed day, covered
        (3, 1, 0),
        (3, 2, 4),
        (4, 2, 0),
        (-1, 0, 4),  # last activity is "tomorrow" after a move west
    ],
)
def test_current_streak(days_since: int, freezes: int, expected: int) -> None:
    state = StreakState(current=4, longest=4, last_day=D0, freezes=freezes)
    assert current_streak(state=state, today=D0 + timedelta(days=days_since)) == expected


def test_current_streak_without_activity() -> None:
    assert current_streak(state=StreakState(), today=D0) == 0
    assert not streak_active(state=StreakState(), today=D0)


def test_streak_active_from_second_day() -> None:
    day_one = _run(_days(0))
    assert not streak_active(state=day_one, today=D0)
    day_two = _run(_days(1), day_one)
    assert streak_active(state=day_two, today=D0 + timedelta(days=1))
    assert streak_active(state=day_two, today=D0 + timedelta(days=2))  # not yet broken
    assert not streak_active(state=day_two, today=D0 + timedelta(days=3))
    restarted = _run(_days(5), day_two)
    assert not streak_active(state=restarted, today=D0 + timedelta(days=5))


# --- Achievements and leaderboard window -----------------------------------------------------------------


def _definition(id_: str, metric: str, threshold: int) -> dict[str, Any]:
    return {
        "id": id_,
        "slug": id_,
        "title": id_,
        "category": "mastery",
        "description": "",
        "rule": {"metric": metric, "threshold": threshold},
    }


DEFINITIONS = [
    _definition("a", "lessons_completed", 1),
    _definition("b", "streak_days", 7),
    _definition("c", "lessons_completed", 100),
    _definition("d", "bugs_found", 1),
]


@pytest.mark.parametrize(
    ("metrics", "earned", "expected"),
    [
        ({}, set(), []),  # missing metrics count as 0
        ({"lessons_completed": 1}, set(), ["a"]),  # threshold reached exactly
        ({"lessons_completed": 0}, set(), []),
        ({"lessons_completed": 100, "streak_days": 6}, set(), ["a", "c"]),
        (
            {"lessons_completed": 100, "streak_days": 7, "bugs_found": 3},
            set(),
            ["a", "b", "c", "d"],
        ),  # definition order
        ({"lessons_completed": 100, "streak_days": 7}, {"a", "b"}, ["c"]),  # already earned
        ({"lessons_completed": 500, "streak_days": 70, "bugs_found": 9}, {"a", "b", "c", "d"}, []),
    ],
)
def test_newly_earned(metrics: dict[str, int], earned: set[str], expected: list[str]) -> None:
    result = rules.newly_earned(definitions=DEFINITIONS, metrics=metrics, earned_ids=earned)
    assert [d["id"] for d in result] == expected


def test_newly_earned_zero_threshold_and_empty_definitions() -> None:
    zero = [_definition("z", "code_reviews", 0)]
    assert [d["id"] for d in rules.newly_earned(definitions=zero, metrics={}, earned_ids=())] == ["z"]
    assert rules.newly_earned(definitions=[], metrics={"lessons_completed": 5}, earned_ids=()) == []


def test_content_achievements_use_known_metrics() -> None:
    doc = yaml.safe_load((REPO_ROOT / "content" / "achievements.yaml").read_text(encoding="utf-8"))
    definitions = doc["achievements"]
    assert {d["rule"]["metric"] for d in definitions} <= rules.METRICS
    first = rules.newly_earned(definitions=definitions, metrics={"lessons_completed": 1}, earned_ids=())
    assert [d["slug"] for d in first] == ["first-steps"]


RANKING = list("ABCDEFGHIJ")


@pytest.mark.parametrize(
    ("index", "radius", "expected"),
    [
        (5, 2, "DEFGH"),
        (0, 2, "ABCDE"),  # top: window shifts down
        (1, 2, "ABCDE"),
        (2, 2, "ABCDE"),
        (3, 2, "BCDEF"),
        (9, 2, "FGHIJ"),  # bottom: window shifts up
        (8, 2, "FGHIJ"),
        (4, 0, "E"),
        (0, 1, "ABC"),
        (9, 4, "BCDEFGHIJ"),
        (5, 5, "ABCDEFGHIJ"),  # ranking shorter than the window: everything
    ],
)
def test_neighbours(index: int, radius: int, expected: str) -> None:
    assert rules.neighbours(ranking=RANKING, index=index, radius=radius) == list(expected)


def test_neighbours_short_and_exact_rankings() -> None:
    assert rules.neighbours(ranking=("x",), index=0) == ["x"]
    assert rules.neighbours(ranking=[1, 2, 3], index=2) == [1, 2, 3]
    assert rules.neighbours(ranking=[1, 2, 3, 4, 5], index=0) == [1, 2, 3, 4, 5]
    assert rules.neighbours(ranking=[1, 2, 3, 4, 5, 6], index=0) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("ranking", "index", "radius"), [(RANKING, -1, 2), (RANKING, 10, 2), ([], 0, 2), (RANKING, 3, -1)]
)
def test_neighbours_rejects_bad_arguments(ranking: list[str], index: int, radius: int) -> None:
    with pytest.raises(ValueError):
        rules.neighbours(ranking=ranking, index=index, radius=radius)
