"""Quiz Generator (issue 5): practice items from course content, each verified before anyone sees it.

Works with no model configured. Every answer comes from the grading sandbox, never from a guess:

- predict_output: a lesson snippet (or exercise example) is run twice; kept only when both runs
  finish cleanly with the same short output, which becomes the answer;
- mcq: the same, with distractors printed by mutated versions of the snippet (verified to differ);
- find_the_bug: the reference solution is mutated (mutants.py) and each mutant graded against the
  exercise's visible and hidden tests; kept only when the original passes and the mutant fails;
- code_completion: one line of a snippet or solution is blanked; the program completed with each
  accepted answer (the original line, and `x += e` for `x = x + e` or back when that also passes)
  must pass (or print the stated output) and the program with the line left out must not.

Items that fail verification are dropped, so every returned item has `verified=True`. Work is
bounded: at most `max_sandbox_calls` sandbox jobs per request (default 16), so a request may
return fewer than `count` items. Output is deterministic for a given seed and catalog.

find_the_bug and code_completion items built from an exercise show (most of) its reference
solution; `source["from_solution"]` marks them so callers can serve them only to learners who
have passed that exercise. Answers are never in `prompt` or `code`; check them with check_answer.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecar.agents.quiz.mutants import Mutant, mutants
from sidecar.catalog import readers
from sidecar.catalog.readers import ExerciseRecord
from sidecar.courseware.model import BLANK
from sidecar.errors import InvalidInput, NotFound

__all__ = ["KINDS", "MAX_SANDBOX_CALLS", "GeneratedItem", "check_answer", "generate_items"]

KINDS = ("predict_output", "mcq", "find_the_bug", "code_completion")
MAX_SANDBOX_CALLS = 16  # per request: about 2-4 s of sandbox time on a 2-core server
PARALLEL_JOBS = 2  # sandbox jobs in flight at once for one request
MAX_COUNT = 10
RUN_TIME_LIMIT = 2.0  # seconds per snippet or mutant run; lesson snippets are tiny
MUTANT_TIME_LIMIT = 2.0  # seconds per graded mutant at most: one that runs long is dropped anyway
MAX_OUTPUT_LINES, MAX_OUTPUT_CHARS = 8, 300  # longer outputs make poor predict-the-output items
MAX_CHOICE_LINES = 4
MAX_SNIPPET_LINES = 25
MUTANT_TRIES = 3  # graded mutants per find_the_bug item
DISTRACTOR_TRIES = 3  # runs spent looking for mcq distractors (2 needed)
MAX_ANSWER_CHARS = 10_000
# Modules whose use is deterministic; anything else (random, time, os...) is skipped unrun.
SAFE_IMPORTS = frozenset({"math", "string", "itertools", "functools", "collections", "statistics", "operator"})
_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class GeneratedItem:
    kind: str  # "mcq" | "predict_output" | "find_the_bug" | "code_completion"
    prompt: str
    code: str | None
    choices: list[str] | None
    # mcq: the correct choice's index; predict_output: the output text; find_the_bug: the 1-based line number;
    # code_completion: the accepted lines, each verified by running (the original line first)
    answer: Any
    explanation: str
    source: dict[str, Any]  # {lesson_id | exercise_id, how, ...}
    verified: bool
    skills: list[str]


@dataclass(frozen=True)
class _Snippet:
    code: str
    source: dict[str, Any]
    skills: list[str]


class _OutOfCalls(Exception):
    """The request's sandbox budget is spent: stop and return the items made so far."""


