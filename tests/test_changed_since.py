"""`drona validate --changed-since REF` (issue 9): what a pull request touched, plus what depends on
it; the code of changed exercises and quizzes only; a Markdown summary for the PR."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sidecar.cli import main
from tests.conftest import MINIMAL
from tests.engine_repo import git

MODULE = "content/tracks/demo-track/demo-course/first-steps"
EXERCISE = f"{MODULE}/exercises/double-it.yaml"
OTHER_EXERCISE = "content/tracks/demo-track/demo-course/third-steps/exercises/triple-it.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A content repository with `main` committed and a `change` branch checked out."""
    shutil.copytree(MINIMAL / "content", tmp_path / "content")
    for name in [n for n in os.environ if n.startswith("DRONA_")]:
        monkeypatch.delenv(name)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "main")
    git(tmp_path, "checkout", "-q", "-b", "change")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _validate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", "--changed-since", "main", *args])
    return result.exit_code, result.output


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def test_only_changed_code_runs(repo: Path) -> None:
    _edit(repo / EXERCISE, "title:", "title: Doubling,")  # still valid
    code, output = _validate()
    assert code == 0, output
    assert "1 exercise/quiz file(s) checked" in output and "programs checked" in output
    # The whole tree has 2 exercises + 1 quiz; without --changed-since every one runs.
    everything = CliRunner().invoke(main, ["validate"])
    assert everything.exit_code == 0
    assert int(everything.output.split("; ")[1].split()[0]) > int(output.split("; ")[1].split()[0])


def test_a_broken_changed_solution_is_reported(repo: Path) -> None:
    _edit(repo / EXERCISE, "return n * 2", "return n + 2")
    code, output = _validate()
    assert code == 1
    assert f"{EXERCISE}:" in output and "reference solution must pass every test" in output


def test_problems_in_untouched_files_are_left_to_main(repo: Path) -> None:
    # Break an exercise on main itself (already merged), then change an unrelated lesson.
    _edit(repo / OTHER_EXERCISE, "return n * 3", "return n + 3")
    git(repo, "commit", "-q", "-am", "broken on main")
    git(repo, "branch", "-f", "main", "HEAD")
    _edit(repo / f"{MODULE}/printing.md", "Programs talk", "Programs speak")
    code, output = _validate()
    assert code == 0, output
    assert OTHER_EXERCISE not in output
    full = CliRunner().invoke(main, ["validate"])
    assert full.exit_code == 1 and OTHER_EXERCISE in full.output


def test_a_lesson_placing_a_deleted_exercise_is_reported(repo: Path) -> None:
    (repo / EXERCISE).unlink()
    code, output = _validate()
    assert code == 1
    assert f"{MODULE}/printing.md:" in output and "::exercise double-it: no file exercises/double-it.yaml" in output


def test_a_duplicate_id_in_a_new_file_is_reported(repo: Path) -> None:
    quiz = repo / f"{MODULE}/quizzes/first-quiz.yaml"
    copy = repo / f"{MODULE}/quizzes/second-quiz.yaml"
    shutil.copyfile(quiz, copy)  # untracked: new files count as changed too
    _edit(repo / f"{MODULE}/check-yourself.md", "::quiz first-quiz", "::quiz first-quiz\n\n::quiz second-quiz")
    code, output = _validate()
    assert code == 1
    assert "duplicate id" in output and "second-quiz.yaml" in output


def test_a_changed_module_file_covers_its_lessons(repo: Path) -> None:
    _edit(repo / f"{MODULE}/module.yaml", "lessons: [printing, check-yourself]", "lessons: [check-yourself]")
    code, output = _validate()
    assert code == 1
    assert f"{MODULE}/printing.md:1: lesson 'printing' is not listed in module.yaml" in output


def test_summary_for_a_pull_request(repo: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["new", "lesson", "demo-track/demo-course/second-steps", "while-loops"]).exit_code == 0
    _edit(repo / f"{MODULE}/printing.md", "Programs talk", "Programs speak")
    _edit(repo / EXERCISE, "return n * 2", "return n + 2")
    summary = repo / "out" / "summary.md"
    code, _output = _validate("--summary", str(summary))
    assert code == 1
    text = summary.read_text()
    assert text.startswith("## Content check\n")
    assert "**Lessons added or changed:** 2" in text
    assert "- added: `content/tracks/demo-track/demo-course/second-steps/while-loops.md` (While loops)" in text
    assert f"- changed: `{MODULE}/printing.md` (Printing)" in text
    assert "**Exercises and quizzes checked:** 1" in text and f"- `{EXERCISE}`" in text
    assert "**Problems:** 1" in text and f"- `{EXERCISE}:" in text
    # A second command appends its own section.
    _edit(repo / EXERCISE, "return n + 2", "return n * 2")
    assert _validate("--summary", str(summary))[0] == 0
    assert summary.read_text().count("## Content check") == 2 and "**Problems:** 0 ✅" in summary.read_text()


def test_environment_variable_and_errors(repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRONA_CHANGED_SINCE", "main")
    result = CliRunner().invoke(main, ["validate", "--no-run"])
    assert result.exit_code == 0 and "Changed since main: 0 file(s)" in result.output
    unknown = CliRunner().invoke(main, ["validate", "--changed-since", "origin/nope"])
    assert unknown.exit_code == 2 and "unknown git ref 'origin/nope'" in unknown.output
    outside = tmp_path_factory.mktemp("not-git")
    shutil.copytree(MINIMAL / "content", outside / "content")
    monkeypatch.chdir(outside)
    result = CliRunner().invoke(main, ["validate", "--changed-since", "main"])
    assert result.exit_code == 2 and "not inside a git repository" in result.output
