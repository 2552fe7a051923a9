"""The Code Reviewer (sidecar/agents/review/reviewer.py): real ast checks, the real ruff binary, real grading."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.agents.review import lint
from sidecar.agents.review.reviewer import Finding, review_code
from sidecar.compiler.build import BuildReport
from sidecar.grading.exercises import load_exercise
from sidecar.sandbox import Sandbox
from sidecar.settings import REPO_ROOT

needs_sandbox = pytest.mark.skipif(shutil.which("node") is None
                                   or not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file(),
                                   reason="needs Node.js and node_modules/pyodide (npm ci)")

# rule: (code that should trigger it, similar code that should not)
AST_CASES: dict[str, tuple[str, str]] = {
    "ast:range-len": ("xs = [1, 2]\nfor i in range(len(xs)):\n    print(xs[i])\n",
                      "xs = [1, 2]\nfor i in range(len(xs)):\n    print(i, xs[i])\n"),
    "ast:accumulator-reset": ("for i in range(1, 5):\n    total = 0\n    total = total + i\nprint(total)\n",
                              "for row in [[1], [2]]:\n    total = 0\n    for x in row:\n        total += x\n"
                              "    print(total)\n"),
    "ast:compare-singleton": ("x = None\nif x == None:\n    print(x)\n", "x = None\nif x is None:\n    print(x)\n"),
    "ast:mutable-default": ("def add(item, items=[]):\n    items.append(item)\n    return items\n",
                            "def add(item, items=None):\n    return [*(items or []), item]\n"),
    "ast:shadow-builtin": ("list = [1, 2]\nprint(list)\n", "numbers = [1, 2]\nprint(numbers)\n"),
    "ast:unused-variable": ("def f(x):\n    y = x * 2\n    return x\n", "def f(x):\n    y = x * 2\n    return y\n"),
    "ast:while-true-no-exit": ("n = 0\nwhile True:\n    n += 1\n",
                               "n = 0\nwhile True:\n    n += 1\n    if n > 3:\n        break\n"),
    "ast:nested-loop-same-sequence": ("xs = [1, 2]\nfor a in xs:\n    for b in xs:\n        print(a, b)\n",
                                      "xs = [1, 2]\nys = [3]\nfor a in xs:\n    for b in ys:\n        print(a, b)\n"),
    "ast:in-list-in-loop": ("seen = []\nfor w in 'a b a'.split():\n    if w not in seen:\n        seen.append(w)\n",
                            "seen = set()\nfor w in 'a b a'.split():\n    if w not in seen:\n        seen.add(w)\n"),
    "ast:string-concat-in-loop": ("s = ''\nfor i in range(9):\n    s += str(i)\nprint(s)\n",
                                  "for i in range(9):\n    s = ''\n    s += str(i)\n    print(s)\n"),
    "ast:bare-except": ("try:\n    n = int('x')\nexcept:\n    n = 0\n",
                        "try:\n    n = int('x')\nexcept ValueError:\n    n = 0\n"),
    "ast:print-instead-of-return": ("def double(n):\n    print(n * 2)\n\nx = double(4)\n",
                                    "def show(n):\n    print(n * 2)\n\nshow(4)\n"),
    "ast:unreachable": ("def f(x):\n    return x\n    print('done')\n", "def f(x):\n    print('done')\n    return x\n"),
    "ast:useless-expression": ("x = 1\nx == 2\nprint(x)\n", "x = 1\nx = 2\nprint(x)\n"),
    "ast:input-not-converted": ("age = input('Age: ')\nif age >= 18:\n    print('adult')\n",
                                "age = int(input('Age: '))\nif age >= 18:\n    print('adult')\n"),
    "ast:loop-variable-modified": ("for i in range(5):\n    i += 1\n    print(i)\n",
                                   "for i in range(5):\n    j = i + 1\n    print(j)\n"),
    "ast:modify-while-iterating": ("xs = [1, 2, 3]\nfor x in xs:\n    xs.remove(x)\n",
                                   "xs = [1, 2, 3]\nfor x in list(xs):\n    xs.remove(x)\n"),
    "ast:returns-on-first-pass": ("def has_even(xs):\n    for x in xs:\n        if x % 2 == 0:\n"
                                  "            return True\n        else:\n            return False\n",
                                  "def has_even(xs):\n    for x in xs:\n        if x % 2 == 0:\n"
                                  "            return True\n    return False\n"),
}
SUM_TO_N = "c5d02441-64bf-4b00-a87a-b685e077a18c"  # content/.../loops/exercises/sum-to-n.yaml
# Both misconceptions the exercise names: range(n), and the accumulator starting inside the loop.
WRONG_SUM = "n = int(input(\"n: \"))\nfor i in range(n):\n    total = 0\n    total += i\nprint(total)\n"


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


@pytest.mark.parametrize("rule", sorted(AST_CASES))
def test_each_ast_check_fires_on_bad_code_and_not_on_good_code(rule: str) -> None:
    bad, good = AST_CASES[rule]
    found = [f for f in review_code(bad).findings if f.rule == rule]
    assert found, f"{rule} did not fire on:\n{bad}"
    assert all(f.line and f.message and f.question.rstrip().endswith("?") for f in found)
    assert rule not in rules(review_code(good).findings), f"{rule} fired on:\n{good}"


def test_the_ast_checks_are_quiet_on_a_clean_program() -> None:
    clean = ("def average(values):\n    total = 0\n    for value in values:\n        total += value\n"
             "    return total / len(values)\n\n\nprint(average([1, 2, 3]))\n")
    review = review_code(clean)
    assert review.findings == [] and "nothing to point out" in review.summary and review.passed is None


def test_ruff_runs_as_a_process_and_its_findings_are_explained() -> None:
    review = review_code("import os\n\n\ndef f(values):\n    return totl + len(values)\n")
    by_rule = {f.rule: f for f in review.findings}
    assert by_rule["ruff:F821"].line == 5 and "`totl`" in by_rule["ruff:F821"].message
    assert by_rule["ruff:F821"].category == "correctness" and by_rule["ruff:F821"].severity == "error"
    assert by_rule["ruff:F401"].line == 1 and "`os`" in by_rule["ruff:F401"].message
    # Ruff's own texts ("Remove unused import", autofixes) never reach the learner.
    assert not any("Remove" in f.message or "Replace" in f.message for f in review.findings)


def test_ruff_duplicates_of_ast_checks_are_merged() -> None:
    found = rules(review_code("def add(item, items=[]):\n    items.append(item)\n    return items\n").findings)
    assert "ast:mutable-default" in found and "ruff:B006" not in found
    found = rules(review_code("try:\n    n = int('x')\nexcept:\n    n = 0\n").findings)
    assert found.count("ast:bare-except") == 1 and "ruff:E722" not in found
    # Ruff reports every assignment to a built-in's name; the review names each one once.
    found = rules(review_code("max = 0\nfor x in [3, 1]:\n    if x > max:\n        max = x\nprint(max)\n").findings)
    assert found.count("ast:shadow-builtin") == 1 and "ruff:A001" not in found


def test_a_missing_ruff_gives_a_review_without_linter_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lint, "ruff_binary", lambda: None)
    review = review_code("import os\nx = None\nif x == None:\n    print(x)\n")
    assert not any(r.startswith("ruff:") for r in rules(review.findings))
    assert "ast:compare-singleton" in rules(review.findings)
    assert "ruff" in review.summary and "not available" in review.summary


def test_a_hanging_or_broken_linter_is_cut_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    slow = tmp_path / "ruff"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(lint, "ruff_binary", lambda: str(slow))
    monkeypatch.setattr(lint, "TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    assert lint.lint("x = 1\n") is None
    assert time.monotonic() - started < 5
    monkeypatch.setattr(lint, "ruff_binary", lambda: str(tmp_path / "missing"))
    assert lint.lint("x = 1\n") is None


@pytest.mark.parametrize(("code", "line", "words"), [
    ("def f(x):\n    if x > 1\n        return 2\n", 2, "colon"),
    ("print('hi)\n", 1, "quote"),
    ("x = [1, 2\nprint(x)\n", 1, "never closed"),
    ("def f():\nreturn 1\n", 2, "indented block"),
    ("if x = 3:\n    pass\n", 1, "condition"),
])
def test_syntax_errors_are_one_friendly_finding(code: str, line: int, words: str) -> None:
    review = review_code(code)
    assert len(review.findings) == 1
    (finding,) = review.findings
    assert (finding.line, finding.category, finding.rule) == (line, "error", "syntax")
    assert words in finding.message and "Traceback" not in finding.message
    assert f"line {line}" in review.debugging_steps[0]


def test_long_and_deeply_nested_programs_are_reviewed_quickly() -> None:
    block = "total = 0\nfor i in range(10):\n    total = total + i\n    if total in seen:\n        s += str(i)\n"
    started = time.monotonic()
    review = review_code("seen = []\ns = ''\n" + block * (50_000 // len(block)))  # the largest submission
    assert time.monotonic() - started < 15, "the checks must stay linear in the program's length"
    assert {"ast:in-list-in-loop", "ast:string-concat-in-loop"} <= set(rules(review.findings))
    deep = review_code("x = " + "+".join(["a"] * 12_000) + "\n")
    assert [f.rule for f in deep.findings] == ["syntax"] and "nested too deeply" in deep.findings[0].message


def test_review_never_runs_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    review_code(f"open({str(marker)!r}, 'w').write('pwned')\nimport os\nos.system('touch {marker}')\n")
    assert not marker.exists()


def test_a_failing_test_message_that_quotes_the_solution_is_withheld() -> None:
    solution = "total = 0\nfor i in range(1, n + 1):\n    total = total + i\nprint(total)\n"
    grading = {"passed": False, "status": "ok", "results": [
        {"name": "sum", "passed": False, "hidden": False, "message": "expected: for i in range(1, n + 1):"}]}
    review = review_code("total = 0\nfor i in range(n):\n    total = total + i\nprint(total)\n", grading=grading,
                         solution=solution)
    (test_note,) = [f for f in review.findings if f.rule == "test:sum"]
    assert "range(1, n + 1)" not in test_note.message and "give away" in test_note.message


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(pool_size=2)
    yield box
    box.close()


@needs_sandbox
def test_reviewing_a_wrong_submission_of_a_demo_exercise(demo_build: BuildReport, sandbox: Sandbox) -> None:
    exercise = load_exercise(demo_build.catalog_db, SUM_TO_N)
    with sqlite3.connect(demo_build.catalog_db) as conn:
        solution, skills = conn.execute("SELECT e.solution, l.skills FROM exercises e JOIN lessons l "
                                        "ON l.id = e.lesson_id WHERE e.id = ?", (SUM_TO_N,)).fetchone()
    tests = exercise.visible_tests + [dict(t, hidden=True) for t in exercise.hidden_tests]
    graded = sandbox.grade(WRONG_SUM, tests, seed=3)
    assert not graded.passed
    review = review_code(WRONG_SUM, grading=graded, solution=solution, lesson_skills=json.loads(skills))
    assert review.passed is False
    failing = [r["name"] for r in graded.results if not r["passed"]]
    test_notes = [f for f in review.findings if f.rule.startswith("test:")]
    assert [f.rule for f in test_notes] == [f"test:{name}" for name in failing]
    assert all(f.category == "correctness" and f.question for f in test_notes)
    assert "ast:accumulator-reset" in rules(review.findings)
    assert "python.accumulators" in review.summary and f"{len(failing)} of {len(tests)} tests fail" in review.summary
    assert failing[0] in review.debugging_steps[0]
    # Nothing the learner hasn't written themselves from the reference solution.
    learner = {" ".join(line.split()) for line in WRONG_SUM.splitlines()}
    secret = [" ".join(line.split()) for line in solution.splitlines() if " ".join(line.split()) not in learner]
    assert secret, "the wrong submission should lack some lines of the solution"
    for finding in review.findings:
        for line in secret:
            assert line not in " ".join(finding.message.split()) and line not in " ".join(finding.question.split())


@needs_sandbox
def test_print_instead_of_return_is_spotted_from_the_grading_result(minimal_build: BuildReport,
                                                                   sandbox: Sandbox) -> None:
    exercise = load_exercise(minimal_build.catalog_db, "00000000-0000-4000-8000-000000000015")  # double-it
    tests = exercise.visible_tests + [dict(t, hidden=True) for t in exercise.hidden_tests]
    code = "def double(n):\n    print(n * 2)\n"
    graded = sandbox.grade(code, tests, seed=0)
    review = review_code(code, grading=graded, solution="def double(n):\n    return n * 2\n")
    assert "None" in graded.results[0]["message"]
    assert "ast:print-instead-of-return" in rules(review.findings)
    assert not any("return n * 2" in f.message + f.question for f in review.findings)
    passing = review_code("def double(n):\n    return n * 2\n",
                          grading=sandbox.grade("def double(n):\n    return n * 2\n", tests, seed=0))
    assert passing.passed is True and passing.findings == [] and "All 2 tests pass" in passing.summary


def test_timeouts_in_grading_become_a_finding_and_loop_debugging_steps() -> None:
    grading = {"passed": False, "status": "timeout", "message": "Your program timed out after 5 s.",
               "results": [{"name": "a", "passed": False, "hidden": False, "message": "This test did not finish"},
                           {"name": "b", "passed": False, "hidden": True, "message": "Not run: it timed out"}]}
    review = review_code("n = 1\nwhile n > 0:\n    n = n + 1\n", grading=grading)
    assert "test:status-timeout" in rules(review.findings) and "test:b" not in rules(review.findings)
    assert any("loop" in step for step in review.debugging_steps)
