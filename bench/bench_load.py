#!/usr/bin/env python3
"""Open-loop load at a fixed arrival rate against a real sidecar: latency per endpoint, and no lost events.

    .venv/bin/python bench/bench_load.py --scenario progress                 # 200/s for 30 s (the target)
    .venv/bin/python bench/bench_load.py --scenario mix                      # 100/s for 30 s (the target)
    .venv/bin/python bench/bench_load.py --scenario progress --rate 50 --seconds 10
    .venv/bin/python bench/bench_load.py --scenario mix --url http://127.0.0.1:8000 \\
        --database sqlite:///data/drona.db                                   # a running server

What it does:
1. starts the sidecar itself (the fixture course tests/fixtures/minimal built into a throwaway
   folder; uvicorn in a subprocess on a free 127.0.0.1 port; a throwaway SQLite database; the
   tutor offline), or uses the server at --url;
2. signs up --learners learners (each its own session cookie and CSRF token, like a browser tab)
   and onboards them (role, then a path through one of the catalog's tracks);
3. sends requests at a fixed arrival rate, open loop: arrival times are drawn up front with
   exponential (Poisson) gaps and each request is started at its arrival time as its own task,
   whether or not earlier ones have finished. A slow server therefore does not lower the offered
   load, and latency is measured from the scheduled arrival time, not from when the request
   happened to leave (no coordinated omission: a closed-loop client such as bench_progress.py
   waits for each answer and so hides queueing);
4. prints per endpoint: requests, offered and achieved rate, p50/p95/p99 latency (ms) and errors,
   then the overall figures, the issue's target beside them (MISSED when missed), and one JSON line;
5. for the progress events (both scenarios), checks the database afterwards: every acknowledged
   (2xx) event is stored exactly once (lost / duplicated counts), and re-sending a sample of
   acknowledged events is idempotent (answered `duplicate: true`, still one row).

Scenarios:
- progress: POST /api/progress/events only ("started" for any lesson, "completed" for lessons that
  complete on reading). Target (issue #18): 200/s with p99 < 100 ms and zero lost/duplicated.
- mix: what signed-in learners do besides submitting code, by weight (MIX below): the page-load
  GETs (auth/session and gamification/profile on every page; the dashboard's progress, catalog,
  progress/path and review), progress events and tutor turns (POST /api/ai/chat, offline policy,
  read to the `done` event). Target: 100/s with p99 < 300 ms.

The generator runs in this process (httpx); "sched lag" says how late it started requests. If its
p99 is large the machine, not the server, limited the run. The exit status is 0 even when a
target is missed (it is a benchmark); 1 only when the run itself could not be done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
# The fuzzer's way of building the fixture course and running a throwaway server (scripts/fuzz_api.py).
sys.path.insert(0, str(ROOT / "scripts"))
import fuzz_api  # noqa: E402
from fuzz_api import build_catalog, free_port, stop  # noqa: E402

HOST = "127.0.0.1"
PASSWORD = "load testing is fun 123"  # noqa: S105 - throwaway learners of a benchmark
# What a learner's browser sends, by weight (percent of all requests). Every page asks for the
# session and, signed in, the gamification profile (site/src/session.js); the dashboard adds
# progress, catalog, progress/path and review (site/src/account/dashboard.js); lesson pages send
# progress events (started on open, completed at the end); some learners talk to the tutor.
MIX: dict[str, int] = {
    "GET /api/auth/session": 15,
    "GET /api/gamification/profile": 15,
    "GET /api/progress": 12,
    "GET /api/catalog": 8,
    "GET /api/progress/path": 5,
    "GET /api/review": 5,
    "POST /api/progress/events": 30,
    "POST /api/ai/chat": 10,
}
TARGETS = {"progress": {"rate": 200.0, "p99_ms": 100.0, "no_loss": True},
           "mix": {"rate": 100.0, "p99_ms": 300.0, "no_loss": False}}
DEFAULT_RATE = {"progress": 200.0, "mix": 100.0}
TUTOR_QUESTIONS = ("How do I print a value?", "Can you explain this lesson?", "What is a variable?",
                   "Why does my loop never stop?", "Give me an example, please.")


def log(message: str) -> None:
    print(f"[load] {message}", flush=True)


# --- the server ---------------------------------------------------------------------------------

def start_server(work: Path, build_dir: Path, port: int, database: Path) -> subprocess.Popen[bytes]:
    # The fuzzer's server: offline, no outside services, the per-learner tutor limit lifted (a guard, not
    # what we measure); gamification keeps its default (on), so progress events award XP and streaks.
    proc, _log = fuzz_api.start_server(work, build_dir, port, database)
    return proc



# --- learners and lessons -------------------------------------------------------------------------

@dataclass
class Learner:
    user_id: str
    client: httpx.AsyncClient


async def sign_up(origin: str, n: int, tag: str, timeout: float) -> Learner:
    """A fresh learner with the cookies and headers a signed-in browser tab sends."""
    client = httpx.AsyncClient(base_url=origin, timeout=timeout, trust_env=False, follow_redirects=False,
                               limits=httpx.Limits(max_connections=200, max_keepalive_connections=20))
    response = await client.get("/api/auth/csrf")
    response.raise_for_status()
    token = response.json()["csrf_token"]
    response = await client.post("/api/auth/signup", headers={"X-CSRF-Token": token, "Origin": origin}, json={
        "email": f"load-{tag}-{n}@example.com", "password": PASSWORD, "display_name": f"Load {n}"})
    if response.status_code != 201:
        await client.aclose()
        raise RuntimeError(f"sign-up failed: {response.status_code} {response.text[:300]}")
    # The CSRF token is bound to the session: the one set at sign-up, sent on every unsafe request.
    client.headers.update({"X-CSRF-Token": client.cookies["drona_csrf"], "Origin": origin})
    return Learner(user_id=str(response.json()["id"]), client=client)


async def onboard(learner: Learner, track_id: str) -> None:
    for path, body in (("/api/onboarding/role", {"learner_kind": "student"}),
                       ("/api/onboarding/complete", {"track_id": track_id, "timezone": "UTC"})):
        response = await learner.client.post(path, json=body)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"onboarding failed at {path}: {response.status_code} {response.text[:300]}")


def readable_lessons(catalog: Any) -> tuple[list[str], list[str]]:
    """All lesson ids of GET /api/catalog, and those that complete on reading (no exercise or quiz)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "exercise_ids" in node and "quiz_ids" in node and "id" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(catalog)
    return [n["id"] for n in found], [n["id"] for n in found if not n["exercise_ids"] and not n["quiz_ids"]]