@dataclass
class _Runner:
    """The sandbox behind a budget, with results cached per program (same text, same result).

    Independent jobs go to the sandbox two at a time (its pool has two warm workers by default),
    which halves the wait for the double run and the with/without pairs.
    """

    sandbox: Any
    limit: int
    seed: int
    calls: int = 0
    done_runs: dict[str, list[Any]] = field(default_factory=dict)
    done_grades: dict[tuple[str, str], Any] = field(default_factory=dict)

    def _spend(self, jobs: int) -> None:
        if self.calls + jobs > self.limit:
            self.calls = self.limit
            raise _OutOfCalls
        self.calls += jobs

    def run(self, code: str, times: int = 1) -> list[Any]:
        """`times` independent runs of `code` (cached ones count)."""
        done = self.done_runs.setdefault(code, [])
        if len(done) < times:
            self._spend(times - len(done))
            done += _together([self._run_job(code)] * (times - len(done)))
        return done[:times]

    def runs(self, codes: Sequence[str]) -> list[Any]:
        """One run of each program, the missing ones concurrently."""
        missing = list(dict.fromkeys(c for c in codes if not self.done_runs.get(c)))
        self._spend(len(missing))
        for code, result in zip(missing, _together([self._run_job(c) for c in missing]), strict=True):
            self.done_runs[code] = [result]
        return [self.done_runs[c][0] for c in codes]

    def grades(self, codes: Sequence[str], exercise: ExerciseRecord, time_limit: float | None = None) -> list[Any]:
        """Each program graded against the exercise's tests, the missing ones concurrently."""
        missing = list(dict.fromkeys(c for c in codes if (exercise.id, c) not in self.done_grades))
        self._spend(len(missing))
        jobs = [self._grade_job(c, exercise, time_limit or exercise.time_limit) for c in missing]
        for code, result in zip(missing, _together(jobs), strict=True):
            self.done_grades[(exercise.id, code)] = result
        return [self.done_grades[(exercise.id, c)] for c in codes]

    def _run_job(self, code: str) -> Callable[[], Any]:
        return lambda: self.sandbox.run(code, stdin="", time_limit=RUN_TIME_LIMIT)

    def _grade_job(self, code: str, exercise: ExerciseRecord, time_limit: float) -> Callable[[], Any]:
        return lambda: self.sandbox.grade(code, exercise.tests, seed=self.seed, time_limit=time_limit)


def _together(jobs: list[Callable[[], Any]]) -> list[Any]:
    if len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=PARALLEL_JOBS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def generate_items(*, catalog_db: Path, sandbox: Any, lesson_id: str | None = None, module_id: str | None = None,
                   kinds: Sequence[str] = KINDS, count: int = 4, seed: int = 0,
                   max_sandbox_calls: int = MAX_SANDBOX_CALLS) -> list[GeneratedItem]:
    """Up to `count` verified items from one lesson, one module, or (neither given) the whole catalog."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise InvalidInput(f"Unknown quiz item kinds: {', '.join(unknown) or '(none given)'}.")
    count = max(0, min(count, MAX_COUNT))
    snippets, exercises = _load(catalog_db, lesson_id, module_id)
    rng = random.Random(seed)  # noqa: S311 - reproducible item selection, not security
    rng.shuffle(snippets)
    rng.shuffle(exercises)
    runner = _Runner(sandbox, max_sandbox_calls, seed)
    used: set[str] = set()  # one item per program
    makers: dict[str, Callable[[], GeneratedItem | None]] = {
        "predict_output": lambda: _first(snippets, used, lambda s: _predict_output(s, runner)),
        "mcq": lambda: _first(snippets, used, lambda s: _mcq(s, runner, rng)),
        "find_the_bug": lambda: _first(exercises, used, lambda e: _find_the_bug(e, runner, rng)),
        "code_completion": lambda: _first([*exercises, *snippets], used, lambda c: _completion(c, runner, rng)),
    }
    active = list(dict.fromkeys(kinds))
    items: list[GeneratedItem] = []
    turn = 0
    try:
        while len(items) < count and active:
            kind = active[turn % len(active)]
            item = makers[kind]()
            if item is None:
                active.remove(kind)  # nothing left that verifies for this kind
                continue
            items.append(item)
            turn += 1
    except _OutOfCalls:
        pass
    return items


def check_answer(item: GeneratedItem, answer: str) -> bool:
    """Server-side check of a learner's answer (outputs compared line by line, line numbers as ints)."""
    if answer is None or len(str(answer)) > MAX_ANSWER_CHARS:
        return False
    text = str(answer)
    if item.kind in ("mcq", "find_the_bug"):
        try:
            return int(text.strip()) == int(item.answer)
        except ValueError:
            return False
    if item.kind == "predict_output":
        return _normalize_output(text) == _normalize_output(str(item.answer))
    if item.kind == "code_completion":
        accepted = item.answer if isinstance(item.answer, list) else [item.answer]
        return any(_same_statement(text, str(a)) for a in accepted)
    return False


