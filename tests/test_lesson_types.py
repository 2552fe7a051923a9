"""The lesson types have one source, the lesson schema's `type` enum (sidecar/courseware/lesson_types.py);
the content model, `drona new lesson --type` and the orchestrator follow it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from sidecar.agents.policy.orchestrator import BASE_MODE
from sidecar.cli import new_lesson_command
from sidecar.courseware import model
from sidecar.courseware.lesson_types import LESSON_TYPES, read_lesson_types
from sidecar.settings import REPO_ROOT


def test_lesson_types_are_the_schemas_enum() -> None:
    schema = json.loads((REPO_ROOT / "schemas" / "lesson.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["properties"]["type"]["enum"]) == LESSON_TYPES
    assert model.LESSON_TYPES is LESSON_TYPES
    assert set(model.EXERCISE_LESSON_TYPES) <= set(LESSON_TYPES)


def test_cli_offers_exactly_the_lesson_types() -> None:
    option = next(p for p in new_lesson_command.params if p.name == "lesson_type")
    assert isinstance(option.type, click.Choice)
    assert tuple(option.type.choices) == LESSON_TYPES
    assert option.default in LESSON_TYPES


def test_orchestrator_maps_exactly_the_lesson_types() -> None:
    assert set(BASE_MODE) == set(LESSON_TYPES)


def _schema_dir(tmp_path: Path, type_property: object) -> Path:
    schema = json.loads((REPO_ROOT / "schemas" / "lesson.schema.json").read_text(encoding="utf-8"))
    schema["properties"]["type"] = type_property
    (tmp_path / "lesson.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return tmp_path


def test_the_types_are_read_from_the_schema(tmp_path: Path) -> None:
    enum = [*LESSON_TYPES, "pair-programming"]
    assert read_lesson_types(_schema_dir(tmp_path, {"enum": enum})) == tuple(enum)


@pytest.mark.parametrize("type_property", [{"type": "string"}, {"enum": []}, {"enum": ["quiz", "quiz"]},
                                           {"enum": ["quiz", 3]}])
def test_a_schema_without_a_usable_enum_is_refused(tmp_path: Path, type_property: object) -> None:
    with pytest.raises(RuntimeError, match="lesson"):
        read_lesson_types(_schema_dir(tmp_path, type_property))


def test_the_authoring_guide_lists_the_lesson_types() -> None:
    guide = (REPO_ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    start = guide.index("type: concept")
    listed = re.findall(r"[a-z]+(?:-[a-z]+)*", guide[start:guide.index("objectives:", start)].split("#", 1)[1])
    assert tuple(listed) == LESSON_TYPES, "docs/authoring.md's lesson front matter example lists other types"