# --- the load -----------------------------------------------------------------------------------

@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # seconds, per endpoint, 2xx only
    errors: dict[str, Counter[str]] = field(default_factory=dict)  # per endpoint: status or exception
    sent: Counter[str] = field(default_factory=Counter)
    lag: list[float] = field(default_factory=list)  # how late the generator started each request
    acked: list[tuple[str, str]] = field(default_factory=list)  # (user_id, event_id) answered 2xx
    bodies: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    unanswered: list[tuple[str, str]] = field(default_factory=list)  # events with an error or no answer
    first_at: float = 0.0
    last_done: float = 0.0


def event_body(rng: random.Random, lessons: list[str], readable: list[str]) -> dict[str, Any]:
    # A lesson page sends "started" on open and "completed" at the end; only reading lessons
    # complete from the browser (the others answer 409 by design, which we don't want to measure).
    if readable and rng.random() < 0.4:
        return {"event_id": uuid.uuid4().hex, "lesson_id": rng.choice(readable), "kind": "completed"}
    return {"event_id": uuid.uuid4().hex, "lesson_id": rng.choice(lessons), "kind": "started"}


def sse_done(text: str) -> bool:
    """Whether a tutor reply (Server-Sent Events) ended with its `done` event."""
    blocks = [b for b in text.strip().split("\n\n") if b]
    if not blocks:
        return False
    last = dict(line.split(": ", 1) for line in blocks[-1].splitlines() if ": " in line)
    return last.get("event") == "done"


