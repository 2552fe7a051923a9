"""Static checks of a course's certification material (certification/silver.yaml and gold.yaml).

The schemas check each file's shape; these check what a schema cannot: the bank holds at least
twice what one Silver attempt draws (so each attempt gets its own selection), no bank item repeats
practice material of the course (an item a learner has already answered with its explanation tells
nothing), answer indexes and line numbers exist, design rubrics can be scored, and Gold paths stay
inside the project. Running the material is certcode.py's job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from .model import Catalog, CertificationFile, Course, Source
from .problems import Problems
from .project_program import project_files

SECTIONS = ("conceptual", "analysis", "coding", "design")
# What one attempt draws per section when content/certifications.yaml's silver tier does not say
# (`items` of each section): the design's 20 questions, 10 analysis, 3 problems, 1 interview.
DEFAULT_DRAW = {"conceptual": 20, "analysis": 10, "coding": 3, "design": 1}
CODING_LEVELS = {"easy": 1, "medium": 2, "hard": 3}
LEVEL_NAMES = {1: "easy", 2: "medium", 3: "hard"}
TOTAL_POINTS = 100


def silver_kind(section: str, item: dict[str, Any]) -> tuple[str, int]:
    """A bank item's kind and difficulty as catalog.db stores them: mcq, predict_output, find_bug,
    coding or design; difficulty 1..3 (coding easy 1, medium 2, hard 3; design items are 2)."""
    if section == "conceptual":
        return "mcq", int(item["difficulty"])
    if section == "analysis":
        return str(item["kind"]), int(item["difficulty"])
    if section == "coding":
        return "coding", CODING_LEVELS[str(item["difficulty"])]
    return "design", 2


def attempt_draws(catalog: Catalog) -> dict[str, int]:
    """Items one Silver attempt draws per section, from the silver tier's `sections` (by `key`, else by
    position, as the assessment reads them); the defaults when the tier lists none."""
    silver = next((c for c in catalog.certifications if c.get("tier") == "silver"), None)
    authored = [s for s in (silver or {}).get("sections") or [] if isinstance(s, dict)]
    if not authored:
        return dict(DEFAULT_DRAW)
    draws: dict[str, int] = {}
    for position, section in enumerate(authored):
        key = section.get("key") or (SECTIONS[position] if position < len(SECTIONS) else None)
        if key in SECTIONS and key not in draws:
            draws[key] = int(section.get("items") or DEFAULT_DRAW[key])
    return draws


def _needs(draws: dict[str, int]) -> list[tuple[str, str, Any, int, str]]:
    """(section, what, selector, minimum, why) for each count the bank must reach: twice the draw.

    Conceptual questions are drawn on a staircase that may stay at one difficulty, so each
    difficulty holds at least half an attempt's questions; analysis draws half predict-the-output
    (rounded up) and half find-the-bug; coding draws easy, medium, hard, then round again.
    """
    needs: list[tuple[str, str, Any, int, str]] = []
    if "conceptual" in draws:
        n = draws["conceptual"]
        needs.append(("conceptual", "questions", lambda i: True, 2 * n, f"one attempt asks {n}"))
        for level in (1, 2, 3):
            needs.append(("conceptual", f"questions of difficulty {level}",
                          lambda i, level=level: i.get("difficulty") == level, -(-n // 2),
                          f"the adaptive draw may ask up to {n} at one difficulty, and each difficulty needs half"))
    if "analysis" in draws:
        n = draws["analysis"]
        bugs, predict = n // 2, n - n // 2
        for kind, count in (("predict_output", predict), ("find_bug", bugs)):
            if count:
                needs.append(("analysis", f"{kind} questions", lambda i, kind=kind: i.get("kind") == kind, 2 * count,
                              f"one attempt draws {count}"))
    if "coding" in draws:
        n = draws["coding"]
        per_level = Counter(k % 3 + 1 for k in range(n))
        for level, count in sorted(per_level.items()):
            needs.append(("coding", f"{LEVEL_NAMES[level]} problems",
                          lambda i, level=level: CODING_LEVELS.get(i.get("difficulty", "")) == level, 2 * count,
                          f"one attempt draws {count}"))
    if "design" in draws:
        n = draws["design"]
        needs.append(("design", "prompts", lambda i: True, 2 * n, f"one attempt draws {n}"))
    return needs


def _check_bank_size(bank: CertificationFile, draws: dict[str, int], problems: Problems) -> None:
    src, data = bank.source, bank.data
    for section, what, selector, minimum, why in _needs(draws):
        have = sum(1 for item in data.get(section) or [] if isinstance(item, dict) and selector(item))
        if have < minimum:
            problems.add(src.path, src.line(section),
                         f"{section}: {what}: the bank holds {have}, but needs at least {minimum}: {why}, "
                         "and the bank must hold twice as many so that each attempt draws its own selection")


def _squash(text: Any) -> str:
    return " ".join(str(text).split()) if isinstance(text, str) else ""


def _practice_texts(course: Course, problems: Problems) -> tuple[dict[str, str], dict[str, str]]:
    """Prompts and code of the course's quiz items, exercises and playgrounds, squashed -> where they are."""
    prompts: dict[str, str] = {}
    codes: dict[str, str] = {}

    def note(table: dict[str, str], text: Any, source: Source, *path: str | int) -> None:
        key = _squash(text)
        if key:
            table.setdefault(key, f"{problems.rel(source.path)}:{source.line(*path)}")

    for module in course.modules:
        for lesson in module.lessons:  # a playground's code is practice material too
            for placement in lesson.placements:
                key = _squash(placement.starter)
                if key:
                    codes.setdefault(key, f"{problems.rel(lesson.source.path)}:{placement.line}")
        for quiz in module.quizzes.values():
            for i, item in enumerate(quiz.data.get("items") or []):
                note(prompts, item.get("prompt"), quiz.source, "items", i, "prompt")
                note(codes, item.get("code"), quiz.source, "items", i, "code")
        for exercise in module.exercises.values():
            note(prompts, exercise.data.get("prompt"), exercise.source, "prompt")
            note(codes, exercise.data.get("solution"), exercise.source, "solution")
    return prompts, codes


