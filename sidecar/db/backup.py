"""`drona db backup` and `drona db restore`: online copies of the embedded SQLite database.

Copies go through SQLite's backup API, never a file copy: the live database is in WAL mode, so
its committed rows may sit in the -wal file, and a byte copy taken while `drona serve` writes can
be torn. The backup API reads one consistent snapshot (a single step, under one read
transaction) while writers go on appending to the WAL.

PostgreSQL is refused on purpose: `pg_dump --format=custom` and `pg_restore` are the right tools
there (consistent, parallel, version-aware), and shelling out to them would hide their options.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SQLITE_MAGIC = b"SQLite format 3\x00"

POSTGRES_GUIDANCE = (
    "drona db backup and restore handle the embedded SQLite database only. For PostgreSQL use its own "
    "tools: pg_dump --format=custom --file=drona.dump \"$DATABASE_URL\", and to restore "
    "pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" drona.dump, then drona db upgrade.")


class BackupError(Exception):
    """A backup or restore refused or failed; `exit_code` 2 marks a request we cannot serve at all."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    tables: int
    revision: str | None


@dataclass(frozen=True)
class RestoreResult:
    target: Path
    source: BackupInfo
    saved_as: Path | None  # the database as it was before, when there was one
    revision: str | None  # after the migrations ran


def sqlite_database(*, url: str) -> Path:
    """The file behind a sqlite:/// DATABASE_URL; anything else is refused with exit code 2."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BackupError(f"DATABASE_URL is not a database URL: {exc}", exit_code=2) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        raise BackupError(POSTGRES_GUIDANCE, exit_code=2)
    if backend != "sqlite":
        raise BackupError(f"drona db backup and restore handle SQLite only, not {backend}.", exit_code=2)
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("DATABASE_URL names an in-memory SQLite database: there is no file to copy.", exit_code=2)
    return Path(parsed.database)


def _is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _connect_read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: checking or copying a file must never create or change it.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _integrity(connection: sqlite3.Connection) -> str:
    rows = connection.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(row[0]) for row in rows[:5])


def _describe(connection: sqlite3.Connection, path: Path) -> BackupInfo:
    tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    revision: str | None = None
    has_versions = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone()
    if has_versions:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = str(row[0]) if row else None
    return BackupInfo(path=path, size=path.stat().st_size, tables=int(tables), revision=revision)


def _drop_sidecar_files(path: Path) -> None:
    # A -wal left from an older file of the same name would be replayed onto the new one.
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def _copy(*, source: Path, dest: Path) -> BackupInfo:
    """A consistent, checked, single-file copy of `source` at `dest`, which appears only when complete."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        src = _connect_read_only(source)
        try:
            dst = sqlite3.connect(tmp)
            try:
                # pages=-1: the whole database in one step, so in one read snapshot of the source.
                src.backup(dst, pages=-1)
                # The copy is a plain rollback-journal file: self-contained, no -wal needed beside it.
                dst.execute("PRAGMA journal_mode=DELETE")
                problems = _integrity(dst)
                if problems != "ok":
                    raise BackupError(f"the copy failed its integrity check: {problems}")
                info = _describe(dst, tmp)
            finally:
                dst.close()
        finally:
            src.close()
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        _drop_sidecar_files(dest)
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source}: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupInfo(path=dest, size=info.size, tables=info.tables, revision=info.revision)


def backup(*, url: str, dest: Path, force: bool = False) -> BackupInfo:
    """Copy the SQLite database of `url` to `dest`, safely while other processes write to it."""
    source = sqlite_database(url=url)
    if not source.is_file():
        raise BackupError(f"no database at {source} (DATABASE_URL).")
    if dest.exists() and source.resolve() == dest.resolve():
        raise BackupError(f"{dest} is the database itself; back up to another path.")
    if dest.is_dir():
        raise BackupError(f"{dest} is a folder; give a file path.")
    if dest.exists() and not force:
        raise BackupError(f"{dest} exists; pass --force to replace it.")
    return _copy(source=source, dest=dest)


def check_backup(*, path: Path) -> BackupInfo:
    """What a backup holds, or why it cannot be restored: not a file, not SQLite, damaged, not ours."""
    if not path.exists():
        raise BackupError(f"no backup at {path}.")
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    if not _is_sqlite_file(path):
        raise BackupError(f"{path} is not a SQLite database.")
    try:
        connection = _connect_read_only(path)
        try:
            problems = _integrity(connection)
            if problems != "ok":
                raise BackupError(f"{path} failed its integrity check: {problems}")
            info = _describe(connection, path)
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read {path}: {exc}") from exc
    if info.revision is None:
        raise BackupError(f"{path} is not a Dronacharya database (it has no migration revision).")
    _check_known_revision(info.revision, path)
    return info


def _check_known_revision(revision: str, path: Path) -> None:
    # A backup from a newer engine would restore, then fail to migrate: refuse it before anything changes.
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from sidecar.db.migrate import alembic_config

    try:
        known = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"{path} is at revision {revision}, which this engine does not know "
                          "(a backup from a newer version?).")


def before_restore_path(*, target: Path, now: datetime) -> Path:
    return target.with_name(f"{target.name}.before-restore-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}")


def restore(*, url: str, source: Path, now: datetime | None = None) -> RestoreResult:
    """Replace the SQLite database of `url` with the backup `source`, then migrate it to the current schema.

    The current database is first copied aside (`<db>.before-restore-<UTC time>`), so a mistaken
    restore loses nothing. The backup API writes into the live file under SQLite's own locking,
    so connections open elsewhere see the restored data instead of a file swapped under them.
    """
    from sidecar.db.migrate import current_revision, upgrade

    target = sqlite_database(url=url)
    info = check_backup(path=source)
    if target.exists() and source.resolve() == target.resolve():
        raise BackupError(f"{source} is the database itself.")
    saved_as: Path | None = None
    if target.is_file():
        saved_as = before_restore_path(target=target, now=now or datetime.now(UTC))
        if saved_as.exists():
            raise BackupError(f"{saved_as} exists already; wait a second and run again.")
        _copy(source=target, dest=saved_as)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = _connect_read_only(source)
        try:
            dst = sqlite3.connect(target, timeout=30)
            try:
                src.backup(dst, pages=-1)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        kept = f"; the database as it was is kept at {saved_as}" if saved_as else ""
        raise BackupError(f"cannot restore into {target}: {exc}{kept}") from exc
    upgrade(url)
    return RestoreResult(target=target, source=info, saved_as=saved_as, revision=current_revision(url))
