"""`drona validate` on the broken-content corpus: every problem at once, as path:line: message."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sidecar.courseware.validate import validate

CORPUS = Path(__file__).parent / "content_corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
LINE_RE = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+): (?P<message>.+)$")


def _apply(case: str, root: Path) -> None:
    shutil.copytree(CORPUS / case / "content", root / "content", dirs_exist_ok=True)


def _expected(case: str) -> list[tuple[str, int, str]]:
    out = []
    for raw in (CORPUS / case / "expected.txt").read_text().splitlines():
        match = LINE_RE.match(raw)
        assert match, f"bad expected line in {case}: {raw}"
        out.append((match["path"], int(match["line"]), match["message"]))
    return out


def test_minimal_fixture_is_valid(content_tree: Path) -> None:
    result = validate(content_tree / "content", content_tree)
    assert [str(p) for p in result.problems.sorted()] == []
    assert result.programs_run >= 7  # solution x3 seeds, starter, misconception, 2 quiz programs


@pytest.mark.parametrize("case", CASES)
def test_broken_content_reports_path_and_line(case: str, content_tree: Path) -> None:
    _apply(case, content_tree)
    result = validate(content_tree / "content", content_tree)
    reported = [(p.path, p.line, p.message) for p in result.problems.sorted()]
    for path, line, fragment in _expected(case):
        hits = [r for r in reported if r[0] == path and r[1] == line and fragment in r[2]]
        assert hits, f"expected {path}:{line}: ...{fragment}... in:\n" + "\n".join(map(str, reported))


def test_every_problem_is_reported_in_one_run(content_tree: Path) -> None:
    # Several unrelated defects in different files: all of them come back together.
    for case in ("wrong-type", "duplicate-key", "quiz-answers", "bad-solution", "bad-id"):
        _apply(case, content_tree)
    result = validate(content_tree / "content", content_tree)
    files = {p.path for p in result.problems.items}
    assert len(files) >= 5
    assert len(result.problems) >= 6


def test_cli_prints_problems_without_traceback(content_tree: Path) -> None:
    for case in ("invalid-yaml", "not-utf8", "unknown-key", "wrong-domain"):
        _apply(case, content_tree)
    proc = subprocess.run([sys.executable, "-m", "sidecar.cli", "validate", "--content", "content"],
                          cwd=content_tree, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, proc.stderr
    for line in lines:
        match = LINE_RE.match(line)
        assert match, f"not path:line: message: {line!r}"
        assert not match["path"].startswith("/"), "paths are repo-relative"
    assert "problem(s)" in proc.stderr


def test_cli_reports_success(content_tree: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sidecar.cli", "validate", "--content", "content"],
                          cwd=content_tree, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Content OK: 1 tracks, 1 courses, 5 lessons, 2 exercises, 1 quizzes" in proc.stdout


def test_missing_content_folder_is_a_problem(tmp_path: Path) -> None:
    result = validate(tmp_path / "nowhere", tmp_path)
    assert [p.message for p in result.problems.items] == ["content folder not found"]
