"""Fair grading: one running job per learner, a few queued, and a bounded queue overall.

Submissions wait here, on the event loop, not in threads or in the sandbox: each learner's jobs
run one at a time, learners take turns (round robin) when a sandbox worker frees up, and beyond
the bounds a submission is refused at once with 429 and Retry-After rather than waiting behind
someone's flood. Grading itself then runs in threads of its own (GRADING_THREADS), so it never
takes the threads the other endpoints use, and never blocks the event loop.

The queue is per sidecar process; with several processes each has its own. The grader fleet
(fleet.py, GRADER_QUEUE_URL) shares one queue through Redis instead, and this one is not used then.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from sidecar.errors import RateLimited
from sidecar.observability import metrics
from sidecar.settings import Settings


class GradingQueue:
    def __init__(self, *, slots: int, per_learner_queued: int = 2, queued_per_slot: int = 4) -> None:
        self.slots = slots
        self.per_learner_queued = per_learner_queued
        self.max_queued = queued_per_slot * slots
        self.running: dict[str, int] = {}
        self.queued: dict[str, deque[asyncio.Future[None]]] = {}
        self.rotation: deque[str] = deque()  # learners with queued jobs, in turn order
        self.mean_seconds = 1.0  # recent job duration, for Retry-After
        # Threads for the grading calls themselves: one per running job, plus a spare.
        self.threads = anyio.CapacityLimiter(slots + 1)

    @property
    def total_running(self) -> int:
        return sum(self.running.values())

    @property
    def total_queued(self) -> int:
        return sum(len(q) for q in self.queued.values())

    def _retry_after(self, ahead: int) -> int:
        return max(1, math.ceil(self.mean_seconds * (ahead / self.slots + 1)))

    def _admit(self, learner: str) -> None:
        mine = self.running.get(learner, 0) + len(self.queued.get(learner, ()))
        if mine >= 1 + self.per_learner_queued:
            raise RateLimited(f"You have {mine} submissions being graded; wait for them before sending more.",
                              self._retry_after(mine))
        if self.total_queued >= self.max_queued:
            raise RateLimited("Grading is busy right now; try again in a moment.",
                              self._retry_after(self.total_queued))

    def _dispatch(self) -> None:
        """Start queued jobs while workers are free, taking learners in turn."""
        checked = 0
        while self.total_running < self.slots and self.rotation and checked < len(self.rotation):
            learner = self.rotation[0]
            self.rotation.rotate(-1)
            tickets = self.queued.get(learner)
            if not tickets or self.running.get(learner, 0) > 0:
                checked += 1
                continue
            ticket = tickets.popleft()
            if not tickets:
                del self.queued[learner]
                self.rotation.remove(learner)
            if ticket.cancelled():
                continue
            self.running[learner] = self.running.get(learner, 0) + 1
            ticket.set_result(None)
            checked = 0

    @asynccontextmanager
    async def turn(self, learner: str) -> AsyncIterator[None]:
        """Wait for this learner's turn (or raise RateLimited at once); hold a worker while inside."""
        self._admit(learner)
        enqueued = asyncio.get_running_loop().time()
        ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queued.setdefault(learner, deque()).append(ticket)
        if learner not in self.rotation:
            self.rotation.append(learner)
        self._dispatch()
        try:
            await ticket
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():
                self._finish(learner)  # it had just been given a worker
            else:
                self._drop(learner, ticket)
            raise
        started = asyncio.get_running_loop().time()
        metrics.record_grading_wait(started - enqueued)
        try:
            yield
        finally:
            self.mean_seconds = 0.8 * self.mean_seconds + 0.2 * (asyncio.get_running_loop().time() - started)
            self._finish(learner)

    def _drop(self, learner: str, ticket: asyncio.Future[None]) -> None:
        tickets = self.queued.get(learner)
        if tickets and ticket in tickets:
            tickets.remove(ticket)
            if not tickets:
                del self.queued[learner]
                self.rotation.remove(learner)

    def _finish(self, learner: str) -> None:
        left = self.running.get(learner, 0) - 1
        if left > 0:
            self.running[learner] = left
        else:
            self.running.pop(learner, None)
        self._dispatch()


def grading_queue(state: Any, settings: Settings) -> GradingQueue:
    """The process's one grading queue (kept on the app's state): every way into the sandbox waits in it."""
    queue = getattr(state, "grading_queue", None)
    if queue is None:
        queue = GradingQueue(slots=settings.GRADING_WORKERS, per_learner_queued=settings.GRADING_QUEUE_PER_LEARNER,
                             queued_per_slot=settings.GRADING_QUEUE_PER_WORKER)
        state.grading_queue = queue
    return queue
