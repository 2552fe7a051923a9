"""`drona validate`: schema, cross-reference and code checks over the whole content tree."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.courseware.leaks import check_code_leak, diff_coverage

from .certification import certification_ids, check_certification
from .codechecks import check_code
from .loader import load_catalog
from .model import BLANK, CODE_DIRECTIVES, EXERCISE_LESSON_TYPES, Catalog, Module, Source
from .problems import Problems

KNOWN_DIRECTIVES = ("exercise", "quiz", "playground", "visualize")


@dataclass
class ValidationResult:
    catalog: Catalog
    problems: Problems
    programs_run: int = 0


def _check_unique_ids(catalog: Catalog, problems: Problems) -> None:
    seen: dict[str, tuple[Path, int]] = {}

    def claim(value: object, source: Source, *path: str | int) -> None:
        key = str(value)
        if not key or key == "None":
            return  # a missing id is reported by the schema check
        line = source.line(*path)
        if key in seen:
            first_path, first_line = seen[key]
            problems.add(source.path, line,
                         f"duplicate id {key}: already used at {problems.rel(first_path)}:{first_line}")
        else:
            seen[key] = (source.path, line)

    if catalog.domains_source:
        for i, domain in enumerate(catalog.domains):
            claim(domain["id"], catalog.domains_source, "domains", i, "id")
    for track in catalog.tracks:
        claim(track.id, track.source, "id")
        for course in track.courses:
            claim(course.id, course.source, "id")
            for value, where, path in certification_ids(course):
                claim(value, where, *path)
            for module in course.modules:
                claim(module.id, module.source, "id")
                for lesson in module.lessons:
                    claim(lesson.id, lesson.source, "id")
                for exercise in module.exercises.values():
                    claim(exercise.id, exercise.source, "id")
                for quiz in module.quizzes.values():
                    claim(quiz.id, quiz.source, "id")
                    for i, item in enumerate(quiz.data["items"]):
                        claim(item["id"], quiz.source, "items", i, "id")
    for key, items, source in (
        ("achievements", catalog.achievements, catalog.achievements_source),
        ("certifications", catalog.certifications, catalog.certifications_source),
    ):
        if source is not None:
            for i, item in enumerate(items):
                claim(item["id"], source, key, i, "id")


def _check_domains(catalog: Catalog, problems: Problems) -> None:
    source = catalog.domains_source
    if source is None:
        return
    track_slugs = {t.slug for t in catalog.tracks}
    listed: dict[str, str] = {}
    for i, domain in enumerate(catalog.domains):
        for j, slug in enumerate(domain.get("tracks", [])):
            if slug in listed:
                problems.add(source.path, source.line("domains", i, "tracks", j),
                             f"track '{slug}' is listed in both '{listed[slug]}' and '{domain['slug']}'")
            listed[slug] = domain["slug"]
            if slug not in track_slugs and not (catalog.content_dir / "tracks" / slug).is_dir():
                problems.add(source.path, source.line("domains", i, "tracks", j),
                             f"domains[{i}].tracks[{j}]: no track '{slug}' found in tracks/")
    slugs = [d["slug"] for d in catalog.domains]
    for i, slug in enumerate(slugs):
        if slugs.index(slug) != i:
            problems.add(source.path, source.line("domains", i, "slug"), f"duplicate domain slug '{slug}'")
    for track in catalog.tracks:
        track_domain = track.data.get("domain")
        if track_domain not in slugs:
            problems.add(track.source.path, track.source.line("domain"),
                         f"domain: no domain '{track_domain}' in domains.yaml")
        elif listed.get(track.slug) != track_domain:
            problems.add(track.source.path, track.source.line("domain"),
                         f"track '{track.slug}' says domain '{track_domain}' but domains.yaml does not list it there")


def _check_status(catalog: Catalog, problems: Problems) -> None:
    for track in catalog.tracks:
        if not track.planned and not any(c.data.get("status") == "active" for c in track.courses):
            problems.add(track.source.path, track.source.line("status"),
                         "an active track needs at least one active course (a draft one is not published)")
        for course in track.courses:
            src = course.source
            if course.planned and course.data.get("modules"):
                problems.add(src.path, src.line("modules"),
                             "a planned course has no modules yet: use planned_modules to say how many")
            outline = course.data.get("outline")
            count = course.data.get("planned_modules")
            if course.planned and isinstance(outline, list) and isinstance(count, int) and count != len(outline):
                problems.add(src.path, src.line("planned_modules"),
                             f"planned_modules says {count} but the outline lists {len(outline)} modules")
            if not course.planned and not course.data.get("modules"):
                problems.add(src.path, src.line("modules"),
                             f"{'a draft' if course.draft else 'an active'} course needs at least one module")
            # A draft may sit in a planned track: that is how a new track's first course is written.
            if track.planned and not course.planned and not course.draft:
                problems.add(src.path, src.line("status"), "an active course cannot sit in a planned track")


def _check_placements(module: Module, problems: Problems) -> None:
    used: dict[tuple[str, str], list[tuple[Path, int]]] = defaultdict(list)
    for lesson in module.lessons:
        path = lesson.source.path
        kinds = [p.kind for p in lesson.placements]
        for placement in lesson.placements:
            if placement.kind not in KNOWN_DIRECTIVES:
                problems.add(path, placement.line,
                             f"unknown directive '::{placement.kind}' "
                             "(use ::exercise, ::quiz, ::playground or ::visualize)")
                continue
            if placement.kind in CODE_DIRECTIVES:
                if placement.slug:
                    problems.add(path, placement.line, f"::{placement.kind} takes no argument")
                if placement.kind == "visualize" and not placement.starter.strip():
                    problems.add(path, placement.line,
                                 "::visualize needs the program to step through: a ```python block on the next line")
                continue
            if not placement.slug:
                problems.add(path, placement.line, f"::{placement.kind} needs a slug, e.g. ::{placement.kind} my-slug")
                continue
            pool = module.exercises if placement.kind == "exercise" else module.quizzes
            folder = "exercises" if placement.kind == "exercise" else "quizzes"
            if (placement.kind, placement.slug) in module.invalid_items:
                continue
            if placement.slug not in pool:
                problems.add(path, placement.line,
                             f"::{placement.kind} {placement.slug}: no file {folder}/{placement.slug}.yaml "
                             f"in module '{module.slug}'")
                continue
            used[(placement.kind, placement.slug)].append((path, placement.line))
        if lesson.type in EXERCISE_LESSON_TYPES and "exercise" not in kinds:
            problems.add(path, lesson.source.line("type"),
                         f"a {lesson.type} lesson must place an exercise (::exercise <slug>)")
        if lesson.type == "quiz" and "quiz" not in kinds:
            problems.add(path, lesson.source.line("type"), "a quiz lesson must place a quiz (::quiz <slug>)")
        if lesson.type == "challenge" and "time_limit_minutes" not in lesson.data:
            problems.add(path, lesson.source.line("type"), "a challenge lesson needs time_limit_minutes")
    for kind, pool in (("exercise", module.exercises), ("quiz", module.quizzes)):
        for slug, item in pool.items():
            places = used.get((kind, slug), [])
            if not places:
                problems.add(item.source.path, 1, f"{kind} '{slug}' is not placed in any lesson of its module")
            for path, line in places[1:]:
                problems.add(path, line, f"{kind} '{slug}' is placed more than once")


def _check_hint_rungs(data: dict[str, Any], src: Source, problems: Problems) -> None:
    """Rungs before the bottom-out one must leave the learner something to write.

    The tutor shows them before a learner has tried, one after another, so each rung is judged
    together with the rungs before it: their code (blocks and inline spans) must not cover (nearly)
    all that the solution adds to the starter, and the rung alone must pass the tutor's leak guard.
    """
    solution, starter = data.get("solution"), data.get("starter") or ""
    if not isinstance(solution, str) or not isinstance(starter, str):
        return  # the schema check reports it
    seen: list[str] = []
    whole_before = False
    for i, hint in enumerate(data["hints"]):
        text = hint.get("text")
        if hint.get("bottom_out") or not isinstance(text, str):
            continue
        seen.append(text)
        line = src.line("hints", i, "text")
        together = diff_coverage(seen, solution, starter=starter)
        alone = diff_coverage([text], solution, starter=starter) if len(seen) > 1 else together
        if alone.complete or (together.complete and not whole_before):
            before = "hints[0]" if i == 1 else f"hints[0..{i - 1}]"
            earlier = "" if alone.complete else f" together with the rung(s) before it ({before})"
            shown = alone if alone.complete else together
            problems.add(src.path, line,
                         f"hints[{i}].text gives the solution away before the bottom-out rung: its code"
                         f"{earlier} is (nearly) everything the solution adds to the starter "
                         f"({shown.detail}), so a learner could assemble the whole answer from them; "
                         "describe the step in words and leave its code to the learner "
                         "(only the bottom_out rung may show it all)")
        else:
            # The leak guard the tutor runs on its replies: no substantial line of the solution.
            verdict = check_code_leak(text, solution, starter=starter, count_inline=True)
            if verdict.leaked:
                problems.add(src.path, line,
                             f"hints[{i}].text gives the solution away before the bottom-out rung "
                             f"({verdict.detail}); describe the step instead of writing its code")
        whole_before = whole_before or together.complete


def _check_done_when(data: dict[str, Any], src: Source, problems: Problems) -> None:
    """A rung's `done_when` says the learner's code already does what the rung asks (the tutor then
    skips it): a valid pattern, never on the bottom-out rung, that the solution matches (it asks
    for something the solution does) and the starter doesn't (or every learner would skip it)."""
    solution, starter = data.get("solution") or "", data.get("starter") or ""
    for i, hint in enumerate(data["hints"]):
        pattern = hint.get("done_when")
        if not isinstance(pattern, str):
            continue
        line = src.line("hints", i, "done_when")
        if hint.get("bottom_out"):
            problems.add(src.path, line, f"hints[{i}].done_when: the bottom-out rung is never skipped; remove it")
            continue
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            problems.add(src.path, line, f"hints[{i}].done_when: invalid regular expression ({exc})")
            continue
        if isinstance(solution, str) and not compiled.search(solution):
            problems.add(src.path, line, f"hints[{i}].done_when does not match the solution, so it can't say the "
                                         "step is done")
        if isinstance(starter, str) and starter.strip() and compiled.search(starter):
            problems.add(src.path, line, f"hints[{i}].done_when matches the starter code, so every learner would "
                                         "skip this rung")


