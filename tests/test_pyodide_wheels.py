"""Vendored pure-Python wheels for Pyodide (issue #15): pytest and what it needs, for the Testing course.

They are committed in site/wheels/, pinned with hashes in requirements/pyodide-wheels.txt, served by
the built site (assets/drona/wheels/ with an index of the modules they provide) and importable wherever
learner code runs: the browser's worker installs them on the first import (tests/e2e), `drona validate`
imports them from their zip files, and the grading sandbox writes them into each isolate.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sidecar.compiler.build import BuildReport
from sidecar.courseware.codechecks import _run_chunk
from sidecar.sandbox import Sandbox
from sidecar.settings import REPO_ROOT

from .conftest import needs_node

WHEELS = REPO_ROOT / "site" / "wheels"
LOCK = REPO_ROOT / "requirements" / "pyodide-wheels.txt"
PYTEST_PROGRAM = '''import pytest

def add(a, b):
    return a + b

def test_add():
    assert add(2, 2) == 4

def test_raises():
    with pytest.raises(ZeroDivisionError):
        1 / 0

@pytest.mark.parametrize("a, b, total", [(1, 2, 3), (2, 2, 4)])
def test_param(a, b, total):
    assert add(a, b) == total

print("pytest", pytest.__version__)
'''
PYTEST_TESTS: list[dict[str, Any]] = [
    {"name": "the learner's tests pass", "code": "test_add()\ntest_raises()\ntest_param(1, 2, 3)"},
    {"name": "a wrong case fails",
     "code": "try:\n    test_param(1, 1, 3)\nexcept AssertionError:\n    pass\n"
             "else:\n    raise AssertionError('1 + 1 is not 3')"},
]


def _locked() -> dict[str, tuple[str, str]]:
    """{wheel file name prefix: (version, sha256)} from the lock."""
    text = LOCK.read_text(encoding="utf-8")
    return {name: (version, digest) for name, version, digest
            in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{64})$", text, re.M)}


def test_every_vendored_wheel_is_pinned_by_hash_and_pure_python() -> None:
    locked = _locked()
    wheels = sorted(WHEELS.glob("*.whl"))
    assert {"pytest", "pluggy", "iniconfig", "packaging", "pygments"} <= set(locked)
    assert len(wheels) == len(locked), "one file per pin, no stray wheel"
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        assert wheel.name.endswith("-py3-none-any.whl"), f"{wheel.name} is not pure Python"
        assert locked[name] == (version, hashlib.sha256(wheel.read_bytes()).hexdigest()), f"{wheel.name} changed"


def test_the_site_serves_the_wheels_and_their_modules(minimal_build: BuildReport) -> None:
    folder = minimal_build.site_dir / "assets" / "drona" / "wheels"
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    assert sorted(index["wheels"]) == sorted(w.name for w in WHEELS.glob("*.whl"))
    assert all((folder / name).read_bytes() == (WHEELS / name).read_bytes() for name in index["wheels"])
    assert {"pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments"} <= set(index["modules"])
    assert not any(m.endswith(".dist-info") for m in index["modules"])


def test_validation_imports_the_vendored_pytest() -> None:
    results = _run_chunk([{"key": "run", "code": PYTEST_PROGRAM, "stdin": ""},
                          {"key": "tests", "code": PYTEST_PROGRAM, "tests": PYTEST_TESTS}])
    version = _locked()["pytest"][0]
    assert results["run"] == {"key": "run", "output": f"pytest {version}\n", "error": None}
    assert results["tests"]["passed"] is True, results["tests"]


@needs_node
def test_the_sandbox_grades_a_program_that_imports_pytest(sandbox: Sandbox) -> None:
    graded = sandbox.grade(PYTEST_PROGRAM, PYTEST_TESTS, seed=0)
    assert graded.status == "ok" and graded.passed, graded.results
    broken = PYTEST_PROGRAM.replace("return a + b", "return a * b")
    graded = sandbox.grade(broken, PYTEST_TESTS, seed=0)
    assert [r["passed"] for r in graded.results] == [False, True]
    ran = sandbox.run("import pytest\nprint(pytest.main(['--version']) is not None)")
    assert ran.status == "ok" and ran.error is None, ran.error


@needs_node
def test_named_tuples_work_in_the_sandbox_and_function_code_stays_locked(sandbox: Sandbox) -> None:
    """Python 3.14 builds NamedTuple and namedtuple defaults in ways the audit hook used to deny."""
    ran = sandbox.run("import typing, collections\nclass Point(typing.NamedTuple):\n    x: int\n    y: int = 0\n"
                      "Pair = collections.namedtuple('Pair', 'a b', defaults=[9])\nprint(Point(1), Pair(2))")
    assert ran.status == "ok" and ran.output == "Point(x=1, y=0) Pair(a=2, b=9)\n", ran.error
    swap = sandbox.run("def f():\n    return 1\nf.__code__ = (lambda: 2).__code__\n")
    assert swap.error is not None and "changing a function's __code__ is not available" in swap.error
