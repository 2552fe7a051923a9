"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL: Alembic's
autogenerate finds nothing to add, drop or alter after `upgrade` (every table of every domain)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sidecar.db.engine import get_engine
from sidecar.db.registry import metadata


def test_the_migrations_match_every_declared_table(db_url: str) -> None:
    with get_engine(db_url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []
