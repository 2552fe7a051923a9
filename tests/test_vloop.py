"""The virtual-time event loop (harness.VirtualEventLoop) on CPython: concurrency shows in loop.time(),
queue workers, cancellation, deterministic order, and the loop recorder the event-loop timeline uses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from sidecar.courseware import harness
from sidecar.sandbox import Sandbox
from tests.conftest import needs_node


@pytest.fixture
def events() -> Iterator[list[tuple[float, str, str]]]:
    seen: list[tuple[float, str, str]] = []
    harness.set_loop_recorder(lambda t, name, event: seen.append((t, name, event)))
    try:
        yield seen
    finally:
        harness.set_loop_recorder(None)


def run(main: Any) -> Any:
    with asyncio.Runner(loop_factory=harness.virtual_loop) as runner:
        return runner.run(main)


async def worker_pool() -> tuple[list[tuple[float, str, int]], float]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int] = asyncio.Queue()
    done: list[tuple[float, str, int]] = []

    async def worker(name: str) -> None:
        while True:
            job = await queue.get()
            await asyncio.sleep(job)
            done.append((loop.time(), name, job))
            queue.task_done()

    for job in [3, 1, 2, 1, 1]:
        queue.put_nowait(job)
    workers = [asyncio.create_task(worker(f"w{i}")) for i in range(2)]
    await queue.join()
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return done, loop.time()


def test_gather_takes_the_longest_not_the_sum() -> None:
    async def main() -> tuple[list[int], float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await asyncio.gather(*(asyncio.sleep(1, result=i) for i in range(3)))
        return results, loop.time() - start

    assert run(main()) == ([0, 1, 2], 1.0)


def test_queue_workers_share_the_work_deterministically() -> None:
    done, finished = run(worker_pool())
    assert finished == 4.0  # w0: 3; w1: 1, 2, then 1 -> both busy until 4
    assert done == run(worker_pool())[0]  # the same timeline every run
    assert sorted(job for _, _, job in done) == [1, 1, 1, 2, 3]


def test_cancellation_and_timeouts_cost_only_the_time_waited() -> None:
    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        seen: list[Any] = []
        try:
            async with asyncio.timeout(1.5):
                await asyncio.sleep(10)
        except TimeoutError:
            seen.append(("timeout", loop.time()))
        task = asyncio.create_task(asyncio.sleep(5))
        await asyncio.sleep(0.5)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            seen.append(("cancelled", loop.time()))
        return seen

    assert run(main()) == [("timeout", 1.5), ("cancelled", 2.0)]


def test_the_recorder_sees_each_task_start_wait_resume_and_finish(events: list[tuple[float, str, str]]) -> None:
    async def job(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def main() -> list[float]:
        return await asyncio.gather(asyncio.create_task(job(2), name="slow"),
                                    asyncio.create_task(job(1), name="fast"))

    assert run(main()) == [2, 1]
    slow = [(t, e) for t, name, e in events if name == "slow"]
    fast = [(t, e) for t, name, e in events if name == "fast"]
    assert slow == [(0.0, "created"), (0.0, "started"), (0.0, "awaiting"), (2.0, "resumed"), (2.0, "done")]
    assert fast == [(0.0, "created"), (0.0, "started"), (0.0, "awaiting"), (1.0, "resumed"), (1.0, "done")]
    main_name = events[0][1]  # asyncio.run's main task, created first
    main_events = [(t, e) for t, name, e in events if name == main_name]
    assert main_events[:2] == [(0.0, "created"), (0.0, "started")] and main_events[-1] == (2.0, "done")
    assert events.index((1.0, "fast", "done")) < events.index((2.0, "slow", "resumed"))


def test_a_broken_recorder_is_switched_off_and_the_program_runs_on() -> None:
    calls: list[str] = []

    def broken(t: float, name: str, event: str) -> None:
        calls.append(event)
        raise ValueError("recorder bug")

    harness.set_loop_recorder(broken)
    try:
        assert run(asyncio.sleep(1, result="ok")) == "ok"
    finally:
        harness.set_loop_recorder(None)
    assert calls == ["created"]


def test_without_a_recorder_programs_run_as_before() -> None:
    code = ("import asyncio\n"
            "async def main():\n"
            "    loop = asyncio.get_running_loop()\n"
            "    await asyncio.gather(asyncio.sleep(1), asyncio.sleep(1), asyncio.sleep(1))\n"
            "    print(loop.time())\n"
            "asyncio.run(main())\n")
    _, out = harness.execute(code)
    assert out == "1.0\n"


def test_to_thread_overlaps_blocking_sleeps_like_worker_threads() -> None:
    code = ("import asyncio, time\n"
            "def blocking(n):\n"
            "    time.sleep(1)\n"
            "    return n * 2\n"
            "async def main():\n"
            "    loop = asyncio.get_running_loop()\n"
            "    results = await asyncio.gather(*(asyncio.to_thread(blocking, n) for n in range(3)))\n"
            "    print(results, loop.time())\n"
            "    blocking(0)\n"
            "    print(loop.time())\n"
            "asyncio.run(main())\n")
    _, out = harness.execute(code)
    assert out == "[0, 2, 4] 1.0\n2.0\n"  # threads overlap; a direct blocking call still blocks the loop


# ---- the real grading sandbox (Pyodide, locked down) ---------------------------------------------
WORKERS = """import asyncio, time

def lookup(city):
    time.sleep(2)                      # a blocking library call
    return len(city)

async def lookups(cities):
    return await asyncio.gather(*(asyncio.to_thread(lookup, c) for c in cities))

async def pool(jobs, workers):
    start = asyncio.get_running_loop().time()
    queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    async def worker():
        while True:
            seconds = await queue.get()
            try:
                await asyncio.sleep(seconds)
            finally:
                queue.task_done()
    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await queue.join()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return asyncio.get_running_loop().time() - start

print(asyncio.run(lookups(["Oslo", "Lima"])), asyncio.run(pool([3, 1, 2, 1, 1], 2)))
"""
WORKER_TESTS = [
    {"name": "output", "code": "assert output == '[4, 4] 4.0\\n', output"},
    {"name": "threads overlap", "code": "t = program_time()\nassert lookups(['a', 'bb', 'ccc']) == [1, 2, 3]\n"
                                        "assert program_time() - t == 2"},
    {"name": "pool timing", "code": "assert pool([2, 2, 2, 2], 4) == 2.0 and pool([1] * 6, 2) == 3.0"},
]


def test_workers_and_threads_on_cpython() -> None:
    _, out = harness.execute(WORKERS)
    assert out == "[4, 4] 4.0\n"


@needs_node
def test_the_sandbox_grades_queues_and_threads(sandbox: Sandbox) -> None:
    graded = sandbox.grade(WORKERS, WORKER_TESTS, seed=0)
    assert graded.passed and graded.status == "ok", graded.results
    blocking = WORKERS.replace("asyncio.to_thread(lookup, c)", "asyncio.sleep(0, lookup(c))")
    graded = sandbox.grade(blocking, WORKER_TESTS, seed=0)
    assert [r["passed"] for r in graded.results] == [True, False, True], graded.results  # only the timing tells
