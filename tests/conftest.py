"""Shared fixtures. Fixtures double as demo data: the demo build is the real demo course."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from sidecar.app import create_app
from sidecar.compiler.build import BuildReport, build
from sidecar.courseware.harness import outside_host_loop
from sidecar.db.engine import get_engine
from sidecar.db.migrate import upgrade
from sidecar.settings import REPO_ROOT, Settings

MINIMAL = Path(__file__).parent / "fixtures" / "minimal"


@pytest.fixture(autouse=True)
def _no_foreign_running_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Playwright's sync API (the session-wide browser of tests/e2e) leaves its event loop marked as
    running in the main thread between calls. A test outside e2e that starts a loop of its own would
    be refused ("another loop is running"), as a program would be under Pyodide's host loop: step out
    of it the way the harness does. Never under tests/e2e: Playwright's own calls need its loop."""
    if "e2e" in request.node.path.parts or request.node.get_closest_marker("e2e") is not None:
        yield
        return
    with outside_host_loop():
        yield


@pytest.fixture
def content_tree(tmp_path: Path) -> Path:
    """A writable copy of the minimal valid content tree; returns the copy's root."""
    shutil.copytree(MINIMAL, tmp_path, dirs_exist_ok=True)
    return tmp_path


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The demo course (content/) built once per test session. Its authored programs are not run again
    here (check_code=False, as tests/e2e builds it): scripts/test runs them all in `drona validate`
    before pytest, and running its 1,500 programs here cost the suite minutes for nothing new."""
    build_dir = tmp_path_factory.mktemp("demo-build")
    return build(repo=REPO_ROOT, content_dir=REPO_ROOT / "content", build_dir=build_dir, check_code=False,
                 log=lambda _: None)


@pytest.fixture(scope="session")
def minimal_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The minimal fixture course built once per session (fast; known ids)."""
    return build(repo=REPO_ROOT, content_dir=MINIMAL / "content", build_dir=tmp_path_factory.mktemp("minimal-build"),
                 log=lambda _: None)


# ---------------------------------------------------------------------------------------------
# Learner databases: SQLite always, PostgreSQL whenever reachable (CI requires it).

PG_ADMIN_URL = os.environ.get("DRONA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("DRONA_REQUIRE_POSTGRES") == "1"


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    if not _pg_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (DRONA_REQUIRE_POSTGRES=1) but {PG_ADMIN_URL} is unreachable")
        yield None
        return
    name = f"drona_test_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    get_engine(url).dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_pg(url: str) -> None:
    from sidecar.db.registry import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with get_engine(url).begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite learner database migrated once per session. Tests get a copy of the file: the
    same database as migrating their own, without running every migration again for each of hundreds
    of tests."""
    path = tmp_path_factory.mktemp("migrated-sqlite") / "learners.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    get_engine(url).dispose()  # its last connection closed: the write-ahead log is folded into the file
    assert not path.with_name("learners.db-wal").exists(), "the template must be one self-contained file"
    return path


def _fresh_sqlite(migrated_sqlite: Path, tmp_path: Path) -> str:
    path = tmp_path / "learners.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str | None) -> Iterator[str]:
    """A migrated, empty learner database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = _fresh_sqlite(request.getfixturevalue("migrated_sqlite"), tmp_path)
        yield url
        get_engine(url).dispose()
        return
    if pg_url is None:
        pytest.skip("PostgreSQL is not reachable here (CI sets DRONA_REQUIRE_POSTGRES=1 and starts it)")
    _truncate_pg(pg_url)
    yield pg_url


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    return _fresh_sqlite(migrated_sqlite, tmp_path)


# ---------------------------------------------------------------------------------------------
# Redis: tests that need it skip where it is not reachable; DRONA_REQUIRE_REDIS=1 (CI, which starts
# it) turns that into a failure, so they never skip silently there.

REDIS_URL = os.environ.get("DRONA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_REDIS = os.environ.get("DRONA_REQUIRE_REDIS") == "1"


@pytest.fixture
def redis_url() -> str:
    """The test Redis database (DRONA_TEST_REDIS_URL, database 15 by default), emptied."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis is required (DRONA_REQUIRE_REDIS=1) but {REDIS_URL} is unreachable: {exc}")
        pytest.skip("Redis is not reachable here (CI sets DRONA_REQUIRE_REDIS=1 and starts it)")
    client.flushdb()
    client.close()
    return REDIS_URL


class ApiClient(TestClient):
    """A TestClient that behaves like our front end: it sends the CSRF token on every request."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.__enter__()  # runs the app's lifespan (migrations, achievement sync)
        self.get("/api/auth/csrf")

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        # Like the site's fetch helper: echo the current drona_csrf cookie (it rotates at sign-in).
        headers = dict(kwargs.pop("headers", None) or {})
        token = self.cookies.get("drona_csrf")
        if token and "X-CSRF-Token" not in headers:
            headers["X-CSRF-Token"] = token
        return super().request(method, url, headers=headers, **kwargs)

    def signup(self, email: str, password: str = "correct horse battery", name: str = "Ada") -> dict[str, Any]:
        response = self.post("/api/auth/signup", json={"email": email, "password": password, "display_name": name})
        assert response.status_code == 201, response.text
        return dict(response.json())


def client_factory(built: BuildReport, *, serve_site: bool = True) -> Iterator[Any]:
    """Yields a factory of API clients (each its own browser: cookies) over a build and a given
    database; closes them after the test. For fixtures over a build of their own."""
    clients: list[ApiClient] = []

    def factory(database_url: str, **settings: Any) -> ApiClient:
        config = Settings(DRONA_BUILD_DIR=built.site_dir.parent, DATABASE_URL=database_url,
                          DRONA_DATA_DIR=built.site_dir.parent / "data", **settings)
        client = ApiClient(create_app(config, serve_site=serve_site))
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def make_client(minimal_build: BuildReport) -> Iterator[Any]:
    """Builds API clients (each its own browser: cookies) over the minimal catalog and a given database."""
    yield from client_factory(minimal_build)


# The real grading sandbox needs Node.js and node_modules/pyodide; CI sets DRONA_REQUIRE_NODE=1, so there a
# missing runtime fails the tests instead of skipping them.
needs_node = pytest.mark.skipif(
    os.environ.get("DRONA_REQUIRE_NODE") != "1"
    and (shutil.which("node") is None or not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file()),
    reason="needs Node.js and node_modules/pyodide (npm ci)")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    """One real grading sandbox (a host process and its isolates) per test module."""
    from sidecar.sandbox import Sandbox

    box = Sandbox(pool_size=1)
    yield box
    box.close()


@contextlib.contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """The app on a real uvicorn server (one event loop, real threads) on a free loopback port; yields its base URL."""
    import threading
    import time

    import httpx
    import uvicorn

    from tests.engine_repo import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
