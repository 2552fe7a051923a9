"""Prometheus metrics (design §15.5): what the sidecar counts, and the scrape endpoint.

Two kinds of metric:

* events, counted where they happen (request latency, tutor turns, answer leaks, grading waits):
  prometheus-client metrics in the process's default registry, or, when PROMETHEUS_MULTIPROC_DIR is
  set before the process starts, in prometheus-client's multiprocess files, so that `/metrics` of
  any process reports the sum over all of them;
* state, read at scrape time by a custom collector (`LiveCollector`): the database pool, the
  grading queue and the sandbox's host pool of the process that answers the scrape.

Label values are bounded: routes are templates (`/api/exercises/{exercise_id}`), never raw paths,
and methods outside the usual few are `other`.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

# Buckets around the mix benchmark's target (p99 < 300 ms): fine below it, coarse above.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LEAK_SOURCES = ("policy", "llm")
LEAK_KINDS = ("code", "translation", "answer")

HTTP_LATENCY = Histogram(
    "drona_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template, method and status class.",
    ["route", "method", "status_class"], buckets=LATENCY_BUCKETS)
GRADING_WAIT = Histogram(
    "drona_grading_wait_seconds",
    "Time a submission waited in the grading queue before a sandbox worker took it.",
    buckets=WAIT_BUCKETS)
TUTOR_TURNS = Counter(
    "drona_tutor_turns_total",
    "Tutor turns answered, by agent and outcome: model (the model's reply), policy (the offline teaching "
    "policy's), guarded (a reply the answer-leak guard stopped and replaced).",
    ["agent", "outcome"])
LEAK_EVENTS = Counter(
    "drona_tutor_leak_events_total",
    "Tutor replies the answer-leak guard stopped, by source (policy, llm) and kind (code, translation, answer).",
    ["source", "kind"])
GRADER_OUTCOMES = ("passed", "failed", "skipped", "error", "dead_lettered")
GRADER_JOBS = Counter(
    "drona_grader_jobs_total",
    "Deliveries a `drona grader` handled, by outcome: passed, failed (graded, tests failed), skipped (graded "
    "already), error (the grader's failure: retried), dead_lettered (given up on, the learner told).",
    ["outcome"])
GRADER_DURATION = Histogram(
    "drona_grader_job_duration_seconds",
    "Time a `drona grader` took over one submission, from claiming it to its verdict recorded.",
    buckets=WAIT_BUCKETS)
for _outcome in GRADER_OUTCOMES:
    GRADER_JOBS.labels(outcome=_outcome)  # present at 0 from the start, as the leak events
for _source in LEAK_SOURCES:
    for _kind in LEAK_KINDS:
        # Present from the start at 0, so that increase() sees the first leak.
        LEAK_EVENTS.labels(source=_source, kind=_kind)


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def record_request(*, route: str, method: str, status: int, seconds: float) -> None:
    HTTP_LATENCY.labels(route=route, method=method_label(method), status_class=status_class(status)).observe(seconds)


def record_tutor_turn(*, agent: str, outcome: str) -> None:
    TUTOR_TURNS.labels(agent=agent[:40], outcome=outcome).inc()


def record_leak(*, source: str, kind: str | None) -> None:
    LEAK_EVENTS.labels(source=source if source in LEAK_SOURCES else "other",
                       kind=kind if kind in LEAK_KINDS else "other").inc()


def record_grading_wait(seconds: float) -> None:
    GRADING_WAIT.observe(max(0.0, seconds))


def record_grader_job(outcome: str, seconds: float | None = None) -> None:
    GRADER_JOBS.labels(outcome=outcome if outcome in GRADER_OUTCOMES else "error").inc()
    if seconds is not None:
        GRADER_DURATION.observe(max(0.0, seconds))


# ---- state read at scrape time ------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerPoolState:
    size: int
    idle: int
    busy: int
    starting: int


class _HasPoolState(Protocol):
    def pool_state(self) -> WorkerPoolState: ...


_pools: weakref.WeakSet[Any] = weakref.WeakSet()
_pools_lock = threading.Lock()


def track_worker_pool(pool: _HasPoolState) -> None:
    """A sandbox host pool reports its workers at scrape time for as long as it exists (a weak reference)."""
    with _pools_lock:
        _pools.add(pool)


def worker_pools() -> list[WorkerPoolState]:
    with _pools_lock:
        pools = list(_pools)
    return [pool.pool_state() for pool in pools if not getattr(pool, "closed", False)]


class LiveCollector(Collector):
    """The database pool, the grading queue and the sandbox pool, read when Prometheus scrapes."""

    def __init__(self, *, engine: Any, grading_queue: Callable[[], Any]) -> None:
        self.engine = engine
        self.grading_queue = grading_queue

    def collect(self) -> Iterable[Metric]:
        yield from self._db_pool()
        yield from self._grading()
        yield from self._sandbox()

    def _db_pool(self) -> Iterator[Metric]:
        pool = self.engine.pool
        size = _call(pool, "size")
        checked_out = _call(pool, "checkedout")
        overflow = max(0, _call(pool, "overflow"))
        max_overflow = max(0, int(getattr(pool, "_max_overflow", 0)))
        yield GaugeMetricFamily("drona_db_pool_size", "Connections the database pool keeps open.", value=size)
        yield GaugeMetricFamily("drona_db_pool_capacity", "Most connections the pool hands out at once "
                                "(size + overflow); beyond it a request waits for one.", value=size + max_overflow)
        yield GaugeMetricFamily("drona_db_pool_checked_out", "Connections in use now.", value=checked_out)
        yield GaugeMetricFamily("drona_db_pool_overflow", "Connections open beyond the pool's size now.",
                                value=overflow)

    def _grading(self) -> Iterator[Metric]:
        queue = self.grading_queue()
        running = int(queue.total_running) if queue is not None else 0
        queued = int(queue.total_queued) if queue is not None else 0
        slots = int(queue.slots) if queue is not None else 0
        limit = int(queue.max_queued) if queue is not None else 0
        yield GaugeMetricFamily("drona_grading_queue_depth", "Submissions waiting for a sandbox worker.",
                                value=queued)
        yield GaugeMetricFamily("drona_grading_queue_limit", "Waiting submissions beyond which new ones get 429.",
                                value=limit)
        yield GaugeMetricFamily("drona_grading_running", "Submissions being graded now.", value=running)
        yield GaugeMetricFamily("drona_grading_slots", "Submissions graded at once (GRADING_WORKERS).", value=slots)

    def _sandbox(self) -> Iterator[Metric]:
        states = worker_pools()
        workers = GaugeMetricFamily("drona_sandbox_workers", "Sandbox host processes by state.", labels=["state"])
        for state in ("idle", "busy", "starting"):
            workers.add_metric([state], sum(getattr(s, state) for s in states))
        yield workers
        yield GaugeMetricFamily("drona_sandbox_pool_size", "Sandbox host processes the pool keeps.",
                                value=sum(s.size for s in states))


def _call(pool: Any, name: str) -> int:
    method = getattr(pool, name, None)
    try:
        return int(method()) if callable(method) else 0
    except Exception:  # noqa: BLE001 - a pool class without the number reports 0
        return 0


# ---- the scrape -------------------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _Events(Collector):
    """This process's event metrics, or (multiprocess mode) every process's, summed."""

    def __init__(self) -> None:
        if multiprocess_dir():
            from prometheus_client import multiprocess

            self.registry: CollectorRegistry = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
        else:
            self.registry = REGISTRY

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


_events: _Events | None = None


def _registry(live: LiveCollector) -> CollectorRegistry:
    global _events
    if _events is None:
        _events = _Events()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_events)
    registry.register(live)
    return registry


def exposition(live: LiveCollector) -> bytes:
    """The text exposition format of the events and the live state."""
    return generate_latest(_registry(live))


def serve(live: LiveCollector, *, port: int, addr: str) -> tuple[Any, threading.Thread]:
    """prometheus-client's own HTTP server (a daemon thread) for a process with no web app of its own
    (`drona grader`): the same exposition as the sidecar's /metrics. Returns (server, thread);
    server.shutdown() stops it."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=addr, registry=_registry(live))
