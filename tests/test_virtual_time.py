"""Async programs on a simulated clock (issue #15): asyncio.run works wherever learner code runs (the
browser's Pyodide, `drona validate`, the grading sandbox), deterministically and without waiting.

The harness's VirtualEventLoop is asyncio's own loop machinery whose clock jumps to the next timer when
nothing is ready. Checked here in CPython (the harness as the browser and validation use it) and in the
real grading sandbox (Pyodide, where asyncio.run otherwise needs WebAssembly stack switching).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sidecar.courseware import harness
from sidecar.sandbox import Sandbox

from .conftest import needs_node

CONCURRENT = '''
import asyncio

async def fetch(name, delay):
    await asyncio.sleep(delay)
    return name

async def fetch_all(delays):
    return await asyncio.gather(*(fetch(str(d), d) for d in delays))

async def fetch_one_by_one(delays):
    return [await fetch(str(d), d) for d in delays]

async def main():
    loop = asyncio.get_running_loop()
    start = loop.time()
    names = await fetch_all([1, 2, 1.5])
    print(names, loop.time() - start)

asyncio.run(main())
'''

CLOCK_TESTS: list[dict[str, Any]] = [
    {"name": "gathered sleeps take the longest one", "code": "assert output == \"['1', '2', '1.5'] 2.0\\n\", output"},
    {"name": "an async def is awaited across the boundary",
     "code": "t0 = program_time()\nassert fetch_all([3, 1, 2]) == ['3', '1', '2']\nassert program_time() - t0 == 3"},
    {"name": "one by one takes the sum",
     "code": "t0 = program_time()\nassert fetch_one_by_one([3, 1, 2]) == ['3', '1', '2']\n"
             "assert program_time() - t0 == 6, program_time() - t0"},
]


def _run(code: str) -> str:
    _, output = harness.execute(code)
    return output


def test_asyncio_run_gathers_on_the_simulated_clock() -> None:
    result = harness.run_tests(CONCURRENT, CLOCK_TESTS)
    assert result["passed"], result
    # A sequential version fails the concurrency test: the verdict sees the clock, not the source.
    sequential = CONCURRENT.replace("return await asyncio.gather(*(fetch(str(d), d) for d in delays))",
                                    "return [await fetch(str(d), d) for d in delays]")
    result = harness.run_tests(sequential, CLOCK_TESTS)
    assert [r["passed"] for r in result["results"]] == [False, False, True]


def test_timeouts_cancellation_queues_and_locks() -> None:
    output = _run('''
import asyncio

async def slow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("cancelled at", asyncio.get_running_loop().time())
        raise

async def main():
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(slow(), timeout=1.5)
    except TimeoutError:
        print("wait_for timed out at", loop.time())
    try:
        async with asyncio.timeout(0.5):
            await asyncio.sleep(3)
    except TimeoutError:
        print("timeout block at", loop.time())
    queue = asyncio.Queue()
    done = []
    async def worker(name):
        while True:
            job = await queue.get()
            await asyncio.sleep(job)
            done.append((name, job, loop.time()))
            queue.task_done()
    for job in (1, 2, 3, 1):
        queue.put_nowait(job)
    workers = [asyncio.create_task(worker(n)) for n in "ab"]
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    print(done)
    lock = asyncio.Lock()
    order = []
    async def critical(n):
        async with lock:
            await asyncio.sleep(1)
            order.append((n, loop.time()))
    async with asyncio.TaskGroup() as group:
        for n in range(3):
            group.create_task(critical(n))
    print(order)

asyncio.run(main())
''')
    assert output.splitlines() == [
        "cancelled at 1.5",
        "wait_for timed out at 1.5",
        "timeout block at 2.0",
        "[('a', 1, 3.0), ('b', 2, 4.0), ('b', 1, 5.0), ('a', 3, 6.0)]",
        "[(0, 7.0), (1, 8.0), (2, 9.0)]",
    ]


def test_a_blocking_sleep_blocks_every_task_and_time_follows_the_clock() -> None:
    output = _run('''
import asyncio, time

async def polite():
    await asyncio.sleep(1)

async def rude():
    time.sleep(1)  # blocks the loop: the classic mistake

async def main(job):
    t0 = time.perf_counter()
    await asyncio.gather(job(), job(), job())
    print(job.__name__, time.perf_counter() - t0)

asyncio.run(main(polite))
asyncio.run(main(rude))
''')
    assert output.splitlines() == ["polite 1.0", "rude 3.0"]


def test_a_program_that_would_hang_gets_a_clear_error() -> None:
    with pytest.raises(harness.ProgramError) as caught:
        _run("import asyncio\nasync def main():\n    await asyncio.Event().wait()\nasyncio.run(main())\n")
    assert "would hang" in caught.value.formatted and 'File "main.py", line 4' in caught.value.formatted


def test_runs_are_deterministic_and_leave_the_real_asyncio_alone() -> None:
    code = ('import asyncio, random\nasync def tick(n):\n    await asyncio.sleep(random.random())\n    print(n)\n'
            'async def main():\n    random.seed(7)\n    await asyncio.gather(*(tick(n) for n in range(6)))\n'
            'asyncio.run(main())\n')
    assert _run(code) == _run(code)
    # Outside a program run, asyncio is CPython's own: the sidecar's event loops are untouched.
    loop = asyncio.new_event_loop()
    try:
        assert not isinstance(loop, harness.virtual_loop_class())
    finally:
        loop.close()
    assert asyncio.run is not None and asyncio.run.__module__ == "asyncio.runners"


def test_programs_without_asyncio_or_sleep_pay_nothing() -> None:
    import time

    real = time.perf_counter
    with harness.virtual_time(harness.VirtualClock(), "print('hello')"):
        assert time.perf_counter is real


# ---- the real grading sandbox (Pyodide) --------------------------------------------------------
@needs_node
def test_the_sandbox_grades_async_programs(sandbox: Sandbox) -> None:
    graded = sandbox.grade(CONCURRENT, CLOCK_TESTS, seed=0)
    assert graded.passed and graded.status == "ok", graded.results
    sequential = CONCURRENT.replace("return await asyncio.gather(*(fetch(str(d), d) for d in delays))",
                                    "return [await fetch(str(d), d) for d in delays]")
    graded = sandbox.grade(sequential, CLOCK_TESTS, seed=0)
    assert [r["passed"] for r in graded.results] == [False, False, True]
    ran = sandbox.run(CONCURRENT)
    assert ran.status == "ok" and ran.output == "['1', '2', '1.5'] 2.0\n" and ran.error is None


@needs_node
def test_a_long_simulated_wait_costs_no_real_time(sandbox: Sandbox) -> None:
    code = ("import asyncio\nasync def main():\n    await asyncio.sleep(3600)\n    print('an hour later')\n"
            "asyncio.run(main())\n")
    graded = sandbox.grade(code, [{"name": "hour", "code": "assert output == 'an hour later\\n'"}], seed=0,
                           time_limit=5.0)
    assert graded.passed and graded.status == "ok"
