"""The Quiz Generator (sidecar/agents/quiz/quizgen.py) on the demo course, in the real sandbox."""

from __future__ import annotations

import ast
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sidecar.agents.quiz.mutants import mutants
from sidecar.agents.quiz.quizgen import KINDS, MAX_SANDBOX_CALLS, GeneratedItem, check_answer, generate_items
from sidecar.compiler.build import BuildReport
from sidecar.courseware.model import BLANK
from sidecar.errors import InvalidInput, NotFound
from sidecar.sandbox import GradeResult, RunResult, Sandbox
from sidecar.settings import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("node") is None
                                or not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file(),
                                reason="needs Node.js and node_modules/pyodide (npm ci)")

ACCUMULATORS = "161d3845-fc69-4c02-92f2-9cc7d983d2fa"  # loops/accumulators.md: 3 snippets, 2 exercises
FOR_AND_RANGE = "149d7ddc-e5f4-48eb-9814-fced82628e29"
SUM_TO_N_SOLUTION = ("n = int(input(\"n: \"))\ntotal = 0\nfor i in range(1, n + 1):\n    total = total + i\n"
                     "print(total)\n")


def normalize(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@dataclass
class Counting:
    """The real sandbox, counting the jobs a request sends it."""

    box: Any
    calls: list[str] = field(default_factory=list)

    def run(self, code: str, stdin: str = "", time_limit: float | None = None) -> RunResult:
        self.calls.append("run")
        return self.box.run(code, stdin=stdin, time_limit=time_limit)

    def grade(self, code: str, tests: Any, seed: int, time_limit: float | None = None) -> GradeResult:
        self.calls.append("grade")
        return self.box.grade(code, tests, seed=seed, time_limit=time_limit)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(pool_size=2)
    yield box
    box.close()


@pytest.fixture(scope="module")
def generated(demo_build: BuildReport, sandbox: Sandbox) -> tuple[list[GeneratedItem], Counting]:
    counting = Counting(sandbox)
    items = generate_items(catalog_db=demo_build.catalog_db, sandbox=counting, lesson_id=ACCUMULATORS, seed=1)
    items += generate_items(catalog_db=demo_build.catalog_db, sandbox=sandbox, lesson_id=FOR_AND_RANGE, seed=1)
    return items, counting


def exercise(demo_build: BuildReport, exercise_id: str) -> dict[str, Any]:
    with sqlite3.connect(demo_build.catalog_db) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM exercises WHERE id = ?", (exercise_id,)).fetchone())
    row["tests"] = json.loads(row["visible_tests"]) + [dict(t, hidden=True) for t in json.loads(row["hidden_tests"])]
    return row


def of_kind(items: list[GeneratedItem], kind: str) -> list[GeneratedItem]:
    found = [item for item in items if item.kind == kind]
    assert found, f"no {kind} item was generated"
    return found


def test_a_lesson_gets_every_kind_all_verified(generated: tuple[list[GeneratedItem], Counting]) -> None:
    items, counting = generated
    assert [item.kind for item in items[:4]] == list(KINDS)  # one of each, in turn
    assert 0 < len(counting.calls) <= MAX_SANDBOX_CALLS
    for item in items:
        assert item.verified and item.skills and item.explanation and item.source["how"]
        assert item.source.get("lesson_id") or item.source.get("exercise_id")
        answers = item.answer if isinstance(item.answer, list) else [item.answer]
        assert all(check_answer(item, str(answer)) for answer in answers)
        for answer in answers:  # never shown with the question
            if isinstance(answer, str):
                assert answer not in item.prompt and answer not in (item.code or "")


def test_predict_output_answers_are_what_the_sandbox_prints(generated: tuple[list[GeneratedItem], Counting],
                                                            sandbox: Sandbox) -> None:
    for item in of_kind(generated[0], "predict_output"):
        result = sandbox.run(item.code or "")
        assert result.status == "ok" and result.error is None
        assert normalize(result.output) == item.answer


def test_mcq_correct_choice_is_the_real_output_and_distractors_differ(
        generated: tuple[list[GeneratedItem], Counting], sandbox: Sandbox) -> None:
    for item in of_kind(generated[0], "mcq"):
        assert item.choices and 3 <= len(item.choices) <= 4 and len(set(item.choices)) == len(item.choices)
        assert normalize(sandbox.run(item.code or "").output) == item.choices[item.answer]
        wrong = next(i for i in range(len(item.choices)) if i != item.answer)
        assert check_answer(item, str(item.answer)) and not check_answer(item, str(wrong))


def test_find_the_bug_mutants_fail_a_test_and_the_originals_pass(generated: tuple[list[GeneratedItem], Counting],
                                                                 sandbox: Sandbox, demo_build: BuildReport) -> None:
    for item in of_kind(generated[0], "find_the_bug"):
        row = exercise(demo_build, item.source["exercise_id"])
        assert sandbox.grade(row["solution"], row["tests"], seed=1).passed
        mutant = sandbox.grade(item.code or "", row["tests"], seed=1)
        assert mutant.status == "ok" and not mutant.passed
        assert isinstance(item.answer, int) and item.source["from_solution"]
        assert (item.code or "").splitlines()[item.answer - 1] not in row["solution"].splitlines()
        assert check_answer(item, f" {item.answer} ") and not check_answer(item, str(item.answer + 1))


def test_code_completion_is_verified_with_and_without_the_answer(generated: tuple[list[GeneratedItem], Counting],
                                                                 sandbox: Sandbox, demo_build: BuildReport) -> None:
    spellings = 0
    for item in of_kind(generated[0], "code_completion"):
        template = item.code or ""
        assert template.count(BLANK) == 1 and isinstance(item.answer, list) and item.answer
        left_out = template.replace(BLANK, "pass")
        if "exercise_id" in item.source:
            tests = exercise(demo_build, item.source["exercise_id"])["tests"]
            for answer in item.answer:
                assert sandbox.grade(template.replace(BLANK, answer), tests, seed=1).passed
            assert not sandbox.grade(left_out, tests, seed=1).passed
        else:
            for answer in item.answer:
                printed = normalize(sandbox.run(template.replace(BLANK, answer)).output)
                assert printed and item.prompt.endswith(printed)
            assert normalize(sandbox.run(left_out).output) != printed
        spellings += len(item.answer) > 1
        assert check_answer(item, ast.unparse(ast.parse(item.answer[0])))  # spacing and quotes don't matter
        assert not check_answer(item, "pass")
    assert spellings, "`total = total + i` should also be accepted as `total += i`"


def test_generation_is_deterministic_per_seed(generated: tuple[list[GeneratedItem], Counting],
                                              demo_build: BuildReport, sandbox: Sandbox) -> None:
    again = generate_items(catalog_db=demo_build.catalog_db, sandbox=sandbox, lesson_id=ACCUMULATORS, seed=1)
    assert again == generated[0][:len(again)] and len(again) == 4
    other = [generate_items(catalog_db=demo_build.catalog_db, sandbox=sandbox, lesson_id=FOR_AND_RANGE, seed=seed,
                            kinds=["predict_output"], count=1) for seed in (1, 2)]
    assert other[0][0].code != other[1][0].code, "different seeds should pick different snippets"


def test_sandbox_work_is_capped_per_request(demo_build: BuildReport, sandbox: Sandbox) -> None:
    counting = Counting(sandbox)
    items = generate_items(catalog_db=demo_build.catalog_db, sandbox=counting, lesson_id=ACCUMULATORS, seed=5,
                           count=10, max_sandbox_calls=5)
    assert len(counting.calls) <= 5 and 1 <= len(items) < 10
    assert all(item.verified for item in items)


class LyingSandbox:
    """Every run prints something new and every program passes: nothing may verify against this."""

    def __init__(self) -> None:
        self.count = 0

    def run(self, code: str, stdin: str = "", time_limit: float | None = None) -> RunResult:
        self.count += 1
        return RunResult(output=f"{self.count}\n", error=None, status="ok")

    def grade(self, code: str, tests: Any, seed: int, time_limit: float | None = None) -> GradeResult:
        return GradeResult(passed=True, results=[{"name": t["name"], "passed": True, "message": "", "hidden": False}
                                                 for t in tests], status="ok", message="", duration_ms=1.0,
                           worker_restarts=0)


def test_items_that_fail_verification_are_dropped(demo_build: BuildReport) -> None:
    items = generate_items(catalog_db=demo_build.catalog_db, sandbox=LyingSandbox(), lesson_id=ACCUMULATORS,
                           max_sandbox_calls=100)
    assert items == []


def test_function_exercises_of_the_fixture_course(minimal_build: BuildReport, sandbox: Sandbox) -> None:
    items = generate_items(catalog_db=minimal_build.catalog_db, sandbox=sandbox,
                           lesson_id="00000000-0000-4000-8000-000000000013", kinds=["find_the_bug", "code_completion"])
    # One item per program: double-it makes the bug hunt; `print("try me")` is too short to blank.
    assert [item.kind for item in items] == ["find_the_bug"]
    bug = items[0]
    assert bug.answer == 2 and bug.code != "def double(n):\n    return n * 2\n"
    assert "double(4) should be 8" in bug.explanation


def test_bad_requests(demo_build: BuildReport, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidInput):
        generate_items(catalog_db=demo_build.catalog_db, sandbox=sandbox, lesson_id=ACCUMULATORS, kinds=["essay"])
    with pytest.raises(NotFound):
        generate_items(catalog_db=demo_build.catalog_db, sandbox=sandbox, lesson_id="no-such-lesson")


def test_check_answer_normalises_like_the_quiz_grader() -> None:
    def item(kind: str, answer: Any) -> GeneratedItem:
        return GeneratedItem(kind=kind, prompt="?", code="", choices=None, answer=answer, explanation="",
                             source={}, verified=True, skills=[])

    assert check_answer(item("predict_output", "1\n4"), "1   \n4\n\n")
    assert not check_answer(item("predict_output", "1\n4"), "1 4")
    assert check_answer(item("find_the_bug", 3), " 3\n") and not check_answer(item("find_the_bug", 3), "three")
    assert check_answer(item("mcq", 0), "0") and not check_answer(item("mcq", 0), "1")
    assert check_answer(item("code_completion", ["total = total + i"]), "total=total+ i")
    assert not check_answer(item("code_completion", ["total = total + i"]), "total += i")
    assert check_answer(item("code_completion", ["total = total + i", "total += i"]), "total += i")
    assert not check_answer(item("code_completion", "x = 1"), "x = 1" * 5000)


def test_mutants_change_exactly_one_line_and_still_parse() -> None:
    found = mutants(SUM_TO_N_SOLUTION)
    hows = {m.how for m in found}
    assert {"range-stop", "start-value", "arithmetic", "accumulator-in-loop"} <= hows
    original = SUM_TO_N_SOLUTION.splitlines()
    for mutant in found:
        ast.parse(mutant.code)
        lines = mutant.code.splitlines()
        if mutant.how == "accumulator-in-loop":
            assert lines[mutant.line - 1] == "    total = 0" and "total = 0" not in lines
            continue
        changed = [i + 1 for i, (a, b) in enumerate(zip(original, lines, strict=True)) if a != b]
        assert changed == [mutant.line], mutant
    assert mutants("def broken(:\n") == []