def _check_exercise_static(module: Module, problems: Problems) -> None:
    for exercise in module.exercises.values():
        src = exercise.source
        hints = exercise.data["hints"]
        for i, hint in enumerate(hints):
            last = i == len(hints) - 1
            if hint.get("bottom_out") and not last:
                problems.add(src.path, src.line("hints", i),
                             f"hints[{i}]: only the last rung may be the bottom-out hint")
            if last and not hint.get("bottom_out"):
                problems.add(src.path, src.line("hints", i),
                             "hints: the ladder must end in a bottom-out rung (bottom_out: true)")
        _check_hint_rungs(exercise.data, src, problems)
        _check_done_when(exercise.data, src, problems)
        for i, item in enumerate(exercise.data["misconceptions"]):
            pattern = item.get("pattern")
            if not pattern:
                continue
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                problems.add(src.path, src.line("misconceptions", i, "pattern"),
                             f"misconceptions[{i}].pattern: invalid regular expression ({exc})")
                continue
            if not compiled.search(item["wrong_code"]):
                problems.add(src.path, src.line("misconceptions", i, "pattern"),
                             f"misconceptions[{i}].pattern does not match its own wrong_code")
        if "bottom_out" in exercise.data and exercise.bottom_out_attempts == 0 and exercise.bottom_out_minutes == 0:
            # The schema allows each to be 0 (a short exercise may need no wait), but not both: the
            # worked answer would be one click away from any signed-in learner who has not tried.
            problems.add(src.path, src.line("bottom_out"),
                         "bottom_out: attempts and minutes are both 0, so the worked answer would be free; "
                         "require at least one attempt or a few minutes")
        names = [t["name"] for t in exercise.all_tests()]
        for name in {n for n in names if names.count(n) > 1}:
            problems.add(src.path, src.line("tests"), f"tests: two tests are named '{name}'")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _check_solution_stays_private(module: Module, problems: Problems) -> None:
    """Reference solutions live only in catalog.db: no public text of the module may quote one."""
    public: list[tuple[Path, int, str, str]] = []
    for lesson in module.lessons:
        public.append((lesson.source.path, lesson.body_line, "the lesson text", lesson.body))
    for exercise in module.exercises.values():
        src, data = exercise.source, exercise.data
        public.append((src.path, src.line("prompt"), "prompt", data["prompt"]))
        public.append((src.path, src.line("starter"), "starter", data["starter"]))
        public.append((src.path, src.line("example"), "example", data.get("example") or ""))
        for i, hint in enumerate(data["hints"]):
            public.append((src.path, src.line("hints", i), f"hints[{i}]", hint["text"]))
        for i, test in enumerate(data["tests"]["visible"]):
            public.append((src.path, src.line("tests", "visible", i), f"tests.visible[{i}]", test["code"]))
    for exercise in module.exercises.values():
        solution = _squash(exercise.data["solution"])
        if not solution:
            continue
        for path, line, field, text in public:
            if solution in _squash(text):
                problems.add(path, line, f"{field} quotes the reference solution of exercise '{exercise.slug}' "
                             "word for word: solutions stay private (rephrase it, e.g. describe the step)")


