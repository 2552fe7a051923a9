"""A throwaway PostgreSQL database for a benchmark: created fresh and migrated, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


@contextmanager
def throwaway_postgres(admin_url: str, *, prefix: str = "drona_bench") -> Iterator[str]:
    """A fresh PostgreSQL database on the server of `admin_url`, migrated; dropped afterwards."""
    import psycopg

    from sidecar.db.engine import get_engine
    from sidecar.db.migrate import upgrade

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(admin_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(url)  # `drona serve` migrates SQLite itself, not PostgreSQL (`drona db upgrade` does)
        get_engine(url).dispose()
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
