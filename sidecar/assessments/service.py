"""Silver assessments (§9.2): start an attempt, run its four sections on server clocks, grade on the
trusted side, decide the pass and issue the certificate.

Clocks: a section's deadline is set when the learner starts it. Every request that touches an
attempt first submits the sections whose deadline (plus ASSESSMENT_GRACE_SECONDS) has passed,
with what was saved ("timeout"); a write that comes later is refused ("time is up"). So a learner
who loses the network resumes where they were, with the time that is left, and a section whose
time ran out while they were away is already submitted when they return (§14.3).

Grading: answers are compared with the bank on the server; coding problems run in the grading
sandbox with their hidden tests; the design interview is scored by the Assessor (interview.py).
Nothing the browser says decides a score. Answers are revealed only after the attempt.

Concurrency: every read-modify-write runs in `write_tx` (BEGIN IMMEDIATE on SQLite, row locks via
UPDATE first on PostgreSQL), so two tabs cannot both start an attempt or a section.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from sidecar.catalog import readers
from sidecar.catalog.service import get_index
from sidecar.certificates import service as certificates
from sidecar.certificates.models import RequirementPublic
from sidecar.courseware.certcode import normalise_output
from sidecar.credentials.canonical import canonical_json
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_tx, write_tx
from sidecar.errors import Conflict, InvalidInput, NotFound, Unavailable
from sidecar.grading.challenges import AttemptPolicy
from sidecar.settings import Settings
from sidecar.xapi import service as xapi

from . import interview, plan, scoring
from .models import (
    AssessmentOverviewPublic,
    AttemptPublic,
    AttemptSummaryPublic,
    IntegrityPublic,
    ItemPublic,
    SectionPublic,
)
from .tables import AssessmentAttempt, AssessmentEvent, AssessmentItem, AssessmentSection

_A = AssessmentAttempt.__table__.c
_S = AssessmentSection.__table__.c
_I = AssessmentItem.__table__.c
_E = AssessmentEvent.__table__.c
MAX_ANSWER_CHARS = 2000
MAX_CODE_CHARS = 20_000
EVENT_KINDS = ("focus_lost", "focus_back", "paste", "camera_consent", "camera_face_missing",
               "camera_multiple_faces", "camera_unavailable", "fullscreen_exit")


# ---- configuration ------------------------------------------------------------------------------


def _rules(catalog_db: Path) -> dict[str, Any]:
    tier = readers.certification_tiers(catalog_db).get("silver")
    return dict(tier.rules) if tier else {}


def _plans(catalog_db: Path, course_id: str) -> list[plan.SectionPlan]:
    return plan.sections(_rules(catalog_db), readers.silver_points(catalog_db, course_id))


def _bank(catalog_db: Path, course_id: str) -> list[readers.SilverItem]:
    return readers.silver_bank(catalog_db, course_id)


def _item_data(catalog_db: Path, course_id: str, item_id: str) -> dict[str, Any]:
    for item in _bank(catalog_db, course_id):
        if item.id == item_id:
            return dict(item.data)
    raise NotFound("This question is no longer in the course's bank.")


def _course(catalog_db: Path, course_id: str) -> Any:
    course = get_index(catalog_db=catalog_db).courses.get(course_id)
    if course is None:
        raise NotFound(f"No course with id {course_id} in the catalog.")
    return course


# ---- reading state --------------------------------------------------------------------------------


def _attempt(tx: Tx, attempt_id: str, user_id: str | None) -> Any:
    try:
        uuid.UUID(attempt_id)
    except ValueError:
        raise NotFound("No assessment attempt with this id.") from None
    row = tx.row("SELECT id, user_id, course_id, number, status, seed, started_at, finished_at, percent, "
                 "certificate_id, consent_camera FROM assessment_attempts WHERE id = :id", {"id": attempt_id})
    if row is None or (user_id is not None and str(row[1]) != user_id):
        raise NotFound("No assessment attempt with this id.")
    return row


def _sections(tx: Tx, attempt_id: str) -> list[Any]:
    return tx.rows("SELECT section, position, minutes, max_points, started_at, deadline, submitted_at, reason, "
                   "fraction_num, fraction_den, review FROM assessment_sections WHERE attempt_id = :a "
                   "ORDER BY position", {"a": attempt_id})


def _items(tx: Tx, attempt_id: str, section: str) -> list[Any]:
    return tx.rows("SELECT position, item_id, kind, difficulty, served_at, answer, saved_at, score, result, "
                   "active_ms FROM assessment_items WHERE attempt_id = :a AND section = :s ORDER BY position",
                   {"a": attempt_id, "s": section})


def _dt(tx: Tx, column: Any, value: Any) -> datetime | None:
    return tx.from_db(column, value) if value is not None else None


def _json(tx: Tx, column: Any, value: Any) -> Any:
    return tx.from_db(column, value) if value is not None else None


# ---- clocks ------------------------------------------------------------------------------------------


def _grace(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.ASSESSMENT_GRACE_SECONDS)


def _expire(tx: Tx, *, settings: Settings, catalog_db: Path, attempt: Any, now: datetime) -> None:
    """Submit every started section whose time (plus grace) is over, with what was saved."""
    for row in _sections(tx, str(attempt[0])):
        deadline = _dt(tx, _S.deadline, row[5])
        if deadline is not None and row[6] is None and now > deadline + _grace(settings):
            _submit_section(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, section=str(row[0]),
                            reason="timeout", at=deadline)


def _open_section(tx: Tx, *, settings: Settings, catalog_db: Path, attempt: Any, section: str,
                  now: datetime) -> Any:
    """The section's row if the learner may write to it now; otherwise a clear refusal."""
    if attempt[4] != "open":
        raise Conflict("This attempt is finished.")
    _expire(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, now=now)
    row = next((r for r in _sections(tx, str(attempt[0])) if r[0] == section), None)
    if row is None:
        raise NotFound(f"This exam has no section {section!r}.")
    if row[4] is None:
        raise Conflict("Start this section first: its clock starts when you do.")
    if row[6] is not None:
        if row[7] == "timeout":
            deadline = _dt(tx, _S.deadline, row[5])
            raise Conflict("Time is up for this section: it was submitted with your saved answers.",
                           {"deadline": deadline.isoformat() if deadline else None, "section": section})
        raise Conflict("This section is already submitted.", {"section": section})
    return row


