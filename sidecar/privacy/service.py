"""Everything the learner database holds about one account, as JSON (issue #16, privacy).

The export is read from the schema, not from a list kept by hand: every table with a `user_id`
column that points at the account is included, whole rows, so a domain added later is exported
without anyone remembering to. The account's own row comes first. Columns that hold a secret's
hash (sessions, reset and sign-in tokens, invitation tokens) and the password hash are left out:
they are no use to the learner and would help an attacker who got hold of the file.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table, select

from sidecar.agents.memory import conversations
from sidecar.db.base import Base, utcnow
from sidecar.db.engine import read_session
from sidecar.drafts import service as drafts
from sidecar.errors import NotFound
from sidecar.orgs import service as orgs

FORMAT = "dronacharya-account-export/1"
OWNER_COLUMN = "user_id"


def _secret(column: str) -> bool:
    return "hash" in column or column in {"token", "secret"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _rows(session: Any, table: Table, column: str, user_id: str) -> list[dict[str, Any]]:
    keep = [c for c in table.columns if not _secret(c.name)]
    order = list(table.primary_key.columns) or keep[:1]
    result = session.execute(select(*keep).where(table.c[column] == user_id).order_by(*order))
    return [{name: _plain(value) for name, value in row._mapping.items()} for row in result]


def owned_tables() -> list[Table]:
    """Every table with a user_id column that references users.id (the account's own rows)."""
    found = []
    for table in Base.metadata.sorted_tables:
        column = table.c.get(OWNER_COLUMN)
        if column is not None and any(fk.column.table.name == "users" for fk in column.foreign_keys):
            found.append(table)
    return sorted(found, key=lambda t: t.name)


def export_account(*, engine: Engine, user_id: str) -> dict[str, Any]:
    users = Base.metadata.tables["users"]
    with read_session(engine) as session:
        account = _rows(session, users, "id", user_id)
        if not account:
            raise NotFound("No such account.")
        tables = {table.name: _rows(session, table, OWNER_COLUMN, user_id) for table in owned_tables()}
    return {"format": FORMAT, "exported_at": utcnow().isoformat(), "account": account[0],
            "tables": {name: rows for name, rows in tables.items() if rows}}


def purge_expired(*, engine: Engine, now: datetime) -> dict[str, int]:
    """Apply every organisation's retention period to its members: tutor conversations idle longer,
    and kept draft versions older, are deleted. Progress, submissions, XP and certificates stay (they
    are the learning record the organisation and the learner rely on)."""
    removed = {"conversations": 0, "draft_versions": 0}
    for _org_id, days, members in orgs.retention_rules(engine=engine):
        cutoff = now - timedelta(days=days)
        removed["conversations"] += conversations.delete_sessions_idle_since(engine=engine, user_ids=members,
                                                                           cutoff=cutoff)
        removed["draft_versions"] += drafts.delete_versions_kept_before(engine=engine, user_ids=members,
                                                                        cutoff=cutoff)
    return removed
