"""`drona db backup` / `drona db restore`: consistent online copies of a real SQLite database."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import select

from sidecar.auth.roles import Role
from sidecar.auth.service import create_user
from sidecar.auth.tables import User
from sidecar.cli import main
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.db.migrate import alembic_config, current_revision, upgrade

PASSWORD = "correct horse battery"
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _drona(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


def _add_user(url: str, email: str) -> None:
    with write_session(get_engine(url)) as session:
        create_user(session=session, email=email, password=PASSWORD, display_name=email.split("@")[0],
                    role=Role.LEARNER)


def _emails(url: str) -> set[str]:
    with read_session(get_engine(url)) as session:
        return set(session.scalars(select(User.email)))


def _one(path: Path, sql: str) -> object:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchone()[0]


def test_backup_while_another_connection_writes_is_consistent(sqlite_url: str, tmp_path: Path) -> None:
    _add_user(sqlite_url, "ada@example.com")
    live = Path(sqlite_url.removeprefix("sqlite:///"))
    with sqlite3.connect(live) as setup:
        assert setup.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        setup.execute("CREATE TABLE ledger_a (n INTEGER PRIMARY KEY)")
        setup.execute("CREATE TABLE ledger_b (n INTEGER PRIMARY KEY)")
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        # Each transaction writes one row to each table: a consistent copy holds as many in both.
        connection = sqlite3.connect(live, isolation_level=None, timeout=10)
        while not stop.is_set():
            n = written[0] + 1
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO ledger_a VALUES (?)", (n,))
            connection.execute("INSERT INTO ledger_b VALUES (?)", (n,))
            connection.execute("COMMIT")
            written[0] = n
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 50:
            time.sleep(0.01)
        copy = tmp_path / "backups" / "drona.db"
        result = _drona(sqlite_url, "db", "backup", str(copy))
        during = written[0]
        time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Backed up to {copy}: ") and f"revision {HEAD}." in result.output
    assert written[0] > during > 50  # the writer kept going through and after the backup
    copied = _one(copy, "SELECT count(*) FROM ledger_a")
    assert copied == _one(copy, "SELECT count(*) FROM ledger_b") == _one(copy, "SELECT max(n) FROM ledger_b")
    assert 50 <= copied < written[0]  # type: ignore[operator]
    assert _one(copy, "PRAGMA integrity_check") == "ok"
    # A single self-contained file: no -wal needed beside it, no temporary file left over.
    assert _one(copy, "PRAGMA journal_mode") == "delete"
    assert sorted(p.name for p in copy.parent.iterdir()) == ["drona.db"]
    assert _emails(f"sqlite:///{copy}") == {"ada@example.com"}


def test_restore_into_a_fresh_database(sqlite_url: str, tmp_path: Path) -> None:
    _add_user(sqlite_url, "ada@example.com")
    copy = tmp_path / "drona.backup"
    assert _drona(sqlite_url, "db", "backup", str(copy)).exit_code == 0
    fresh = tmp_path / "fresh" / "drona.db"
    fresh_url = f"sqlite:///{fresh}"
    result = _drona(fresh_url, "db", "restore", str(copy), "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Restored {fresh} from {copy} (revision {HEAD}); now at revision {HEAD}."
    assert _emails(fresh_url) == {"ada@example.com"}
    assert not list(fresh.parent.glob("*.before-restore-*"))  # nothing was there to keep


def test_restore_keeps_the_replaced_database_and_migrates_an_older_backup(tmp_path: Path) -> None:
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(old_url, "0017")  # a backup taken by an older engine
    with sqlite3.connect(tmp_path / "old.db") as connection:
        connection.execute("INSERT INTO users (id, email, password_hash, display_name, role, is_active, created_at, "
                           "password_changed_at) VALUES ('u-1', 'old@example.com', 'x', 'old', 'learner', 1, "
                           "'2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    live = tmp_path / "live" / "drona.db"
    live_url = f"sqlite:///{live}"
    upgrade(live_url)
    _add_user(live_url, "current@example.com")

    result = _drona(live_url, "db", "restore", str(tmp_path / "old.db"), "--yes")
    assert result.exit_code == 0, result.output
    assert "(revision 0017); now at revision " + HEAD in result.output
    assert current_revision(live_url) == HEAD
    assert _emails(live_url) == {"old@example.com"}  # the engine's open connections see the restore too
    [kept] = live.parent.glob("drona.db.before-restore-*")
    assert f"Kept the previous database as {kept}." in result.output
    assert _emails(f"sqlite:///{kept}") == {"current@example.com"}
    assert _one(kept, "PRAGMA integrity_check") == "ok"


def test_backup_refuses_to_overwrite_without_force(sqlite_url: str, tmp_path: Path) -> None:
    existing = tmp_path / "keep.db"
    existing.write_bytes(b"precious")
    refused = _drona(sqlite_url, "db", "backup", str(existing))
    assert refused.exit_code == 1
    assert f"error: {existing} exists; pass --force to replace it." in refused.output
    assert existing.read_bytes() == b"precious"
    forced = _drona(sqlite_url, "db", "backup", str(existing), "--force")
    assert forced.exit_code == 0, forced.output
    assert _one(existing, "PRAGMA integrity_check") == "ok"
    itself = _drona(sqlite_url, "db", "backup", sqlite_url.removeprefix("sqlite:///"), "--force")
    assert itself.exit_code == 1 and "is the database itself" in itself.output
    missing = _drona(f"sqlite:///{tmp_path / 'none.db'}", "db", "backup", str(tmp_path / "x.db"))
    assert missing.exit_code == 1 and "error: no database at" in missing.output
    assert not (tmp_path / "none.db").exists()  # looking did not create it


def test_restore_refusals_leave_the_database_alone(sqlite_url: str, tmp_path: Path) -> None:
    _add_user(sqlite_url, "ada@example.com")
    live = Path(sqlite_url.removeprefix("sqlite:///"))
    copy = tmp_path / "good.backup"
    assert _drona(sqlite_url, "db", "backup", str(copy)).exit_code == 0
    _add_user(sqlite_url, "bob@example.com")

    unconfirmed = _drona(sqlite_url, "db", "restore", str(copy))
    assert unconfirmed.exit_code == 2
    assert f"error: this replaces the database at {live} with {copy}" in unconfirmed.output
    assert "pass --yes to confirm" in unconfirmed.output

    missing = _drona(sqlite_url, "db", "restore", str(tmp_path / "nope.db"), "--yes")
    assert missing.exit_code == 1 and f"error: no backup at {tmp_path / 'nope.db'}." in missing.output

    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    not_sqlite = _drona(sqlite_url, "db", "restore", str(text), "--yes")
    assert not_sqlite.exit_code == 1 and f"error: {text} is not a SQLite database." in not_sqlite.output

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    foreign = _drona(sqlite_url, "db", "restore", str(other), "--yes")
    assert foreign.exit_code == 1 and "is not a Dronacharya database" in foreign.output

    newer = tmp_path / "newer.db"
    newer.write_bytes(copy.read_bytes())
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    from_the_future = _drona(sqlite_url, "db", "restore", str(newer), "--yes")
    assert from_the_future.exit_code == 1
    assert "at revision 9999, which this engine does not know" in from_the_future.output

    damaged = tmp_path / "damaged.db"
    data = bytearray(copy.read_bytes())
    page = _one(copy, "PRAGMA page_size")
    assert isinstance(page, int) and len(data) > 4 * page
    data[2 * page:4 * page] = b"\xa5" * (2 * page)  # garble pages 3 and 4 (b-tree pages)
    damaged.write_bytes(bytes(data))
    broken = _drona(sqlite_url, "db", "restore", str(damaged), "--yes")
    assert broken.exit_code == 1
    assert "failed its integrity check" in broken.output or "cannot read" in broken.output

    assert _emails(sqlite_url) == {"ada@example.com", "bob@example.com"}
    assert not list(live.parent.glob("*.before-restore-*"))


def test_postgresql_is_pointed_to_pg_dump(tmp_path: Path) -> None:
    for args in (["db", "backup", str(tmp_path / "x.db")], ["db", "restore", str(tmp_path / "x.db"), "--yes"]):
        result = _drona(PG_URL, *args)
        assert result.exit_code == 2, result.output
        assert "error: drona db backup and restore handle the embedded SQLite database only" in result.output
        assert "pg_dump --format=custom" in result.output and "pg_restore" in result.output
        assert "drona db upgrade" in result.output
    assert not (tmp_path / "x.db").exists()