# ---- starting -----------------------------------------------------------------------------------------


def _policy(catalog_db: Path) -> AttemptPolicy:
    return AttemptPolicy.of(_rules(catalog_db).get("attempt_policy"))


def _retake_at(tx: Tx, *, catalog_db: Path, user_id: str, course_id: str) -> tuple[datetime | None, int, bool]:
    """(when the next attempt may start, attempts so far, whether Silver is already earned)."""
    rows = tx.rows("SELECT status, finished_at FROM assessment_attempts WHERE user_id = :u AND course_id = :c",
                   {"u": user_id, "c": course_id})
    passed = any(r[0] == "passed" for r in rows)
    finished = [_dt(tx, _A.finished_at, r[1]) for r in rows if r[1] is not None]
    policy = _policy(catalog_db)
    last = max((f for f in finished if f is not None), default=None)
    retake = last + timedelta(minutes=policy.cooldown_minutes) if last is not None else None
    return retake, len(rows), passed


def start_attempt(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str, course_id: str,
                  consent_camera: bool) -> AttemptPublic:
    _course(catalog_db, course_id)
    plans = _plans(catalog_db, course_id)
    bank = _bank(catalog_db, course_id)
    if not bank or not plans:
        raise NotFound("This course has no Silver assessment yet.")
    now = utcnow()
    with write_tx(engine) as tx:
        open_row = tx.row("SELECT id FROM assessment_attempts WHERE user_id = :u AND course_id = :c AND "
                          "status = 'open'", {"u": user_id, "c": course_id})
        if open_row is not None:
            raise Conflict("You already have an attempt in progress: resume it.", {"attempt_id": str(open_row[0])})
        retake, count, passed = _retake_at(tx, catalog_db=catalog_db, user_id=user_id, course_id=course_id)
        if passed:
            raise Conflict("You have already passed this course's Silver assessment.")
        policy = _policy(catalog_db)
        if policy.max_attempts is not None and count >= policy.max_attempts:
            raise Conflict(f"No attempts left: this assessment allows {policy.max_attempts}.")
        if retake is not None and now < retake:
            raise Conflict(f"A retake opens after a cool-down, at {retake.isoformat()}.",
                           {"retake_at": retake.isoformat()})
        attempt_id = str(uuid.uuid4())
        seed = secrets.randbelow(2**31)
        rng = random.Random(seed)  # noqa: S311 - a draw, not a secret: the seed itself is from `secrets`
        tx.execute("INSERT INTO assessment_attempts (id, user_id, course_id, number, status, seed, started_at, "
                   "consent_camera) VALUES (:id, :u, :c, :n, 'open', :seed, :at, :consent)",
                   {"id": attempt_id, "u": user_id, "c": course_id, "n": count + 1, "seed": seed,
                    "at": tx.to_db(_A.started_at, now), "consent": bool(consent_camera and
                                                                        settings.ENABLE_AI_PROCTORING)})
        for position, section in enumerate(plans):
            tx.execute("INSERT INTO assessment_sections (attempt_id, section, position, minutes, max_points) "
                       "VALUES (:a, :s, :p, :m, :x)", {"a": attempt_id, "s": section.key, "p": position,
                                                       "m": section.minutes, "x": section.max_points})
            if section.key != "conceptual":
                for n, item in enumerate(plan.draw_fixed(bank, section, rng)):
                    _insert_item(tx, attempt_id, section.key, n, item)
    return attempt_state(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                         attempt_id=attempt_id)


