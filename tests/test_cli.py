"""The `drona` command: every command and setting is documented; scaffolding yields valid content."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from sidecar.cli import main
from sidecar.courseware.scaffold import ScaffoldError, append_to_list
from sidecar.courseware.validate import validate
from sidecar.settings import REPO_ROOT, Settings

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix=""):
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _commands(command, full + " ")
        else:
            yield full


def test_every_cli_command_is_documented() -> None:
    commands = list(_commands(main))
    assert {"validate", "build", "serve", "new lesson"} <= set(commands)
    for command in commands:
        assert f"`drona {command}" in README, f"README does not document `drona {command}`"


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert re.search(rf"\| `{name}` \|", README), f"README does not document {name}"


def test_readme_quick_start_has_the_two_commands() -> None:
    assert "scripts/serve" in README and "scripts/test" in README
    assert "scripts/test" in (REPO_ROOT / ".ci" / "run").read_text()


def test_production_refuses_placeholder_secret() -> None:
    result = CliRunner().invoke(main, ["validate", "--no-run"], env={"DRONA_ENV": "production"})
    assert result.exit_code == 2
    assert "SECRET_KEY" in result.output


def test_scaffolded_content_validates(content_tree: Path) -> None:
    content = str(content_tree / "content")
    runner = CliRunner()

    def ok(*args: str) -> str:
        result = runner.invoke(main, [*args, "--content", content])
        assert result.exit_code == 0, result.output
        return result.output

    ok("new", "course", "demo-track", "second-course")
    ok("new", "module", "demo-track/second-course", "basics")
    ok("new", "lesson", "demo-track/second-course/basics", "loops-lab", "--type", "code-along")
    ok("new", "exercise", "demo-track/second-course/basics", "count-up", "--lesson", "loops-lab")
    ok("new", "quiz", "demo-track/second-course/basics", "basics-quiz", "--lesson", "introduction")
    result = validate(content_tree / "content", content_tree)
    assert [str(p) for p in result.problems.sorted()] == []
    course = (content_tree / "content/tracks/demo-track/track.yaml").read_text()
    assert "courses: [demo-course, second-course]" in course
    again = runner.invoke(main, ["new", "lesson", "demo-track/second-course/basics", "loops-lab", "--content", content])
    assert again.exit_code == 1 and "already exists" in again.output


def test_append_to_block_list_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "module.yaml"
    path.write_text("# keep me\nlessons:\n  - one   # first\n  - two\ntitle: x\n")
    append_to_list(path, "lessons", "three")
    assert path.read_text() == "# keep me\nlessons:\n  - one   # first\n  - two\n  - three\ntitle: x\n"
    try:
        append_to_list(path, "lessons", "two")
    except ScaffoldError as exc:
        assert "already listed" in str(exc)
    else:
        raise AssertionError("a duplicate was appended")


def test_nothing_installs_the_engine_by_a_name_we_do_not_own() -> None:
    """`dronacharya` on PyPI is an unrelated project: no instruction may install it by that name."""
    bare = re.compile(r"pip3? install\s+(?:-\S+\s+)*['\"]?dronacharya(?![-\w.])")
    texts = [REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md"),
             *(REPO_ROOT / "sidecar/courseware/site_template").rglob("*")]
    checked = 0
    for path in texts:
        if path.is_file():
            assert not bare.search(path.read_text(encoding="utf-8")), path
            checked += 1
    assert checked > 5
    assert 'name = "dronacharya-engine"' in (REPO_ROOT / "pyproject.toml").read_text()
