"""The grader fleet (issue #18): exercise submissions graded by `drona grader` processes through a queue.

With GRADER_QUEUE_URL set, the sidecar runs no learner code. A submission is first written to
`grading_jobs` (pending, keyed by the learner's submission id: acknowledged, never lost), then a
Dramatiq message carrying only the job's id goes to a Redis queue, and the request waits for the
verdict by polling that row (up to GRADER_WAIT_SECONDS; after that 503 `still_grading`, and the same
submission id waits again). Any number of `drona grader` processes, on any machines, consume the
queue, each with its own sandbox pool, and grade with the same code as the embedded default
(exercises.grade_pending, then exercises.record_submission for the verdict and its XP).

Delivery is at least once: Dramatiq acknowledges a message only after the actor returns, and a
grader that stops heartbeating for GRADER_HEARTBEAT_SECONDS has its unacknowledged messages put
back on the queue by the others. A second delivery changes nothing: the verdict is inserted with
`insert_ignore` on (user_id, client_id) in the same transaction as the XP award and the job's
`graded` mark, so a submission is graded into the database once. A grader's own failure (the
sandbox unavailable, the database away) is retried GRADER_MAX_RETRIES times with back-off; then the
message goes to the dead-letter queue (`<namespace>:<queue>.XQ`) and the job is marked failed, which
the learner sees as "grading failed, try again". A job still pending after STALE_AFTER is failed by
the graders' sweep, so nothing stays pending forever. Back-pressure: at GRADER_QUEUE_MAX waiting
messages, and beyond GRADING_QUEUE_PER_LEARNER pending submissions of one learner, a new submission
gets 429 with Retry-After.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import anyio
import anyio.to_thread
from dramatiq.middleware import Middleware
from redis.exceptions import RedisError
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, DomainError, NotFound, RateLimited, Unavailable
from sidecar.observability import metrics
from sidecar.settings import Settings

from . import exercises
from .models import SubmissionPublic, SubmissionStatusPublic
from .tables import GradingJob, Submission

if TYPE_CHECKING:
    from sidecar.sandbox import Sandbox

log = logging.getLogger("drona.grader")

NAMESPACE = "drona"  # Redis keys: drona:<queue>, drona:<queue>.DQ (retries), drona:<queue>.XQ (dead letters)
ACTOR = "grade_submission"
CODE_ACTOR = "grade_code"
REPLY_TTL_SECONDS = 300
STALE_AFTER = timedelta(minutes=15)  # a job still pending this long is failed by the graders' sweep
SWEEP_SECONDS = 30.0
TIME_LIMIT_MARGIN = 30.0  # seconds beyond the exercise's own limit before Dramatiq interrupts a job
FAILED_MESSAGE = "Grading failed on the server; your code was not graded. Press Check to try again."


class StillGrading(DomainError):
    """The verdict did not come within GRADER_WAIT_SECONDS: send the same submission id again to wait on."""

    status_code = 503
    code = "still_grading"

    def __init__(self, submission_id: str, retry_after: int) -> None:
        super().__init__("Still grading on the server: check again in a moment.",
                         {"submission_id": submission_id, "state": "pending", "retry_after_seconds": retry_after})
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


class GradingFailed(DomainError):
    """The fleet gave up on a submission (dead-lettered or stale): nothing was graded or earned."""

    status_code = 503
    code = "grading_failed"


# ---- the queue ----------------------------------------------------------------------------------

@dataclass
class Fleet:
    """One process's connection to the fleet's queue: a Dramatiq Redis broker and the grading actor."""

    broker: Any  # dramatiq.brokers.redis.RedisBroker
    actor: Any  # dramatiq.Actor: grade a submission (grading_jobs row) and record it
    code_actor: Any  # dramatiq.Actor: grade code and answer in a reply list (RemoteSandbox)
    queue_name: str

    @property
    def client(self) -> Any:
        return self.broker.client

    def depth(self) -> int:
        """Messages waiting (not yet taken by a grader), retries waiting out their back-off included."""
        return int(self.client.llen(f"{NAMESPACE}:{self.queue_name}")) + int(
            self.client.llen(f"{NAMESPACE}:{self.queue_name}.DQ"))

    def dead_letters(self) -> int:
        return int(self.client.zcard(f"{NAMESPACE}:{self.queue_name}.XQ"))

    def send(self, job_id: str, *, time_limit: float) -> None:
        self.actor.send_with_options(args=(job_id,), time_limit=int((time_limit + TIME_LIMIT_MARGIN) * 1000))


_fleets: dict[tuple[str, str, float, int], Fleet] = {}
_fleets_lock = threading.Lock()


def _grade_message(job_id: str) -> None:
    """The actor's body, run by a grader's worker threads (never in the sidecar)."""
    grader = _grader
    if grader is None:
        raise RuntimeError("no grader is running in this process")
    grader.grade(job_id)


def _grade_code(reply_key: str, op: str, kwargs: dict[str, Any]) -> None:
    """RemoteSandbox's actor: the sandbox's `grade` or `run`, its result pushed to the caller's reply list
    (nothing recorded)."""
    grader = _grader
    if grader is None:
        raise RuntimeError("no grader is running in this process")
    box = grader.sandbox()
    result = box.grade(**kwargs) if op == "grade" else box.run(**kwargs)
    client = grader.fleet.client
    client.rpush(reply_key, json.dumps(dataclasses.asdict(result)))
    client.expire(reply_key, REPLY_TTL_SECONDS)


def fleet_for(settings: Settings) -> Fleet:
    """The process's broker for settings' queue (created once; it connects on first use)."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import Retries

    url = settings.GRADER_QUEUE_URL
    if not url:
        raise RuntimeError("GRADER_QUEUE_URL is not set")
    key = (url, settings.GRADER_QUEUE_NAME, settings.GRADER_HEARTBEAT_SECONDS, settings.GRADER_MAX_RETRIES)
    with _fleets_lock:
        if key not in _fleets:
            heartbeat_ms = int(settings.GRADER_HEARTBEAT_SECONDS * 1000)
            # Maintenance (putting a dead grader's messages back) runs on a share of the broker's
            # commands; with idle graders polling about once a second, 1 in 10 finds a dead one within
            # seconds of its heartbeat running out. It is a cheap sorted-set range when none is dead.
            broker = RedisBroker(url=url, namespace=NAMESPACE, heartbeat_timeout=heartbeat_ms,
                                 maintenance_chance=100_000)  # type: ignore[no-untyped-call]
            broker.add_middleware(_DeadLetters(), before=Retries)
            actor = dramatiq.Actor(_grade_message, broker=broker, actor_name=ACTOR,
                                   queue_name=settings.GRADER_QUEUE_NAME, priority=0,
                                   options={"max_retries": settings.GRADER_MAX_RETRIES, "min_backoff": 1000,
                                            "max_backoff": 30_000})
            code_actor = dramatiq.Actor(_grade_code, broker=broker, actor_name=CODE_ACTOR,
                                        queue_name=settings.GRADER_QUEUE_NAME, priority=0,
                                        options={"max_retries": settings.GRADER_MAX_RETRIES, "min_backoff": 1000,
                                                 "max_backoff": 30_000})
            _fleets[key] = Fleet(broker=broker, actor=actor, code_actor=code_actor,
                                 queue_name=settings.GRADER_QUEUE_NAME)
        return _fleets[key]