def _insert_item(tx: Tx, attempt_id: str, section: str, position: int, item: readers.SilverItem,
                 served_at: datetime | None = None) -> None:
    tx.execute("INSERT INTO assessment_items (attempt_id, section, position, item_id, kind, difficulty, served_at, "
               "active_ms) VALUES (:a, :s, :p, :i, :k, :d, :at, 0)",
               {"a": attempt_id, "s": section, "p": position, "i": item.id, "k": item.kind, "d": item.difficulty,
                "at": tx.to_db(_I.served_at, served_at) if served_at else None})


def start_section(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str, attempt_id: str,
                  section: str) -> AttemptPublic:
    """Start the section's clock (sections run in order); starting one already started just resumes."""
    now = utcnow()
    with write_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        if attempt[4] != "open":
            raise Conflict("This attempt is finished.")
        _expire(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, now=now)
        rows = _sections(tx, attempt_id)
        row = next((r for r in rows if r[0] == section), None)
        if row is None:
            raise NotFound(f"This exam has no section {section!r}.")
        if row[4] is None:
            earlier = [r for r in rows if r[1] < row[1] and r[6] is None]
            if earlier:
                raise Conflict(f"Finish the “{plan.TITLES.get(str(earlier[0][0]), earlier[0][0])}” section first.")
            deadline = now + timedelta(minutes=int(row[2]))
            tx.execute("UPDATE assessment_sections SET started_at = :at, deadline = :d WHERE attempt_id = :a AND "
                       "section = :s AND started_at IS NULL",
                       {"at": tx.to_db(_S.started_at, now), "d": tx.to_db(_S.deadline, deadline), "a": attempt_id,
                        "s": section})
            tx.execute("UPDATE assessment_items SET served_at = :at WHERE attempt_id = :a AND section = :s",
                       {"at": tx.to_db(_I.served_at, now), "a": attempt_id, "s": section})
            if section == "conceptual":
                _serve_conceptual(tx, catalog_db=catalog_db, attempt=attempt, position=0, now=now)
            elif section == "design":
                for item in _items(tx, attempt_id, "design"):
                    data = _item_data(catalog_db, str(attempt[2]), str(item[1]))
                    tx.execute("UPDATE assessment_items SET answer = :t WHERE attempt_id = :a AND section = 'design' "
                               "AND position = :p", {"t": tx.to_db(_I.answer, interview.opening(data)),
                                                     "a": attempt_id, "p": item[0]})
    return attempt_state(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                         attempt_id=attempt_id)


def _serve_conceptual(tx: Tx, *, catalog_db: Path, attempt: Any, position: int, now: datetime) -> bool:
    answered = _items(tx, str(attempt[0]), "conceptual")
    history = [(int(r[3]), (r[7] or 0) >= 1) for r in answered if r[6] is not None]
    rng = random.Random(int(attempt[5]) * 1000 + position)  # noqa: S311 - reproducible per attempt and position
    item = plan.draw_conceptual(_bank(catalog_db, str(attempt[2])), {str(r[1]) for r in answered}, history, rng)
    if item is None:
        return False
    _insert_item(tx, str(attempt[0]), "conceptual", position, item, served_at=now)
    return True


# ---- answering ------------------------------------------------------------------------------------


def _grade(kind: str, data: dict[str, Any], answer: Any) -> float:
    if kind in ("mcq", "find_bug"):
        try:
            return 1.0 if int(answer) == int(data["answer"]) else 0.0
        except (TypeError, ValueError):
            return 0.0
    if kind == "predict_output":
        return 1.0 if normalise_output(str(answer)) == normalise_output(str(data["answer"])) else 0.0
    raise InvalidInput("This question is answered another way.")


