"""Run authored code in subprocesses and turn the outcomes into content problems.

Checks (docs/authoring.md): each reference solution passes every test; each starter fails at
least one; each misconception's wrong code fails at least one; predict-output and
code-completion quiz items really print what their answer says; a course's certification
material runs as certcode.py says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checkrunner import RESULT_MARK
from .model import BLANK, Catalog, Exercise, Quiz
from .problems import Problems

# Seeds used for randomized exercises: several draws so a lucky input cannot hide a bug.
RANDOM_SEEDS = (1, 2, 3)
PROGRAM_TIME_LIMIT = 5.0
CHUNK_SIZE = 200
_BOOTSTRAP = "import sys; sys.path.insert(0, %r); from sidecar.courseware.checkrunner import main; main()"


@dataclass
class Job:
    payload: dict[str, Any]
    judge: Callable[[dict[str, Any]], None]


def _run_chunk(jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    budget = sum(float(j.get("time_limit", PROGRAM_TIME_LIMIT)) for j in jobs) + 10.0
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8"}
    with tempfile.TemporaryDirectory(prefix="drona-check-") as scratch:
        try:
            proc = subprocess.run(
                # -I: no user site, no PYTHON* variables; the package path is passed explicitly.
                [sys.executable, "-I", "-c", _BOOTSTRAP % _package_root()],
                input=json.dumps(jobs),
                capture_output=True,
                text=True,
                timeout=budget,
                cwd=scratch,
                env=env,
            )
            stdout = proc.stdout
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout
            stdout = out.decode() if isinstance(out, bytes) else (out or "")
    results: dict[str, dict[str, Any]] = {}
    for line in stdout.split("\n"):  # not splitlines(): it would split at the mark's \x1e
        if not line.startswith(RESULT_MARK):
            continue
        try:
            result = json.loads(line[len(RESULT_MARK):])
        except json.JSONDecodeError:
            continue
        results[str(result.get("key"))] = result
    return results


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_jobs(jobs: list[Job], workers: int | None = None) -> None:
    """Run all jobs in a few isolated processes and hand each result to its judge."""
    if not jobs:
        return
    payloads = [dict(job.payload, key=str(i)) for i, job in enumerate(jobs)]
    chunks = [payloads[i : i + CHUNK_SIZE] for i in range(0, len(payloads), CHUNK_SIZE)]
    workers = workers or min(len(chunks), os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        merged: dict[str, dict[str, Any]] = {}
        for part in pool.map(_run_chunk, chunks):
            merged.update(part)
    for i, job in enumerate(jobs):
        job.judge(merged.get(str(i), {"crashed": True}))


def failure_summary(result: dict[str, Any]) -> str:
    if result.get("crashed"):
        return "crashed the checker process"
    if "timeout" in result:
        return f"timed out after {result['timeout']:g} s"
    if result.get("error"):
        return "raised " + str(result["error"]).splitlines()[-1]
    failed = [r for r in result.get("results", []) if not r["passed"]]
    parts = []
    for r in failed[:3]:
        detail = r["message"].strip().splitlines()[-1] if r["message"].strip() else "failed"
        parts.append(f"'{r['name']}' ({detail})")
    return "fails " + ", ".join(parts)


def exercise_jobs(exercise: Exercise, problems: Problems) -> Iterable[Job]:
    src = exercise.source
    tests = exercise.all_tests()
    limit = exercise.time_limit
    seeds = RANDOM_SEEDS if exercise.data.get("randomized") else (0,)

    def expect_pass(field: str) -> Callable[[dict[str, Any]], None]:
        def judge(result: dict[str, Any]) -> None:
            if not result.get("passed"):
                problems.add(src.path, src.line(field),
                             f"{field}: the reference solution must pass every test, but it "
                             f"{failure_summary(result)}")
        return judge

    def expect_fail(field: tuple[str | int, ...], what: str) -> Callable[[dict[str, Any]], None]:
        def judge(result: dict[str, Any]) -> None:
            if result.get("passed"):
                problems.add(src.path, src.line(*field),
                             f"{'.'.join(map(str, field))}: {what} must fail at least one test, "
                             "but it passes them all")
        return judge

    for seed in seeds:
        yield Job({"code": exercise.data["solution"], "tests": tests, "seed": seed, "time_limit": limit * 2},
                  expect_pass("solution"))
    yield Job({"code": exercise.data["starter"], "tests": tests, "seed": seeds[0], "time_limit": limit * 2},
              expect_fail(("starter",), "the starter code"))
    for index, item in enumerate(exercise.data.get("misconceptions", [])):
        yield Job({"code": item["wrong_code"], "tests": tests, "seed": seeds[0], "time_limit": limit * 2},
                  expect_fail(("misconceptions", index, "wrong_code"), "the misconception's wrong code"))


def _normalize_output(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def quiz_jobs(quiz: Quiz, problems: Problems) -> Iterable[Job]:
    src = quiz.source
    for index, item in enumerate(quiz.data["items"]):
        kind = item.get("kind")
        if kind == "predict-output":
            expected = str(item["answer"])

            def judge_predict(result: dict[str, Any], index: int = index, expected: str = expected) -> None:
                where = f"items[{index}].answer"
                if result.get("error") or "timeout" in result or result.get("crashed"):
                    problems.add(src.path, src.line("items", index, "code"),
                                 f"items[{index}].code: the code must run, but it {failure_summary(result)}")
                elif _normalize_output(result["output"]) != _normalize_output(expected):
                    problems.add(src.path, src.line("items", index, "answer"),
                                 f"{where}: the code prints {result['output'].strip()!r}, "
                                 f"not {expected.strip()!r}")

            yield Job({"code": item["code"], "stdin": "", "time_limit": PROGRAM_TIME_LIMIT}, judge_predict)
        elif kind == "code-completion":
            answers = [str(item["answer"]), *map(str, item.get("accept", []))]
            for answer_index, answer in enumerate(answers):
                completed = item["code"].replace(BLANK, answer)
                expected_output = item.get("expected_output")

                def judge_completion(result: dict[str, Any], index: int = index, answer: str = answer,
                                     expected_output: Any = expected_output, answer_index: int = answer_index
                                     ) -> None:
                    field = ("items", index, "answer") if answer_index == 0 else ("items", index, "accept")
                    where = f"items[{index}].{field[-1]}"
                    if result.get("error") or "timeout" in result or result.get("crashed"):
                        problems.add(src.path, src.line(*field),
                                     f"{where}: the code completed with {answer!r} must run, but it "
                                     f"{failure_summary(result)}")
                    elif expected_output is not None and (
                        _normalize_output(result["output"]) != _normalize_output(str(expected_output))
                    ):
                        problems.add(src.path, src.line(*field),
                                     f"{where}: completed with {answer!r} the code prints "
                                     f"{result['output'].strip()!r}, not {str(expected_output).strip()!r}")

                yield Job({"code": completed, "stdin": "", "time_limit": PROGRAM_TIME_LIMIT},
                          judge_completion)


def check_code(catalog: Catalog, problems: Problems, only: Callable[[Path], bool] | None = None) -> int:
    """Run every code check (of the files `only` accepts); returns how many programs ran."""
    jobs: list[Job] = []
    for exercise in catalog.exercises():
        if only is None or only(exercise.source.path):
            jobs.extend(exercise_jobs(exercise, problems))
    for quiz in catalog.quizzes():
        if only is None or only(quiz.source.path):
            jobs.extend(quiz_jobs(quiz, problems))
    # Imported here: certcode builds its jobs from this module's Job and helpers.
    from .certcode import certification_jobs

    for file in catalog.certification_files():
        if only is None or only(file.source.path):
            jobs.extend(certification_jobs(file, problems))
    run_jobs(jobs)
    return len(jobs)
