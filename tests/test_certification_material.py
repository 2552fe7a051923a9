"""A course's certification material (certification/silver.yaml and gold.yaml, issue #14): loaded with
`path:line` problems, validated by running, compiled into catalog.db only and read back by the readers,
and never found in the static site; the project program that runs a Gold project as one program.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from sidecar.catalog import readers
from sidecar.cli import main
from sidecar.compiler.build import BuildReport
from sidecar.compiler.inputs import build_modules, inputs_digest
from sidecar.courseware import harness
from sidecar.courseware.changes import ChangeSet, affected
from sidecar.courseware.project_program import MAX_PROJECT_BYTES, normalise_path, project_program
from sidecar.courseware.validate import validate
from sidecar.courseware.yamlsource import load
from sidecar.engine import engine_files
from sidecar.settings import REPO_ROOT

COURSE = "00000000-0000-4000-8000-000000000011"  # the minimal fixture's demo course
BASICS = "414ac88c-9c3a-476a-b0a4-49c5aecfcd7a"  # Python Basics, in content/
FOLDER = "content/tracks/demo-track/demo-course/certification"
SILVER = f"{FOLDER}/silver.yaml"
GOLD = f"{FOLDER}/gold.yaml"
TAG_RE = re.compile(r"<[^>]*>")


# ---- helpers ---------------------------------------------------------------------------------------


def _read(root: Path, rel: str) -> dict[str, Any]:
    return dict(yaml.safe_load((root / rel).read_text(encoding="utf-8")))


def _write(root: Path, rel: str, data: dict[str, Any]) -> str:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)
    (root / rel).write_text(text, encoding="utf-8")
    return text


def _line(text: str, *path: str | int) -> int:
    """The line validation should report for `path` in the written file."""
    return load(text).line_of(tuple(path))


def _problems(root: Path) -> list[str]:
    return [str(p) for p in validate(root / "content", root).problems.sorted()]


def _reported(problems: list[str], rel: str, line: int, fragment: str) -> bool:
    return any(p.startswith(f"{rel}:{line}: ") and fragment in p for p in problems)


# ---- project_program --------------------------------------------------------------------------------

PROJECT = {
    "shop/inventory.py": "from shop.stock import add\nimport helpers\n\n\ndef total(counts):\n"
                         "    return helpers.sum_all(counts)\n\n\nname = input('Item: ')\nprint('added', name)\n",
    "shop/stock.py": "def add(counts, name):\n    counts[name] = counts.get(name, 0) + 1\n    return counts\n",
    "helpers.py": "def sum_all(counts):\n    return sum(counts.values())\n",
    "README.md": "# Shop\n",
    "data/notes.txt": "not Python",
}
PROJECT_TESTS: list[dict[str, Any]] = [
    {"name": "output", "stdin": "pen\n", "code": "assert output == 'Item: added pen\\n', output"},
    {"name": "calls", "code": "assert add({}, 'a') == {'a': 1} and total({'a': 2, 'b': 3}) == 5"},
    {"name": "run again", "code": "assert run('cup\\n').endswith('added cup\\n')"},
    {"name": "hidden", "stdin": "x\n", "code": "assert total({}) == 0", "hidden": True, "feedback": "Empty totals."},
]


def test_a_project_runs_as_one_program_with_the_exercise_helpers() -> None:
    program = project_program(PROJECT, "shop/inventory.py")
    assert "not Python" not in program and "# Shop" not in program  # only .py files travel
    # Naming __file__ would make the harness write the program into the working directory.
    assert "__file__" not in program
    result = harness.run_tests(program, [dict(t, stdin=t.get("stdin", "z\n")) for t in PROJECT_TESTS])
    assert result["passed"], result["results"]
    # The program's namespace holds the entry module's names, not the program's own helpers.
    namespace, output = harness.execute(program, "pen\n")
    assert output == "Item: added pen\n"
    assert {"total", "add", "helpers", "name"} <= set(namespace)
    assert not [n for n in namespace if n.startswith("__drona")]


def test_a_later_project_never_sees_an_earlier_projects_modules() -> None:
    first = project_program({"main.py": "from helpers import value\n", "helpers.py": "value = 1\n"}, "main.py")
    second = project_program({"main.py": "from helpers import value\n", "helpers.py": "value = 2\n"}, "main.py")
    # Same interpreter, same module name: validation and the browser run many programs in one process.
    assert harness.execute(first)[0]["value"] == 1
    assert harness.execute(second)[0]["value"] == 2
    assert harness.execute(first)[0]["value"] == 1


@pytest.mark.parametrize("path", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "..\\evil.py",
                                  "C:\\evil.py", "c:/evil.py", "a/b/../../../evil.py", "", "  ", "./", "a\x00.py"])
def test_paths_that_escape_the_project_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        normalise_path(path)
    with pytest.raises(ValueError):
        project_program({path: "print('x')\n", "main.py": "print(1)\n"}, "main.py")


def test_paths_are_normalised() -> None:
    assert normalise_path("./a/./b/../c.py") == "a/c.py"
    assert normalise_path("pkg\\mod.py") == "pkg/mod.py"
    program = project_program({"./app/../main.py": "print('ok')\n"}, "main.py")
    assert harness.execute(program)[1] == "ok\n"
    with pytest.raises(ValueError, match="two files"):
        project_program({"main.py": "", "./main.py": ""}, "main.py")


def test_the_entry_must_be_there_and_the_project_small() -> None:
    with pytest.raises(ValueError, match="no inventory.py"):
        project_program({"main.py": "print(1)\n"}, "inventory.py")
    with pytest.raises(ValueError, match=r"\.py file"):
        project_program({"README.md": "x"}, "README.md")
    with pytest.raises(ValueError, match="escape|leaves"):
        project_program({"main.py": "print(1)\n"}, "../main.py")
    big = "x = 1\n" * (MAX_PROJECT_BYTES // 6 + 1)
    with pytest.raises(ValueError, match="200 KB"):
        project_program({"main.py": "print(1)\n", "big.py": big}, "main.py")
    # The limit counts .py files only: a large README does not count.
    assert project_program({"main.py": "print(1)\n", "README.md": big}, "main.py")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    if shutil.which("node") is None or not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file():
        if os.environ.get("DRONA_REQUIRE_NODE") == "1":
            raise RuntimeError("Node.js and node_modules/pyodide are required here (DRONA_REQUIRE_NODE=1)")
        pytest.skip("needs Node.js and node_modules/pyodide (npm ci)")
    from sidecar.sandbox import Sandbox

    box = Sandbox(pool_size=1)
    yield box
    box.close()


def test_a_project_grades_in_the_real_sandbox(sandbox: Any) -> None:
    program = project_program(PROJECT, "shop/inventory.py")
    tests = [dict(t, stdin=t.get("stdin", "z\n")) for t in PROJECT_TESTS]
    graded = sandbox.grade(program, tests, seed=0)
    assert graded.passed and graded.status == "ok", graded
    broken = dict(PROJECT, **{"helpers.py": "def sum_all(counts):\n    return -1\n"})
    failed = sandbox.grade(project_program(broken, "shop/inventory.py"), tests, seed=0)
    assert [r["passed"] for r in failed.results] == [True, False, True, False]
    assert failed.results[3]["message"] == "Empty totals."  # a hidden test says only its feedback


def test_the_demo_gold_reference_passes_in_the_real_sandbox(sandbox: Any, minimal_build: BuildReport) -> None:
    fixture = yaml.safe_load((REPO_ROOT / "tests/fixtures/minimal" / GOLD).read_text(encoding="utf-8"))
    option = fixture["options"][0]
    tests = readers.gold_options(minimal_build.catalog_db, COURSE)[0].tests
    graded = sandbox.grade(project_program(option["reference"], option["entry"]), tests, seed=7)
    assert graded.passed, graded.results


# ---- loading: every problem as path:line ------------------------------------------------------------


def test_the_minimal_fixture_with_its_certification_folder_is_valid(content_tree: Path) -> None:
    result = validate(content_tree / "content", content_tree)
    assert [str(p) for p in result.problems.sorted()] == []
    course = result.catalog.courses()[0]
    assert course.silver is not None and course.gold is not None
    assert "certification" not in [m.slug for m in course.modules]  # a reserved folder, not a module


def test_loader_reports_every_schema_problem_with_its_line(content_tree: Path) -> None:
    bank = content_tree / SILVER
    text = bank.read_text(encoding="utf-8")
    text = text.replace("    difficulty: 3\n", "    difficulty: 7\n", 1)  # the first hard question
    text = text.replace("    kind: find_bug\n", "    kind: spot_bug\n", 1)
    text = text.replace("        points: 1\n", "        points: 0\n", 1)
    bank.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    difficulty = lines.index("    difficulty: 7") + 1
    kind = lines.index("    kind: spot_bug") + 1
    points = lines.index("        points: 0") + 1
    (content_tree / FOLDER / "notes.txt").write_text("stray", encoding="utf-8")
    problems = _problems(content_tree)
    assert _reported(problems, SILVER, difficulty, "conceptual[4].difficulty")
    assert _reported(problems, SILVER, kind, "analysis[2].kind: 'spot_bug' is not one of")
    assert _reported(problems, SILVER, points, "design[0].rubric[2].points")
    assert _reported(problems, f"{FOLDER}/notes.txt", 1, "unexpected file 'notes.txt'")
    assert not any("module 'certification'" in p for p in problems)


def test_broken_yaml_and_unknown_keys_in_gold(content_tree: Path) -> None:
    gold = _read(content_tree, GOLD)
    gold["options"][0]["starter"] = "x"
    text = _write(content_tree, GOLD, gold)
    (content_tree / SILVER).write_text("points: [unclosed\n", encoding="utf-8")
    problems = _problems(content_tree)
    assert _reported(problems, GOLD, _line(text, "options", 0, "starter"), "unknown key 'starter'")
    assert _reported(problems, SILVER, 2, "invalid YAML")


# ---- validation by running --------------------------------------------------------------------------


def test_a_wrong_predict_output_answer_is_caught(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["analysis"][0]["answer"] = "7"  # the code prints 6
    text = _write(content_tree, SILVER, bank)
    problems = _problems(content_tree)
    assert _reported(problems, SILVER, _line(text, "analysis", 0, "answer"), "the code prints '6', not '7'")
    # Trailing spaces and newlines do not count: "0 1 2 " printed, "0 1 2" authored.
    assert not any("analysis[1]" in p for p in problems)


def test_predict_output_code_that_crashes_is_caught(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["analysis"][0]["code"] = "print(1 / 0)\n"
    text = _write(content_tree, SILVER, bank)
    assert _reported(_problems(content_tree), SILVER, _line(text, "analysis", 0, "code"),
                     "the code must run, but it raised ZeroDivisionError")


def test_a_find_bug_fix_that_does_not_fix_is_caught(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["analysis"][2]["fix"] = "    return n + 1"
    text = _write(content_tree, SILVER, bank)
    assert _reported(_problems(content_tree), SILVER, _line(text, "analysis", 2, "fix"),
                     "with line 3 replaced by the fix, the check must pass")


def test_a_find_bug_check_that_passes_on_the_bug_is_caught(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["analysis"][2]["check"] = "assert double(0) == 0\n"  # true with and without the bug
    text = _write(content_tree, SILVER, bank)
    assert _reported(_problems(content_tree), SILVER, _line(text, "analysis", 2, "check"),
                     "passes on the code as written")


def test_a_find_bug_line_that_does_not_exist_or_a_fix_that_changes_nothing(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["analysis"][2]["answer"] = 9
    bank["analysis"][3]["fix"] = "        total = n"  # line 4 as it is
    text = _write(content_tree, SILVER, bank)
    problems = _problems(content_tree)
    assert _reported(problems, SILVER, _line(text, "analysis", 2, "answer"), "line 9 does not exist (the code has 3)")
    assert _reported(problems, SILVER, _line(text, "analysis", 3, "fix"), "is the same as line 4")


def test_a_failing_coding_solution_and_a_passing_starter_are_caught(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["coding"][0]["solution"] = "word = input()\nprint(word.lower())\n"
    bank["coding"][1]["starter"] = bank["coding"][1]["solution"]
    text = _write(content_tree, SILVER, bank)
    problems = _problems(content_tree)
    assert _reported(problems, SILVER, _line(text, "coding", 0, "solution"),
                     "coding[0].solution: the reference solution must pass every test, but it fails 'hello'")
    assert _reported(problems, SILVER, _line(text, "coding", 1, "starter"),
                     "coding[1].starter: the starter code must fail at least one test")


def test_a_too_small_bank_is_caught(content_tree: Path) -> None:
    # The fixture's silver tier draws 3 questions, 2 analysis, 1 easy problem and 1 interview.
    bank = _read(content_tree, SILVER)
    bank["conceptual"] = bank["conceptual"][:5]  # one hard question left: 5 < 6 and 1 < 2
    bank["analysis"] = [i for i in bank["analysis"] if i["kind"] == "find_bug"]
    bank["design"] = bank["design"][:1]
    text = _write(content_tree, SILVER, bank)
    problems = _problems(content_tree)
    assert _reported(problems, SILVER, _line(text, "conceptual"), "questions: the bank holds 5, but needs at least 6")
    assert _reported(problems, SILVER, _line(text, "conceptual"),
                     "questions of difficulty 3: the bank holds 1, but needs at least 2")
    assert _reported(problems, SILVER, _line(text, "analysis"),
                     "predict_output questions: the bank holds 0, but needs at least 2")
    assert _reported(problems, SILVER, _line(text, "design"), "prompts: the bank holds 1, but needs at least 2")
    assert not any("coding:" in p for p in problems)  # two easy problems are enough for one easy draw


def test_the_bank_size_follows_the_attempt_size(content_tree: Path) -> None:
    """certifications.yaml says how many items an attempt draws; the default attempt needs a big bank."""
    tiers = _read(content_tree, "content/certifications.yaml")
    silver = next(t for t in tiers["certifications"] if t["tier"] == "silver")
    for section in silver["sections"]:
        section.pop("items")
    _write(content_tree, "content/certifications.yaml", tiers)
    problems = _problems(content_tree)
    assert any("conceptual: questions: the bank holds 6, but needs at least 40" in p for p in problems)
    assert any("questions of difficulty 1: the bank holds 2, but needs at least 10" in p for p in problems)
    assert any("find_bug questions: the bank holds 2, but needs at least 10" in p for p in problems)
    assert any("coding: hard problems: the bank holds 0, but needs at least 2" in p for p in problems)


def test_a_repeated_practice_item_is_caught(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["conceptual"][0]["prompt"] = "Which one shows text?"  # the fixture quiz's first question
    bank["analysis"][0]["code"] = "print(3 * 7)\n"  # the fixture quiz's predict-output code
    bank["analysis"][0]["answer"] = "21"
    bank["coding"][0]["prompt"] = "Write `double(n)`   that returns twice `n`.\n"  # the exercise, respaced
    text = _write(content_tree, SILVER, bank)
    problems = _problems(content_tree)
    quiz = "content/tracks/demo-track/demo-course/first-steps/quizzes/first-quiz.yaml"
    assert _reported(problems, SILVER, _line(text, "conceptual", 0, "prompt"), f"repeats practice material ({quiz}:7)")
    assert _reported(problems, SILVER, _line(text, "analysis", 0, "code"), f"repeats practice material ({quiz}:")
    assert _reported(problems, SILVER, _line(text, "coding", 0, "prompt"), "double-it.yaml:")
    # A shared prompt with different code is not a repeat: many analysis questions ask the same thing.
    assert not any("analysis[1]" in p for p in problems)


def test_static_sanity_of_points_answers_rubrics_and_ids(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["points"]["design"] = 20
    bank["conceptual"][1]["answer"] = 4
    bank["design"][0]["rubric"][1]["key"] = "storage"
    bank["design"][1]["id"] = bank["coding"][0]["id"]
    bank["conceptual"][2]["prompt"] = bank["conceptual"][3]["prompt"]
    text = _write(content_tree, SILVER, bank)
    problems = _problems(content_tree)
    assert _reported(problems, SILVER, _line(text, "points"), "add up to 105, not 100")
    assert _reported(problems, SILVER, _line(text, "conceptual", 1, "answer"), "choice 4 does not exist")
    assert _reported(problems, SILVER, _line(text, "design", 0, "rubric"), "two points have the key 'storage'")
    assert _reported(problems, SILVER, _line(text, "design", 1, "id"), "duplicate id")
    assert _reported(problems, SILVER, _line(text, "conceptual", 3, "prompt"), "repeats conceptual[2].prompt")


def test_gold_references_run_through_the_project_program(content_tree: Path) -> None:
    gold = _read(content_tree, GOLD)
    option = gold["options"][0]
    second = json.loads(json.dumps(option))
    second["id"] = "00000000-0000-4000-8000-000000000542"
    second["reference"]["counting.py"] = second["reference"]["counting.py"].replace("+ 1", "+ 2")
    third = json.loads(json.dumps(option))
    third["id"] = "00000000-0000-4000-8000-000000000543"
    third["tests"] = [{"name": "vacuous", "code": "assert True"}]
    fourth = json.loads(json.dumps(option))
    fourth["id"] = "00000000-0000-4000-8000-000000000544"
    fourth["reference"]["../outside.py"] = "x = 1\n"
    fourth["entry"] = "main.py"
    gold["options"] += [second, third, fourth]
    text = _write(content_tree, GOLD, gold)
    problems = _problems(content_tree)
    assert not any("options[0]" in p for p in problems)
    assert _reported(problems, GOLD, _line(text, "options", 1, "reference"),
                     "options[1].reference: the reference solution must pass every test, but it fails "
                     "'counts repeated names'")
    assert _reported(problems, GOLD, _line(text, "options", 2, "tests"), "a project whose tally.py is empty passes")
    assert _reported(problems, GOLD, _line(text, "options", 3, "reference", "../outside.py"), "leaves the project")


def test_gold_entry_missing_from_the_reference(content_tree: Path) -> None:
    gold = _read(content_tree, GOLD)
    gold["options"][0]["entry"] = "inventory.py"
    text = _write(content_tree, GOLD, gold)
    assert _reported(_problems(content_tree), GOLD, _line(text, "options", 0, "entry"),
                     "the project has no inventory.py")


def test_drona_validate_runs_the_certification_material(content_tree: Path) -> None:
    bank = _read(content_tree, SILVER)
    bank["analysis"][0]["answer"] = "7"
    text = _write(content_tree, SILVER, bank)
    result = CliRunner().invoke(main, ["validate", "--content", str(content_tree / "content")])
    assert result.exit_code == 1
    assert f"{SILVER}:{_line(text, 'analysis', 0, 'answer')}: analysis[0].answer: the code prints '6'" in result.output
    skipped = CliRunner().invoke(main, ["validate", "--no-run", "--content", str(content_tree / "content")])
    assert skipped.exit_code == 0, skipped.output


def test_a_changed_bank_runs_its_code_under_changed_since(content_tree: Path) -> None:
    content = content_tree / "content"
    catalog = validate(content, content_tree, run_code=False).catalog
    bank, gold = (content_tree / SILVER).resolve(), (content_tree / GOLD).resolve()
    scope = affected(catalog, ChangeSet(ref="main", base="0" * 40, modified={bank}, deleted={gold}), content)
    assert scope.code == {bank} and bank in scope.files and not scope.everything


def test_the_build_inputs_cover_the_certification_folder_and_its_code(content_tree: Path) -> None:
    files = {p.relative_to(REPO_ROOT).as_posix() for p in build_modules()}
    assert {"sidecar/courseware/certification.py", "sidecar/courseware/certcode.py",
            "sidecar/courseware/project_program.py"} <= files
    content, engine = content_tree / "content", engine_files()
    before = inputs_digest(content, project_config=None, engine=engine)
    (content_tree / GOLD).write_text((content_tree / GOLD).read_text(encoding="utf-8") + "# edited\n")
    assert inputs_digest(content, project_config=None, engine=engine) != before


# ---- catalog.db and the readers ---------------------------------------------------------------------


def test_readers_return_the_authored_items(minimal_build: BuildReport) -> None:
    authored = yaml.safe_load((REPO_ROOT / "tests/fixtures/minimal" / SILVER).read_text(encoding="utf-8"))
    bank = readers.silver_bank(minimal_build.catalog_db, COURSE)
    expected = [item for section in ("conceptual", "analysis", "coding", "design") for item in authored[section]]
    assert [item.data for item in bank] == expected
    kinds = {(i.section, i.kind, i.difficulty) for i in bank}
    assert kinds == {("conceptual", "mcq", 1), ("conceptual", "mcq", 2), ("conceptual", "mcq", 3),
                     ("analysis", "predict_output", 1), ("analysis", "predict_output", 2),
                     ("analysis", "find_bug", 2), ("coding", "coding", 1), ("design", "design", 2)}
    assert all(item.course_id == COURSE for item in bank)
    assert readers.silver_points(minimal_build.catalog_db, COURSE) == authored["points"]
    assert readers.silver_bank(minimal_build.catalog_db, "no-such-course") == []
    assert readers.silver_points(minimal_build.catalog_db, "no-such-course") == {}

    gold = yaml.safe_load((REPO_ROOT / "tests/fixtures/minimal" / GOLD).read_text(encoding="utf-8"))["options"][0]
    options = readers.gold_options(minimal_build.catalog_db, COURSE)
    assert [o.id for o in options] == [gold["id"]]
    option = options[0]
    assert (option.title, option.summary, option.brief, option.entry) == (
        gold["title"], gold["summary"], gold["brief"], gold["entry"])
    assert option.requirements == gold["requirements"]
    assert option.tests == [dict(t, hidden=bool(t.get("hidden"))) for t in gold["tests"]]
    assert not hasattr(option, "reference")  # the reference solution stays in catalog.db
    assert readers.gold_options(minimal_build.catalog_db, "no-such-course") == []


# ---- privacy: nothing of it reaches the site ----------------------------------------------------------


def _needles(catalog_db: Path, course_id: str) -> dict[str, str]:
    """Distinctive private texts of a course's bank and options -> what they are."""
    found: dict[str, str] = {}
    for item in readers.silver_bank(catalog_db, course_id):
        data = item.data
        # An analysis prompt ("What does this program print?") is shared on purpose: its code identifies it.
        fields = ("code", "explanation") if item.section == "analysis" else ("prompt", "solution", "explanation")
        for field in fields:
            if isinstance(data.get(field), str) and len(data[field].strip()) >= 12:
                found[" ".join(data[field].split())] = f"{field} of {item.kind} {item.id}"
        if item.kind == "predict_output" and len(str(data["answer"]).strip()) >= 6:
            found[" ".join(str(data["answer"]).split())] = f"answer of {item.id}"
        for point in data.get("rubric", []):
            found[" ".join(point["point"].split())] = f"rubric point of {item.id}"
    for option in readers.gold_options(catalog_db, course_id):
        found[" ".join(option.brief.split())[:80]] = f"brief of {option.id}"
        for test in option.tests:
            found[" ".join(test["code"].split())] = f"test of {option.id}"
    return found


