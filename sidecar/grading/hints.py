"""The hint ladder on the server: one rung at a time, recorded, and the worked answer only once earned.

The static site carries an exercise's first rung alone (signed-out learners get that one); every
later rung lives in catalog.db and comes from here, for POST /api/exercises/{id}/hints and for the
AI tutor alike (sidecar/agents/api/service.py reveals rungs through `reveal_next`). Each reveal is
recorded: the no-hints bonus counts them, and the tutor's answer guard stands down only once the
bottom-out rung has been revealed.

The bottom-out rung is the worked answer, so one throwaway `pass` must not unlock it.
`bottom_out_status` is the one place that decides when it is earned: by default, at least 3 failed
submissions that differ from the starter and from one another, and at least 5 minutes on the
exercise, or a pass (nothing left to protect). An exercise may set its own numbers
(`bottom_out: {attempts, minutes}` in its YAML). Attempts are compared by the structure of their
code (see `normalized_code`), so a reformatted, re-commented or renamed copy is not a new attempt.
Time runs from the learner's first recorded activity on the exercise (the lesson's start event as
the server received it, the first submission or the first hint), all by the server's clock.
"""

from __future__ import annotations

import ast
import builtins
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from sidecar.catalog import readers
from sidecar.catalog.readers import ExerciseRecord
from sidecar.catalog.service import get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, NotFound
from sidecar.progress.tables import ProgressEvent
from sidecar.xapi import service as xapi

from .models import HintPublic
from .tables import HintReveal, Submission


def now() -> datetime:
    """The server's clock for the bottom-out rule and reveal times (tests replace it instead of sleeping)."""
    return utcnow()


# ---- what makes two attempts the same ---------------------------------------------------------------

_BUILTIN_NAMES = frozenset(dir(builtins))
_COMMENT = re.compile(r"#[^\n]*")


class _Canonical(ast.NodeTransformer):
    """Names the learner chose become _0, _1, … in order of first use; no-op statements go.

    So `total = 0` and `s = 0  # sum` are the same attempt, and so are a docstring more or a
    `pass` less. Builtins, attributes, imports and literals stay as written: changing those changes
    what the program does.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def rename(self, name: str) -> str:
        if name in _BUILTIN_NAMES:
            return name
        return self.names.setdefault(name, f"_{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.rename(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.rename(node.arg)
        node.annotation = None
        return node

    def _named(self, node: Any) -> Any:
        node.name = self.rename(node.name)
        self.generic_visit(node)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _named

    def visit_Global(self, node: ast.Global) -> ast.AST:
        node.names = [self.rename(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global  # type: ignore[assignment]

    def visit_Pass(self, node: ast.Pass) -> None:
        return None

    def visit_Expr(self, node: ast.Expr) -> ast.AST | None:
        if isinstance(node.value, ast.Constant):
            return None  # a docstring, a bare string or `...`: a comment by another name
        self.generic_visit(node)
        return node


def normalized_code(code: str) -> str:
    """A key under which attempts that differ only in layout, comments or names are equal.

    Code that parses is keyed by its syntax tree (no positions, names canonical); code that does
    not is keyed by its text without comments and whitespace. The two kinds never collide.
    """
    try:
        tree = _Canonical().visit(ast.parse(code))
        return "ast:" + ast.dump(tree, include_attributes=False)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL byte
        return "text:" + "".join(_COMMENT.sub("", code).split())


# ---- the rule --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BottomOutStatus:
    """Whether a learner has earned an exercise's bottom-out rung, and if not, what is still missing."""

    earned: bool
    passed: bool
    attempts_required: int
    attempts_made: int  # failed submissions that differ from the starter and from one another
    minutes_required: float
    seconds_spent: float  # since the first recorded activity on the exercise, by the server's clock

    @property
    def attempts_needed(self) -> int:
        return 0 if self.passed else max(0, self.attempts_required - self.attempts_made)

    @property
    def seconds_needed(self) -> int:
        return 0 if self.passed else max(0, math.ceil(self.minutes_required * 60 - self.seconds_spent))

    @property
    def minutes_needed(self) -> int:
        return math.ceil(self.seconds_needed / 60)

    def missing(self) -> str:
        """What is still needed, in words: "2 more different attempts and 3 more minutes"."""
        parts = []
        if self.attempts_needed:
            n = self.attempts_needed
            parts.append(f"{n} more different attempt{'s' if n != 1 else ''}")
        if self.seconds_needed:
            n = self.minutes_needed
            parts.append(f"{n} more minute{'s' if n != 1 else ''} on this exercise")
        return " and ".join(parts)

    def details(self) -> dict[str, Any]:
        return {"attempts_needed": self.attempts_needed, "attempts_made": self.attempts_made,
                "attempts_required": self.attempts_required, "minutes_needed": self.minutes_needed,
                "seconds_needed": self.seconds_needed, "minutes_required": self.minutes_required}


