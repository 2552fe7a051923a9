"""Run a course's certification material for `drona validate`, like exercises and quiz snippets.

Silver bank: each predict-the-output item prints exactly its answer; each find-the-bug check fails
on the code as written and passes once the named line is replaced by the fix (so the line really is
the bug); each coding problem's solution passes every test and its starter fails one. Gold options:
every test passes on the reference solution, run as the sandbox will run a learner's project
(project_program.py), and at least one fails when the entry module is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .codechecks import PROGRAM_TIME_LIMIT, RANDOM_SEEDS, Job, failure_summary
from .model import CertificationFile, Source
from .problems import Problems
from .project_program import project_program

DEFAULT_TIME_LIMIT = 5.0
GOLD_TIME_LIMIT = 10.0  # a project is bigger than an exercise; the same margin as exercises (twice)


def normalise_output(text: str) -> str:
    """Output as compared for predict-the-output items: trailing spaces of each line and the newlines
    at both ends do not count."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip("\n").split("\n"))


def with_fix(code: str, line: int, fix: str) -> str:
    """`code` with its 1-based `line` replaced by `fix`."""
    lines = code.split("\n")
    lines[line - 1] = fix
    return "\n".join(lines)


def _broke(result: dict[str, Any]) -> bool:
    return bool(result.get("error") or "timeout" in result or result.get("crashed"))


def _expect(src: Source, problems: Problems, path: tuple[str | int, ...], passes: bool,
            message: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], None]:
    """A judge: reports `message(result)` at `path` unless the job passed (passes=True) or failed."""
    def judge(result: dict[str, Any]) -> None:
        if bool(result.get("passed")) != passes:
            problems.add(src.path, src.line(*path), message(result))
    return judge


def _predict_job(src: Source, problems: Problems, index: int, item: dict[str, Any]) -> Job:
    expected = str(item["answer"])

    def judge(result: dict[str, Any]) -> None:
        if _broke(result):
            problems.add(src.path, src.line("analysis", index, "code"),
                         f"analysis[{index}].code: the code must run, but it {failure_summary(result)}")
        elif normalise_output(result["output"]) != normalise_output(expected):
            problems.add(src.path, src.line("analysis", index, "answer"),
                         f"analysis[{index}].answer: the code prints {result['output'].strip()!r}, "
                         f"not {expected.strip()!r}")

    return Job({"code": item["code"], "stdin": "", "time_limit": PROGRAM_TIME_LIMIT}, judge)


def _bug_jobs(src: Source, problems: Problems, index: int, item: dict[str, Any]) -> Iterable[Job]:
    tests = [{"name": "check", "code": item["check"]}]
    where = f"analysis[{index}]"
    yield Job({"code": item["code"], "tests": tests, "time_limit": PROGRAM_TIME_LIMIT},
              _expect(src, problems, ("analysis", index, "check"), False,
                      lambda _r: f"{where}.check passes on the code as written: it must fail there, to show the bug"))
    if item["answer"] <= len(item["code"].rstrip("\n").split("\n")):  # else reported by the static check
        fixed = with_fix(item["code"], item["answer"], item["fix"])
        yield Job({"code": fixed, "tests": tests, "time_limit": PROGRAM_TIME_LIMIT},
                  _expect(src, problems, ("analysis", index, "fix"), True,
                          lambda r: f"{where}.fix: with line {item['answer']} replaced by the fix, the check must "
                                    f"pass, but it {failure_summary(r)}"))


def _coding_jobs(src: Source, problems: Problems, index: int, item: dict[str, Any]) -> Iterable[Job]:
    tests = ([dict(t) for t in item["tests"]["visible"]] + [dict(t, hidden=True) for t in item["tests"]["hidden"]])
    limit = float(item.get("time_limit_seconds", DEFAULT_TIME_LIMIT)) * 2
    seeds = RANDOM_SEEDS if item.get("randomized") else (0,)
    where = f"coding[{index}]"
    for seed in seeds:
        yield Job({"code": item["solution"], "tests": tests, "seed": seed, "time_limit": limit},
                  _expect(src, problems, ("coding", index, "solution"), True,
                          lambda r: f"{where}.solution: the reference solution must pass every test, but it "
                                    f"{failure_summary(r)}"))
    yield Job({"code": item["starter"], "tests": tests, "seed": seeds[0], "time_limit": limit},
              _expect(src, problems, ("coding", index, "starter"), False,
                      lambda _r: f"{where}.starter: the starter code must fail at least one test, but it passes "
                                 "them all"))


def silver_jobs(bank: CertificationFile, problems: Problems) -> Iterable[Job]:
    src, data = bank.source, bank.data
    for index, item in enumerate(data.get("analysis") or []):
        if item["kind"] == "predict_output":
            yield _predict_job(src, problems, index, item)
        else:
            yield from _bug_jobs(src, problems, index, item)
    for index, item in enumerate(data.get("coding") or []):
        yield from _coding_jobs(src, problems, index, item)


def gold_tests(option: dict[str, Any]) -> list[dict[str, Any]]:
    """An option's tests as a grading runs them: every test with its `hidden` flag as a boolean."""
    return [dict(t, hidden=bool(t.get("hidden", False))) for t in option["tests"]]


def _option_jobs(src: Source, problems: Problems, index: int, option: dict[str, Any]) -> Iterable[Job]:
    try:
        program = project_program(option["reference"], option["entry"])
        empty = project_program({**option["reference"], option["entry"]: ""}, option["entry"])
    except ValueError:
        return  # reported by the static check (certification.py)
    tests = gold_tests(option)
    where = f"options[{index}]"
    for seed in RANDOM_SEEDS:
        yield Job({"code": program, "tests": tests, "seed": seed, "time_limit": GOLD_TIME_LIMIT},
                  _expect(src, problems, ("options", index, "reference"), True,
                          lambda r: f"{where}.reference: the reference solution must pass every test, but it "
                                    f"{failure_summary(r)}"))
    yield Job({"code": empty, "tests": tests, "seed": RANDOM_SEEDS[0], "time_limit": GOLD_TIME_LIMIT},
              _expect(src, problems, ("options", index, "tests"), False,
                      lambda _r: f"{where}.tests: a project whose {option['entry']} is empty passes every test; "
                                 "the tests must check what the project does"))


def gold_jobs(gold: CertificationFile, problems: Problems) -> Iterable[Job]:
    for index, option in enumerate(gold.data.get("options") or []):
        yield from _option_jobs(gold.source, problems, index, option)


def certification_jobs(file: CertificationFile, problems: Problems) -> Iterable[Job]:
    return silver_jobs(file, problems) if file.kind == "silver-bank" else gold_jobs(file, problems)
