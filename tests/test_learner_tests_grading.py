"""Grading a learner's own tests (the Testing course): the judge decides, by what the tests catch.

An exercise's tests call `use_code(source)` to put an authored version of the code under test in
place of the program's own copy, `learner_tests()` to list the learner's test functions and
`outcome(name)` to call one across the plain-data boundary (docs/authoring.md, "Exercises that grade
the learner's tests"). A suite must pass on the correct version and fail on each buggy one; a suite
that misses a bug fails that (hidden) test. Checked in this interpreter (browser and validation use
the same harness), through `drona validate`'s check runner and on the real grading sandbox, where
`pytest.main([__file__])` also runs and prints pytest's report.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from sidecar.courseware import harness
from sidecar.courseware.codechecks import _run_chunk
from sidecar.sandbox import Sandbox
from tests.conftest import needs_node

CORRECT = 'def slugify(text):\n    return "-".join(text.lower().split())\n'
KEEPS_CAPITALS = 'def slugify(text):\n    return "-".join(text.split())\n'
SPLITS_ON_SPACE = 'def slugify(text):\n    return "-".join(text.lower().split(" "))\n'
LEARNER = '''import pytest

def slugify(text):
    return "-".join(text.lower().split())

def test_capitals():
    assert slugify("Hello World") == "hello-world"

def test_extra_spaces():
    assert slugify("  a   b ") == "a-b"

def test_not_text():
    with pytest.raises(AttributeError):
        slugify(None)

if __name__ == "__main__":
    pytest.main(["-q", "-p", "no:cacheprovider", __file__])
'''
MISSES_SPACES = LEARNER.replace('    assert slugify("  a   b ") == "a-b"', '    assert slugify("a b") == "a-b"')
WRONG_ON_CORRECT = LEARNER.replace('== "hello-world"', '== "Hello-World"')

PASSES = ('use_code(CORRECT)\nnames = learner_tests()\n'
          'assert names == ["test_capitals", "test_extra_spaces", "test_not_text"], names\n'
          'for name in names:\n    failure = outcome(name)\n'
          '    assert failure is None, f"{name} fails on a correct slugify: {failure}"\n')
CATCHES = 'use_code(BUG)\nassert any(outcome(name) for name in learner_tests())\n'
TESTS: list[dict[str, Any]] = [
    {"name": "passes on the correct version", "code": f"CORRECT = {CORRECT!r}\n" + PASSES},
    {"name": "catches capitals", "hidden": True, "feedback": "test a title with capitals",
     "code": f"BUG = {KEEPS_CAPITALS!r}\n" + CATCHES},
    {"name": "catches runs of spaces", "hidden": True, "feedback": "test several spaces in a row",
     "code": f"BUG = {SPLITS_ON_SPACE!r}\n" + CATCHES},
    {"name": "outcome names pytest's failures",
     "code": "use_code('def slugify(text):\\n    return \"\"\\n')\n"
             "assert outcome('test_not_text') == 'Failed: DID NOT RAISE AttributeError', outcome('test_not_text')\n"
             "assert outcome('test_capitals').startswith('AssertionError')\n"
             "try:\n    outcome('test_missing')\nexcept NameError:\n    pass\nelse:\n    raise AssertionError('no')\n"},
]
EXPECTED = {LEARNER: [True, True, True, True], MISSES_SPACES: [True, True, False, True],
            WRONG_ON_CORRECT: [False, False, True, True]}


@pytest.fixture()
def scratch(tmp_path: Any) -> Iterator[None]:
    """The harness writes main.py for `__file__` into the working directory: keep it out of the repo."""
    before = os.getcwd()
    os.chdir(tmp_path)
    yield
    os.chdir(before)


@pytest.mark.usefixtures("scratch")
def test_a_suite_is_graded_by_what_it_catches_in_this_interpreter() -> None:
    for program, expected in EXPECTED.items():
        results = harness.run_tests(program, TESTS)["results"]
        assert [r["passed"] for r in results] == expected, results
    missed = harness.run_tests(MISSES_SPACES, TESTS)["results"][2]
    assert missed["message"] == "test several spaces in a row"  # a hidden test shows its feedback only


@pytest.mark.usefixtures("scratch")
def test_the_learner_copy_cannot_change_the_verdict() -> None:
    """The program's own slugify is replaced: a copy edited to agree with wrong tests does not help."""
    cheat = WRONG_ON_CORRECT.replace('return "-".join(text.lower().split())', 'return "Hello-World"')
    assert [r["passed"] for r in harness.run_tests(cheat, TESTS)["results"]][0] is False