class _DeadLetters(Middleware):
    """After Retries (added before it: `after_` hooks run in reverse): a message that failed for good
    is dead-lettered by Dramatiq; its job is marked failed here, so the learner is told."""

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        if exception is None or not message.failed or message.actor_name != ACTOR:
            return
        job_id = str(message.args[0])
        log.warning("dead-lettered %s after %s retries: %s", job_id, message.options.get("retries", 0),
                    type(exception).__name__)
        metrics.record_grader_job("dead_lettered")
        grader = _grader
        if grader is not None:
            # The exception's type only: its text may name internals (hosts, paths), and the row is the
            # learner's (their account export includes it).
            grader.fail(job_id, f"dead-lettered: {type(exception).__name__}")


# ---- the sidecar's side -------------------------------------------------------------------------

def _retry_after(depth: int) -> int:
    """A rough wait for a full queue: a tenth of a second per waiting submission, 2 s to a minute."""
    return max(2, min(60, math.ceil(depth / 10)))


def _enqueue_job(*, engine: Engine, settings: Settings, user_id: str,
                 pending: exercises.Pending) -> tuple[str, bool]:
    """The job's id and whether it is new: written first, then sent. A retry of a submission id already
    handed over (pending or failed) is answered from its row; a new one past the bounds gets 429."""
    fleet = fleet_for(settings)
    with read_session(engine) as session:
        existing = session.scalar(select(GradingJob).where(GradingJob.user_id == user_id,
                                                           GradingJob.client_id == pending.client_id))
        if existing is not None:
            if existing.exercise_id != pending.exercise.id:
                raise Conflict("That submission id was used for another exercise.")
            return existing.id, False
        mine = session.scalar(select(func.count()).select_from(GradingJob).where(
            GradingJob.user_id == user_id, GradingJob.state == "pending")) or 0
    if mine >= 1 + settings.GRADING_QUEUE_PER_LEARNER:
        raise RateLimited(f"You have {mine} submissions being graded; wait for them before sending more.",
                          _retry_after(mine))
    try:
        depth = fleet.depth()
    except (RedisError, OSError) as exc:
        log.error("grader queue unreachable: %s", type(exc).__name__)
        raise Unavailable("Grading is unavailable right now (the grading queue cannot be reached); your code "
                          "was not graded.") from None
    if depth >= settings.GRADER_QUEUE_MAX:
        raise RateLimited("Grading is busy right now; try again in a moment.", _retry_after(depth))
    job_id = str(uuid.uuid4())
    with write_session(engine) as session:
        inserted = insert_ignore(session, GradingJob, {
            "id": job_id, "user_id": user_id, "client_id": pending.client_id, "exercise_id": pending.exercise.id,
            "code": pending.code, "seed": pending.seed, "challenge_mode": pending.challenge_mode,
            "practice_xp": pending.practice_xp, "gamification": settings.ENABLE_GAMIFICATION, "state": "pending",
            "deliveries": 0, "worker": None, "error": None, "response": None, "created_at": pending.at,
            "finished_at": None}, ["user_id", "client_id"])
    if not inserted:  # the same submission id, sent twice at once: wait on the other request's job
        with read_session(engine) as session:
            other = session.scalar(select(GradingJob.id).where(GradingJob.user_id == user_id,
                                                               GradingJob.client_id == pending.client_id))
        if other is None:
            raise Conflict("This submission is being graded already.")
        return other, False
    try:
        fleet.send(job_id, time_limit=pending.exercise.time_limit)
    except (RedisError, OSError) as exc:
        # Never handed over: forget it, so that the same submission id may be sent again.
        log.error("could not enqueue %s: %s", job_id, type(exc).__name__)
        with write_session(engine) as session:
            session.execute(delete(GradingJob).where(GradingJob.id == job_id, GradingJob.state == "pending"))
        raise Unavailable("Grading is unavailable right now (the grading queue cannot be reached); your code "
                          "was not graded.") from None
    return job_id, True


