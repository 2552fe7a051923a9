"""The grading sandbox (sidecar/sandbox): same results as the shared harness, isolation, pool behaviour.

Hostile submissions live in test_escape_suite.py; this file covers honest use.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecar.courseware.harness import run_tests
from sidecar.sandbox import Sandbox
from sidecar.settings import REPO_ROOT

if shutil.which("node") is None or not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file():
    if os.environ.get("DRONA_REQUIRE_NODE") == "1":
        raise RuntimeError("Node.js and node_modules/pyodide are required here (DRONA_REQUIRE_NODE=1)")
    pytestmark = pytest.mark.skip(reason="needs Node.js and node_modules/pyodide (npm ci)")

BASICS = REPO_ROOT / "content" / "tracks" / "python-developer" / "python-basics"
ADD_TESTS: list[dict[str, Any]] = [
    {"name": "adds", "code": "assert add(2, 3) == 5, f'add(2, 3) gave {add(2, 3)}'"},
    {"name": "negatives", "code": "assert add(-1, -1) == -2", "hidden": True, "feedback": "Try negatives."},
    {"name": "zero", "code": "assert add(0, 0) == 0", "hidden": True},
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(pool_size=2)
    yield box
    box.close()


def without_carets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop traceback caret lines (`~~~^^^`): CPython 3.11 here and 3.14 in Pyodide draw them differently."""
    return [dict(r, message=re.sub(r"(?m)^[ ~^]+\n", "", r["message"])) for r in results]