def _item_row(tx: Tx, attempt_id: str, section: str, position: int) -> Any:
    row = tx.row("SELECT position, item_id, kind, difficulty, served_at, answer, saved_at, score, result, active_ms "
                 "FROM assessment_items WHERE attempt_id = :a AND section = :s AND position = :p",
                 {"a": attempt_id, "s": section, "p": position})
    if row is None:
        raise NotFound("No such question in this section.")
    return row


def save_answer(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str, attempt_id: str,
                section: str, position: int, answer: str | int, active_ms: int) -> AttemptPublic:
    """Save a conceptual or analysis answer. Conceptual answers are final (the next question adapts
    to them); analysis answers may be changed until the section is submitted."""
    if section not in ("conceptual", "analysis"):
        raise InvalidInput("Answers to this section are sent another way (code submissions or interview replies).")
    if isinstance(answer, str) and len(answer) > MAX_ANSWER_CHARS:
        raise InvalidInput(f"An answer is limited to {MAX_ANSWER_CHARS} characters.")
    now = utcnow()
    with write_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        _open_section(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, section=section, now=now)
        row = _item_row(tx, attempt_id, section, position)
        if section == "conceptual" and row[6] is not None:
            raise Conflict("This question is answered: conceptual answers are final, the next question adapts to them.")
        data = _item_data(catalog_db, str(attempt[2]), str(row[1]))
        score = _grade(str(row[2]), data, answer)
        tx.execute("UPDATE assessment_items SET answer = :ans, saved_at = :at, score = :score, active_ms = :ms "
                   "WHERE attempt_id = :a AND section = :s AND position = :p",
                   {"ans": tx.to_db(_I.answer, answer), "at": tx.to_db(_I.saved_at, now), "score": score,
                    "ms": max(int(row[9] or 0), min(int(active_ms), 24 * 3600 * 1000)), "a": attempt_id,
                    "s": section, "p": position})
        if section == "conceptual":
            planned = next(p.items for p in _plans(catalog_db, str(attempt[2])) if p.key == "conceptual")
            if position + 1 < planned and not _items_at(tx, attempt_id, "conceptual", position + 1):
                # If the bank runs out, the section ends with fewer questions (scored against the plan).
                _serve_conceptual(tx, catalog_db=catalog_db, attempt=attempt, position=position + 1, now=now)
    return attempt_state(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                         attempt_id=attempt_id)


def _items_at(tx: Tx, attempt_id: str, section: str, position: int) -> bool:
    return tx.row("SELECT 1 FROM assessment_items WHERE attempt_id = :a AND section = :s AND position = :p",
                  {"a": attempt_id, "s": section, "p": position}) is not None


def submit_code(*, engine: Engine, settings: Settings, catalog_db: Path, sandbox: Callable[[], Any], user_id: str,
                attempt_id: str, position: int, code: str, active_ms: int) -> AttemptPublic:
    """Grade a coding problem in the sandbox with its hidden tests; the best result counts."""
    if len(code) > MAX_CODE_CHARS:
        raise InvalidInput(f"Code is limited to {MAX_CODE_CHARS:,} characters.")
    received = utcnow()
    with write_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        _open_section(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, section="coding", now=received)
        row = _item_row(tx, attempt_id, "coding", position)
        data = _item_data(catalog_db, str(attempt[2]), str(row[1]))
    tests = _tests(data)
    from sidecar.sandbox import SandboxUnavailable

    try:
        graded = sandbox().grade(code, tests, seed=secrets.randbelow(2**31),
                                 time_limit=float(data.get("time_limit_seconds") or 5.0),
                                 memory_mb=int(data.get("memory_mb") or 256))
    except SandboxUnavailable as exc:
        raise Unavailable(f"Grading is unavailable right now ({exc}); your code was not graded.") from None
    results = [dict(r) for r in getattr(graded, "results", [])]
    passed = sum(1 for r in results if r.get("passed"))
    score = passed / len(tests) if tests else 0.0
    with write_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        # Judged by when the code arrived: grading time never eats into the learner's clock.
        _open_section(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, section="coding", now=received)
        row = _item_row(tx, attempt_id, "coding", position)
        best = float(row[7] or 0)
        visible = [{"name": r.get("name"), "passed": bool(r.get("passed")),
                    "message": r.get("message") if not r.get("hidden") else None, "hidden": bool(r.get("hidden"))}
                   for r in results]
        summary = {"passed": passed, "total": len(tests), "status": getattr(graded, "status", None),
                   "tests": visible, "submissions": int((_json(tx, _I.result, row[8]) or {}).get("submissions", 0)) + 1}
        keep = score >= best or row[5] is None
        tx.execute("UPDATE assessment_items SET answer = :code, saved_at = :at, score = :score, result = :result, "
                   "active_ms = :ms WHERE attempt_id = :a AND section = 'coding' AND position = :p",
                   {"code": tx.to_db(_I.answer, code if keep else _json(tx, _I.answer, row[5])),
                    "at": tx.to_db(_I.saved_at, received), "score": max(score, best),
                    "result": tx.to_db(_I.result, summary if keep else {**summary, "best_kept": True}),
                    "ms": max(int(row[9] or 0), min(int(active_ms), 24 * 3600 * 1000)), "a": attempt_id,
                    "p": position})
    return attempt_state(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                         attempt_id=attempt_id)