def _outcome(engine: Engine, job_id: str) -> SubmissionPublic | None:
    """The verdict when graded, None while pending; GradingFailed when the fleet gave up."""
    with read_session(engine) as session:
        job = session.get(GradingJob, job_id)
        if job is None:
            raise GradingFailed(FAILED_MESSAGE)
        if job.state == "failed":
            raise GradingFailed(FAILED_MESSAGE, {"submission_id": job.client_id, "state": "failed"})
        if job.state == "graded" and job.response is not None:
            return SubmissionPublic.model_validate(job.response)
    return None


async def submit(*, engine: Engine, settings: Settings, user_id: str,
                 pending: exercises.Pending) -> SubmissionPublic:
    """Hand a prepared submission to the fleet and wait for its verdict (see the module's docstring)."""
    job_id, _new = await anyio.to_thread.run_sync(lambda: _enqueue_job(
        engine=engine, settings=settings, user_id=user_id, pending=pending))
    deadline = time.monotonic() + settings.GRADER_WAIT_SECONDS
    delay = 0.05
    while True:
        verdict = await anyio.to_thread.run_sync(lambda: _outcome(engine, job_id))
        if verdict is not None:
            return verdict
        if time.monotonic() >= deadline:
            raise StillGrading(pending.client_id, retry_after=2)
        await anyio.sleep(delay)
        delay = min(0.5, delay * 1.5)


