"""The level curve: XP thresholds through the design's anchors, smooth and strictly increasing.

Between anchors the curve is a monotone cubic Hermite spline (Fritsch-Carlson): a plain cubic spline
would overshoot and could make a level cheaper than the one before it. Past the last anchor the curve
continues as a straight line with the spline's end slope, so XP never stops counting.
Arithmetic is exact (Fraction) so thresholds are the same on every machine.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

# (level, XP threshold, title from this level on)
ANCHORS: tuple[tuple[int, int, str], ...] = (
    (1, 0, "Novice"),
    (10, 5_000, "Explorer"),
    (25, 25_000, "Practitioner"),
    (50, 100_000, "Expert"),
    (100, 500_000, "Master"),
)
MAX_TABLE_LEVEL = ANCHORS[-1][0]


def _fritsch_carlson_tangents(xs: Sequence[Fraction], ys: Sequence[Fraction]) -> list[Fraction]:
    """Tangents that keep the Hermite interpolant through strictly increasing points strictly increasing.

    Fritsch & Carlson (1980) as usually stated: one-sided secants at the ends, the mean of the two
    neighbouring secants inside, then any pair of tangents outside the circle of radius 3 (in units of
    the segment's secant) is shrunk onto it, which is sufficient for monotonicity.
    """
    if len(xs) < 2 or len(xs) != len(ys):
        raise ValueError("need at least two points, as many x as y")
    secants = [(ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k]) for k in range(len(xs) - 1)]
    if any(x1 <= x0 for x0, x1 in zip(xs, xs[1:], strict=False)) or any(d <= 0 for d in secants):
        # Flat or falling segments need the method's extra cases; a level curve never has them.
        raise ValueError("points must be strictly increasing in both coordinates")
    tangents = [secants[0]] + [(secants[k - 1] + secants[k]) / 2 for k in range(1, len(secants))] + [secants[-1]]
    for k, d in enumerate(secants):
        alpha, beta = tangents[k] / d, tangents[k + 1] / d
        radius_sq = alpha * alpha + beta * beta
        if radius_sq > 9:
            tau = Fraction(3) / Fraction(math.sqrt(radius_sq))
            tangents[k], tangents[k + 1] = tau * alpha * d, tau * beta * d
    return tangents


def _hermite(xs: Sequence[Fraction], ys: Sequence[Fraction], ms: Sequence[Fraction], x: Fraction) -> Fraction:
    k = min(bisect.bisect_right(xs, x) - 1, len(xs) - 2)
    h = xs[k + 1] - xs[k]
    t = (x - xs[k]) / h
    t2, t3 = t * t, t * t * t
    return (
        (2 * t3 - 3 * t2 + 1) * ys[k]
        + (t3 - 2 * t2 + t) * h * ms[k]
        + (-2 * t3 + 3 * t2) * ys[k + 1]
        + (t3 - t2) * h * ms[k + 1]
    )


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


_XS = [Fraction(level) for level, _, _ in ANCHORS]
_YS = [Fraction(xp) for _, xp, _ in ANCHORS]
_TANGENTS = _fritsch_carlson_tangents(_XS, _YS)
END_SLOPE: Fraction = _TANGENTS[-1]  # XP per level past the last anchor

# LEVEL_XP[level] for 1..100; index 0 is unused so the index is the level.
LEVEL_XP: tuple[int, ...] = (0,) + tuple(
    _round_half_up(_hermite(_XS, _YS, _TANGENTS, Fraction(level))) for level in range(1, MAX_TABLE_LEVEL + 1)
)


def xp_for_level(level: int) -> int:
    """The total XP at which `level` starts."""
    if level < 1:
        raise ValueError(f"level must be >= 1, got {level}")
    if level <= MAX_TABLE_LEVEL:
        return LEVEL_XP[level]
    return LEVEL_XP[MAX_TABLE_LEVEL] + _round_half_up(END_SLOPE * (level - MAX_TABLE_LEVEL))


def level_for_xp(xp: int) -> int:
    """The highest level whose threshold is at most `xp`."""
    if xp < 0:
        raise ValueError(f"xp must be >= 0, got {xp}")
    if xp < LEVEL_XP[MAX_TABLE_LEVEL]:
        return bisect.bisect_right(LEVEL_XP, xp, lo=1) - 1
    # Past the table: gallop to a level above xp, then binary-search; Python ints never overflow.
    low, step = MAX_TABLE_LEVEL, 1
    while xp_for_level(low + step) <= xp:
        low, step = low + step, step * 2
    high = low + step  # xp_for_level(low) <= xp < xp_for_level(high)
    while high - low > 1:
        mid = (low + high) // 2
        if xp_for_level(mid) <= xp:
            low = mid
        else:
            high = mid
    return low


def title_for_level(level: int) -> str:
    if level < 1:
        raise ValueError(f"level must be >= 1, got {level}")
    return next(title for start, _, title in reversed(ANCHORS) if level >= start)


@dataclass(frozen=True)
class LevelProgress:
    level: int
    title: str
    xp: int
    level_floor_xp: int
    next_level_xp: int
    progress: float  # share of the way from this level's floor to the next, 0 <= progress < 1


def level_progress(xp: int) -> LevelProgress:
    level = level_for_xp(xp)
    floor_xp, next_xp = xp_for_level(level), xp_for_level(level + 1)
    return LevelProgress(
        level=level,
        title=title_for_level(level),
        xp=xp,
        level_floor_xp=floor_xp,
        next_level_xp=next_xp,
        progress=(xp - floor_xp) / (next_xp - floor_xp),
    )