# ---- content ------------------------------------------------------------------------------------------


def _load(catalog_db: Path, lesson_id: str | None, module_id: str | None,
          ) -> tuple[list[_Snippet], list[ExerciseRecord]]:
    bodies = readers.lesson_bodies(catalog_db, lesson_id=lesson_id, module_id=module_id)
    if (lesson_id is not None or module_id is not None) and not bodies:
        raise NotFound("No lesson or module with that id.")
    catalog_lessons = readers.lessons(catalog_db)
    lessons = sorted((catalog_lessons[i] for i in bodies if i in catalog_lessons),
                     key=lambda lesson: (lesson.module_id, lesson.position))
    snippets = [_Snippet(code, {"lesson_id": lesson.id, "snippet": n}, lesson.skills)
                for lesson in lessons for n, code in enumerate(_FENCE.findall(bodies[lesson.id]))]
    everything = readers.exercises(catalog_db).values()
    if lesson_id is not None:
        exercises = [e for e in everything if e.lesson_id == lesson_id]
    elif module_id is not None:
        exercises = [e for e in everything if e.module_id == module_id]
    else:
        exercises = list(everything)
    exercises.sort(key=lambda e: e.id)
    for exercise in exercises:
        # Worked examples are public (shown with the exercise): fine for predict-the-output.
        snippets += [_Snippet(code, {"exercise_id": exercise.id, "example": n}, exercise.skills)
                     for n, code in enumerate(_FENCE.findall(exercise.example or ""))]
    return [s for s in snippets if _runnable(s.code)], exercises


def _runnable(code: str) -> bool:
    """A snippet worth running: parses, prints, needs no input, no randomness or clock, no endless loop."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    if len(code.strip().splitlines()) > MAX_SNIPPET_LINES:
        return False
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    imports = {alias.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    imports |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    endless = any(isinstance(n, ast.While) and isinstance(n.test, ast.Constant) and n.test.value
                  for n in ast.walk(tree))
    return "print" in calls and not calls & {"input", "id", "hash", "open"} and imports <= SAFE_IMPORTS \
        and not endless


def _first(pool: Sequence[Any], used: set[str], make: Callable[[Any], GeneratedItem | None]) -> GeneratedItem | None:
    """The first candidate in `pool` (already in seeded order) that yields a verified item."""
    for candidate in pool:
        key = candidate.code if isinstance(candidate, _Snippet) else candidate.solution
        if key in used:
            continue
        item = make(candidate)
        if item is not None:
            used.add(key)
            return item
    return None


# ---- verification helpers ------------------------------------------------------------------------------


def _normalize_output(text: str) -> str:
    """As the quiz grader does: ignore trailing spaces and blank lines at either end."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _clean(result: Any) -> bool:
    return result.status == "ok" and result.error is None


def _stable_output(snippet: _Snippet, runner: _Runner, max_lines: int = MAX_OUTPUT_LINES) -> str | None:
    """The snippet's output if two runs agree and it makes a fair question; else None."""
    first, *again = runner.run(snippet.code, times=2)
    if not (again and _clean(first) and _clean(again[0]) and first.output == again[0].output):
        return None
    output = _normalize_output(first.output)
    lines = output.splitlines()
    if not output or len(lines) > max_lines or len(output) > MAX_OUTPUT_CHARS:
        return None
    if output in snippet.code:
        return None  # the answer is printed verbatim in the code: too easy, and it leaks the answer
    return output


def _same_statement(given: str, expected: str) -> bool:
    """Equal as Python code (spacing, quotes and redundant brackets don't matter), else as text."""
    try:
        return ast.dump(ast.parse(given.strip())) == ast.dump(ast.parse(expected.strip()))
    except (SyntaxError, ValueError):
        return " ".join(given.split()) == " ".join(expected.split())


def _failing(grade: Any) -> dict[str, Any] | None:
    return next((r for r in grade.results if not r["passed"]), None)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _exercise_source(exercise: ExerciseRecord, how: str) -> dict[str, Any]:
    return {"exercise_id": exercise.id, "lesson_id": exercise.lesson_id, "how": how, "from_solution": True}