def _site_texts(site: Path) -> Iterator[tuple[Path, list[str]]]:
    """Each generated file's text as written and as a reader sees it (tags dropped, entities decoded)."""
    for path in site.rglob("*"):
        # pyodide/ is the vendored runtime, copied as it is: nothing in it comes from content.
        if not path.is_file() or path.relative_to(site).parts[0] == "pyodide":
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        text = data.decode("utf-8", errors="ignore")
        read = html.unescape(TAG_RE.sub("", text.replace("\\n", " ").replace("\\u003c", "<")))
        yield path, [" ".join(text.split()), " ".join(read.split())]


def _assert_not_in_site(report: BuildReport, course_id: str) -> int:
    needles = _needles(report.catalog_db, course_id)
    assert len(needles) > 10
    # As authored, as HTML or JSON would escape it, and as rendered Markdown reads (no backticks).
    variants = {v: name for needle, name in needles.items()
                for v in {needle, html.escape(needle), json.dumps(needle)[1:-1], needle.replace("`", "")}}
    assert (report.site_dir / "search" / "search_index.json").is_file()
    checked = 0
    for path, texts in _site_texts(report.site_dir):
        checked += 1
        for needle, name in variants.items():
            for text in texts:
                assert needle not in text, f"{name} leaked into {path.relative_to(report.site_dir)}"
    return checked