def status(*, engine: Engine, catalog_db: Path, user_id: str, exercise_id: str, client_id: str,
           gamification_enabled: bool) -> SubmissionStatusPublic:
    """Where one of the learner's submissions stands (either grading mode): 404 when there is none."""
    exercises.load_exercise(catalog_db, exercise_id)
    with read_session(engine) as session:
        graded = session.scalar(select(Submission.id).where(Submission.user_id == user_id,
                                                            Submission.client_id == client_id,
                                                            Submission.exercise_id == exercise_id))
        job = session.scalar(select(GradingJob).where(GradingJob.user_id == user_id,
                                                      GradingJob.client_id == client_id,
                                                      GradingJob.exercise_id == exercise_id))
        state = job.state if job is not None else None
        response = job.response if job is not None else None
    if graded is not None:
        if response is not None:
            return SubmissionStatusPublic(submission_id=client_id, exercise_id=exercise_id, state="graded",
                                          submission=SubmissionPublic.model_validate(response))
        stored = exercises.prepare_submission(engine=engine, catalog_db=catalog_db, user_id=user_id,
                                              exercise_id=exercise_id, code="", client_id=client_id,
                                              gamification_enabled=gamification_enabled)
        if isinstance(stored, SubmissionPublic):
            return SubmissionStatusPublic(submission_id=client_id, exercise_id=exercise_id, state="graded",
                                          submission=stored)
    if state == "failed":
        return SubmissionStatusPublic(submission_id=client_id, exercise_id=exercise_id, state="failed",
                                      message=FAILED_MESSAGE)
    if state is not None:
        return SubmissionStatusPublic(submission_id=client_id, exercise_id=exercise_id, state="pending",
                                      message="Grading on the server…")
    raise NotFound("No such submission.")


class RemoteSandbox:
    """The sandbox as the sidecar sees it in fleet mode: `grade` and `run` happen on a grader.

    For the other ways code runs on the server (spaced review, assessments' coding items, projects'
    pre-review, the tutor's assessor and quiz generator): the same Dramatiq queue, the answer in a
    Redis list of the caller's own. Nothing is recorded by the grader; a grader lost mid-job is
    replaced as for submissions, and no answer within GRADER_WAIT_SECONDS is SandboxUnavailable,
    which those callers already report."""

    def __init__(self, settings: Settings) -> None:
        self.fleet = fleet_for(settings)
        self.wait = settings.GRADER_WAIT_SECONDS

    def _call(self, op: str, kwargs: dict[str, Any], time_limit: float | None) -> dict[str, Any]:
        from sidecar.sandbox import SandboxUnavailable

        reply_key = f"{NAMESPACE}:{self.fleet.queue_name}.reply:{uuid.uuid4().hex}"
        try:
            self.fleet.code_actor.send_with_options(
                args=(reply_key, op, kwargs), time_limit=int(((time_limit or 5.0) + TIME_LIMIT_MARGIN) * 1000))
            answer = self.fleet.client.blpop([reply_key], timeout=self.wait)
        except (RedisError, OSError) as exc:
            raise SandboxUnavailable(f"the grading queue cannot be reached ({type(exc).__name__})") from None
        if answer is None:
            raise SandboxUnavailable("no grader answered in time")
        return dict(json.loads(answer[1]))

    def grade(self, code: str, tests: Sequence[Mapping[str, Any]], seed: int, time_limit: float | None = None,
              memory_mb: int | None = None) -> Any:
        from sidecar.sandbox import GradeResult

        return GradeResult(**self._call("grade", {"code": code, "tests": [dict(t) for t in tests], "seed": seed,
                                                  "time_limit": time_limit, "memory_mb": memory_mb}, time_limit))

    def run(self, code: str, stdin: str = "", time_limit: float | None = None) -> Any:
        from sidecar.sandbox import RunResult

        return RunResult(**self._call("run", {"code": code, "stdin": stdin, "time_limit": time_limit}, time_limit))


def remote_sandbox(settings: Settings) -> Sandbox:
    """RemoteSandbox in the Sandbox's place (it offers `grade` and `run`, what the sidecar's callers use)."""
    return cast("Sandbox", RemoteSandbox(settings))


def sandbox_for(settings: Settings) -> Sandbox:
    """The sandbox the sidecar grades with: the fleet's when GRADER_QUEUE_URL is set, else the process's
    own pool (started on first use)."""
    if settings.GRADER_QUEUE_URL:
        return remote_sandbox(settings)
    from sidecar.sandbox import get_sandbox

    return get_sandbox(settings.GRADING_WORKERS)


# ---- the grader's side --------------------------------------------------------------------------

def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


