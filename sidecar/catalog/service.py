"""The catalog tree, read from catalog.db and cached until the file is replaced by a rebuild."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import store
from .models import CatalogPublic, CoursePublic, DomainPublic, LessonPublic, ModulePublic, TrackPublic


@dataclass(frozen=True)
class LessonInfo:
    id: str
    slug: str
    title: str
    type: str
    xp: int
    url: str
    module_id: str
    course_id: str
    track_id: str
    completes_on_reading: bool  # no exercise or quiz: reading it is completing it


@dataclass(frozen=True)
class ModuleInfo:
    id: str
    title: str
    course_id: str
    par_minutes: int
    lesson_ids: tuple[str, ...]


@dataclass(frozen=True)
class CourseInfo:
    id: str
    title: str
    track_id: str
    module_ids: tuple[str, ...]


@dataclass(frozen=True)
class CatalogIndex:
    lessons: dict[str, LessonInfo]
    modules: dict[str, ModuleInfo]
    courses: dict[str, CourseInfo]
    lesson_order: tuple[str, ...]  # every lesson, in catalog order
    source: Path | None = None  # the catalog.db it was read from, for services that read more of it


def _load(path: Path) -> CatalogPublic:
    with store.connect(path) as conn:
        rows = {name: conn.execute(f"SELECT * FROM [{name}] ORDER BY position").fetchall()  # noqa: S608
                for name in ("domains", "tracks", "courses", "modules", "lessons")}
        placed: dict[tuple[str, str], list[str]] = defaultdict(list)
        for table, kind in (("exercises", "exercise"), ("quizzes", "quiz")):
            for row in conn.execute(f"SELECT id, lesson_id FROM [{table}] ORDER BY slug"):  # noqa: S608
                placed[(kind, row["lesson_id"])].append(row["id"])
    lessons: dict[str, list[LessonPublic]] = defaultdict(list)
    for r in rows["lessons"]:
        lessons[r["module_id"]].append(LessonPublic(
            id=r["id"], slug=r["slug"], title=r["title"], type=r["type"], xp=r["xp"], minutes=r["minutes"],
            url=r["url"], exercise_ids=placed[("exercise", r["id"])], quiz_ids=placed[("quiz", r["id"])]))
    modules: dict[str, list[ModulePublic]] = defaultdict(list)
    for r in rows["modules"]:
        modules[r["course_id"]].append(ModulePublic(
            id=r["id"], slug=r["slug"], title=r["title"], summary=r["summary"], par_minutes=r["par_minutes"],
            url=r["url"], lessons=lessons[r["id"]]))
    courses: dict[str, list[CoursePublic]] = defaultdict(list)
    for r in rows["courses"]:
        courses[r["track_id"]].append(CoursePublic(
            id=r["id"], slug=r["slug"], title=r["title"], summary=r["summary"], status=r["status"],
            level=r["level"], planned_modules=r["planned_modules"], url=r["url"], modules=modules[r["id"]]))
    tracks = [TrackPublic(id=r["id"], slug=r["slug"], title=r["title"], summary=r["summary"], domain=r["domain"],
                          status=r["status"], url=r["url"], courses=courses[r["id"]]) for r in rows["tracks"]]
    by_domain: dict[str, list[str]] = defaultdict(list)
    for track in tracks:
        by_domain[track.domain].append(track.slug)
    domains = [DomainPublic(id=r["id"], slug=r["slug"], title=r["title"], summary=r["summary"],
                            track_slugs=by_domain[r["slug"]]) for r in rows["domains"]]
    return CatalogPublic(domains=domains, tracks=tracks)


def _load_index(path: Path) -> CatalogIndex:
    tree = get_catalog(catalog_db=path)
    lessons: dict[str, LessonInfo] = {}
    modules: dict[str, ModuleInfo] = {}
    courses: dict[str, CourseInfo] = {}
    order: list[str] = []
    for track in tree.tracks:
        for course in track.courses:
            courses[course.id] = CourseInfo(course.id, course.title, track.id, tuple(m.id for m in course.modules))
            for module in course.modules:
                modules[module.id] = ModuleInfo(module.id, module.title, course.id, module.par_minutes,
                                                tuple(lesson.id for lesson in module.lessons))
                for lesson in module.lessons:
                    order.append(lesson.id)
                    lessons[lesson.id] = LessonInfo(
                        lesson.id, lesson.slug, lesson.title, lesson.type, lesson.xp, lesson.url, module.id,
                        course.id, track.id, completes_on_reading=not (lesson.exercise_ids or lesson.quiz_ids))
    return CatalogIndex(lessons, modules, courses, tuple(order), source=path)


def get_index(*, catalog_db: Path) -> CatalogIndex:
    """Lookups by id for the services that record progress against the catalog."""
    return store.cached(catalog_db, "service.index", _load_index)


def get_catalog(*, catalog_db: Path) -> CatalogPublic:
    return store.cached(catalog_db, "service.tree", _load)


def without_drafts(tree: CatalogPublic) -> CatalogPublic:
    """The catalog as anyone but a content creator sees it: a preview build's draft courses left out."""
    if not any(course.status == "draft" for track in tree.tracks for course in track.courses):
        return tree
    tracks = [track.model_copy(update={"courses": [c for c in track.courses if c.status != "draft"]})
              for track in tree.tracks]
    return tree.model_copy(update={"tracks": tracks})
