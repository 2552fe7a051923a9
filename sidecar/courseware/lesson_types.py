"""The lesson types, read from their single source: the lesson schema's `type` enum.

schemas/lesson.schema.json lists them (properties.type.enum); the content model, `drona new lesson
--type` and the tutor's orchestrator use LESSON_TYPES from here, never a list of their own. The
schema is found where the engine keeps its files (sidecar/engine.py: a checkout's schemas/, or
sidecar/_engine/schemas/ in an installed wheel), and read once, at import.
"""

from __future__ import annotations

import json
from pathlib import Path

from sidecar.engine import engine_files

LESSON_SCHEMA = "lesson.schema.json"


def read_lesson_types(schemas_dir: Path | None = None) -> tuple[str, ...]:
    """The `type` enum of the lesson schema in schemas_dir (default: the engine's), in schema order."""
    path = (schemas_dir or engine_files().schemas_dir) / LESSON_SCHEMA
    schema = json.loads(path.read_text(encoding="utf-8"))
    try:
        types = schema["properties"]["type"]["enum"]
    except (KeyError, TypeError):
        raise RuntimeError(f"{path} has no properties.type.enum: the lesson types are read from it") from None
    if not isinstance(types, list) or not types or not all(isinstance(t, str) and t for t in types) \
            or len(set(types)) != len(types):
        raise RuntimeError(f"{path}: properties.type.enum must be a list of distinct lesson type names")
    return tuple(types)


LESSON_TYPES: tuple[str, ...] = read_lesson_types()

# What learners read for each type (course and module pages, the lesson's chip). The schema owns
# which types exist; the words shown for them live here, once. Every type needs a name: an import
# that finds one missing fails, so a new type in the schema cannot reach a page as a raw label.
LESSON_TYPE_NAMES: dict[str, str] = {
    "concept": "Concept",
    "guided-discovery": "Guided discovery",
    "code-along": "Code-along",
    "sandbox": "Sandbox",
    "challenge": "Timed challenge",
    "project-milestone": "Project milestone",
    "reflection": "Reflection",
    "quiz": "Quiz",
}

_unnamed = [t for t in LESSON_TYPES if t not in LESSON_TYPE_NAMES]
if _unnamed:
    raise RuntimeError(f"lesson types without a display name in {__name__}.LESSON_TYPE_NAMES: {_unnamed}")


def lesson_type_name(lesson_type: str) -> str:
    """The name learners read for a lesson type ("guided-discovery" → "Guided discovery")."""
    try:
        return LESSON_TYPE_NAMES[lesson_type]
    except KeyError:
        raise ValueError(f"unknown lesson type {lesson_type!r}: one of {', '.join(LESSON_TYPES)}") from None
