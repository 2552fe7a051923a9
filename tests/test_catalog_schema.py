"""catalog.db's one read model: the declared schema, its version check, the cache, and SQL kept in one place."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sidecar.agents.policy.content import get_content
from sidecar.agents.retrieval import Retriever, get_retriever
from sidecar.app import create_app
from sidecar.catalog import readers, schema, store
from sidecar.catalog.service import get_catalog, get_index
from sidecar.compiler.build import BuildReport
from sidecar.errors import Unavailable
from sidecar.settings import REPO_ROOT, Settings
from tests.conftest import ApiClient

DOUBLE_IT = "00000000-0000-4000-8000-000000000015"  # an exercise of the minimal fixture


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, int, int]]:
    """(name, declared type, not null, primary key) of each column, in order."""
    return [(r[1], r[2], r[3], r[5]) for r in conn.execute(f"PRAGMA table_info([{table}])")]


def _declared() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    schema.create(conn)
    return conn


def _copy(build: BuildReport, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "catalog.db"
    shutil.copy(build.catalog_db, target)
    return target


def _set_version(catalog_db: Path, value: str | None) -> None:
    with sqlite3.connect(catalog_db) as conn:
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = 'schema_version'")
        else:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (value,))
    conn.close()


# ---------------------------------------------------------------------------------------------
# The schema


def test_the_build_writes_exactly_the_declared_schema(minimal_build: BuildReport) -> None:
    declared = _declared()
    built = sqlite3.connect(minimal_build.catalog_db)
    for table in schema.TABLES:
        columns = _columns(built, table)
        assert columns == _columns(declared, table), table  # no inferred or extra columns
        assert all(kind in ("TEXT", "INTEGER", "REAL", "BLOB") for _, kind, _, _ in columns), (table, columns)
        assert (list(built.execute(f"PRAGMA foreign_key_list([{table}])"))
                == list(declared.execute(f"PRAGMA foreign_key_list([{table}])"))), table
    names = {r[0] for r in built.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    fts = {r[0] for r in built.execute("SELECT name FROM sqlite_master WHERE name LIKE 'lesson_chunks_fts%'")}
    assert names - fts - {schema.CHUNK_VECTORS_TABLE} == set(schema.TABLES)
    assert schema.FTS_TABLE in fts
    indexes = {r[0] for r in built.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert indexes == {statement.split()[2] for statement in schema.INDEXES}  # CREATE INDEX <name> ON ...
    if schema.CHUNK_VECTORS_TABLE in names:  # added by the vector hook from the same declaration
        vectors = _declared()
        vectors.execute(schema.CHUNK_VECTORS)
        assert _columns(built, "chunk_vectors") == _columns(vectors, "chunk_vectors")
    value = built.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert json.loads(value) == schema.SCHEMA_VERSION == 4
    # JSON columns hold JSON text, as sqlite-utils writes it (non-ASCII kept as is).
    for table, json_columns in schema.JSON_COLUMNS.items():
        for column in json_columns:
            for kind, text in built.execute(f"SELECT typeof([{column}]), [{column}] FROM [{table}]"):
                assert kind in ("text", "null"), (table, column, kind)
                if text is not None and column != "answer":  # answer: JSON-encoded by the compiler itself
                    assert text == json.dumps(json.loads(text), default=repr, ensure_ascii=False), (table, column)
    assert built.execute("SELECT count(*) FROM lesson_chunks_fts WHERE lesson_chunks_fts MATCH 'print'").fetchone()[0]
    built.close()


def test_records_read_the_stored_values(minimal_build: BuildReport) -> None:
    exercise = readers.exercise(minimal_build.catalog_db, DOUBLE_IT)
    with sqlite3.connect(minimal_build.catalog_db) as conn:
        visible, hidden, skills = conn.execute(
            "SELECT e.visible_tests, e.hidden_tests, l.skills FROM exercises e JOIN lessons l ON l.id = e.lesson_id "
            "WHERE e.id = ?", (DOUBLE_IT,)).fetchone()
    conn.close()
    assert exercise.visible_tests == json.loads(visible) and exercise.hidden_tests == json.loads(hidden)
    assert exercise.skills == json.loads(skills)
    # The one merge of visible and hidden tests: fresh copies, hidden ones marked.
    tests = exercise.tests
    assert tests == json.loads(visible) + [dict(t, hidden=True) for t in json.loads(hidden)]
    tests[0]["name"] = "changed"
    assert exercise.tests[0]["name"] != "changed" and exercise.visible_tests[0]["name"] != "changed"
    lesson = readers.lesson(minimal_build.catalog_db, exercise.lesson_id or "")
    assert DOUBLE_IT in lesson.exercise_ids
    assert readers.exercises(minimal_build.catalog_db)[DOUBLE_IT] is exercise


# ---------------------------------------------------------------------------------------------
# The schema version check


@pytest.mark.parametrize(("stored", "said"), [("1", "schema 1"), (None, "no schema version"), ('"2"', "no schema")])
def test_a_catalog_of_another_schema_version_is_unavailable(minimal_build: BuildReport, tmp_path: Path,
                                                            stored: str | None, said: str) -> None:
    catalog_db = _copy(minimal_build, tmp_path)
    _set_version(catalog_db, stored)
    expected = f"catalog.db was built by a different version of drona ({said}"
    for read in (lambda: readers.exercise(catalog_db, DOUBLE_IT), lambda: get_catalog(catalog_db=catalog_db),
                 lambda: get_content(catalog_db), lambda: Retriever(catalog_db, Settings(EMBEDDING_MODEL="none"))):
        with pytest.raises(Unavailable) as caught:
            read()
        assert caught.value.message.startswith(expected), caught.value.message
        assert caught.value.message.endswith(f"this server reads {schema.SCHEMA_VERSION}): run `drona build`.")
        assert caught.value.status_code == 503
    with pytest.raises(Unavailable, match="has not been built yet"):
        readers.exercises(tmp_path / "missing.db")


def test_the_api_answers_503_for_a_catalog_of_another_version(minimal_build: BuildReport, tmp_path: Path,
                                                              sqlite_url: str) -> None:
    catalog_db = _copy(minimal_build, tmp_path / "build")
    _set_version(catalog_db, "1")
    settings = Settings(DRONA_BUILD_DIR=tmp_path / "build", DATABASE_URL=sqlite_url, DRONA_DATA_DIR=tmp_path / "data")
    client = ApiClient(create_app(settings))  # starts: achievements are not synced, with a warning
    try:
        response = client.get("/api/catalog")
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "unavailable"
        assert error["message"] == ("catalog.db was built by a different version of drona (schema 1, this server "
                                    f"reads {schema.SCHEMA_VERSION}): run `drona build`.")
    finally:
        client.__exit__(None, None, None)


def test_the_version_is_checked_once_per_file_version(minimal_build: BuildReport, tmp_path: Path) -> None:
    catalog_db = _copy(minimal_build, tmp_path)
    with store.connect(catalog_db):
        pass
    # Changed in place without a new file identity: the check is not repeated (it ran for this version).
    stat = catalog_db.stat()
    _set_version(catalog_db, "1")
    os.utime(catalog_db, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert catalog_db.stat().st_size == stat.st_size
    with store.connect(catalog_db):
        pass
    os.utime(catalog_db, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new version: checked again
    with pytest.raises(Unavailable), store.connect(catalog_db):
        pass


# ---------------------------------------------------------------------------------------------
# The cache


def test_the_cache_keeps_values_until_a_rebuild_replaces_the_file(minimal_build: BuildReport,
                                                                  tmp_path: Path) -> None:
    catalog_db = _copy(minimal_build, tmp_path / "build")
    loads: list[Path] = []

    def load(path: Path) -> object:
        loads.append(path)
        return object()

    first = store.cached(catalog_db, "test.value", load)
    assert store.cached(catalog_db, "test.value", load) is first and len(loads) == 1
    exercises, content, index = readers.exercises(catalog_db), get_content(catalog_db), get_index(catalog_db=catalog_db)
    retriever = get_retriever(catalog_db, Settings(EMBEDDING_MODEL="none"))
    assert readers.exercises(catalog_db) is exercises and get_content(catalog_db) is content
    assert get_index(catalog_db=catalog_db) is index
    assert get_retriever(catalog_db, Settings(EMBEDDING_MODEL="none")) is retriever
    assert content.exercises is exercises  # one exercise record type, loaded once

    # A rebuild writes a new file and renames it over the old one (same size, maybe the same mtime).
    rebuilt = _copy(minimal_build, tmp_path / "staging")
    os.utime(rebuilt, ns=(catalog_db.stat().st_atime_ns, catalog_db.stat().st_mtime_ns))
    os.replace(rebuilt, catalog_db)
    second = store.cached(catalog_db, "test.value", load)
    assert second is not first and len(loads) == 2
    assert store.cached(catalog_db, "test.value", load) is second
    assert readers.exercises(catalog_db) is not exercises and get_content(catalog_db) is not content
    assert get_index(catalog_db=catalog_db) is not index
    assert get_retriever(catalog_db, Settings(EMBEDDING_MODEL="none")) is not retriever
    assert readers.exercises(catalog_db)[DOUBLE_IT] == exercises[DOUBLE_IT]


def test_the_cache_loads_once_for_many_threads(minimal_build: BuildReport, tmp_path: Path) -> None:
    catalog_db = _copy(minimal_build, tmp_path)
    loads: list[int] = []
    start = threading.Barrier(8)

    def load(path: Path) -> object:
        loads.append(1)
        time.sleep(0.05)
        return object()

    results: list[object] = []

    def ask() -> None:
        start.wait()
        results.append(store.cached(catalog_db, "test.threads", load))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len({id(r) for r in results}) == 1


# ---------------------------------------------------------------------------------------------
# One place for catalog SQL

CATALOG_SQL = re.compile(r"\b(?:FROM|JOIN)\s+\[?(?:exercises|lessons|quizzes|quiz_items|tracks|modules|courses|"
                         r"domains|lesson_chunks(?:_fts)?|chunk_vectors|certifications|achievements|meta)\b\]?"
                         r"|sqlite3\.connect|store\.connect")
# module -> what may match there, and why
ALLOWED = {
    "sidecar/gamification/service.py": ({"FROM achievements"}, "the learner database's mirror of the definitions"),
    # backs up and restores the learner database file with SQLite's backup API; never opens catalog.db
    "sidecar/db/backup.py": ({"sqlite3.connect"}, "the learner database's own file, copied page by page"),
}


def test_catalog_sql_is_only_in_sidecar_catalog_and_the_compiler() -> None:
    found: list[str] = []
    for path in sorted((REPO_ROOT / "sidecar").rglob("*.py")):
        name = path.relative_to(REPO_ROOT).as_posix()
        if name.startswith(("sidecar/catalog/", "sidecar/compiler/")):
            continue
        allowed = ALLOWED.get(name, (set(), ""))[0]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in CATALOG_SQL.finditer(line):
                if " ".join(match.group(0).split()) not in allowed:
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "catalog.db is read through sidecar/catalog (readers.py, chunks.py):\n" + "\n".join(found)
