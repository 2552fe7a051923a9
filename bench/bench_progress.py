"""Progress-event throughput and latency against a real `drona serve`, on SQLite and PostgreSQL.

For 1, 16 and 64 concurrent clients (each its own learner, keep-alive connection) it prints
requests/s, p50/p99 latency and the server's CPU time per request for POST /api/progress/events
beside two trivial endpoints of the same server, then counts the stored events: none may be lost
or duplicated. The endpoints take turns in short slices (--rounds), so that other programs loading
a shared machine skew all three alike.
- GET /api/health: no session, no database: the server's bare ceiling.
- GET /api/me: returns the signed-in user, so it pays what every signed-in request pays (session
  cookie lookup, role/CSRF dependencies) and nothing else: the ceiling for an authenticated endpoint.
Target on the 2-core reference machine: at 64 clients, at least half the trivial endpoint's
throughput and p99 under 100 ms on SQLite, with zero lost or duplicated events.
Note that the clients are closed-loop (each sends its next request when the last one returns), so
by Little's law the mean latency is clients / throughput: at 64 clients, a p99 under 100 ms needs
well over 640 requests/s, which the bare /api/health itself may not reach on a loaded machine.

Run: .venv/bin/python bench/bench_progress.py [--seconds 5] [--rounds 3] [--postgres URL] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


class Conn:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less than the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: object | None = None) -> tuple[int, bytes]:
        try:
            return await self._request(method, path, body)
        except (ConnectionError, IndexError, asyncio.IncompleteReadError):
            # The server closed an idle keep-alive connection: reconnect once and resend.
            self.writer = None
            return await self._request(method, path, body)

    async def _request(self, method: str, path: str, body: object | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode() if body is not None else b""
        headers = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}", "Connection: keep-alive",
                   f"Content-Length: {len(payload)}"]
        if payload:
            headers.append("Content-Type: application/json")
        if self.cookies:
            headers.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
            if "drona_csrf" in self.cookies:
                headers.append(f"X-CSRF-Token: {self.cookies['drona_csrf']}")
        self.writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + payload)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        chunked = False
        while True:
            line = (await self.reader.readline()).decode("latin-1").strip()
            if not line:
                break
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name.lower() == "set-cookie":
                key, _, rest = value.strip().partition("=")
                self.cookies[key] = rest.split(";")[0]
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
            return status, data
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def make_learners(port: int, count: int, tag: str) -> list[Conn]:
    conns = []
    for i in range(count):
        conn = Conn(port)
        await conn.request("GET", "/api/auth/csrf")
        status, body = await conn.request("POST", "/api/auth/signup", {
            "email": f"bench-{tag}-{i}@example.com", "password": "benchmark password", "display_name": f"B{i}"})
        assert status == 201, body
        conns.append(conn)
    return conns


async def run_load(conns: list[Conn], seconds: float, kind: str, lessons: list[str]) -> tuple[list[float], int]:
    latencies: list[float] = []
    ok = 0
    deadline = time.perf_counter() + seconds

    async def worker(conn: Conn, n: int) -> None:
        nonlocal ok
        i = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            if kind.startswith("/"):
                status, _ = await conn.request("GET", kind)
            else:
                lesson = lessons[(n + i) % len(lessons)]
                status, _ = await conn.request("POST", "/api/progress/events", {
                    "event_id": uuid.uuid4().hex, "lesson_id": lesson, "kind": "started" if i % 2 else "completed"})
            latencies.append(time.perf_counter() - t0)
            if status == 200:
                ok += 1
            elif status != 409:
                raise AssertionError(f"unexpected status {status}")
            i += 1

    await asyncio.gather(*(worker(c, n) for n, c in enumerate(conns)))
    return latencies, ok


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def count_events(database_url: str) -> int:
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as conn:
            return int(conn.execute("SELECT count(*) FROM progress_events").fetchone()[0])
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM progress_events").fetchone()
        return int(row[0]) if row else 0


def concept_lessons(catalog_db: Path) -> list[str]:
    with sqlite3.connect(catalog_db) as conn:
        return [r[0] for r in conn.execute(
            "SELECT l.id FROM lessons l WHERE NOT EXISTS (SELECT 1 FROM exercises e WHERE e.lesson_id = l.id) "
            "AND NOT EXISTS (SELECT 1 FROM quizzes q WHERE q.lesson_id = l.id)")]


def server_cpu(pid: int) -> float:
    """CPU seconds the server process used so far (Linux); 0 elsewhere. Unlike throughput, CPU per
    request hardly moves when other programs load the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


