"""Reading and writing the projects' rows (driver-level SQL through Tx), and their public views."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, LargeBinary

from sidecar.certificates import service as certificates
from sidecar.db.base import UTCDateTime, utcnow
from sidecar.db.engine import Tx
from sidecar.errors import NotFound
from sidecar.settings import Settings

from .models import (
    AuditPublic,
    CriterionPublic,
    FilePublic,
    FindingPublic,
    ProjectPublic,
    SubmissionPublic,
    TestRunPublic,
)
from .tables import GoldProject, ProjectAudit, ProjectSubmission

_P = GoldProject.__table__.c
_S = ProjectSubmission.__table__.c
_A = ProjectAudit.__table__.c
PROJECT_COLUMNS = ("id", "user_id", "course_id", "kind", "option_id", "title", "description", "status", "feedback",
                   "decided_by", "created_at", "updated_at")
SUBMISSION_COLUMNS = ("id", "project_id", "user_id", "course_id", "number", "option_id", "title", "status", "source",
                      "git_url", "demo_url", "notes", "files", "archive_sha256", "tests_sha256", "prereview",
                      "review", "percent", "reviewed_by", "reviewed_at", "certificate_id", "created_at")
_TYPED = {"created_at", "updated_at", "reviewed_at", "files", "prereview", "review"}
_CONVERTED = (UTCDateTime, JSON, LargeBinary)


def _decode(tx: Tx, table: Any, columns: tuple[str, ...], row: Any) -> dict[str, Any]:
    values = dict(zip(columns, row, strict=True))
    for name in _TYPED & set(columns):
        values[name] = tx.from_db(table[name], values[name])
    return values


def valid_id(value: str, what: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise NotFound(f"No {what} with this id.") from None


def project_by_id(tx: Tx, project_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    valid_id(project_id, "project")
    row = tx.row(f"SELECT {', '.join(PROJECT_COLUMNS)} FROM gold_projects WHERE id = :id"  # noqa: S608
                 + (tx.for_update if lock else ""), {"id": project_id})
    return _decode(tx, _P, PROJECT_COLUMNS, row) if row is not None else None


def project_of(tx: Tx, user_id: str, course_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    row = tx.row(f"SELECT {', '.join(PROJECT_COLUMNS)} FROM gold_projects "  # noqa: S608
                 "WHERE user_id = :u AND course_id = :c" + (tx.for_update if lock else ""),
                 {"u": user_id, "c": course_id})
    return _decode(tx, _P, PROJECT_COLUMNS, row) if row is not None else None


def submission_by_id(tx: Tx, submission_id: str, *, lock: bool = False) -> dict[str, Any]:
    valid_id(submission_id, "submission")
    row = tx.row(f"SELECT {', '.join(SUBMISSION_COLUMNS)} FROM project_submissions WHERE id = :id"  # noqa: S608
                 + (tx.for_update if lock else ""), {"id": submission_id})
    if row is None:
        raise NotFound("No submission with this id.")
    return _decode(tx, _S, SUBMISSION_COLUMNS, row)


def submissions_of(tx: Tx, user_id: str, course_id: str) -> list[dict[str, Any]]:
    rows = tx.rows(f"SELECT {', '.join(SUBMISSION_COLUMNS)} FROM project_submissions "  # noqa: S608
                   "WHERE user_id = :u AND course_id = :c ORDER BY number DESC", {"u": user_id, "c": course_id})
    return [_decode(tx, _S, SUBMISSION_COLUMNS, r) for r in rows]


def _bind(tx: Tx, table: Any, values: dict[str, Any]) -> dict[str, Any]:
    # Only types the driver cannot take as they are go through the column's own conversion (the
    # psycopg dialect has no bind conversion for plain numbers, and asks for a type code it lacks here).
    return {k: tx.to_db(table.c[k], v) if isinstance(table.c[k].type, _CONVERTED) else v for k, v in values.items()}


def insert(tx: Tx, table: Any, values: dict[str, Any]) -> None:
    columns = ", ".join(values)
    tx.execute(f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join(':' + k for k in values)})",  # noqa: S608
               _bind(tx, table, values))


def update(tx: Tx, table: Any, key: str, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{k} = :{k}" for k in values)
    tx.execute(f"UPDATE {table.name} SET {assignments} WHERE id = :key_id",  # noqa: S608
               {**_bind(tx, table, values), "key_id": key})


def audit(tx: Tx, *, project_id: str, actor_id: str | None, action: str, from_state: str | None, to_state: str,
          submission_id: str | None = None, detail: dict[str, Any] | None = None,
          at: datetime | None = None) -> None:
    """Append to the audit trail: every action on a project or submission goes through here."""
    insert(tx, ProjectAudit.__table__, {"project_id": project_id, "submission_id": submission_id,
                                        "actor_id": actor_id, "action": action, "from_state": from_state,
                                        "to_state": to_state, "detail": detail, "at": at or utcnow()})


def audit_trail(tx: Tx, project_id: str) -> list[AuditPublic]:
    rows = tx.rows("SELECT a.action, a.actor_id, u.display_name, a.from_state, a.to_state, a.at, a.detail "
                   "FROM project_audit a LEFT JOIN users u ON u.id = a.actor_id WHERE a.project_id = :p "
                   "ORDER BY a.id", {"p": project_id})
    return [AuditPublic(action=r[0], actor_id=r[1], actor_name=r[2], from_state=r[3], to_state=r[4],
                        at=tx.from_db(_A.at, r[5]), detail=tx.from_db(_A.detail, r[6])) for r in rows]


# ---- public views -------------------------------------------------------------------------------------


def project_public(project: dict[str, Any]) -> ProjectPublic:
    return ProjectPublic(id=project["id"], course_id=project["course_id"], kind=project["kind"],
                         option_id=project["option_id"], title=project["title"],
                         description=project["description"], status=project["status"],
                         feedback=project["feedback"], created_at=project["created_at"],
                         updated_at=project["updated_at"])


def submission_public(submission: dict[str, Any], settings: Settings) -> SubmissionPublic:
    prereview = submission["prereview"] or {}
    review = submission["review"] or {}
    scores, comments = review.get("scores") or {}, review.get("comments") or {}
    criteria = [CriterionPublic(key=key, label=c["label"], max_points=c["max_points"],
                                suggested_points=c["suggested_points"], summary=c["summary"],
                                findings=[FindingPublic(**f) for f in c["findings"]],
                                points=float(scores[key]) if key in scores else None, comment=comments.get(key))
                for key, c in (prereview.get("criteria") or {}).items()]
    tests = prereview.get("tests")
    certificate = submission["certificate_id"]
    return SubmissionPublic(
        id=submission["id"], project_id=submission["project_id"], course_id=submission["course_id"],
        number=submission["number"], title=submission["title"], option_id=submission["option_id"],
        status=submission["status"], source=submission["source"], git_url=submission["git_url"],
        demo_url=submission["demo_url"], notes=submission["notes"] or "",
        files=[FilePublic(**f) for f in submission["files"] or []], created_at=submission["created_at"],
        advisory=prereview.get("advisory", ""), criteria=criteria,
        tests=TestRunPublic(**tests) if tests else None, ruff=(prereview.get("ruff") or {}).get("note", ""),
        feedback=review.get("feedback") or None, percent=submission["percent"],
        reviewed_at=submission["reviewed_at"], certificate_id=certificate,
        verify_url=certificates.verify_url(settings, certificate) if certificate else None)