def _tests(data: dict[str, Any]) -> list[dict[str, Any]]:
    tests = data.get("tests") or {}
    if isinstance(tests, list):
        return [dict(t) for t in tests]
    return ([{**t, "hidden": False} for t in tests.get("visible") or []]
            + [{**t, "hidden": True} for t in tests.get("hidden") or []])


def design_reply(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str, attempt_id: str,
                 text: str) -> AttemptPublic:
    """The learner answers the Assessor; the Assessor asks its next follow-up (or closes the interview)."""
    text = text.strip()
    if not text:
        raise InvalidInput("Write an answer first.")
    if len(text) > interview.MAX_ANSWER_CHARS:
        raise InvalidInput(f"An answer is limited to {interview.MAX_ANSWER_CHARS} characters.")
    now = utcnow()
    with write_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        _open_section(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, section="design", now=now)
        row = _item_row(tx, attempt_id, "design", 0)
        data = _item_data(catalog_db, str(attempt[2]), str(row[1]))
        transcript = list(_json(tx, _I.answer, row[5]) or interview.opening(data))
        if transcript and transcript[-1].get("role") == "learner":
            raise Conflict("The interview is over: submit the section.")
        transcript.append({"role": "learner", "text": text})
        question = interview.follow_up(data, transcript)
        closing = "Thank you: that is the end of the interview. Submit the section."
        transcript.append({"role": "assessor", "text": question} if question else {"role": "system", "text": closing})
        tx.execute("UPDATE assessment_items SET answer = :t, saved_at = :at WHERE attempt_id = :a AND "
                   "section = 'design' AND position = 0",
                   {"t": tx.to_db(_I.answer, transcript), "at": tx.to_db(_I.saved_at, now), "a": attempt_id})
    return attempt_state(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                         attempt_id=attempt_id)


# ---- submitting and deciding ------------------------------------------------------------------------


def _submit_section(tx: Tx, *, settings: Settings, catalog_db: Path, attempt: Any, section: str, reason: str,
                    at: datetime) -> None:
    attempt_id = str(attempt[0])
    items = _items(tx, attempt_id, section)
    review = None
    if section == "design":
        for row in items:
            data = _item_data(catalog_db, str(attempt[2]), str(row[1]))
            transcript = _json(tx, _I.answer, row[5]) or []
            review = interview.score(data, transcript, settings=settings)
            fraction = Fraction(review["earned"], review["total"]) if review["total"] else Fraction(0)
            tx.execute("UPDATE assessment_items SET score = :s WHERE attempt_id = :a AND section = 'design' "
                       "AND position = :p", {"s": float(fraction), "a": attempt_id, "p": row[0]})
        items = _items(tx, attempt_id, section)
    planned = next((p.items for p in _plans(catalog_db, str(attempt[2])) if p.key == section), len(items))
    scores = [scoring.ItemScore(difficulty=int(r[3]), score=float(r[7]) if r[7] is not None else None)
              for r in items if section != "conceptual" or r[6] is not None]
    fraction = scoring.section_fraction(section, scores, planned=planned)
    if section == "design" and review is not None and review["total"]:
        fraction = Fraction(review["earned"], review["total"])
    tx.execute("UPDATE assessment_sections SET submitted_at = :at, reason = :reason, fraction_num = :n, "
               "fraction_den = :d, review = :review WHERE attempt_id = :a AND section = :s AND submitted_at IS NULL",
               {"at": tx.to_db(_S.submitted_at, at), "reason": reason, "n": fraction.numerator,
                "d": fraction.denominator, "review": tx.to_db(_S.review, review) if review else None,
                "a": attempt_id, "s": section})
    _record_items(tx, catalog_db=catalog_db, attempt=attempt, section=section, at=at)
    if all(r[6] is not None for r in _sections(tx, attempt_id)):
        _decide(tx, catalog_db=catalog_db, attempt=attempt, at=at)


