"""Engines and sessions for both databases.

SQLite (the embedded default) gets WAL, synchronous=NORMAL and a busy timeout, and write
transactions start with BEGIN IMMEDIATE: Python's sqlite3 otherwise begins deferred and a
read-then-write under concurrency fails or loses updates. Read-only sessions stay deferred so
readers never queue behind writers. PostgreSQL uses its default READ COMMITTED; services guard
read-modify-write with unique constraints (insert ... on conflict do nothing) or row locks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy's events issue BEGIN, instead of the driver's implicit deferred one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@lru_cache(maxsize=8)
def get_engine(url: str, pool_size: int = 5) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 4, pool_timeout=30,
                               connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _sqlite_setup(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)


@lru_cache(maxsize=8)
def _factories(engine: Engine) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    writer = sessionmaker(bind=engine, expire_on_commit=False)
    reader = sessionmaker(bind=engine.execution_options(sqlite_immediate=False), expire_on_commit=False)
    return writer, reader


# SQLite takes one writer at a time. Queueing writers of this process on a lock is fair and
# immediate; leaving it to SQLite's busy handler makes waiters sleep in growing steps (long tails).
_sqlite_writer = threading.Lock()


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction that may read and write; commits on success, rolls back on error."""
    lock = _sqlite_writer if is_sqlite(engine) else nullcontext()
    with lock, _factories(engine)[0]() as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with _factories(engine)[1]() as session, session.begin():
        yield session