class Grader:
    """A `drona grader` process's state: its database, catalog and sandbox pool."""

    def __init__(self, settings: Settings, engine: Engine, sandbox: Callable[[], Any]) -> None:
        self.settings, self.engine, self.sandbox = settings, engine, sandbox
        self.fleet = fleet_for(settings)
        self.name = worker_name()
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Submissions this grader is grading now (its metrics' drona_grading_running)."""
        return self._in_flight

    def _claim(self, job_id: str) -> GradingJob | None:
        """The job when it still needs grading (its delivery counted), None when it is done."""
        with write_session(self.engine) as session:
            job = session.get(GradingJob, job_id)
            if job is None or job.state != "pending":
                return None
            done = session.scalar(select(Submission.id).where(Submission.user_id == job.user_id,
                                                              Submission.client_id == job.client_id))
            if done is not None:
                # Recorded by an earlier delivery that stopped before its answer was stored: answer from it.
                self._mark_graded_from_storage(session, job)
                return None
            job.deliveries += 1
            job.worker = self.name
            session.flush()
            session.expunge(job)
        if job.deliveries == 1:  # the queue's wait, as the in-process scheduler counts it (once per job)
            created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=UTC)
            metrics.record_grading_wait((utcnow() - created).total_seconds())
        return job

    def _mark_graded_from_storage(self, session: Session, job: GradingJob) -> None:
        from sidecar.progress import completion

        row = session.scalar(select(Submission).where(Submission.user_id == job.user_id,
                                                      Submission.client_id == job.client_id))
        if row is None:
            return
        reward = completion.current_reward(self.engine, user_id=job.user_id, lesson_id=row.lesson_id,
                                           gamification_enabled=job.gamification, at=utcnow())
        public = exercises._to_public(row, reward=reward.public(), duplicate=False, message="Graded.")
        session.execute(update(GradingJob).where(GradingJob.id == job.id, GradingJob.state == "pending").values(
            state="graded", response=public.model_dump(mode="json"), finished_at=utcnow()))

    def grade(self, job_id: str) -> None:
        """Grade one job, counted in the metrics by outcome (an exception: `error`, and Dramatiq retries)."""
        started = time.monotonic()
        with self._in_flight_lock:
            self._in_flight += 1
        outcome = "error"
        try:
            outcome = self._grade(job_id)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
            metrics.record_grader_job(outcome, time.monotonic() - started if outcome != "skipped" else None)

    def _grade(self, job_id: str) -> str:
        job = self._claim(job_id)
        if job is None:
            log.info("skipped %s: already done", job_id)
            return "skipped"
        log.info("grading %s on %s (delivery %d)", job_id, self.name, job.deliveries)
        started = time.monotonic()
        exercise = exercises.load_exercise(self.settings.catalog_db, job.exercise_id)
        mode: Literal["timed", "practice"] | None = (
            "timed" if job.challenge_mode == "timed" else "practice" if job.challenge_mode == "practice" else None)
        pending = exercises.Pending(exercise=exercise, code=job.code, client_id=job.client_id, seed=job.seed,
                                    tests=exercise.tests, at=job.created_at, challenge_mode=mode,
                                    practice_xp=job.practice_xp)
        graded = exercises.grade_pending(pending=pending, sandbox=self.sandbox)

        def finish(session: Session, public: SubmissionPublic) -> None:
            session.execute(update(GradingJob).where(GradingJob.id == job_id).values(
                state="graded", response=public.model_dump(mode="json"), finished_at=utcnow(), error=None))

        try:
            exercises.record_submission(engine=self.engine, catalog_db=self.settings.catalog_db,
                                        user_id=job.user_id, pending=pending, graded=graded,
                                        gamification_enabled=job.gamification, finish=finish)
        except Conflict:
            # Another delivery recorded it meanwhile: nothing is written twice.
            with write_session(self.engine) as session:
                fresh = session.get(GradingJob, job_id)
                if fresh is not None and fresh.state == "pending":
                    self._mark_graded_from_storage(session, fresh)
            log.info("graded %s elsewhere already", job_id)
            return "skipped"
        log.info("graded %s: %s in %.0f ms", job_id, "passed" if graded.passed else graded.status,
                 (time.monotonic() - started) * 1000)
        return "passed" if graded.passed else "failed"

    def fail(self, job_id: str, error: str) -> None:
        """Dead-lettered: the learner is told grading failed (a pending job only: a verdict stays)."""
        try:
            with write_session(self.engine) as session:
                session.execute(update(GradingJob).where(GradingJob.id == job_id, GradingJob.state == "pending")
                                .values(state="failed", error=error, finished_at=utcnow()))
        except Exception:
            log.exception("could not mark %s failed", job_id)

    def sweep(self) -> int:
        """Fail jobs pending longer than STALE_AFTER (their message lost with Redis, say)."""
        cutoff = utcnow() - STALE_AFTER
        with write_session(self.engine) as session:
            result = session.execute(update(GradingJob).where(GradingJob.state == "pending",
                                                              GradingJob.created_at < cutoff)
                                     .values(state="failed", error="stale: never graded", finished_at=utcnow()))
            return int(getattr(result, "rowcount", 0) or 0)


