"""INSERT ... ON CONFLICT DO NOTHING on both databases: the primitive behind exactly-once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, model: Any, values: dict[str, Any], conflict: list[str]) -> bool:
    """Insert a row unless one with the same conflict columns exists; True when inserted."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    column = model.__table__.c[conflict[0]]
    statement = module.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    # RETURNING yields a row only when one was inserted; rowcount is unreliable here (psycopg says -1).
    return session.execute(statement.returning(column)).first() is not None