# ---- the four kinds ---------------------------------------------------------------------------------------


def _predict_output(snippet: _Snippet, runner: _Runner) -> GeneratedItem | None:
    output = _stable_output(snippet, runner)
    if output is None:
        return None
    return GeneratedItem(
        kind="predict_output", prompt="What does this program print? Write its output exactly, one line per line.",
        code=snippet.code, choices=None, answer=output,
        explanation=f"It prints:\n{output}\nIf you expected something else, trace the program line by line and write "
                    "down each variable's value after every step.",
        source={**snippet.source, "how": "ran twice in the grading sandbox; the answer is what it printed"},
        verified=True, skills=list(snippet.skills))


def _mcq(snippet: _Snippet, runner: _Runner, rng: random.Random) -> GeneratedItem | None:
    correct = _stable_output(snippet, runner, max_lines=MAX_CHOICE_LINES)
    if correct is None:
        return None
    candidates = mutants(snippet.code)
    rng.shuffle(candidates)
    tried = candidates[:DISTRACTOR_TRIES]
    distractors: list[tuple[str, Mutant]] = []
    for mutant, result in zip(tried, runner.runs([m.code for m in tried]), strict=True):
        text = _normalize_output(result.output)
        if _clean(result) and text and len(text.splitlines()) <= MAX_CHOICE_LINES and text != correct \
                and text not in (d for d, _ in distractors):
            distractors.append((text, mutant))
    if len(distractors) < 2:
        return None
    choices = [correct, *(d for d, _ in distractors)]
    rng.shuffle(choices)
    changes = "; ".join(f"{m.description}" for _, m in distractors)
    return GeneratedItem(
        kind="mcq", prompt="Which of these is exactly what the program prints?", code=snippet.code, choices=choices,
        answer=choices.index(correct),
        explanation=f"It prints:\n{correct}\nThe other choices are what the program prints after one small change "
                    f"({changes}).",
        source={**snippet.source, "how": "correct choice from two sandbox runs; distractors printed by mutated "
                                         "versions of the code"},
        verified=True, skills=list(snippet.skills))


def _find_the_bug(exercise: ExerciseRecord, runner: _Runner, rng: random.Random) -> GeneratedItem | None:
    if not runner.grades([exercise.solution], exercise)[0].passed:
        return None  # a reference that doesn't pass here can't tell a bug from noise
    candidates = mutants(exercise.solution)
    rng.shuffle(candidates)
    for mutant in candidates[:MUTANT_TRIES]:  # one at a time: the first mutant usually fails a test
        graded = runner.grades([mutant.code], exercise, min(exercise.time_limit, MUTANT_TIME_LIMIT))[0]
        failed = _failing(graded)
        if graded.status != "ok" or graded.passed or failed is None:
            continue
        total = len(graded.results)
        broken = sum(not r["passed"] for r in graded.results)
        return GeneratedItem(
            kind="find_the_bug",
            prompt=f"This program should solve “{exercise.title}”, but one line has a bug that makes it fail. "
                   "Which line is wrong? Answer with the line number.",
            code=mutant.code, choices=None, answer=mutant.line,
            explanation=f"Line {mutant.line} is wrong: {mutant.description}. With it, the test “{failed['name']}” "
                        f"fails: {_short(failed['message'])}",
            source=_exercise_source(exercise, f"mutated the reference solution ({mutant.how}); graded in the sandbox, "
                                              f"it fails {broken} of {total} tests while the original passes them all"),
            verified=True, skills=list(exercise.skills))
    return None


def _blankable(code: str, starter: str, rng: random.Random) -> int | None:
    """A 1-based line worth blanking: one whole simple statement, not given by the starter, not repeated."""
    lines = code.splitlines()
    given = {" ".join(line.split()) for line in starter.splitlines()}
    options = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Assign | ast.AugAssign | ast.Return | ast.Expr) or node.lineno != node.end_lineno:
            continue
        if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call):
            continue
        text = " ".join(lines[node.lineno - 1].split())
        if len(text) >= 5 and text not in given and sum(" ".join(x.split()) == text for x in lines) == 1 \
                and node.col_offset == len(lines[node.lineno - 1]) - len(lines[node.lineno - 1].lstrip()):
            options.append(node.lineno)
    return rng.choice(sorted(set(options))) if options else None