KINDS = (("GET /api/health", "/api/health"), ("GET /api/me", "/api/me"), ("POST /api/progress/events", "progress"))


async def bench(port: int, pid: int, database_url: str, seconds: float, rounds: int, lessons: list[str]) -> None:
    for clients in (1, 16, 64):
        conns = await make_learners(port, clients, f"{clients}-{uuid.uuid4().hex[:6]}")
        before = count_events(database_url)
        latencies: dict[str, list[float]] = {kind: [] for _, kind in KINDS}
        cpu = dict.fromkeys(latencies, 0.0)
        ok = 0
        # The kinds take turns in short slices, so a change in the machine's load hits all of them.
        for _ in range(rounds):
            for _, kind in KINDS:
                cpu_before = server_cpu(pid)
                slice_latencies, accepted = await run_load(conns, seconds / rounds, kind, lessons)
                cpu[kind] += server_cpu(pid) - cpu_before
                latencies[kind] += slice_latencies
                ok += accepted if kind == "progress" else 0
        stored = count_events(database_url) - before
        for conn in conns:
            await conn.close()
        rps = {kind: len(lat) / seconds for kind, lat in latencies.items()}
        cpu_ms = {kind: 1000 * cpu[kind] / max(len(lat), 1) for kind, lat in latencies.items()}
        lines = [f"{label:<26}{rps[kind]:7.0f} req/s  p50 {pct(latencies[kind], 50):6.1f} ms  "
                 f"p99 {pct(latencies[kind], 99):6.1f} ms  server CPU {cpu_ms[kind]:5.2f} ms/req"
                 for label, kind in KINDS]
        print(f"  {clients:>2} clients  " + "\n              ".join(lines) + "\n"
              f"              progress = {100 * rps['progress'] / rps['/api/health']:.0f}% of /api/health's "
              f"throughput, {100 * rps['progress'] / rps['/api/me']:.0f}% of /api/me's\n"
              f"              events: {ok} accepted, {stored} stored, lost {max(ok - stored, 0)}, "
              f"duplicated {max(stored - ok, 0)}")


def serve(database_url: str, build_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DRONA_DATA_DIR": str(build_dir / "data"),
           "LOGIN_MAX_FAILURES": "1000"}
    proc = subprocess.Popen([sys.executable, "-m", "sidecar.cli", "serve", "--port", str(port), "--build-dir",
                             str(build_dir), "--no-build"], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("drona serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="load time per endpoint and client count")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved slices the seconds are split into")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from sidecar.compiler.build import build
    from sidecar.db.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        build_dir = Path(tmp) / "build"
        build(repo=REPO, content_dir=REPO / "content", build_dir=build_dir, log=lambda _: None)
        lessons = concept_lessons(build_dir / "catalog.db")
        targets = [("SQLite", f"sqlite:///{tmp}/bench.db")]
        if not args.skip_postgres:
            name = f"drona_bench_{os.getpid()}"
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            targets.append(("PostgreSQL", args.postgres.rsplit("/", 1)[0] + f"/{name}"))
        try:
            for label, url in targets:
                upgrade(url)
                proc, port = serve(url, build_dir)
                print(f"{label} ({args.seconds:g} s per run, one `drona serve` process):")
                try:
                    asyncio.run(bench(port, proc.pid, url, args.seconds, args.rounds, lessons))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
        finally:
            if not args.skip_postgres:
                from sidecar.db.engine import get_engine

                get_engine(targets[-1][1]).dispose()
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "drona_bench_{os.getpid()}" WITH (FORCE)')


if __name__ == "__main__":
    main()