def _bank_texts(data: dict[str, Any]) -> Iterator[tuple[str, str, int, str, Any]]:
    """(table, section, index, field, text) for what identifies each bank item: a question without code
    by its prompt, one with code by its code (prompts like "What does this print?" are shared by design),
    a coding problem by its prompt and its solution."""
    for i, item in enumerate(data.get("conceptual") or []):
        yield "prompts", "conceptual", i, "prompt", item.get("prompt")
    for i, item in enumerate(data.get("analysis") or []):
        yield "codes", "analysis", i, "code", item.get("code")
    for i, item in enumerate(data.get("coding") or []):
        yield "prompts", "coding", i, "prompt", item.get("prompt")
        yield "codes", "coding", i, "solution", item.get("solution")
    for i, item in enumerate(data.get("design") or []):
        yield "prompts", "design", i, "prompt", item.get("prompt")


def _check_repeats(course: Course, bank: CertificationFile, problems: Problems) -> None:
    """No bank item repeats practice material of its course, nor another item of the bank."""
    src = bank.source
    prompts, codes = _practice_texts(course, problems)
    practice = {"prompts": prompts, "codes": codes}
    seen: dict[tuple[str, str], str] = {}
    for table, section, index, field, text in _bank_texts(bank.data):
        key = _squash(text)
        if not key:
            continue
        line = src.line(section, index, field)
        where = f"{section}[{index}].{field}"
        if key in practice[table]:
            problems.add(src.path, line, f"{where} repeats practice material ({practice[table][key]}): Silver items "
                         "are never shown in practice, so write a new one")
        if (table, key) in seen:
            problems.add(src.path, line, f"{where} repeats {seen[(table, key)]} of the same bank")
        else:
            seen[(table, key)] = where


def _check_items(bank: CertificationFile, problems: Problems) -> None:
    src, data = bank.source, bank.data
    points = data.get("points") or {}
    total = sum(v for v in points.values() if isinstance(v, int))
    if total != TOTAL_POINTS:
        problems.add(src.path, src.line("points"),
                     f"points: the sections' points add up to {total}, not {TOTAL_POINTS}")
    for i, item in enumerate(data.get("conceptual") or []):
        if item["answer"] >= len(item["choices"]):
            problems.add(src.path, src.line("conceptual", i, "answer"),
                         f"conceptual[{i}].answer: choice {item['answer']} does not exist "
                         f"(choices are numbered from 0 to {len(item['choices']) - 1})")
    for i, item in enumerate(data.get("analysis") or []):
        if item["kind"] != "find_bug":
            continue
        lines = item["code"].rstrip("\n").split("\n")
        if item["answer"] > len(lines):
            problems.add(src.path, src.line("analysis", i, "answer"),
                         f"analysis[{i}].answer: line {item['answer']} does not exist (the code has {len(lines)})")
        elif lines[item["answer"] - 1].rstrip() == item["fix"].rstrip():
            problems.add(src.path, src.line("analysis", i, "fix"),
                         f"analysis[{i}].fix is the same as line {item['answer']}: it must correct that line")
    for i, item in enumerate(data.get("coding") or []):
        names = [t["name"] for t in [*item["tests"]["visible"], *item["tests"]["hidden"]]]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.add(src.path, src.line("coding", i, "tests"), f"coding[{i}].tests: two tests are named '{name}'")
    for i, item in enumerate(data.get("design") or []):
        keys = [point["key"] for point in item["rubric"]]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            problems.add(src.path, src.line("design", i, "rubric"),
                         f"design[{i}].rubric: two points have the key '{key}'")


def _check_gold(gold: CertificationFile, problems: Problems) -> None:
    src = gold.source
    for i, option in enumerate(gold.data.get("options") or []):
        paths_ok = True
        for path in option["reference"]:
            try:
                project_files({path: ""}, path)
            except ValueError as exc:
                paths_ok = False
                problems.add(src.path, src.line("options", i, "reference", path), f"options[{i}].reference: {exc}")
        if paths_ok:  # else the error above says it already
            try:
                project_files(option["reference"], option["entry"])
            except ValueError as exc:
                problems.add(src.path, src.line("options", i, "entry"), f"options[{i}]: {exc}")
        names = [t["name"] for t in option["tests"]]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.add(src.path, src.line("options", i, "tests"), f"options[{i}].tests: two tests are named '{name}'")


def check_certification(catalog: Catalog, problems: Problems) -> None:
    """Every static problem of every course's certification material."""
    draws = attempt_draws(catalog)
    for course in catalog.courses():
        if course.silver is not None:
            _check_items(course.silver, problems)
            _check_bank_size(course.silver, draws, problems)
            _check_repeats(course, course.silver, problems)
        if course.gold is not None:
            _check_gold(course.gold, problems)


def certification_ids(course: Course) -> Iterator[tuple[str, Source, tuple[str | int, ...]]]:
    """(id, source, path) of every id in the course's certification material, for the unique-id check."""
    for file, sections in ((course.silver, SECTIONS), (course.gold, ("options",))):
        if file is None:
            continue
        for section in sections:
            for i, item in enumerate(file.data.get(section) or []):
                yield str(item.get("id", "")), file.source, (section, i, "id")
