"""XP awards: the design's §8.2 table, exactly.

| Activity               | Base XP | Multipliers                       |
| Complete lesson        | 50      | +25% first attempt, +10% streak   |
| Pass quiz (>80%)       | 100     | +50% perfect score                |
| Complete challenge     | 150     | +100% no hints used               |
| Finish module          | 300     | +25% under par time               |
| Earn Bronze cert       | 500     | -                                 |
| Pass Silver assessment | 1,000   | +50% first attempt                |
| Complete Gold project  | 2,500   | +100% exceptional review          |

The day's spaced review (issue #15) is paid as the table's "Complete lesson" row: a review session is
a lesson of items the learner met before; "first attempt" means every item answered right.

Bonuses add up as percentages of the base (never compound), and the total is rounded half up with
integer arithmetic: floats are inexact and round() is banker's rounding (round(66.5) == 66), so a
learner could see 66 where the table promises 67. "Pass" means score >= pass_percent: see quiz_xp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Activity(StrEnum):
    LESSON = "lesson"
    QUIZ = "quiz"
    CHALLENGE = "challenge"
    MODULE = "module"
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    REVIEW = "review"


BASE_XP: dict[Activity, int] = {
    Activity.LESSON: 50,
    Activity.QUIZ: 100,
    Activity.CHALLENGE: 150,
    Activity.MODULE: 300,
    Activity.BRONZE: 500,
    Activity.SILVER: 1_000,
    Activity.GOLD: 2_500,
    Activity.REVIEW: 50,  # the "Complete lesson" row (see the docstring)
}

# Bonus names are stable strings: the UI shows them and the ledger stores them.
FIRST_ATTEMPT = ("first_attempt", 25)
STREAK = ("streak", 10)
PERFECT_SCORE = ("perfect_score", 50)
NO_HINTS = ("no_hints", 100)
UNDER_PAR = ("under_par", 25)
SILVER_FIRST_ATTEMPT = ("first_attempt", 50)
EXCEPTIONAL_REVIEW = ("exceptional_review", 100)

DEFAULT_PASS_PERCENT = 80


@dataclass(frozen=True)
class XpAward:
    activity: Activity
    base: int
    bonuses: tuple[tuple[str, int], ...] = ()  # (name, percent)

    @property
    def percent(self) -> int:
        """Total bonus percent; bonuses add, they do not compound."""
        return sum(percent for _, percent in self.bonuses)

    @property
    def amount(self) -> int:
        # Integer round-half-up: exact for every input, unlike float maths or round().
        return (self.base * (100 + self.percent) + 50) // 100


def _award(activity: Activity, base: int, *bonuses: tuple[tuple[str, int], bool]) -> XpAward:
    if base < 0:
        raise ValueError(f"base XP must be >= 0, got {base}")
    return XpAward(activity=activity, base=base, bonuses=tuple(bonus for bonus, applies in bonuses if applies))


def lesson_xp(*, base: int = BASE_XP[Activity.LESSON], first_attempt: bool, streak_active: bool) -> XpAward:
    """A completed lesson. Lessons may declare their own base XP, hence the parameter."""
    return _award(Activity.LESSON, base, (FIRST_ATTEMPT, first_attempt), (STREAK, streak_active))


def review_xp(*, all_right: bool, streak_active: bool) -> XpAward:
    """The day's spaced review, finished: the lesson row's base and bonuses (all items right = first attempt)."""
    return _award(Activity.REVIEW, BASE_XP[Activity.REVIEW], (FIRST_ATTEMPT, all_right), (STREAK, streak_active))


def quiz_xp(*, score_percent: float, pass_percent: int = DEFAULT_PASS_PERCENT) -> XpAward | None:
    """A quiz attempt; None when it did not pass.

    The table's "Pass quiz (>80%)" is read as "80% or more": it matches quizzes' pass_percent 80,
    where a score equal to the pass mark passes (see docs/gamification.md).
    """
    if not 0 <= score_percent <= 100:  # also rejects NaN
        raise ValueError(f"score_percent must be within 0..100, got {score_percent}")
    if not 0 <= pass_percent <= 100:
        raise ValueError(f"pass_percent must be within 0..100, got {pass_percent}")
    if score_percent < pass_percent:
        return None
    return _award(Activity.QUIZ, BASE_XP[Activity.QUIZ], (PERFECT_SCORE, score_percent == 100))


def challenge_xp(*, base: int = BASE_XP[Activity.CHALLENGE], hints_used: int) -> XpAward:
    if hints_used < 0:
        raise ValueError(f"hints_used must be >= 0, got {hints_used}")
    return _award(Activity.CHALLENGE, base, (NO_HINTS, hints_used == 0))


def module_xp(*, minutes_spent: float, par_minutes: int) -> XpAward:
    """A finished module; the bonus needs strictly less time than par (par itself is not "under")."""
    if par_minutes <= 0:
        raise ValueError(f"par_minutes must be > 0, got {par_minutes}")
    if not (minutes_spent >= 0 and math.isfinite(minutes_spent)):
        raise ValueError(f"minutes_spent must be a finite number >= 0, got {minutes_spent}")
    return _award(Activity.MODULE, BASE_XP[Activity.MODULE], (UNDER_PAR, minutes_spent < par_minutes))


def bronze_xp() -> XpAward:
    return _award(Activity.BRONZE, BASE_XP[Activity.BRONZE])


def silver_xp(*, first_attempt: bool) -> XpAward:
    return _award(Activity.SILVER, BASE_XP[Activity.SILVER], (SILVER_FIRST_ATTEMPT, first_attempt))


def gold_xp(*, exceptional: bool) -> XpAward:
    return _award(Activity.GOLD, BASE_XP[Activity.GOLD], (EXCEPTIONAL_REVIEW, exceptional))