def exercise_tests(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An exercise and its tests as the server builds them: visible ones, then hidden ones."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tests = [dict(t) for t in data["tests"]["visible"]] + [dict(t, hidden=True) for t in data["tests"]["hidden"]]
    return data, tests


def test_correct_and_incorrect_solutions(sandbox: Sandbox) -> None:
    good = sandbox.grade("def add(a, b):\n    return a + b\n", ADD_TESTS, seed=0)
    assert good.passed and good.status == "ok" and good.worker_restarts == 0
    assert [r["passed"] for r in good.results] == [True, True, True]
    assert all(r["message"] == "" for r in good.results)
    bad = sandbox.grade("def add(a, b):\n    return abs(a) + b\n", ADD_TESTS, seed=0)
    assert not bad.passed and bad.status == "ok" and bad.message == "2 of 3 tests passed."
    assert bad.results[1] == {"name": "negatives", "passed": False, "message": "Try negatives.", "hidden": True}
    wrong = sandbox.grade("def add(a, b):\n    return a * b\n", ADD_TESTS, seed=0)
    assert wrong.results[0] == {"name": "adds", "passed": False, "message": "add(2, 3) gave 6", "hidden": False}
    assert wrong.results[2] == {"name": "zero", "passed": True, "message": "", "hidden": True}


def test_hidden_tests_show_feedback_only(sandbox: Sandbox) -> None:
    tests = [{"name": "secret", "code": "assert output == 'the secret 8675309\\n', output", "hidden": True}]
    result = sandbox.grade("print('nope')", tests, seed=0).results[0]
    assert result == {"name": "secret", "passed": False, "message": "A hidden test failed.", "hidden": True}


def test_input_comes_from_the_test_stdin(sandbox: Sandbox) -> None:
    code = "name = input('Name? ')\nprint(f'Hi {name}')\n"
    tests = [{"name": "greets", "stdin": "Ada\n", "code": "assert output == 'Name? Hi Ada\\n', repr(output)\n"
                                                             "assert run('Bo\\n') == 'Name? Hi Bo\\n'"},
             {"name": "no input", "code": "pass"}]
    result = sandbox.grade(code, tests, seed=0)
    assert result.results[0]["passed"] is True
    assert not result.results[1]["passed"] and "EOFError" in result.results[1]["message"]


@pytest.mark.parametrize("path", sorted(BASICS.glob("*/exercises/*.yaml")), ids=lambda p: p.stem)
def test_results_match_the_cpython_harness(sandbox: Sandbox, path: Path) -> None:
    """Solutions, starters and known wrong answers, with several seeds: identical results to run_tests."""
    data, tests = exercise_tests(path)
    codes = [data["solution"], data.get("starter") or ""] + [m["wrong_code"] for m in data.get("misconceptions", [])]
    for code in codes:
        if "random" in code:
            # Programs that draw from the global generator (e.g. the guessing game's secret) differ
            # from run to run even in CPython: seed it the same way on both sides.
            code = "import random; random.seed(2024)\n" + code
        for seed in (0, 12345, random.Random(path.stem).randrange(2**31)):
            expected = run_tests(code, tests, seed)
            graded = sandbox.grade(code, tests, seed=seed, time_limit=float(data.get("time_limit_seconds", 5)))
            assert graded.status == "ok"
            assert without_carets(graded.results) == without_carets(expected["results"]), f"{path.stem}, {seed}"
            assert graded.passed == expected["passed"]


def test_seeded_rng_matches_per_test(sandbox: Sandbox) -> None:
    tests = [{"name": "r", "code": "assert rng.randint(1, 10**9) == rng_expected"}] * 3
    expected = random.Random(42 + 2).randint(1, 10**9)  # test i gets seed + i
    results = sandbox.grade(f"rng_expected = {expected}", tests, seed=42).results
    assert [r["passed"] for r in results] == [False, False, True]


def test_program_errors_and_exit(sandbox: Sandbox) -> None:
    result = sandbox.grade("x = 1\ny = x / 0\n", [{"name": "t", "code": "pass"}], seed=0).results[0]
    assert 'File "main.py", line 2' in result["message"] and "ZeroDivisionError" in result["message"]
    assert "harness" not in result["message"] and "runner" not in result["message"]
    assert sandbox.grade("import sys\nsys.exit(0)", [{"name": "t", "code": "pass"}], seed=0).passed
    failed = sandbox.grade("import sys\nsys.exit(3)", [{"name": "t", "code": "pass"}], seed=0).results[0]
    assert "status 3" in failed["message"]


def test_state_does_not_leak_between_jobs(sandbox: Sandbox) -> None:
    plant = ("import builtins, random, sys\nbuiltins.PLANTED = 'x'\nrandom.PLANTED = 'x'\n"
             "sys.modules['planted'] = sys\nopen('/tmp/planted', 'w').write('x')\ndef add(a, b):\n    return a + b\n")
    # The program looks at its own interpreter (the tests run elsewhere, in the judge).
    probe = ("import builtins, os, random, sys\n"
             "print(hasattr(builtins, 'PLANTED'), hasattr(random, 'PLANTED'), 'planted' in sys.modules, "
             "os.path.exists('/tmp/planted'))\n")
    clean = [{"name": "clean", "code": "assert output == 'False False False False\\n', output"}]
    for _ in range(4):  # enough jobs to land on every host
        assert sandbox.grade(plant, ADD_TESTS, seed=0).passed
    for _ in range(4):
        assert sandbox.grade(probe, clean, seed=0).passed


def test_concurrent_submissions_are_not_mixed_up(sandbox: Sandbox) -> None:
    tests: list[dict[str, Any]] = [
        {"name": "echo", "code": "assert output == IDENT + '\\n', output\nassert False, 'id ' + IDENT"},
        {"name": "hidden", "code": "assert IDENT.startswith('sub-')", "hidden": True},
    ]
    outcomes: dict[str, list[Any]] = {}
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        ident = f"sub-{n}-{os.urandom(4).hex()}"
        try:
            for round_ in range(3):
                result = sandbox.grade(f"IDENT = {ident!r}\nprint(IDENT)\n", tests, seed=n)
                outcomes.setdefault(ident, []).append((round_, result))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(outcomes) == 8 and all(len(v) == 3 for v in outcomes.values()), "every submission graded once"
    for ident, graded in outcomes.items():
        for _, result in graded:
            assert result.status == "ok"
            assert result.results[0]["message"] == f"id {ident}", "a result belongs to its own submission"
            assert result.results[1]["passed"] is True


def test_run_captures_output_and_errors(sandbox: Sandbox) -> None:
    ran = sandbox.run("name = input()\nprint('Hi', name)\nimport sys\nprint('warn', file=sys.stderr)", stdin="Ada\n")
    assert ran.status == "ok" and ran.output == "Hi Ada\nwarn\n" and ran.error is None
    text = "héllo ✓ 日本 " * 2000  # multi-byte characters across many writes
    assert sandbox.run("import sys\nfor ch in input():\n    sys.stdout.write(ch)\n", stdin=text).output == text
    failed = sandbox.run("def f():\n    return 1 / 0\nf()\n")
    assert failed.error is not None and "line 2, in f" in failed.error and "ZeroDivisionError" in failed.error


def test_time_limit_per_call(sandbox: Sandbox) -> None:
    result = sandbox.grade("import time\nt = time.time()\nwhile time.time() - t < 3:\n    pass\n",
                           [{"name": "t", "code": "pass"}], seed=0, time_limit=1.0)
    assert result.status == "timeout" and "took too long (over 1 s)" in result.message


def test_describe_and_stats(sandbox: Sandbox) -> None:
    text = sandbox.describe()
    assert "permission model" in text and "audit hook" in text and "rlimits" in text
    stats = sandbox.stats()
    assert stats["pool_size"] == 2 and stats["jobs"] > 0 and stats["boot_failures"] == 0
    assert all(rss > 0 for rss in stats["worker_rss_mb"])


CLOSE_CHECK = """
import os, sys
from pathlib import Path
from sidecar.sandbox import Sandbox

def children():
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(entry.name))
        except OSError:
            pass
    return found

box = Sandbox(pool_size=2)
assert box.grade("def add(a, b):\\n    return a + b\\n", [{"name": "t", "code": "assert add(1, 2) == 3"}], 0).passed
box.grade("while True:\\n    pass\\n", [{"name": "t", "code": "pass"}], 0, time_limit=0.5)  # a replaced worker
pids = set(box.stats()["pids"])
assert pids and pids <= children(), (pids, children())
box.close()
assert not children(), children()
assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
print("clean")
"""


def test_close_leaves_no_processes() -> None:
    # In a fresh interpreter, so the module's own sandbox (and its replacements) cannot interfere.
    proc = subprocess.run([sys.executable, "-c", CLOSE_CHECK], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "clean", proc.stderr[-2000:]


def test_hidden_tests_never_enter_the_sandbox(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything the isolate receives is the program and the questions about it (inputs, names,
    arguments): no test code, no expected value, no verdict."""
    from sidecar.sandbox import pool

    sent: list[str] = []
    real_send = pool.HostProcess.send

    def spy(self: Any, message: dict[str, Any]) -> None:
        sent.append(repr(message))
        real_send(self, message)

    monkeypatch.setattr(pool.HostProcess, "send", spy)
    tests = [
        {"name": "visible", "code": "assert add(2, 3) == 5"},
        {"name": "hidden", "code": "marker = 'hidden-code-60221'\nassert add(400, 2) == 402 + 0 * 987654321",
         "hidden": True, "feedback": "Check large numbers."},
        {"name": "hidden stdin", "stdin": "41\n", "code": "assert output == str(41 + 1) + '\\n'  # expected-42",
         "hidden": True},
    ]
    code = "def add(a, b):\n    return a + b\nprint(int(input()) + 1) if False else None\n"
    result = sandbox.grade(code, tests, seed=3)
    assert [r["passed"] for r in result.results] == [True, True, False]
    traffic = "\n".join(sent)
    assert "400" in traffic and "41\\\\n" in traffic  # the inputs do travel...
    for secret in ("hidden-code-60221", "987654321", "402", "expected-42", "assert", "Check large numbers"):
        assert secret not in traffic, secret  # ...never the tests, expected values or feedback


def test_memory_budget_per_exercise(sandbox: Sandbox) -> None:
    """An exercise's memory_mb is the program's budget for that submission (the JS side included)."""
    hungry = "block = bytearray(120 * 2**20)\nprint(len(block) // 2**20)\n"
    tests = [{"name": "t", "code": "assert output == '120\\n', output"}]
    small = sandbox.grade(hungry, tests, seed=0, memory_mb=64)
    assert small.status == "memory" and not small.passed and "more than 64 MB" in small.message
    roomy = sandbox.grade(hungry, tests, seed=0, memory_mb=512)
    assert roomy.status == "ok" and roomy.passed


def _nice_values(pid: int) -> list[int]:
    values = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            values.append(int((task / "stat").read_text().rsplit(")", 1)[1].split()[16]))
        except (OSError, IndexError, ValueError):
            continue
    return values


def test_a_long_job_gives_way_to_the_others(sandbox: Sandbox) -> None:
    """Past a second, a job's host runs at a lower priority (everyone else's short jobs first); its
    priority is restored when the job ends (or, where the system refuses that, the host is replaced)."""
    seen: dict[int, list[int]] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for pid in sandbox.stats()["pids"]:
                seen.setdefault(pid, []).extend(_nice_values(pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = sandbox.grade("while True:\n    pass\n", [{"name": "t", "code": "pass"}], seed=0, time_limit=2.5)
    finally:
        done.set()
        watcher.join()
    assert result.status == "timeout"
    assert any(max(values, default=0) >= 10 for values in seen.values()), seen
    for pid in sandbox.stats()["pids"]:
        assert max(_nice_values(pid), default=0) == 0, "priority restored (or the host replaced)"