async def one_request(name: str, learner: Learner, scheduled: float, stats: Stats, rng: random.Random,
                      lessons: list[str], readable: list[str]) -> None:
    stats.lag.append(time.perf_counter() - scheduled)
    stats.sent[name] += 1
    method, path = name.split(" ", 1)
    body: dict[str, Any] | None = None
    if path == "/api/progress/events":
        body = event_body(rng, lessons, readable)
    elif path == "/api/ai/chat":
        body = {"message": rng.choice(TUTOR_QUESTIONS), "lesson_id": rng.choice(lessons)}
    outcome = ""
    try:
        response = await learner.client.request(method, path, json=body)
        if not 200 <= response.status_code < 300:
            outcome = str(response.status_code)
        elif path == "/api/ai/chat" and not sse_done(response.text):
            outcome = "no done event"
    except httpx.HTTPError as exc:
        outcome = type(exc).__name__
    done = time.perf_counter()
    stats.last_done = max(stats.last_done, done)
    if body is not None and path == "/api/progress/events":
        key = (learner.user_id, body["event_id"])
        stats.bodies[key] = body
        (stats.unanswered if outcome else stats.acked).append(key)
    if outcome:
        stats.errors.setdefault(name, Counter())[outcome] += 1
    else:
        stats.latencies.setdefault(name, []).append(done - scheduled)  # from the scheduled arrival


async def run_load(learners: list[Learner], *, scenario: str, rate: float, seconds: float, seed: int,
                   lessons: list[str], readable: list[str]) -> Stats:
    rng = random.Random(seed)
    weights = {"POST /api/progress/events": 1} if scenario == "progress" else MIX
    names, cumulative = list(weights), list(weights.values())
    # Arrival times up front (Poisson process), so the schedule does not depend on the answers.
    arrivals: list[float] = []
    t = rng.expovariate(rate)
    while t < seconds:
        arrivals.append(t)
        t += rng.expovariate(rate)
    stats = Stats()
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter() + 0.2
    stats.first_at = start
    for offset in arrivals:
        scheduled = start + offset
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        name = rng.choices(names, weights=cumulative)[0]
        task = asyncio.create_task(one_request(name, rng.choice(learners), scheduled, stats, rng, lessons, readable))
        tasks.add(task)  # a reference, so the task isn't collected; done ones drop out
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return stats


# --- the checks ---------------------------------------------------------------------------------