def _check_quiz_static(module: Module, problems: Problems) -> None:
    for quiz in module.quizzes.values():
        src = quiz.source
        for i, item in enumerate(quiz.data["items"]):
            kind = item["kind"]
            if kind == "multiple-choice" and item["answer"] >= len(item["choices"]):
                problems.add(src.path, src.line("items", i, "answer"),
                             f"items[{i}].answer: choice {item['answer']} does not exist "
                             f"(choices are numbered from 0 to {len(item['choices']) - 1})")
            if kind == "find-the-bug":
                count = len(item["code"].rstrip("\n").splitlines())
                if item["answer"] > count:
                    problems.add(src.path, src.line("items", i, "answer"),
                                 f"items[{i}].answer: line {item['answer']} does not exist (the code has {count})")
            if kind == "code-completion" and item["code"].count(BLANK) != 1:
                problems.add(src.path, src.line("items", i, "code"),
                             f"items[{i}].code: must contain the blank {BLANK} exactly once")


def _check_certifications(catalog: Catalog, problems: Problems) -> None:
    source = catalog.certifications_source
    if source is None:
        return
    for i, tier in enumerate(catalog.certifications):
        rubric = tier.get("rubric")
        if isinstance(rubric, dict) and sum(rubric.values()) != 100:
            problems.add(source.path, source.line("certifications", i, "rubric"),
                         f"certifications[{i}].rubric: weights add up to {sum(rubric.values())}, not 100")


def validate(content_dir: Path, root: Path, *, run_code: bool = True,
             code_filter: Callable[[Path], bool] | None = None) -> ValidationResult:
    """Every problem in the content tree, collected in one run.

    code_filter: run authored code only for the exercise and quiz files it accepts (all when None);
    `--changed-since` and `drona serve --watch` use it to run what changed.
    """
    problems = Problems(root)
    catalog = load_catalog(content_dir, root, problems)
    _check_unique_ids(catalog, problems)
    _check_domains(catalog, problems)
    _check_status(catalog, problems)
    _check_certifications(catalog, problems)
    check_certification(catalog, problems)
    for module in catalog.modules():
        _check_placements(module, problems)
        _check_exercise_static(module, problems)
        _check_quiz_static(module, problems)
        _check_solution_stays_private(module, problems)
    result = ValidationResult(catalog, problems)
    if run_code:
        result.programs_run = check_code(catalog, problems, code_filter)
    return result