def _record_items(tx: Tx, *, catalog_db: Path, attempt: Any, section: str, at: datetime) -> None:
    """The learning record: each item of a submitted section, with its final score, once (keyed by its place)."""
    attempt_id, user_id, course_id = str(attempt[0]), str(attempt[1]), str(attempt[2])
    bank = {item.id: item for item in _bank(catalog_db, course_id)}
    for row in _items(tx, attempt_id, section):
        score = float(row[7]) if row[7] is not None else None
        item = bank.get(str(row[1]))
        xapi.record(db=tx, key=f"{attempt_id}:{section}:{row[0]}", user_id=user_id, verb="responded",
                    object_type="assessment_item", object_id=str(row[1]), course_id=course_id,
                    skills=list(item.data.get("skills") or []) if item is not None else (),
                    success=None if score is None else score >= 1.0, score=score,
                    duration_s=int(row[9] or 0) / 1000 if row[9] is not None else None,
                    timestamp=_dt(tx, _I.saved_at, row[6]) or at,
                    extensions={"attempt_id": attempt_id, "section": section, "position": int(row[0]),
                                "difficulty": int(row[3]), "answered": row[6] is not None})


def _section_scores(tx: Tx, attempt_id: str) -> list[scoring.SectionScore]:
    return [scoring.SectionScore(key=str(r[0]), title=plan.TITLES.get(str(r[0]), str(r[0])),
                                 fraction=Fraction(int(r[8] or 0), int(r[9] or 1)), max_points=int(r[3]))
            for r in _sections(tx, attempt_id)]


def _decide(tx: Tx, *, catalog_db: Path, attempt: Any, at: datetime) -> None:
    rules = _rules(catalog_db)
    decision = scoring.decide(_section_scores(tx, str(attempt[0])), min_percent=float(rules.get("min_percent", 80)),
                              min_section_percent=float(rules.get("min_section_percent", 60)))
    tx.execute("UPDATE assessment_attempts SET status = :st, finished_at = :at, percent = :p WHERE id = :a "
               "AND status = 'open'", {"st": "passed" if decision.passed else "failed",
                                       "at": tx.to_db(_A.finished_at, at), "p": scoring.shown(decision.percent),
                                       "a": str(attempt[0])})


def submit_section(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str, attempt_id: str,
                   section: str) -> AttemptPublic:
    now = utcnow()
    with write_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        _open_section(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, section=section, now=now)
        _submit_section(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, section=section,
                        reason="submitted", at=now)
    return attempt_state(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                         attempt_id=attempt_id)


def _issue_if_passed(*, engine: Engine, settings: Settings, catalog_db: Path, attempt_id: str) -> None:
    """Issue Silver for a passed attempt that has none yet (idempotent: also heals a crash in between)."""
    with read_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, None)
        if attempt[4] != "passed" or attempt[9] is not None:
            return
        sections = _section_scores(tx, attempt_id)
        coding = [str(r[1]) for r in _items(tx, attempt_id, "coding")]
    course_id, user_id = str(attempt[2]), str(attempt[1])
    tests = [[item_id, _tests(_item_data(catalog_db, course_id, item_id))] for item_id in coding]
    issued = certificates.issue(
        engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id, course_id=course_id, tier="silver",
        scores=[certificates.Score(key=s.key, label=s.title, points=scoring.shown(s.points), max_points=s.max_points)
                for s in sections],
        evidence={"content_commit": readers.content_commit(catalog_db),
                  "tests_sha256": hashlib.sha256(canonical_json(tests)).hexdigest(),
                  "assessment_attempt_id": attempt_id},
        first_attempt=int(attempt[3]) == 1)
    with write_tx(engine) as tx:
        tx.execute("UPDATE assessment_attempts SET certificate_id = :c WHERE id = :a",
                   {"c": issued.credential_id, "a": attempt_id})


# ---- events (integrity signals) ---------------------------------------------------------------------


def record_event(*, engine: Engine, user_id: str, attempt_id: str, kind: str, section: str | None,
                 position: int | None, detail: dict[str, int | str | bool]) -> None:
    if kind not in EVENT_KINDS:
        raise InvalidInput(f"Unknown event kind; one of: {', '.join(EVENT_KINDS)}.")
    now = utcnow()
    with write_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        if attempt[4] != "open":
            raise Conflict("This attempt is finished.")
        count = int(tx.row("SELECT count(*) FROM assessment_events WHERE attempt_id = :a", {"a": attempt_id})[0])
        if count >= 2000:
            raise Conflict("Too many events recorded for this attempt.")
        tx.execute("INSERT INTO assessment_events (attempt_id, section, position, kind, detail, at) "
                   "VALUES (:a, :s, :p, :k, :d, :at)",
                   {"a": attempt_id, "s": section, "p": position, "k": kind,
                    "d": tx.to_db(_E.detail, detail), "at": tx.to_db(_E.at, now)})


