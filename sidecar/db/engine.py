"""Engines, sessions and driver-level transactions for both databases.

SQLite (the embedded default) gets WAL, synchronous=NORMAL and a busy timeout, and write
transactions start with BEGIN IMMEDIATE: Python's sqlite3 otherwise begins deferred and a
read-then-write under concurrency fails or loses updates. Read-only sessions stay deferred so
readers never queue behind writers. PostgreSQL uses its default READ COMMITTED; services guard
read-modify-write with unique constraints (insert ... on conflict do nothing) or row locks.

Hot paths (progress events) use `Tx`: plain SQL on the driver's connection, under the same
transaction rules. An ORM statement costs ~50-300 µs of Python; the same statement on the driver
costs ~5 µs, and on SQLite it runs while this process's single writer lock is held.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeEngine

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
    """One transaction that may read and write; commits on success, rolls back on error.

    Its CommitHooks (through `Tx.of_session`) run: `before` last inside it, `after` once it committed."""
    lock = _sqlite_writer if is_sqlite(engine) else nullcontext()
    hooks: CommitHooks | None = None
    with lock, _factories(engine)[0]() as session:
        with session.begin():
            yield session
            hooks = session.info.get(_HOOKS_KEY)
            if hooks is not None and hooks.before:
                hooks.run_before(Tx.of_session(session))
        session.info.pop(_HOOKS_KEY, None)
    if hooks is not None:
        hooks.run_after()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with _factories(engine)[1]() as session, session.begin():
        yield session


_HOOKS_KEY = "drona.commit_hooks"
_log = logging.getLogger("drona")


class CommitHooks:
    """Work tied to a write transaction's commit (write_tx, write_session): each `before` entry runs
    last inside the transaction (it may read and write through the Tx it is given), each `after`
    entry once the transaction has committed, never after a rollback (live events: sidecar/live).
    Entries are keyed, so a domain registers its own once per transaction however often it asks;
    `state` holds what a domain gathers meanwhile."""

    def __init__(self) -> None:
        self.before: dict[str, Callable[[Tx], None]] = {}
        self.after: dict[str, Callable[[], None]] = {}
        self.state: dict[str, Any] = {}

    def run_before(self, tx: Tx) -> None:
        for hook in list(self.before.values()):
            hook(tx)

    def run_after(self) -> None:
        after, self.after = list(self.after.values()), {}
        for hook in after:
            try:
                hook()
            except Exception:  # noqa: BLE001 - committed: a failed notice must not fail the request
                _log.warning("an after-commit hook failed", exc_info=True)


# ---------------------------------------------------------------------------------------------
# Driver-level transactions for hot paths.


@lru_cache(maxsize=256)
def _driver_sql(sql: str, dialect_name: str) -> str:
    """Our SQL is written with :name parameters, which sqlite3 takes as is; psycopg wants %(name)s."""
    if dialect_name == "sqlite":
        return sql
    if "%" in sql:
        raise ValueError("a literal % would need escaping for pyformat drivers")
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


@lru_cache(maxsize=256)
def _processors(type_: TypeEngine[Any], dialect: Dialect) -> tuple[Any, Any]:
    """A column type's own bind/result conversions for this dialect (SQLite stores datetimes,
    dates and JSON as text), so rows written here read back exactly like ORM-written ones."""
    impl = type_.dialect_impl(dialect)
    try:
        result = impl.result_processor(dialect, None)
    except TypeError:  # psycopg's Float asks for the column's type code, unknown here: it returns floats as is
        result = None
    return impl.bind_processor(dialect), result


class Tx:
    """SQL on the driver connection of a transaction that someone else begins and ends.

    Statements use :name parameters. Values for typed columns go through `to_db`/`from_db`.
    It bypasses the ORM: a caller must not also hold ORM copies of the rows it writes here.
    """

    def __init__(self, connection: Any, dialect: Dialect, hooks: CommitHooks | None = None) -> None:
        self.connection = connection
        self.dialect = dialect
        # What to do when the transaction commits (write_tx and write_session run them).
        self.hooks = hooks if hooks is not None else CommitHooks()
        self.sqlite = dialect.name == "sqlite"
        # SQLite has no row locks (BEGIN IMMEDIATE already serialises writers); PostgreSQL does.
        self.for_update = "" if self.sqlite else " FOR UPDATE"

    @classmethod
    def of_session(cls, session: Session) -> Tx:
        """The session's own transaction: pending ORM changes are flushed first, so SQL sees them.

        ORM objects the session already loaded do not see what SQL writes here (no identity map).
        """
        session.flush()
        connection = session.connection()
        hooks = session.info.setdefault(_HOOKS_KEY, CommitHooks())
        return cls(connection.connection.driver_connection, connection.dialect, hooks)

    def execute(self, sql: str, params: dict[str, Any]) -> Any:
        return self.connection.execute(_driver_sql(sql, self.dialect.name), params)

    def row(self, sql: str, params: dict[str, Any]) -> Any:
        return self.execute(sql, params).fetchone()

    def rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return list(self.execute(sql, params).fetchall())

    def to_db(self, column: ColumnElement[Any], value: Any) -> Any:
        bind = _processors(column.type, self.dialect)[0]
        return bind(value) if bind is not None and value is not None else value

    def from_db(self, column: ColumnElement[Any], value: Any) -> Any:
        result = _processors(column.type, self.dialect)[1]
        return result(value) if result is not None and value is not None else value


@contextmanager
def write_tx(engine: Engine) -> Iterator[Tx]:
    """Like write_session, on the driver: BEGIN IMMEDIATE and this process's writer lock on SQLite."""
    lock = _sqlite_writer if is_sqlite(engine) else nullcontext()
    with lock:
        pooled = engine.raw_connection()
        connection: Any = pooled.driver_connection
        try:
            if is_sqlite(engine):
                # The connect hook put sqlite3 in autocommit mode: we say where transactions begin.
                connection.execute("BEGIN IMMEDIATE")
            tx = Tx(connection, engine.dialect)
            yield tx
            tx.hooks.run_before(tx)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            pooled.close()  # back to the pool
    tx.hooks.run_after()  # committed: outside the writer lock


@contextmanager
def read_tx(engine: Engine) -> Iterator[Tx]:
    """A read-only transaction: deferred on SQLite (never waits for the writer), rolled back at the end."""
    pooled = engine.raw_connection()
    connection: Any = pooled.driver_connection
    try:
        if is_sqlite(engine):
            connection.execute("BEGIN")
        yield Tx(connection, engine.dialect)
    finally:
        try:
            connection.rollback()
        finally:
            pooled.close()