def test_validation_runs_pytest_main_on_the_program_and_grades_its_tests() -> None:
    results = _run_chunk([{"key": "run", "code": LEARNER, "stdin": ""},
                          {"key": "good", "code": LEARNER, "tests": TESTS},
                          {"key": "missed", "code": MISSES_SPACES, "tests": TESTS}])
    assert results["run"]["error"] is None and "3 passed" in results["run"]["output"], results["run"]
    assert results["good"]["passed"] is True, results["good"]
    assert [r["passed"] for r in results["missed"]["results"]] == [True, True, False, True]



@needs_node
def test_the_sandbox_grades_learner_tests_and_fails_a_suite_that_misses_a_bug(sandbox: Sandbox) -> None:
    for program, expected in EXPECTED.items():
        graded = sandbox.grade(program, TESTS, seed=0, time_limit=30)
        assert graded.status == "ok", graded.message
        assert [r["passed"] for r in graded.results] == expected, graded.results
        assert graded.passed is all(expected)


@needs_node
def test_pytest_main_prints_its_report_in_the_sandbox(sandbox: Sandbox) -> None:
    """pytest.main needs faulthandler (a do-nothing stand-in there) and string annotations (read
    without building a function, which the audit hook denies)."""
    ran = sandbox.run(MISSES_SPACES.replace('== "hello-world"', '== "nope"'))
    assert ran.status == "ok" and ran.error is None, ran.error
    assert "INTERNALERROR" not in ran.output, ran.output
    assert "1 failed, 2 passed" in ran.output and "assert 'hello-world' == 'nope'" in ran.output, ran.output


PARAMETRIZED = '''import pytest

def double(n):
    return n * 2

@pytest.mark.parametrize("n, expected", [(1, 2), pytest.param(0, 0, id="zero"), (-3, -6)])
def test_double(n, expected):
    assert double(n) == expected

@pytest.mark.parametrize("n", [5])
@pytest.mark.parametrize("sign", [1, -1])
def test_stacked(n, sign):
    assert double(n * sign) == 10 * sign
'''
PARAMETRIZED_TESTS: list[dict[str, Any]] = [
    {"name": "every case passes", "code": "use_code('def double(n):\\n    return n * 2\\n')\n"
     "assert [outcome(name) for name in learner_tests()] == [None, None]"},
    {"name": "a bug fails a case, named in the answer",
     "code": "use_code('def double(n):\\n    return abs(n) * 2 if n else 1\\n')\nfailure = outcome('test_double')\n"
             "assert failure.startswith('[n=0, expected=0] AssertionError'), failure\n"
             "assert outcome('test_stacked').startswith('[sign=-1, n=5]'), outcome('test_stacked')\n"
             "assert outcome('test_double', 1, 3) is not None and outcome('test_double', 2, 4) is None"},
]


@pytest.mark.usefixtures("scratch")
def test_outcome_runs_every_case_of_a_parametrized_test() -> None:
    results = harness.run_tests(PARAMETRIZED, PARAMETRIZED_TESTS)["results"]
    assert [r["passed"] for r in results] == [True, True], results


@needs_node
def test_the_sandbox_runs_every_case_of_a_parametrized_test(sandbox: Sandbox) -> None:
    graded = sandbox.grade(PARAMETRIZED, PARAMETRIZED_TESTS, seed=0, time_limit=20)
    assert graded.status == "ok" and [r["passed"] for r in graded.results] == [True, True], graded.results


def test_a_function_that_exits_fails_its_test_and_the_checker_goes_on() -> None:
    """sys.exit() inside a program function a test calls is the program's error, reported on that test:
    it must not end `drona validate`'s check runner (or the judge) with the chunk's other programs."""
    quits = "import sys\n\ndef area(w, h):\n    sys.exit(3)\n"
    tests = [{"name": "area", "code": "assert area(2, 3) == 6"}]
    results = _run_chunk([{"key": "quits", "code": quits, "tests": tests},
                          {"key": "after", "code": "def area(w, h):\n    return w * h\n", "tests": tests}])
    assert results["quits"]["passed"] is False and "SystemExit" in results["quits"]["results"][0]["message"], \
        results["quits"]
    assert results["after"]["passed"] is True, results["after"]