def integrity(*, engine: Engine, attempt_id: str) -> IntegrityPublic:
    """What a reviewer sees: every signal, and the time per item (server-measured and browser-reported)."""
    with read_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, None)
        events = [{"kind": r[0], "section": r[1], "position": r[2], "detail": _json(tx, _E.detail, r[3]) or {},
                   "at": _dt(tx, _E.at, r[4])}
                  for r in tx.rows("SELECT kind, section, position, detail, at FROM assessment_events "
                                   "WHERE attempt_id = :a ORDER BY id", {"a": attempt_id})]
        timing = []
        for section in plan.SECTIONS:
            for r in _items(tx, attempt_id, section):
                served, saved = _dt(tx, _I.served_at, r[4]), _dt(tx, _I.saved_at, r[6])
                timing.append({"section": section, "position": int(r[0]), "active_ms": int(r[9] or 0),
                               "seconds_to_save": (saved - served).total_seconds() if served and saved else None})
    pastes = [e for e in events if e["kind"] == "paste"]
    return IntegrityPublic(attempt_id=attempt_id, user_id=str(attempt[1]), course_id=str(attempt[2]),
                           status=str(attempt[4]), events=events, timing=timing,
                           focus_losses=sum(1 for e in events if e["kind"] == "focus_lost"),
                           pasted_chars=sum(int((e["detail"] or {}).get("chars", 0)) for e in pastes))


# ---- views ----------------------------------------------------------------------------------------------


def _public_item(kind: str, data: dict[str, Any], *, reveal: bool) -> dict[str, Any]:
    """What the learner may see of an item: never the answer, fix, check, solution or hidden tests."""
    shown: dict[str, Any] = {"prompt": data.get("prompt", ""), "title": data.get("title")}
    if kind == "mcq":
        shown["choices"] = list(data.get("choices") or [])
    if kind in ("predict_output", "find_bug"):
        shown["code"] = data.get("code", "")
    if kind == "coding":
        shown["starter"] = data.get("starter", "")
        shown["visible_tests"] = [t.get("name") for t in (data.get("tests") or {}).get("visible") or []] \
            if isinstance(data.get("tests"), dict) else []
    if reveal:
        if kind in ("mcq", "predict_output", "find_bug"):
            shown["correct_answer"] = data.get("answer")
        shown["explanation"] = data.get("explanation")
    return shown


def attempt_state(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str,
                  attempt_id: str) -> AttemptPublic:
    """The whole attempt as the learner may see it now (after submitting timed-out sections)."""
    now = utcnow()
    with write_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        if attempt[4] == "open":
            _expire(tx, settings=settings, catalog_db=catalog_db, attempt=attempt, now=now)
    _issue_if_passed(engine=engine, settings=settings, catalog_db=catalog_db, attempt_id=attempt_id)
    course_id = ""
    with read_tx(engine) as tx:
        attempt = _attempt(tx, attempt_id, user_id)
        course_id = str(attempt[2])
        finished = attempt[4] != "open"
        sections: list[SectionPublic] = []
        for row in _sections(tx, attempt_id):
            key = str(row[0])
            deadline = _dt(tx, _S.deadline, row[5])
            items = []
            if row[4] is not None:
                for r in _items(tx, attempt_id, key):
                    data = _item_data(catalog_db, course_id, str(r[1]))
                    answer = _json(tx, _I.answer, r[5])
                    result = _json(tx, _I.result, r[8])
                    items.append(ItemPublic(
                        position=int(r[0]), item_id=str(r[1]), kind=str(r[2]), difficulty=int(r[3]),
                        answered=r[6] is not None, answer=answer,
                        score=float(r[7]) if finished and r[7] is not None else None,
                        result=result if key == "coding" else None,
                        **_public_item(str(r[2]), data, reveal=finished)))
            fraction = Fraction(int(row[8]), int(row[9])) if row[8] is not None and row[9] else None
            remaining = max(0.0, (deadline - now).total_seconds()) if deadline and row[6] is None else None
            sections.append(SectionPublic(
                key=key, title=plan.TITLES.get(key, key), position=int(row[1]), minutes=int(row[2]),
                max_points=int(row[3]), started_at=_dt(tx, _S.started_at, row[4]), deadline=deadline,
                seconds_left=remaining, submitted_at=_dt(tx, _S.submitted_at, row[6]), reason=row[7],
                percent=scoring.shown(fraction * 100) if finished and fraction is not None else None,
                planned_items=next((p.items for p in _plans(catalog_db, course_id) if p.key == key), len(items)),
                review=_json(tx, _S.review, row[10]) if finished else None, items=items))
        return AttemptPublic(
            id=attempt_id, course_id=course_id, number=int(attempt[3]), status=str(attempt[4]),
            started_at=_dt(tx, _A.started_at, attempt[6]), finished_at=_dt(tx, _A.finished_at, attempt[7]),
            percent=float(attempt[8]) if attempt[8] is not None else None, certificate_id=attempt[9],
            verify_url=certificates.verify_url(settings, str(attempt[9])) if attempt[9] else None,
            server_time=now, grace_seconds=settings.ASSESSMENT_GRACE_SECONDS,
            proctoring=bool(attempt[10]), sections=sections)


