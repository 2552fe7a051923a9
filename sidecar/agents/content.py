"""The authored material the agents teach from, read once per catalog build.

Loaded from catalog.db (which holds the private parts: solutions, hidden tests) and cached by
the file's identity, so a turn costs dictionary lookups rather than queries.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecar.catalog import store


@dataclass(frozen=True)
class ExerciseText:
    id: str
    title: str
    prompt: str
    starter: str
    solution: str
    lesson_id: str | None
    hints: list[dict[str, Any]]
    misconceptions: list[dict[str, Any]]
    example: str | None
    visible_tests: list[dict[str, Any]]
    final_answers: list[str]  # literal outputs the tests expect (e.g. "10"): not to be said early


@dataclass(frozen=True)
class LessonText:
    id: str
    title: str
    type: str
    url: str
    objectives: list[str]
    skills: list[str]
    module_id: str
    course_id: str
    track_id: str
    exercise_ids: list[str] = field(default_factory=list)
    next_url: str | None = None
    next_title: str | None = None


@dataclass(frozen=True)
class Content:
    lessons: dict[str, LessonText]
    exercises: dict[str, ExerciseText]
    track_titles: dict[str, str]
    track_summaries: dict[str, str]


_QUOTED = re.compile(r"""==\s*(?:str\()?['"]([^'"\n]{1,40})['"]""")


def _final_answers(tests: list[dict[str, Any]]) -> list[str]:
    """Expected literal values in the visible tests (`... == "10"`): what a reply must not state.

    Kept: numbers and phrases with punctuation or spaces ("Hello, Ada!"). Dropped: bare words and
    letters ("A", "leap", "True"), which ordinary prose uses and which give nothing away alone.
    """
    found: list[str] = []
    for test in tests:
        for raw in _QUOTED.findall(test.get("code", "")):
            value = raw.replace("\\n", "").strip()
            telling = any(ch.isdigit() for ch in value) or (len(value) >= 4 and not value.isalpha())
            if telling and value not in found:
                found.append(value)
    return found


def _load(path: Path) -> Content:
    lessons: dict[str, LessonText] = {}
    exercises: dict[str, ExerciseText] = {}
    with store.connect(path) as conn:
        rows = conn.execute("SELECT l.*, m.position AS m_pos, c.position AS c_pos FROM lessons l "
                            "JOIN modules m ON m.id = l.module_id JOIN courses c ON c.id = l.course_id "
                            "ORDER BY c.position, m.position, l.position").fetchall()
        ordered = [dict(r) for r in rows]
        for i, row in enumerate(ordered):
            after = ordered[i + 1] if i + 1 < len(ordered) and ordered[i + 1]["course_id"] == row["course_id"] else None
            lessons[row["id"]] = LessonText(
                id=row["id"], title=row["title"], type=row["type"], url=row["url"],
                objectives=json.loads(row["objectives"]), skills=json.loads(row["skills"]),
                module_id=row["module_id"], course_id=row["course_id"], track_id=row["track_id"],
                next_url=after["url"] if after else None, next_title=after["title"] if after else None)
        for row in conn.execute("SELECT * FROM exercises"):
            visible = json.loads(row["visible_tests"])
            exercises[row["id"]] = ExerciseText(
                id=row["id"], title=row["title"], prompt=row["prompt"], starter=row["starter"],
                solution=row["solution"], lesson_id=row["lesson_id"], hints=json.loads(row["hints"]),
                misconceptions=json.loads(row["misconceptions"]), example=row["example"], visible_tests=visible,
                final_answers=_final_answers(visible))
            if row["lesson_id"] in lessons:
                lessons[row["lesson_id"]].exercise_ids.append(row["id"])
        tracks = conn.execute("SELECT id, title, summary FROM tracks").fetchall()
    return Content(lessons=lessons, exercises=exercises, track_titles={t["id"]: t["title"] for t in tracks},
                   track_summaries={t["id"]: t["summary"] for t in tracks})


_lock = threading.Lock()
_cache: dict[tuple[str, int, int], Content] = {}


def get_content(catalog_db: Path) -> Content:
    stat = catalog_db.stat() if catalog_db.is_file() else None
    key = (str(catalog_db), stat.st_mtime_ns if stat else 0, stat.st_ino if stat else 0)
    with _lock:
        if key not in _cache:
            _cache.clear()  # one catalog at a time: a rebuild replaces the old one
            _cache[key] = _load(catalog_db)
        return _cache[key]
