"""Live updates across processes: from a completion POSTed to one `drona serve` process to the `xp`
event on a stream opened on another, both on PostgreSQL and Redis (docs/scale-out.md).

Builds the minimal fixture course, makes a scratch PostgreSQL database, starts two servers; each
round signs a fresh learner in on both, opens the stream on B, completes a reading lesson on A and
times the event. Reports the time from A's response to the event, and from the POST to the event.
Run: .venv/bin/python bench/bench_live.py [--rounds N] [--pg postgresql://...] [--redis redis://...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.throwaway import throwaway_postgres  # noqa: E402
from sidecar.compiler.build import build  # noqa: E402
from sidecar.settings import REPO_ROOT  # noqa: E402
from tests.conftest import MINIMAL  # noqa: E402
from tests.engine_repo import free_port  # noqa: E402
from tests.test_live_events import (  # noqa: E402
    _complete,
    _env,
    _frames,
    _serve,
    _serve_args,
    _signed_in,
    _stop,
    _wait_up,
)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="an admin URL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    procs = []
    with throwaway_postgres(args.pg, prefix="drona_bench_live") as url:
        try:
            with tempfile.TemporaryDirectory() as folder:
                tmp = Path(folder)
                report = build(repo=REPO_ROOT, content_dir=MINIMAL / "content", build_dir=tmp / "build",
                               log=lambda _: None)
                env = _env(url, args.redis, tmp)
                ports = free_port(), free_port()
                procs = [_serve(_serve_args(report, port), env) for port in ports]
                a, b = (f"http://127.0.0.1:{port}" for port in ports)
                for base, proc in zip((a, b), procs, strict=True):
                    _wait_up(base, proc)
                after_response: list[float] = []
                total: list[float] = []
                for _ in range(args.rounds):
                    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
                    on_a, on_b = _signed_in(a, email, signup=True), _signed_in(b, email, signup=False)
                    with on_b.stream("GET", "/api/me/events") as stream:
                        frames = _frames(stream)
                        assert next(frames)[0] == "ready"
                        sent = time.perf_counter()
                        _complete(on_a)
                        answered = time.perf_counter()
                        assert next(frames)[0] == "xp"
                        arrived = time.perf_counter()
                    total.append((arrived - sent) * 1000)
                    after_response.append((arrived - answered) * 1000)
                for proc in procs:
                    _stop(proc)
                procs = []
        finally:
            for proc in procs:
                _stop(proc)
    print(json.dumps({
        "rounds": args.rounds,
        "response_to_event_ms": {"p50": round(statistics.median(after_response), 1),
                                 "p95": round(_quantile(after_response, 0.95), 1),
                                 "max": round(max(after_response), 1)},
        "post_to_event_ms": {"p50": round(statistics.median(total), 1), "p95": round(_quantile(total, 0.95), 1)},
    }))


if __name__ == "__main__":
    main()