def test_the_minimal_bank_and_options_stay_out_of_the_site(minimal_build: BuildReport) -> None:
    assert _assert_not_in_site(minimal_build, COURSE) > 10


def test_the_check_would_find_a_leak(minimal_build: BuildReport, tmp_path: Path) -> None:
    """The privacy check itself: a bank prompt in the search index, or an answer in a page, fails it."""
    shutil.copytree(minimal_build.site_dir / "search", tmp_path / "search")
    index = tmp_path / "search" / "search_index.json"
    docs = json.loads(index.read_text(encoding="utf-8"))
    docs["docs"].append({"location": "x/", "title": "x", "text": "After a = [1]; b = a; b.append(2), what is a?"})
    index.write_text(json.dumps(docs), encoding="utf-8")
    leaked = BuildReport(site_dir=tmp_path, catalog_db=minimal_build.catalog_db)
    with pytest.raises(AssertionError, match="prompt of mcq 00000000-0000-4000-8000-000000000506"):
        _assert_not_in_site(leaked, COURSE)


def test_python_basics_material_is_complete_valid_and_private(demo_build: BuildReport) -> None:
    """The real course: the bank the brief asks for (the demo build validated it by running every item)."""
    bank = readers.silver_bank(demo_build.catalog_db, BASICS)
    by = {(i.section, i.kind, i.difficulty): 0 for i in bank}
    for item in bank:
        by[(item.section, item.kind, item.difficulty)] += 1
    for level in (1, 2, 3):
        assert by.get(("conceptual", "mcq", level), 0) >= 10
        assert by.get(("coding", "coding", level), 0) >= 2
    assert sum(n for (s, _, _), n in by.items() if s == "conceptual") >= 40
    assert sum(n for (_, k, _), n in by.items() if k == "predict_output") >= 10
    assert sum(n for (_, k, _), n in by.items() if k == "find_bug") >= 10
    designs = [i for i in bank if i.section == "design"]
    assert len(designs) >= 3 and all(4 <= len(d.data["rubric"]) <= 6 for d in designs)
    assert sum(readers.silver_points(demo_build.catalog_db, BASICS).values()) == 100
    options = readers.gold_options(demo_build.catalog_db, BASICS)
    assert len(options) >= 3
    for option in options:
        assert any(t["hidden"] for t in option.tests) and any(not t["hidden"] for t in option.tests)
    assert _assert_not_in_site(demo_build, BASICS) > 50
