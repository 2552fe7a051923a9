"""The authored material the agents teach from, read once per catalog build.

Loaded from catalog.db (which holds the private parts: solutions, hidden tests) through
sidecar/catalog's readers and cached by the file's identity (sidecar.catalog.store.cached), so a
turn costs dictionary lookups rather than queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sidecar.catalog import readers, store
from sidecar.catalog.readers import ExerciseRecord, LessonRecord

# The catalog's record types under the names the agents knew them by.
ExerciseText = ExerciseRecord
LessonText = LessonRecord


@dataclass(frozen=True)
class Content:
    lessons: dict[str, LessonRecord]
    exercises: dict[str, ExerciseRecord]
    track_titles: dict[str, str]
    track_summaries: dict[str, str]
    lesson_order: dict[str, int]  # lesson id -> place in catalog order (track, course, module, lesson)


def _load(path: Path) -> Content:
    tracks = readers.tracks(path)
    lessons = readers.lessons(path)
    return Content(lessons=lessons, exercises=readers.exercises(path),
                   lesson_order={lesson_id: index for index, lesson_id in enumerate(lessons)},
                   track_titles={t.id: t.title for t in tracks.values()},
                   track_summaries={t.id: t.summary for t in tracks.values()})


def get_content(catalog_db: Path) -> Content:
    return store.cached(catalog_db, "agents.content", _load)
