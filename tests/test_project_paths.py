"""Paths mean what the README says (issue 9): `drona` works on the content repository around the
working directory, never silently on the engine's own content; strays are reported; the CLI
refuses accounts the sign-in API would refuse."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from sidecar.cli import main
from sidecar.engine import engine_files
from sidecar.project import find_project, project_root
from sidecar.settings import REPO_ROOT, Settings, get_settings
from tests.conftest import MINIMAL


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the minimal content in a folder of its own, as the working directory."""
    shutil.copytree(MINIMAL / "content", tmp_path / "course-repo" / "content")
    for name in [n for n in os.environ if n.startswith("DRONA_") or n == "DATABASE_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path / "course-repo")
    return tmp_path / "course-repo"


def test_defaults_are_the_project_around_the_working_directory(elsewhere: Path, monkeypatch) -> None:
    settings = Settings()
    content, build, data = elsewhere / "content", elsewhere / "build", elsewhere / "data"
    found = (settings.DRONA_CONTENT_DIR, settings.DRONA_BUILD_DIR, settings.DRONA_DATA_DIR)
    assert found == (content, build, data)
    assert settings.DATABASE_URL.endswith(f"///{data / 'drona.db'}")
    # From deep inside the content tree, the same project is found, the way git finds .git.
    monkeypatch.chdir(content / "tracks" / "demo-track")
    assert find_project() == elsewhere
    assert Settings().DRONA_CONTENT_DIR.samefile(content)
    assert REPO_ROOT not in Settings().DRONA_CONTENT_DIR.parents


def test_env_file_comes_from_the_project(elsewhere: Path, monkeypatch) -> None:
    (elsewhere / ".env").write_text("DRONA_PORT=8123\n")
    monkeypatch.chdir(elsewhere / "content")
    get_settings.cache_clear()
    try:
        assert get_settings().DRONA_PORT == 8123
    finally:
        get_settings.cache_clear()


def test_broken_content_elsewhere_is_reported_not_the_engines(elsewhere: Path) -> None:
    """The issue's case: copy content/, break a YAML file, run `drona validate` there."""
    module = elsewhere / "content/tracks/demo-track/demo-course/first-steps/module.yaml"
    module.write_text(module.read_text() + "lessons: [oops\n")
    result = CliRunner().invoke(main, ["validate", "--no-run"])
    assert result.exit_code == 1, result.output
    assert "content/tracks/demo-track/demo-course/first-steps/module.yaml:" in result.output
    assert "Content OK" not in result.output


def test_no_content_folder_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DRONA_CONTENT_DIR", raising=False)
    assert find_project() is None and project_root() == tmp_path.resolve()
    for command in (["validate"], ["build"], ["leak-check"], ["new", "course", "t", "c"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, (command, result.output)
        assert f"no content folder at {tmp_path.resolve() / 'content'}" in result.output
        assert "drona new site" in result.output and "Traceback" not in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    engine = engine_files()
    assert result.output.startswith("drona 0.") and f"Pyodide {engine.pyodide_version()}" in result.output
    if engine.info.get("commit"):
        assert engine.info["commit"][:12] in result.output


@pytest.mark.parametrize(("stray", "message"), [
    ("tracks/demo-track/demo-course/course-copy.yaml", "unexpected file 'course-copy.yaml': a course folder"),
    ("tracks/demo-track/notes.txt", "unexpected file 'notes.txt': a track folder"),
    ("tracks/README.md", "unexpected file 'README.md': tracks/ holds one folder per track"),
    ("domains-old.yaml", "unexpected file 'domains-old.yaml': content/ holds"),
    ("tracks/demo-track/demo-course/first-steps/drafts/idea.md", "unexpected folder 'drafts/': a module folder"),
    ("tracks/demo-track/demo-course/first-steps/printing.md.bak", "unexpected file 'printing.md.bak'"),
    ("tracks/demo-track/demo-course/first-steps/exercises/notes.txt", "unexpected file in exercises/"),
])
def test_unrecognised_files_are_reported(elsewhere: Path, stray: str, message: str) -> None:
    path = elsewhere / "content" / stray
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id: 1\n")
    result = CliRunner().invoke(main, ["validate", "--no-run"])
    assert result.exit_code == 1, result.output
    reported = f"content/{stray}:1: " if not stray.endswith("idea.md") else f"content/{Path(stray).parent}:1: "
    assert reported in result.output and message in result.output, result.output


def test_hidden_files_are_not_content(elsewhere: Path) -> None:
    for name in ("content/.DS_Store", "content/tracks/demo-track/.keep",
                 "content/tracks/demo-track/demo-course/first-steps/exercises/.double-it.yaml.swp"):
        (elsewhere / name).write_text("x")
    result = CliRunner().invoke(main, ["validate", "--no-run"])
    assert result.exit_code == 0, result.output


def test_create_user_refuses_what_sign_in_refuses(elsewhere: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(main, ["admin", "create-user", "--email", "admin@x.test", "--password", "long-enough-1"])
    assert refused.exit_code == 1 and "special-use or reserved name" in refused.output, refused.output
    assert not (elsewhere / "data" / "drona.db").exists()  # refused before touching the database
    short = runner.invoke(main, ["admin", "create-user", "--email", "admin@example.com", "--password", "short"])
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    spaces = runner.invoke(main, ["admin", "create-user", "--email", "admin@example.com", "--password",
                                  "long-enough-1", "--display-name", "   "])
    assert spaces.exit_code == 1 and "display_name" in spaces.output
    made = runner.invoke(main, ["admin", "create-user", "--email", "Admin@Example.com", "--password",
                                "long-enough-1"])
    assert made.exit_code == 0, made.output
    with create_engine(f"sqlite:///{elsewhere / 'data' / 'drona.db'}").connect() as conn:
        assert conn.execute(text("SELECT email, role FROM users")).all() == [("admin@example.com", "super_admin")]