def overview(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str | None,
             course_id: str) -> AssessmentOverviewPublic:
    course = _course(catalog_db, course_id)
    plans = _plans(catalog_db, course_id)
    bank = _bank(catalog_db, course_id)
    rules = _rules(catalog_db)
    attempts: list[AttemptSummaryPublic] = []
    retake = None
    open_id = None
    if user_id is not None:
        with read_tx(engine) as tx:
            for r in tx.rows("SELECT id, number, status, started_at, finished_at, percent, certificate_id FROM "
                             "assessment_attempts WHERE user_id = :u AND course_id = :c ORDER BY number",
                             {"u": user_id, "c": course_id}):
                attempts.append(AttemptSummaryPublic(id=str(r[0]), number=int(r[1]), status=str(r[2]),
                                                     started_at=_dt(tx, _A.started_at, r[3]),
                                                     finished_at=_dt(tx, _A.finished_at, r[4]),
                                                     percent=float(r[5]) if r[5] is not None else None,
                                                     certificate_id=r[6]))
                if r[2] == "open":
                    open_id = str(r[0])
            retake, _, _ = _retake_at(tx, catalog_db=catalog_db, user_id=user_id, course_id=course_id)
    now = utcnow()
    return AssessmentOverviewPublic(
        course_id=course_id, course_title=course.title, available=bool(bank and plans),
        sections=[{"key": p.key, "title": p.title, "minutes": p.minutes, "items": p.items,
                   "max_points": p.max_points} for p in plans],
        min_percent=float(rules.get("min_percent", 80)),
        min_section_percent=float(rules.get("min_section_percent", 60)),
        cooldown_minutes=_policy(catalog_db).cooldown_minutes, open_attempt_id=open_id,
        retake_at=retake if retake is not None and retake > now else None, attempts=attempts,
        proctoring_available=settings.ENABLE_AI_PROCTORING)


# ---- the tier's status on course pages (certificates.register_tier_status) ---------------------------


def silver_status(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str | None,
                  course_id: str) -> dict[str, Any]:
    view = overview(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id, course_id=course_id)
    requirements = [RequirementPublic(
        key="assessment", label=f"Pass the assessment with {view.min_percent:g} % overall and no section below "
                                f"{view.min_section_percent:g} %",
        done=any(a.status == "passed" for a in view.attempts),
        detail=(f"best {max((a.percent or 0) for a in view.attempts):g} %" if view.attempts else "not attempted"))]
    if view.retake_at is not None:
        requirements.append(RequirementPublic(key="cooldown", label="Wait for the retake cool-down", done=False,
                                              detail=f"opens {view.retake_at.isoformat()}"))
    base = f"certification/assessment/?course={course_id}"
    return {"available": view.available, "eligible": view.available and view.retake_at is None
            and not any(a.status == "passed" for a in view.attempts),
            "requirements": requirements, "action_url": base,
            "state": {"open_attempt_id": view.open_attempt_id,
                      "retake_at": view.retake_at.isoformat() if view.retake_at else None,
                      "attempts": len(view.attempts)}}


certificates.register_tier_status("silver", silver_status)


def organization_of(*, engine: Engine, user_id: str) -> str | None:
    with read_tx(engine) as tx:
        row = tx.row("SELECT organization_id FROM users WHERE id = :u", {"u": user_id})
    return str(row[0]) if row and row[0] else None