def _first_activity(session: Any, *, user_id: str, exercise: ExerciseRecord) -> datetime | None:
    # Every candidate is a time the server wrote: a submission's or a reveal's own clock, and a
    # lesson event's received_at (its occurred_at comes from the browser, which could backdate it).
    candidates = [
        session.scalar(select(func.min(Submission.created_at)).where(
            Submission.user_id == user_id, Submission.exercise_id == exercise.id)),
        session.scalar(select(func.min(HintReveal.revealed_at)).where(
            HintReveal.user_id == user_id, HintReveal.exercise_id == exercise.id)),
    ]
    if exercise.lesson_id:
        candidates.append(session.scalar(select(func.min(ProgressEvent.received_at)).where(
            ProgressEvent.user_id == user_id, ProgressEvent.lesson_id == exercise.lesson_id,
            ProgressEvent.kind == "started")))
    found = [_aware(c) for c in candidates if c is not None]
    return min(found) if found else None


def _aware(value: datetime) -> datetime:
    # min() over a column comes back as the driver's raw value, without the column type's UTC fix-up.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


def _status(*, engine: Engine, exercise: ExerciseRecord, user_id: str, at: datetime) -> BottomOutStatus:
    with read_session(engine) as session:
        subs = session.execute(select(Submission.code, Submission.passed).where(
            Submission.user_id == user_id, Submission.exercise_id == exercise.id)).all()
        first = _first_activity(session, user_id=user_id, exercise=exercise)
    starter = normalized_code(exercise.starter)
    different = {key for code, passed in subs if not passed and (key := normalized_code(code)) != starter}
    passed = any(p for _, p in subs)
    spent = max(0.0, (at - first).total_seconds()) if first is not None else 0.0
    attempts_ok = len(different) >= exercise.bottom_out_attempts
    time_ok = spent >= exercise.bottom_out_minutes * 60
    return BottomOutStatus(earned=passed or (attempts_ok and time_ok), passed=passed,
                           attempts_required=exercise.bottom_out_attempts, attempts_made=len(different),
                           minutes_required=exercise.bottom_out_minutes, seconds_spent=spent)


def bottom_out_status(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str,
                      at: datetime | None = None) -> BottomOutStatus:
    """The bottom-out rule, the only copy of it: whether `user_id` has earned the exercise's worked answer."""
    exercise = readers.exercise(catalog_db, exercise_id)
    return _status(engine=engine, exercise=exercise, user_id=user_id, at=at or now())


def reveal_next(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str) -> HintPublic:
    """The learner's next rung, recorded; the bottom-out rung raises Conflict until it is earned.

    The Conflict's details say what is missing (attempts and minutes), never the rung's text. Once
    every rung is revealed, the last one is answered again.
    """
    exercise = readers.exercise(catalog_db, exercise_id)
    if not exercise.hints:
        raise NotFound("This exercise has no hints.")
    with read_session(engine) as session:
        seen = session.scalar(select(func.count()).select_from(HintReveal).where(
            HintReveal.user_id == user_id, HintReveal.exercise_id == exercise_id)) or 0
    rung = min(seen, len(exercise.hints) - 1)
    hint = exercise.hints[rung]
    at = now()
    if hint.get("bottom_out") and seen <= rung:
        status = _status(engine=engine, exercise=exercise, user_id=user_id, at=at)
        if not status.earned:
            raise Conflict(f"The last hint is the worked answer. It opens after {status.missing()}: "
                           "keep trying, and submit each new idea.",
                           {"rung": rung + 1, "bottom_out": True, **status.details()})
    with write_session(engine) as session:
        insert_ignore(session, HintReveal, {"user_id": user_id, "exercise_id": exercise_id, "rung": rung,
                                            "revealed_at": at}, ["user_id", "exercise_id", "rung"])
        # The learning record: a hint asked for, once per rung (the rung is its key).
        module = get_index(catalog_db=catalog_db).modules.get(exercise.module_id)
        xapi.record(db=session, key=f"rung:{rung}", user_id=user_id, verb="asked", object_type="exercise",
                    object_id=exercise_id, course_id=module.course_id if module is not None else None,
                    skills=exercise.skills, timestamp=at,
                    extensions={"hint_rung": rung + 1, "bottom_out": bool(hint.get("bottom_out"))})
    return HintPublic(rung=rung + 1, text=hint["text"], bottom_out=bool(hint.get("bottom_out")),
                      remaining=len(exercise.hints) - rung - 1)