def _other_spelling(statement: str) -> str | None:
    """`x = x + e` <-> `x += e` (also - and *): the same line a learner may well write the other way."""
    node = ast.parse(statement).body[0]
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
            and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        name = node.target.id
        return ast.unparse(ast.Assign([ast.Name(name, ast.Store())],
                                      ast.BinOp(ast.Name(name, ast.Load()), node.op, node.value), lineno=1))
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
            and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.Add | ast.Sub | ast.Mult) \
            and isinstance(node.value.left, ast.Name) and node.value.left.id == node.targets[0].id:
        return ast.unparse(ast.AugAssign(node.targets[0], node.value.op, node.value.right))
    return None


def _completion(candidate: _Snippet | ExerciseRecord, runner: _Runner, rng: random.Random) -> GeneratedItem | None:
    code = candidate.solution if isinstance(candidate, ExerciseRecord) else candidate.code
    if len(code.strip().splitlines()) < 2:
        return None
    line = _blankable(code, candidate.starter if isinstance(candidate, ExerciseRecord) else "", rng)
    if line is None:
        return None
    lines = code.splitlines()
    original = lines[line - 1]
    indent, answer = original[: len(original) - len(original.lstrip())], original.strip()
    template = "\n".join([*lines[: line - 1], indent + BLANK, *lines[line:]]) + "\n"
    completed, left_out = template.replace(BLANK, answer), template.replace(BLANK, "pass")
    # An equivalent spelling is accepted only if it, too, passes when run (and only if the budget allows).
    other = _other_spelling(answer)
    alternates = [other] if other and runner.limit - runner.calls >= 4 else []
    variants = [completed, left_out, *(template.replace(BLANK, alt) for alt in alternates)]
    if isinstance(candidate, ExerciseRecord):
        # The completed program must pass every test; without the line it must fail one.
        with_line, without, *others = runner.grades(variants, candidate)
        failed = _failing(without)
        if not with_line.passed or without.passed or failed is None:
            return None
        accepted = [answer, *(alt for alt, result in zip(alternates, others, strict=True) if result.passed)]
        prompt = f"Fill in the blank ({BLANK}) with one line of code so that this program solves “{candidate.title}”."
        why = f"Without it, the test “{failed['name']}” fails: {_short(failed['message'])}"
        source = _exercise_source(candidate, "blanked a line of the reference solution; graded in the sandbox with "
                                             "each accepted answer (passes) and without it (fails)")
    else:
        printed, bare, *others = runner.runs(variants)
        again = runner.run(completed, times=2)[-1] if _clean(printed) else printed  # the stated output is stable
        output = _normalize_output(printed.output)
        if not (_clean(printed) and output and again.output == printed.output) \
                or len(output.splitlines()) > MAX_OUTPUT_LINES:
            return None
        if _clean(bare) and _normalize_output(bare.output) == output:
            return None  # the line doesn't matter to the output: not a fair blank
        accepted = [answer, *(alt for alt, result in zip(alternates, others, strict=True)
                              if _clean(result) and _normalize_output(result.output) == output)]
        prompt = f"Fill in the blank ({BLANK}) with one line of code so that the program prints:\n\n{output}"
        left = _normalize_output(bare.output)
        why = "Without it the program " + ("stops with an error." if not _clean(bare) else
                                           f"prints:\n{left}" if left else "prints nothing.")
        source = {**candidate.source, "how": "blanked a line of the snippet; ran in the sandbox with each accepted "
                                             "answer (prints the stated output; the original twice) and without it "
                                             "(prints something else)"}
    also = f" (or `{accepted[1]}`)" if len(accepted) > 1 else ""
    item = GeneratedItem(kind="code_completion", prompt=prompt, code=template, choices=None, answer=accepted,
                         explanation=f"The missing line is `{answer}`{also}. {why}", source=source, verified=True,
                         skills=list(candidate.skills))
    if not all(check_answer(item, a) and a not in prompt and a not in template for a in accepted):
        return None  # every accepted answer must be checkable and none may be visible in the question
    return item
