"""Server-stored drafts: a learner's code follows them from browser to browser.

Conflicts (an edit made offline, or in another browser, on top of an older revision) follow
"last writer wins" by the client's edit time, and the other side is never dropped: it is kept as
a DraftVersion that the exercise offers to restore.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from sidecar.catalog import readers
from sidecar.catalog.service import get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import InvalidInput, NotFound
from sidecar.grading import exercises

from .models import (
    MAX_DRAFT_CHARS,
    DraftPublic,
    DraftSavePublic,
    DraftStatePublic,
    DraftVersionPublic,
    LastSubmissionPublic,
)
from .tables import Draft, DraftVersion

# Kept versions per learner and exercise; beyond this the oldest go (a learner who conflicts
# with themselves this often restores from the newest ones).
MAX_KEPT_VERSIONS = 10


def _check_exercise(catalog_db: Path, exercise_id: str) -> None:
    readers.exercise(catalog_db, exercise_id)  # NotFound for an id the catalog does not have


def _draft_public(row: Draft) -> DraftPublic:
    return DraftPublic(code=row.code, revision=row.revision, edited_at=row.edited_at, updated_at=row.updated_at)


def _state(session: Session, *, user_id: str, exercise_id: str) -> DraftStatePublic:
    row = session.get(Draft, (user_id, exercise_id))
    others = session.scalars(select(DraftVersion).where(
        DraftVersion.user_id == user_id, DraftVersion.exercise_id == exercise_id,
    ).order_by(DraftVersion.kept_at.desc(), DraftVersion.id)).all()
    last = exercises.last_code(session, user_id=user_id, exercise_id=exercise_id)
    return DraftStatePublic(
        exercise_id=exercise_id,
        draft=_draft_public(row) if row else None,
        others=[DraftVersionPublic(id=o.id, code=o.code, edited_at=o.edited_at, kept_at=o.kept_at, reason=o.reason)
                for o in others],
        last_submission=LastSubmissionPublic(code=last.code, passed=last.passed, created_at=last.created_at)
        if last else None)


def get_state(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str) -> DraftStatePublic:
    _check_exercise(catalog_db, exercise_id)
    with read_session(engine) as session:
        return _state(session, user_id=user_id, exercise_id=exercise_id)


def lesson_states(*, engine: Engine, catalog_db: Path, user_id: str, lesson_id: str) -> list[DraftStatePublic]:
    """The drafts of every exercise a lesson places: one request restores a page with several."""
    lesson = get_index(catalog_db=catalog_db).lessons.get(lesson_id)
    if lesson is None:
        raise NotFound(f"No lesson with id {lesson_id}.")
    placed = sorted(e.id for e in readers.exercises(catalog_db).values() if e.lesson_id == lesson_id)
    with read_session(engine) as session:
        return [_state(session, user_id=user_id, exercise_id=eid) for eid in placed]


def _keep(session: Session, *, user_id: str, exercise_id: str, code: str, edited_at: datetime, reason: str,
          now: datetime) -> None:
    # Identical code kept twice helps no one: the newest copy is enough.
    session.execute(delete(DraftVersion).where(DraftVersion.user_id == user_id,
                                               DraftVersion.exercise_id == exercise_id, DraftVersion.code == code))
    session.add(DraftVersion(id=str(uuid.uuid4()), user_id=user_id, exercise_id=exercise_id, code=code,
                             edited_at=edited_at, kept_at=now, reason=reason))
    session.flush()
    stale = session.scalars(select(DraftVersion.id).where(
        DraftVersion.user_id == user_id, DraftVersion.exercise_id == exercise_id,
    ).order_by(DraftVersion.kept_at.desc(), DraftVersion.id).offset(MAX_KEPT_VERSIONS)).all()
    if stale:
        session.execute(delete(DraftVersion).where(DraftVersion.id.in_(stale)))


def _locked(session: Session, user_id: str, exercise_id: str) -> Draft | None:
    # FOR UPDATE on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers): two browsers
    # saving at once are decided one after the other, never both on the same old revision.
    return session.scalars(select(Draft).where(Draft.user_id == user_id, Draft.exercise_id == exercise_id)
                           .with_for_update().execution_options(populate_existing=True)).first()


def _replace(row: Draft, *, code: str, edited_at: datetime, now: datetime) -> None:
    """The draft becomes `code`, one revision on."""
    row.code, row.revision, row.edited_at, row.updated_at = code, row.revision + 1, edited_at, now


def save(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str, code: str,
         base_revision: int | None, edited_at: datetime | None) -> DraftSavePublic:
    """Store an edit. On the revision it was based on: a plain save. Otherwise the later edit wins."""
    if len(code) > MAX_DRAFT_CHARS:
        raise InvalidInput(f"Code is limited to {MAX_DRAFT_CHARS:,} characters.")
    _check_exercise(catalog_db, exercise_id)
    now = utcnow()
    # A clock ahead of the server's must not make an edit win every conflict for ever.
    edit_time = min(edited_at, now) if edited_at is not None else now
    accepted, conflict = True, False
    with write_session(engine) as session:
        created = insert_ignore(session, Draft, {"user_id": user_id, "exercise_id": exercise_id, "code": code,
                                                 "revision": 1, "edited_at": edit_time, "updated_at": now},
                                ["user_id", "exercise_id"])
        row = _locked(session, user_id, exercise_id)
        if row is None:  # the row was deleted between the two statements (an account removed)
            raise NotFound("This account no longer exists.")
        # A new draft, or nothing changed (a retried save), leaves nothing to decide.
        if created or row.code == code:
            pass
        elif base_revision is not None and base_revision == row.revision:
            _replace(row, code=code, edited_at=edit_time, now=now)
        else:
            conflict = True
            if edit_time >= row.edited_at:
                _keep(session, user_id=user_id, exercise_id=exercise_id, code=row.code, edited_at=row.edited_at,
                      reason="conflict", now=now)
                _replace(row, code=code, edited_at=edit_time, now=now)
            else:
                accepted = False
                _keep(session, user_id=user_id, exercise_id=exercise_id, code=code, edited_at=edit_time,
                      reason="conflict", now=now)
        session.flush()
        state = _state(session, user_id=user_id, exercise_id=exercise_id)
    return DraftSavePublic(**state.model_dump(), accepted=accepted, conflict=conflict)


def restore(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str, version_id: str) -> DraftStatePublic:
    """Make a kept version the draft again; the draft it replaces is kept in its place."""
    _check_exercise(catalog_db, exercise_id)
    now = utcnow()
    with write_session(engine) as session:
        version = session.get(DraftVersion, version_id)
        if version is None or version.user_id != user_id or version.exercise_id != exercise_id:
            raise NotFound("No kept version with that id.")
        code = version.code
        session.delete(version)
        session.flush()
        insert_ignore(session, Draft, {"user_id": user_id, "exercise_id": exercise_id, "code": code,
                                       "revision": 1, "edited_at": now, "updated_at": now},
                      ["user_id", "exercise_id"])
        row = _locked(session, user_id, exercise_id)
        if row is None:
            raise NotFound("This account no longer exists.")
        if row.code != code:
            _keep(session, user_id=user_id, exercise_id=exercise_id, code=row.code, edited_at=row.edited_at,
                  reason="restored", now=now)
            # The restored code counts as edited now: it is what the learner chose last.
            _replace(row, code=code, edited_at=now, now=now)
        session.flush()
        return _state(session, user_id=user_id, exercise_id=exercise_id)


def discard(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str, version_id: str) -> None:
    """Forget a kept version (the learner chose not to restore it)."""
    _check_exercise(catalog_db, exercise_id)
    with write_session(engine) as session:
        version = session.get(DraftVersion, version_id)
        if version is None or version.user_id != user_id or version.exercise_id != exercise_id:
            raise NotFound("No kept version with that id.")
        session.delete(version)


def delete_versions_kept_before(*, engine: Engine, user_ids: list[str], cutoff: datetime) -> int:
    """Delete the kept versions (conflicts, restores) of these learners older than `cutoff` (an
    organisation's retention). The current draft of each exercise stays: it is the learner's work."""
    if not user_ids:
        return 0
    with write_session(engine) as session:
        result = session.execute(delete(DraftVersion).where(DraftVersion.user_id.in_(user_ids),
                                                            DraftVersion.kept_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