_grader: Grader | None = None


class _FleetQueueView:
    """The fleet's queue as metrics.LiveCollector reads a grading queue, so that a grader exports the
    sidecar's drona_grading_* gauges (one metric per fact, and the alert rules apply to graders):
    depth is the fleet's waiting messages, running this grader's submissions in flight."""

    def __init__(self, grader: Grader) -> None:
        self.grader = grader

    @property
    def total_queued(self) -> int:
        try:
            return self.grader.fleet.depth()
        except (RedisError, OSError):  # a scrape while Redis is away still answers: the rest is true
            return 0

    @property
    def total_running(self) -> int:
        return self.grader.in_flight

    @property
    def slots(self) -> int:
        return self.grader.settings.GRADER_THREADS

    @property
    def max_queued(self) -> int:
        return self.grader.settings.GRADER_QUEUE_MAX


def _serve_metrics(settings: Settings, engine: Engine, grader: Grader) -> Any:
    """GRADER_METRICS_PORT: prometheus-client's server with the sidecar's metrics as they apply to a grader."""
    view = _FleetQueueView(grader)
    live = metrics.LiveCollector(engine=engine, grading_queue=lambda: view)
    server, _thread = metrics.serve(live, port=int(settings.GRADER_METRICS_PORT or 0),
                                    addr=settings.GRADER_METRICS_HOST)
    log.info("metrics on http://%s:%d/metrics", settings.GRADER_METRICS_HOST, server.server_port)
    return server


def fleet_status(*, engine: Engine, settings: Settings) -> dict[str, int]:
    """`drona grader --status`: the queue's depth, its dead letters and the jobs by state."""
    fleet = fleet_for(settings)
    with read_session(engine) as session:
        rows = session.execute(select(GradingJob.state, func.count()).group_by(GradingJob.state)).all()
    states = {str(state): int(count) for state, count in rows}
    return {"queued": fleet.depth(), "dead_lettered": fleet.dead_letters(),
            "pending": int(states.get("pending", 0)), "graded": int(states.get("graded", 0)),
            "failed": int(states.get("failed", 0))}


def run_grader(settings: Settings, *, stop: threading.Event | None = None) -> None:
    """`drona grader`: consume the queue with GRADER_THREADS worker threads over a sandbox pool of that
    size, until SIGTERM/SIGINT (or `stop`). Unfinished messages go back to the queue on a clean stop."""
    import signal

    from dramatiq import Worker

    from sidecar.db.engine import get_engine
    from sidecar.sandbox import Sandbox

    global _grader
    fleet = fleet_for(settings)
    engine = get_engine(settings.DATABASE_URL, max(settings.DATABASE_POOL_SIZE, settings.GRADER_THREADS + 1))
    sandbox = Sandbox(pool_size=settings.GRADER_THREADS)
    _grader = Grader(settings, engine, lambda: sandbox)
    server = _serve_metrics(settings, engine, _grader) if settings.GRADER_METRICS_PORT else None
    worker = Worker(fleet.broker, queues={fleet.queue_name}, worker_threads=settings.GRADER_THREADS,
                    worker_timeout=500)
    worker.queue_prefetch = settings.GRADER_THREADS  # take no more than it can grade: the others may
    stopping = stop or threading.Event()
    if stop is None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.set())
    worker.start()
    log.info("grader %s consuming %s:%s with %d threads", _grader.name, NAMESPACE, fleet.queue_name,
             settings.GRADER_THREADS)
    try:
        while not stopping.wait(SWEEP_SECONDS):
            try:
                swept = _grader.sweep()
                if swept:
                    log.warning("failed %d stale pending job(s)", swept)
            except Exception:
                log.exception("sweep failed")
    finally:
        worker.stop(timeout=int((settings.GRADER_WAIT_SECONDS + TIME_LIMIT_MARGIN) * 1000))
        sandbox.close()
        if server is not None:
            server.shutdown()
            server.server_close()
        _grader = None
