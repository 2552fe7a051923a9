"""Learner logs: one graded attempt per row, `user_id,skill_id,correct,timestamp` (CSV, header required).

`correct` is 0/1 (or true/false); `timestamp` is a number (seconds, any epoch) or ISO 8601. Other
columns are ignored. Rows are ordered by learner, then time; rows with the same time keep the
file's order (an item with several skills is several rows at one time).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

COLUMNS = ("user_id", "skill_id", "correct", "timestamp")
TRUE = {"1", "true", "True", "TRUE", "1.0"}
FALSE = {"0", "false", "False", "FALSE", "0.0"}

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class LogError(ValueError):
    """Bad rows in a log: every problem as `path:line: message`."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Log:
    """Attempts sorted by learner then time; users and skills as codes into `user_ids`/`skill_ids`."""

    users: IntArray
    skills: IntArray
    correct: FloatArray
    times: FloatArray
    user_ids: list[str]
    skill_ids: list[str]

    def __len__(self) -> int:
        return int(self.correct.shape[0])


def _timestamp(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def from_rows(rows: Iterable[tuple[str, str, bool | int | float, float]]) -> Log:
    """A log from (user_id, skill_id, correct, timestamp) tuples, in any order."""
    users: dict[str, int] = {}
    skills: dict[str, int] = {}
    u: list[int] = []
    k: list[int] = []
    y: list[float] = []
    t: list[float] = []
    for user, skill, correct, time in rows:
        u.append(users.setdefault(user, len(users)))
        k.append(skills.setdefault(skill, len(skills)))
        y.append(1.0 if correct else 0.0)
        t.append(float(time))
    return _sorted(np.asarray(u, dtype=np.int64), np.asarray(k, dtype=np.int64), np.asarray(y, dtype=np.float64),
                   np.asarray(t, dtype=np.float64), list(users), list(skills))


def _sorted(users: IntArray, skills: IntArray, correct: FloatArray, times: FloatArray, user_ids: list[str],
            skill_ids: list[str]) -> Log:
    order = np.lexsort((times, users))  # stable: equal times keep the file's order
    return Log(users[order], skills[order], correct[order], times[order], user_ids, skill_ids)


def read_csv(path: Path) -> Log:
    """Read and check a log; raises LogError listing every bad row (`path:line: message`)."""
    problems: list[str] = []
    rows: list[tuple[str, str, bool, float]] = []
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise LogError([f"{path}:0: cannot read the file ({exc.strerror or exc})"]) from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise LogError([f"{path}:1: empty file: a header `{','.join(COLUMNS)}` is required"]) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise LogError([f"{path}:1: not a readable CSV file ({exc})"]) from None
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise LogError([f"{path}:1: the header lacks {', '.join(missing)} (expected {','.join(COLUMNS)})"])
        iu, ik, iy, it = (header.index(c) for c in COLUMNS)
        width = max(iu, ik, iy, it) + 1
        try:
            for line, row in enumerate(reader, start=2):
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) < width:
                    problems.append(f"{path}:{line}: {len(row)} columns, expected at least {width}")
                    continue
                user, skill, correct, stamp = row[iu].strip(), row[ik].strip(), row[iy].strip(), row[it].strip()
                bad: list[str] = []
                if not user:
                    bad.append("user_id is empty")
                if not skill:
                    bad.append("skill_id is empty")
                if correct not in TRUE and correct not in FALSE:
                    bad.append(f"correct must be 0 or 1, not {correct!r}")
                time = 0.0
                try:
                    time = _timestamp(stamp)
                    if not np.isfinite(time):
                        raise ValueError
                except ValueError:
                    bad.append(f"timestamp must be a number or ISO 8601, not {stamp!r}")
                if bad:
                    problems.append(f"{path}:{line}: {'; '.join(bad)}")
                    continue
                rows.append((user, skill, correct in TRUE, time))
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.append(f"{path}:{reader.line_num}: not a readable CSV row ({exc})")
    if not problems and not rows:
        problems.append(f"{path}:2: no rows after the header")
    if problems:
        raise LogError(problems)
    return from_rows(rows)


def write_csv(path: Path, rows: Iterable[tuple[str, str, bool | int | float, float]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for user, skill, correct, time in rows:
            writer.writerow((user, skill, 1 if correct else 0, f"{time:.3f}"))


def rows_of(log: Log) -> list[tuple[str, str, bool, float]]:
    return [(log.user_ids[u], log.skill_ids[k], bool(y), float(t))
            for u, k, y, t in zip(log.users.tolist(), log.skills.tolist(), log.correct.tolist(), log.times.tolist(),
                                  strict=True)]