def stored_counts(database: str, keys: list[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """How many progress_events rows each (user_id, event_id) of ours has."""
    users = sorted({user for user, _ in keys})
    counts: Counter[tuple[str, str]] = Counter()
    if not users:
        return counts
    marks = ",".join("?" * len(users))
    query = f"SELECT user_id, event_id, count(*) FROM progress_events WHERE user_id IN ({marks}) GROUP BY 1, 2"  # noqa: S608
    if database.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(database) as conn:
            rows = conn.execute(query.replace("?", "%s"), users).fetchall()
    else:
        path = database.removeprefix("sqlite:///")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
            rows = conn.execute(query, users).fetchall()
    for user, event, count in rows:
        counts[(str(user), str(event))] = int(count)
    return counts


async def resend_sample(learners: list[Learner], stats: Stats, size: int, seed: int) -> dict[str, int]:
    """Send acknowledged events again: each must answer 2xx with duplicate true."""
    by_user = {learner.user_id: learner for learner in learners}
    sample = random.Random(seed).sample(stats.acked, min(size, len(stats.acked)))
    result = {"resent": len(sample), "answered_duplicate": 0, "not_duplicate": 0, "failed": 0}

    async def resend(key: tuple[str, str]) -> None:
        try:
            response = await by_user[key[0]].client.post("/api/progress/events", json=stats.bodies[key])
        except httpx.HTTPError:
            result["failed"] += 1
            return
        if not 200 <= response.status_code < 300:
            result["failed"] += 1
        elif response.json().get("duplicate") is True:
            result["answered_duplicate"] += 1
        else:
            result["not_duplicate"] += 1

    # A few at a time: this is a correctness check, not load.
    for start in range(0, len(sample), 10):
        await asyncio.gather(*(resend(key) for key in sample[start:start + 10]))
    return result


def check_events(database: str, stats: Stats, resent: dict[str, int], resent_keys_before: int) -> dict[str, int]:
    counts = stored_counts(database, stats.acked + stats.unanswered)
    acked = set(stats.acked)
    return {
        "acknowledged": len(acked),
        "lost": sum(1 for key in acked if counts[key] == 0),
        "duplicated": sum(1 for key in counts if counts[key] > 1),
        # An event that timed out or failed may still have been stored: not a loss, just reported.
        "stored_without_ack": sum(1 for key in set(stats.unanswered) if counts[key] > 0),
        "rows_for_learners": sum(counts.values()),
        "rows_before_resend": resent_keys_before,
        **{f"resend_{k}": v for k, v in resent.items()},
    }


# --- the report ---------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def report(stats: Stats, *, scenario: str, rate: float, seconds: float,
           events: dict[str, int] | None) -> dict[str, Any]:
    elapsed = max(stats.last_done - stats.first_at, seconds)  # until the last answer came back
    rows: dict[str, dict[str, Any]] = {}
    for name in sorted(stats.sent, key=lambda n: -stats.sent[n]):
        lat = stats.latencies.get(name, [])
        errors = stats.errors.get(name, Counter())
        rows[name] = {"count": stats.sent[name], "offered_rps": stats.sent[name] / seconds,
                      "achieved_rps": len(lat) / elapsed, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
                      "p99_ms": pct(lat, 99), "errors": sum(errors.values()), "error_kinds": dict(errors)}
    every = [x for lat in stats.latencies.values() for x in lat]
    total_errors = sum(sum(c.values()) for c in stats.errors.values())
    overall = {"count": sum(stats.sent.values()), "offered_rps": sum(stats.sent.values()) / seconds,
               "achieved_rps": len(every) / elapsed, "p50_ms": pct(every, 50), "p95_ms": pct(every, 95),
               "p99_ms": pct(every, 99), "errors": total_errors}
    print()
    print(f"Open-loop load, scenario {scenario}: {rate:g}/s offered (Poisson arrivals) for {seconds:g} s; "
          f"latency from the scheduled arrival")
    header = f"  {'endpoint':<32}{'count':>7}{'offered/s':>11}{'achieved/s':>12}{'p50 ms':>9}{'p95 ms':>9}" \
             f"{'p99 ms':>9}{'errors':>8}"
    print(header)
    for name, row in [*rows.items(), ("overall", overall)]:
        print(f"  {name:<32}{row['count']:>7}{row['offered_rps']:>11.1f}{row['achieved_rps']:>12.1f}"
              f"{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['errors']:>8}")
        if row.get("error_kinds"):
            print(f"  {'':<32}errors: {', '.join(f'{k} x{v}' for k, v in row['error_kinds'].items())}")
    lag_p99 = pct(stats.lag, 99)
    print(f"  sched lag (generator): p50 {pct(stats.lag, 50):.1f} ms, p99 {lag_p99:.1f} ms, "
          f"max {max(stats.lag, default=0) * 1000:.1f} ms" + ("  <- the client was late: the machine limited the "
                                                             "run" if lag_p99 > 20 else ""))
    if events is not None:
        print(f"  progress events: {events['acknowledged']} acknowledged, lost {events['lost']}, duplicated "
              f"{events['duplicated']}, stored without an answer {events['stored_without_ack']}; re-sent "
              f"{events['resend_resent']}: {events['resend_answered_duplicate']} answered duplicate, "
              f"{events['resend_not_duplicate']} not, {events['resend_failed']} failed; rows "
              f"{events['rows_before_resend']} before re-sending, {events['rows_for_learners']} after")
    target = TARGETS[scenario]
    verdicts = []
    rate_ok = rate >= target["rate"]
    verdicts.append(("rate", rate_ok, f"offered {rate:g}/s (target {target['rate']:g}/s)"))
    p99_ok = overall["p99_ms"] < target["p99_ms"] and total_errors == 0
    verdicts.append(("p99", p99_ok, f"p99 {overall['p99_ms']:.1f} ms with {total_errors} errors "
                     f"(target < {target['p99_ms']:g} ms, no errors)"))
    if events is not None:
        clean = (events["lost"] == 0 and events["duplicated"] == 0 and events["resend_not_duplicate"] == 0
                 and events["resend_failed"] == 0 and events["rows_before_resend"] == events["rows_for_learners"])
        if target["no_loss"] or not clean:
            verdicts.append(("events", clean, "no lost or duplicated events, re-sending is idempotent"))
    elif target["no_loss"]:
        print("  progress events: not checked (give --database with --url)")
    print(f"  target (issue #18): {scenario} {target['rate']:g}/s with p99 < {target['p99_ms']:g} ms"
          + (", zero lost/duplicated" if target["no_loss"] else ""))
    for _, ok, text in verdicts:
        print(f"    {'met   ' if ok else 'MISSED'}  {text}")
    result = {"scenario": scenario, "rate": rate, "seconds": seconds, "endpoints": rows, "overall": overall,
              "sched_lag_p99_ms": lag_p99, "events": events,
              "targets_met": all(ok for _, ok, _ in verdicts), "missed": [k for k, ok, _ in verdicts if not ok]}
    return result


def no_nan(value: Any) -> Any:
    """The result with NaN (a percentile of no answers) as null: strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [no_nan(v) for v in value]
    return value


# --- main ---------------------------------------------------------------------------------------

async def bench(origin: str, database: str | None, args: argparse.Namespace) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]  # fresh addresses, so a running server can be loaded again
    learners: list[Learner] = []
    try:
        for start in range(0, args.learners, 10):
            learners += await asyncio.gather(*(sign_up(origin, n, tag, args.timeout)
                                               for n in range(start, min(start + 10, args.learners))))
        catalog = (await learners[0].client.get("/api/catalog")).json()
        lessons, readable = readable_lessons(catalog)
        tracks = [str(track["id"]) for track in catalog.get("tracks", [])]
        if not lessons or not tracks:
            raise RuntimeError("the catalog has no lessons")
        # Onboarded learners, as most are: the dashboard's progress/path then has a path to answer
        # with (a learner without one gets a 404, which the dashboard expects).
        for start in range(0, len(learners), 10):
            await asyncio.gather(*(onboard(learner, tracks[n % len(tracks)])
                                   for n, learner in enumerate(learners[start:start + 10], start)))
        log(f"{len(learners)} learners signed up; {len(lessons)} lessons ({len(readable)} complete on reading); "
            f"{args.rate:g}/s for {args.seconds:g} s")
        stats = await run_load(learners, scenario=args.scenario, rate=args.rate, seconds=args.seconds,
                               seed=args.seed, lessons=lessons, readable=readable)
        events = None
        if stats.acked or stats.unanswered:
            if database is None:
                log("no --database: the stored events are not checked")
            else:
                before = sum(stored_counts(database, stats.acked + stats.unanswered).values())
                resent = await resend_sample(learners, stats, args.resend, args.seed)
                events = check_events(database, stats, resent, before)
        return report(stats, scenario=args.scenario, rate=args.rate, seconds=args.seconds, events=events)
    finally:
        await asyncio.gather(*(learner.client.aclose() for learner in learners))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=("progress", "mix"), default="progress")
    parser.add_argument("--rate", type=float, help="requests per second offered (default: 200 progress, 100 mix)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long requests arrive (default 30)")
    parser.add_argument("--learners", type=int, default=50, help="learners signed up and used (default 50)")
    parser.add_argument("--url", help="a running server (e.g. http://127.0.0.1:8000) instead of starting one")
    parser.add_argument("--database", help="with --url: its database (sqlite:///path or postgresql://...) for the "
                        "stored-events check")
    parser.add_argument("--build-dir", type=Path, help="a built catalog (catalog.db and site/) for the server")
    parser.add_argument("--resend", type=int, default=200, help="acknowledged events re-sent to check idempotency")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds (an error)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server log, database)")
    args = parser.parse_args(argv)
    args.rate = args.rate if args.rate is not None else DEFAULT_RATE[args.scenario]
    if args.rate <= 0 or args.seconds <= 0 or args.learners < 1:
        print("error: --rate, --seconds and --learners must be positive", file=sys.stderr)
        return 2
    if args.database and not args.url:
        print("error: --database goes with --url (a started server uses its own database)", file=sys.stderr)
        return 2
    work = None
    server = None
    try:
        if args.url:
            origin, database = args.url.rstrip("/"), args.database
        else:
            work = Path(tempfile.mkdtemp(prefix="drona-load-"))
            build_dir = args.build_dir.resolve() if args.build_dir else build_catalog(work)
            port = free_port()
            origin = f"http://{HOST}:{port}"
            db_path = work / "load.db"
            server = start_server(work, build_dir, port, db_path)
            database = f"sqlite:///{db_path}"
            log(f"server on {origin} (pid {server.pid}), database {db_path}")
        result = asyncio.run(bench(origin, database, args))
    except (RuntimeError, OSError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            stop(server)
        if work is not None:
            if args.keep:
                log(f"the server log and database are in {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(no_nan(result), allow_nan=False, default=str))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
