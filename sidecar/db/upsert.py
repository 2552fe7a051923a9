"""INSERT ... ON CONFLICT DO NOTHING on both databases: the primitive behind exactly-once.

The statement text is built once per (table, columns, conflict target) and reused: building an
ORM insert for every event cost more than running it. Column types still apply (UTC datetimes,
JSON): through typed bind parameters in a Session, through the column types' own conversions
on a driver-level `Tx`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.orm import Session

from sidecar.db.engine import Tx


@lru_cache(maxsize=64)
def _sql(model: Any, columns: tuple[str, ...], conflict: tuple[str, ...]) -> str:
    table = model.__table__
    for name in (*columns, *conflict):
        table.c[name]  # noqa: B018 - only real column names reach the SQL text (KeyError otherwise)
    # Identifiers come from our table metadata; values are bound parameters.
    return (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join(':' + c for c in columns)}) "
            f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {conflict[0]}")


@lru_cache(maxsize=64)
def _statement(model: Any, columns: tuple[str, ...], conflict: tuple[str, ...]) -> TextClause:
    table = model.__table__
    return text(_sql(model, columns, conflict)).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


def insert_ignore(session: Session | Tx, model: Any, values: dict[str, Any], conflict: list[str]) -> bool:
    """Insert a row unless one with the same conflict columns exists; True when inserted.

    RETURNING yields a row only when one was inserted (rowcount is unreliable: psycopg says -1).
    """
    if isinstance(session, Tx):
        columns = model.__table__.c
        params = {name: session.to_db(columns[name], value) for name, value in values.items()}
        return session.row(_sql(model, tuple(values), tuple(conflict)), params) is not None
    statement = _statement(model, tuple(values), tuple(conflict))
    return session.execute(statement, values).first() is not None
