"""Dashboard query latency over generated learners and statements, on SQLite or PostgreSQL (issue #17).

It generates organisations of teams of learners (one manager per team, one required course per team) and
statements spread over the last --days days straight into the tables (PostgreSQL: COPY; SQLite:
executemany), folds them into the rollups (timed: statements per second), then times each dashboard
through its service function, --repeat times each on different subjects, and prints p50 and p95 per
dashboard. Targets (the issue): p95 under 500 ms per dashboard with PostgreSQL at 100,000 learners and
10,000,000 statements, SQLite at 10,000 and 1,000,000; those are the defaults. Smaller runs:

  .venv/bin/python bench/bench_analytics.py --db sqlite --learners 2000 --events 200000
  .venv/bin/python bench/bench_analytics.py --db postgresql://postgres@127.0.0.1:5432/postgres \\
      --learners 10000 --events 1000000

With a PostgreSQL URL, a database `drona_bench_analytics` is created beside the one named (and dropped at
the end unless --keep). The catalog is the demo course's (built once into a temporary folder) unless
--catalog names a catalog.db.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sidecar.analytics import rollup  # noqa: E402
from sidecar.analytics import service as analytics  # noqa: E402
from sidecar.app import freeze_startup_heap  # noqa: E402
from sidecar.auth.tables import User  # noqa: E402
from sidecar.catalog.service import get_index  # noqa: E402
from sidecar.db.engine import get_engine, read_session  # noqa: E402
from sidecar.db.migrate import upgrade  # noqa: E402
from sidecar.settings import Settings  # noqa: E402

SKILLS = [f"skill-{i:02d}" for i in range(40)]
# verb, object type, share of statements
VERBS = [("viewed", "lesson", 0.22), ("completed", "lesson", 0.08), ("attempted", "exercise", 0.30),
         ("asked", "exercise", 0.08), ("interacted", "tutor", 0.10), ("answered", "quiz_item", 0.16),
         ("reviewed", "quiz_item", 0.06)]
STATEMENT_COLUMNS = ("seq", "id", "user_id", "verb", "object_type", "object_id", "course_id", "skills", "success",
                     "score", "duration_s", "timestamp", "stored", "statement")


def _catalog(path: str | None) -> Path:
    if path:
        return Path(path)
    from sidecar.compiler.build import build

    build_dir = Path(tempfile.mkdtemp(prefix="drona-bench-analytics-"))
    build(repo=REPO, content_dir=REPO / "content", build_dir=build_dir, log=lambda _: None, check_code=False)
    return build_dir / "catalog.db"


def _database(db: str, keep: bool, reuse: bool = False) -> tuple[str, Callable[[], None]]:
    if db == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="drona-bench-analytics-db-"))
        return f"sqlite:///{folder / 'learners.db'}", lambda: None
    import psycopg

    name = "drona_bench_analytics"
    admin = db
    if not reuse:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        get_engine(url).dispose()
        if not keep and not reuse:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


class Writer:
    """Bulk rows into a table: COPY on PostgreSQL, executemany on SQLite (one transaction per chunk)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")
        else:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))

    def rows(self, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]], chunk: int = 50_000) -> int:
        count = 0
        if self.sqlite:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) >= chunk:
                    self.conn.executemany(sql, batch)
                    self.conn.commit()
                    count += len(batch)
                    batch = []
            if batch:
                self.conn.executemany(sql, batch)
                self.conn.commit()
                count += len(batch)
            return count
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(json.dumps(v) if isinstance(v, (list, dict)) else v for v in row))
                count += 1
        self.conn.commit()
        return count

    def close(self) -> None:
        self.conn.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def generate(url: str, *, learners: int, events: int, org_size: int, team_size: int, days: int,
             catalog: Path, now: datetime, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    index = get_index(catalog_db=catalog)
    courses = [c for c in index.courses.values() if any(index.modules[m].lesson_ids for m in c.module_ids)]
    lessons = {c.id: [lid for m in c.module_ids for lid in index.modules[m].lesson_ids] for c in courses}
    writer = Writer(url)
    created = now - timedelta(days=days + 1)
    orgs = [str(uuid.uuid4()) for _ in range(max(1, -(-learners // org_size)))]
    writer.rows("organizations", ("id", "name", "created_at"),
                iter([(o, f"Org {i}", created) for i, o in enumerate(orgs)]))
    users = [str(uuid.uuid4()) for _ in range(learners)]
    root = str(uuid.uuid4())
    user_org = {u: orgs[i // org_size] for i, u in enumerate(users)}

    def user_rows() -> Iterator[tuple[Any, ...]]:
        yield (root, "root@bench.example", "x", "Root", "super_admin", None, True, created, created)
        for i, u in enumerate(users):
            yield (u, f"u{i}@bench.example", "x", f"Learner {i}", "learner", user_org[u], True, created, created)

    writer.rows("users", ("id", "email", "password_hash", "display_name", "role", "organization_id", "is_active",
                          "created_at", "password_changed_at"), user_rows())
    teams: list[tuple[str, str, list[str]]] = []
    for i in range(0, learners, team_size):
        members = users[i:i + team_size]
        teams.append((str(uuid.uuid4()), user_org[members[0]], members))
    writer.rows("teams", ("id", "organization_id", "name", "kind", "created_at"),
                iter([(t, o, f"Team {i}", "team", created) for i, (t, o, _) in enumerate(teams)]))
    writer.rows("team_members", ("team_id", "user_id", "role"),
                iter([(t, u, "manager" if j == 0 else "member") for t, o, ms in teams if ms
                      for j, u in enumerate(ms) if user_org[u] == o]))
    writer.rows("assignments", ("id", "organization_id", "course_id", "team_id", "user_id", "due_at", "created_at"),
                iter([(str(uuid.uuid4()), o, rng.choice(courses).id, t, None,
                       now + timedelta(days=rng.randint(-20, 40)), created) for t, o, _ in teams]))
    per_learner = max(1, events // max(1, learners))
    cumulative, total = [], 0.0
    for verb, kind, share in VERBS:
        total += share
        cumulative.append((total, verb, kind))

    def statements() -> Iterator[tuple[Any, ...]]:
        seq = 0
        made = 0
        for n, u in enumerate(users):
            count = per_learner if n < learners - 1 else events - made
            if count <= 0:
                break
            course = courses[n % len(courses)]
            course_lessons = lessons[course.id]
            skills = rng.sample(SKILLS, 4)
            skill_p = {s: rng.uniform(0.4, 0.9) for s in skills}
            start = now - timedelta(days=rng.uniform(1, days))
            at = start
            done = 0
            for _ in range(count):
                gap = rng.expovariate(1 / 240) if rng.random() < 0.9 else rng.expovariate(1 / 86400)
                at = min(now - timedelta(minutes=1), at + timedelta(seconds=gap))
                r = rng.random()
                verb, kind = next((v, k) for c, v, k in cumulative if r <= c) if r <= total else VERBS[0][:2]
                skill = rng.choice(skills)
                success = None
                if verb in ("attempted", "answered", "reviewed"):
                    success = rng.random() < skill_p[skill]
                if verb == "completed":
                    object_id = course_lessons[done % len(course_lessons)]
                    done += 1
                else:
                    object_id = f"{kind}-{rng.randrange(50)}"
                seq += 1
                made += 1
                yield (seq, str(uuid.UUID(int=rng.getrandbits(128), version=4)), u, verb, kind, object_id, course.id,
                       [skill] if verb in ("attempted", "answered", "reviewed", "asked") else [], success, None,
                       rng.uniform(30, 600) if verb == "attempted" else None, at, at, {})

    started = time.perf_counter()
    written = writer.rows("xapi_statements", STATEMENT_COLUMNS, statements())
    if not writer.sqlite:
        with writer.conn.cursor() as cur:
            cur.execute("SELECT setval(pg_get_serial_sequence('xapi_statements', 'seq'), %s)", (written,))
            cur.execute("ANALYZE")
        writer.conn.commit()
    load_s = time.perf_counter() - started
    writer.close()
    return {"orgs": orgs, "teams": teams, "users": users, "root": root, "statements": written, "load_s": load_s}


def existing_world(url: str) -> dict[str, Any]:
    """What `generate` returned, read back from a database an earlier run kept (--reuse)."""
    from sqlalchemy import text

    with get_engine(url).connect() as conn:
        root = conn.execute(text("SELECT id FROM users WHERE role = 'super_admin' LIMIT 1")).scalar_one()
        users = list(conn.execute(text("SELECT id FROM users WHERE role = 'learner' ORDER BY email")).scalars())
        orgs = list(conn.execute(text("SELECT id FROM organizations ORDER BY name")).scalars())
        members: dict[str, list[str]] = {}
        team_org: dict[str, str] = {}
        for team_id, org_id, user_id in conn.execute(text(
                "SELECT t.id, t.organization_id, m.user_id FROM teams t JOIN team_members m ON m.team_id = t.id "
                "ORDER BY t.id, m.role, m.user_id")):  # 'manager' sorts before 'member': the manager first
            members.setdefault(team_id, []).append(user_id)
            team_org[team_id] = org_id
        statements = conn.execute(text("SELECT count(*) FROM xapi_statements")).scalar_one()
    teams = [(t, team_org[t], ms) for t, ms in members.items()]
    return {"orgs": orgs, "teams": teams, "users": users, "root": root, "statements": statements, "load_s": 0.0}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="`sqlite`, or a PostgreSQL URL (a database is created)")
    parser.add_argument("--learners", type=int, default=None, help="default: 10,000 (SQLite), 100,000 (PostgreSQL)")
    parser.add_argument("--events", type=int, default=None, help="default: 1,000,000 (SQLite), 10,000,000 (PG)")
    parser.add_argument("--org-size", type=int, default=2000, help="learners per organisation")
    parser.add_argument("--team-size", type=int, default=10, help="people per team (one is its manager)")
    parser.add_argument("--days", type=int, default=120, help="statements spread over this many days")
    parser.add_argument("--repeat", type=int, default=30, help="requests per dashboard")
    parser.add_argument("--catalog", default=None, help="a catalog.db (default: the demo course, built now)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL: time the dashboards on the database an earlier --keep run left (no "
                             "generating, no fold; kept afterwards)")
    args = parser.parse_args()
    sqlite = args.db == "sqlite"
    learners = args.learners or (10_000 if sqlite else 100_000)
    events = args.events or (1_000_000 if sqlite else 10_000_000)
    catalog = _catalog(args.catalog)
    url, cleanup = _database(args.db, args.keep, reuse=args.reuse and not sqlite)
    try:
        upgrade(url)
        now = datetime.now(UTC).replace(microsecond=0)
        print(f"database: {'SQLite' if sqlite else 'PostgreSQL'}; {learners:,} learners, {events:,} statements, "
              f"organisations of {args.org_size:,}, teams of {args.team_size}", flush=True)
        if args.reuse and not sqlite:
            world = existing_world(url)
            print(f"reusing {world['statements']:,} statements, {len(world['users']):,} learners", flush=True)
        else:
            world = generate(url, learners=learners, events=events, org_size=args.org_size,
                             team_size=args.team_size, days=args.days, catalog=catalog, now=now, seed=args.seed)
            print(f"generated {world['statements']:,} statements in {world['load_s']:.1f} s", flush=True)
        engine = get_engine(url)
        started = time.perf_counter()
        folded = rollup.fold(engine=engine)
        fold_s = time.perf_counter() - started
        print(f"folded {folded:,} statements in {fold_s:.1f} s ({folded / max(fold_s, 1e-9):,.0f}/s)", flush=True)
        if not sqlite:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        settings = Settings(DRONA_BUILD_DIR=catalog.parent, DATABASE_URL=url)
        rng = random.Random(args.seed + 1)
        with read_session(engine) as session:
            root = session.get(User, world["root"])
            learners_sample = [session.get(User, u) for u in rng.sample(world["users"], min(args.repeat, learners))]
            teams_sample = rng.sample(world["teams"], min(args.repeat, len(world["teams"])))
            managers = {t: session.get(User, ms[0]) for t, _, ms in teams_sample}
        assert root is not None
        orgs = world["orgs"]

        def team(i: int) -> Any:
            team_id = teams_sample[i % len(teams_sample)][0]
            return analytics.team_dashboard(engine=engine, settings=settings, catalog_db=catalog,
                                            actor=managers[team_id], team_id=team_id)

        cases: dict[str, Callable[[int], Any]] = {
            "individual": lambda i: analytics.learner_dashboard(
                engine=engine, settings=settings, catalog_db=catalog, actor=learners_sample[i % len(learners_sample)]),
            "team": team,
            "organization": lambda i: analytics.org_dashboard(
                engine=engine, settings=settings, catalog_db=catalog, actor=root, org_id=orgs[i % len(orgs)]),
            "platform": lambda i: analytics.platform_dashboard(engine=engine, settings=settings, actor=root),
        }
        freeze_startup_heap()  # as the server does once started (sidecar/app.py)
        print(f"{'dashboard':<14}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}  (n={args.repeat})")
        results = {}
        for name, call in cases.items():
            call(0)  # warm: caches of the catalog, the query plans
            samples = []
            for i in range(args.repeat):
                t = time.perf_counter()
                call(i)
                samples.append((time.perf_counter() - t) * 1000)
            p50, p95 = _percentiles(samples)
            results[name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
            print(f"{name:<14}{p50:>10.1f}{p95:>10.1f}{max(samples):>10.1f}", flush=True)
        print(json.dumps({"db": "sqlite" if sqlite else "postgresql", "learners": learners, "events": events,
                          "fold_per_s": round(folded / max(fold_s, 1e-9)), "dashboards": results}))
    finally:
        cleanup()


if __name__ == "__main__":
    main()
