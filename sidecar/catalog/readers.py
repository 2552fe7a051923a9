"""Typed reads of catalog.db: one record type per kind of thing, loaded once per catalog build.

Every module outside sidecar/catalog reads the catalog through these functions (or the tree in
service.py, or chunks.py for retrieval), never with its own SQL. Whole-table reads (tracks,
lessons, exercises, quizzes) are cached per version of the file (store.cached), so a lookup by id
costs a dictionary access; the returned records are shared: treat them, and the lists inside
them, as read-only. Reads of answer keys (quiz items) and of lesson bodies go to the file each
time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sidecar.errors import NotFound

from . import store

# A quiz item as stored: every column of quiz_items plus its quiz's module_id; JSON columns
# (skills, choices, answer, accept) are JSON text, the shape sidecar.grading.service.is_correct
# and the assessor take.
QuizItemRow = dict[str, Any]


def _json(value: str | None, default: Any = None) -> Any:
    return json.loads(value) if value is not None else default


# ---- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackRecord:
    id: str
    slug: str
    domain: str
    title: str
    summary: str
    status: str
    position: int
    url: str


@dataclass(frozen=True)
class ModuleRecord:
    id: str
    course_id: str
    slug: str
    title: str
    summary: str
    par_minutes: int
    position: int
    url: str


@dataclass(frozen=True)
class LessonRecord:
    """A lesson (without its Markdown body: see lesson_bodies)."""

    id: str
    slug: str
    title: str
    type: str
    url: str
    objectives: list[str]
    skills: list[str]
    minutes: int
    xp: int
    time_limit_minutes: int | None  # challenges only
    attempt_policy: dict[str, Any] | None  # challenges only, as authored (None: the defaults)
    position: int  # in its module
    module_id: str
    course_id: str
    track_id: str
    exercise_ids: tuple[str, ...] = ()  # the exercises placed in it, in catalog order
    next_url: str | None = None  # the next lesson of the same course, if any
    next_title: str | None = None


_QUOTED = re.compile(r"""(?:==|\.(?:endswith|startswith)\()\s*(?:str\()?['"]([^'"\n]{1,60})['"]""")


def final_answers(tests: list[dict[str, Any]]) -> list[str]:
    """Expected literal values in tests (`... == "10"`): for hidden tests, what a tutor reply must not
    state before the bottom-out (agents/guard/guarded.secret_answers).

    Kept: numbers and phrases with punctuation or spaces ("Hello, Ada!"). Dropped: bare words and
    letters ("A", "leap", "True"), which ordinary prose uses and which give nothing away alone.
    """
    found: list[str] = []
    for test in tests:
        for raw in _QUOTED.findall(test.get("code", "")):
            for part in raw.split("\\n"):  # each expected output line on its own
                value = part.strip()
                telling = any(ch.isdigit() for ch in value) or (len(value) >= 4 and not value.isalpha())
                if value and telling and value not in found:
                    found.append(value)
    return found


@dataclass(frozen=True)
class ExerciseRecord:
    """An exercise with its private parts (solution, hidden tests, every hint rung): server side only."""

    id: str
    slug: str
    module_id: str
    lesson_id: str | None  # the lesson that places it (None when none does)
    title: str
    prompt: str
    starter: str
    solution: str
    example: str | None
    time_limit: float  # seconds per grading run
    memory_mb: int | None  # the exercise's own memory budget (None: the sandbox's default)
    randomized: bool
    visible_tests: list[dict[str, Any]]
    hidden_tests: list[dict[str, Any]]
    hints: list[dict[str, Any]]
    misconceptions: list[dict[str, Any]]
    bottom_out_attempts: int  # what earns the bottom-out hint rung (sidecar/grading/hints.py)
    bottom_out_minutes: float
    skills: list[str]  # the skills of the lesson that places it ([] when none does)

    @property
    def tests(self) -> list[dict[str, Any]]:
        """Everything a trusted grading runs: the visible tests, then the hidden ones marked `hidden`.

        Fresh copies on every call, so a caller may change them.
        """
        return [dict(t) for t in self.visible_tests] + [dict(t, hidden=True) for t in self.hidden_tests]

    @cached_property
    def final_answers(self) -> list[str]:
        """Literal outputs the visible tests expect (e.g. "10"): not for the tutor to say early."""
        return final_answers(self.visible_tests)


@dataclass(frozen=True)
class QuizRecord:
    id: str
    slug: str
    module_id: str
    lesson_id: str | None
    title: str
    pass_percent: int


@dataclass(frozen=True)
class AchievementRecord:
    id: str
    slug: str
    title: str
    category: str
    description: str
    xp: int
    rule: dict[str, Any]


# ---- tracks and modules -------------------------------------------------------------------------


def _load_tracks(path: Path) -> dict[str, TrackRecord]:
    with store.connect(path) as conn:
        rows = conn.execute("SELECT id, slug, domain, title, summary, status, position, url FROM tracks "
                            "ORDER BY position").fetchall()
    return {r["id"]: TrackRecord(**dict(r)) for r in rows}


def tracks(catalog_db: Path) -> dict[str, TrackRecord]:
    """Every track by id, in catalog order."""
    return store.cached(catalog_db, "readers.tracks", _load_tracks)


def track_modules(catalog_db: Path, track_id: str) -> list[ModuleRecord]:
    """The modules of the track's active courses, in catalog order ([] for an unknown track)."""
    with store.connect(catalog_db) as conn:
        rows = conn.execute(
            "SELECT m.id, m.course_id, m.slug, m.title, m.summary, m.par_minutes, m.position, m.url FROM modules m "
            "JOIN courses c ON c.id = m.course_id WHERE c.track_id = ? AND c.status <> 'planned' "
            "ORDER BY c.position, m.position", (track_id,)).fetchall()
    return [ModuleRecord(**dict(r)) for r in rows]


# ---- lessons ------------------------------------------------------------------------------------


def _load_lessons(path: Path) -> dict[str, LessonRecord]:
    with store.connect(path) as conn:
        rows = conn.execute(
            "SELECT l.id, l.slug, l.title, l.type, l.url, l.objectives, l.skills, l.minutes, l.xp, "
            "l.time_limit_minutes, l.attempt_policy, l.position, l.module_id, l.course_id, l.track_id FROM lessons l "
            "JOIN modules m ON m.id = l.module_id JOIN courses c ON c.id = l.course_id "
            "JOIN tracks t ON t.id = l.track_id ORDER BY t.position, c.position, m.position, l.position").fetchall()
        placed: dict[str, list[str]] = {}
        for exercise_id, lesson_id in conn.execute("SELECT id, lesson_id FROM exercises ORDER BY rowid"):
            placed.setdefault(lesson_id, []).append(exercise_id)
    lessons: dict[str, LessonRecord] = {}
    for i, r in enumerate(rows):
        after = rows[i + 1] if i + 1 < len(rows) and rows[i + 1]["course_id"] == r["course_id"] else None
        lessons[r["id"]] = LessonRecord(
            id=r["id"], slug=r["slug"], title=r["title"], type=r["type"], url=r["url"],
            objectives=_json(r["objectives"], []), skills=_json(r["skills"], []), minutes=r["minutes"], xp=r["xp"],
            time_limit_minutes=r["time_limit_minutes"], attempt_policy=_json(r["attempt_policy"], None),
            position=r["position"], module_id=r["module_id"],
            course_id=r["course_id"], track_id=r["track_id"], exercise_ids=tuple(placed.get(r["id"], ())),
            next_url=after["url"] if after else None, next_title=after["title"] if after else None)
    return lessons


def lessons(catalog_db: Path) -> dict[str, LessonRecord]:
    """Every lesson by id, in catalog order (track, course, module, lesson)."""
    return store.cached(catalog_db, "readers.lessons", _load_lessons)


def lesson(catalog_db: Path, lesson_id: str) -> LessonRecord:
    found = lessons(catalog_db).get(lesson_id)
    if found is None:
        raise NotFound("No lesson with that id.")
    return found


def time_limit_minutes(catalog_db: Path, lesson_id: str) -> int:
    """A challenge lesson's time limit in minutes (NotFound for a lesson without one)."""
    found = lessons(catalog_db).get(lesson_id)
    if found is None or found.time_limit_minutes is None:
        raise NotFound("No challenge lesson with that id.")
    return int(found.time_limit_minutes)


def lesson_bodies(catalog_db: Path, *, lesson_id: str | None = None, module_id: str | None = None) -> dict[str, str]:
    """Lesson id -> Markdown body: of one lesson, of one module's lessons, or (neither given) of all."""
    # Fixed SQL fragments only; the ids are bound parameters.
    where = ""
    args: tuple[str, ...] = ()
    if lesson_id is not None:
        where, args = "WHERE id = ?", (lesson_id,)
    elif module_id is not None:
        where, args = "WHERE module_id = ?", (module_id,)
    with store.connect(catalog_db) as conn:
        rows = conn.execute(f"SELECT id, body FROM lessons {where}", args).fetchall()  # noqa: S608
    return {r["id"]: r["body"] or "" for r in rows}


# ---- exercises ----------------------------------------------------------------------------------


def _load_exercises(path: Path) -> dict[str, ExerciseRecord]:
    with store.connect(path) as conn:
        rows = conn.execute("SELECT e.*, l.skills AS lesson_skills FROM exercises e "
                            "LEFT JOIN lessons l ON l.id = e.lesson_id ORDER BY e.rowid").fetchall()
    return {r["id"]: ExerciseRecord(
        id=r["id"], slug=r["slug"], module_id=r["module_id"], lesson_id=r["lesson_id"], title=r["title"],
        prompt=r["prompt"], starter=r["starter"] or "", solution=r["solution"], example=r["example"],
        time_limit=float(r["time_limit_seconds"]), memory_mb=int(r["memory_mb"] or 0) or None,
        randomized=bool(r["randomized"]), visible_tests=_json(r["visible_tests"], []),
        hidden_tests=_json(r["hidden_tests"], []), hints=_json(r["hints"], []),
        misconceptions=_json(r["misconceptions"], []), bottom_out_attempts=int(r["bottom_out_attempts"]),
        bottom_out_minutes=float(r["bottom_out_minutes"]), skills=_json(r["lesson_skills"], []))
        for r in rows}


def exercises(catalog_db: Path) -> dict[str, ExerciseRecord]:
    """Every exercise by id, in catalog order."""
    return store.cached(catalog_db, "readers.exercises", _load_exercises)


def exercise(catalog_db: Path, exercise_id: str) -> ExerciseRecord:
    found = exercises(catalog_db).get(exercise_id)
    if found is None:
        raise NotFound(f"No exercise with id {exercise_id}.")
    return found


# ---- quizzes ------------------------------------------------------------------------------------


def _load_quizzes(path: Path) -> dict[str, QuizRecord]:
    with store.connect(path) as conn:
        rows = conn.execute("SELECT id, slug, module_id, lesson_id, title, pass_percent FROM quizzes "
                            "ORDER BY rowid").fetchall()
    return {r["id"]: QuizRecord(**dict(r)) for r in rows}


def quizzes(catalog_db: Path) -> dict[str, QuizRecord]:
    """Every quiz by id (without its items: see quiz_items)."""
    return store.cached(catalog_db, "readers.quizzes", _load_quizzes)


def quiz(catalog_db: Path, quiz_id: str) -> QuizRecord:
    found = quizzes(catalog_db).get(quiz_id)
    if found is None:
        raise NotFound(f"No quiz with id {quiz_id}.")
    return found


_ITEMS = ("SELECT qi.*, q.module_id FROM quiz_items qi JOIN quizzes q ON q.id = qi.quiz_id "
          "JOIN modules m ON m.id = q.module_id JOIN courses c ON c.id = m.course_id ")
_ORDER = " ORDER BY c.position, m.position, qi.position"
_ITEMS_IN = {"quiz": _ITEMS + "WHERE qi.quiz_id = ?" + _ORDER, "module": _ITEMS + "WHERE q.module_id = ?" + _ORDER,
             "track": _ITEMS + "WHERE c.track_id = ?" + _ORDER, "item": _ITEMS + "WHERE qi.id = ?"}


def quiz_items(catalog_db: Path, *, quiz_id: str | None = None, module_id: str | None = None,
               track_id: str | None = None, item_id: str | None = None) -> list[QuizItemRow]:
    """The items, answer keys included, of one quiz, or of every quiz of a module or of a track (or one item).

    Exactly one scope is given. In catalog order (course, module, then item position); for one
    quiz, the quiz's own order. Server side only: the rows hold the answers.
    """
    scopes = {"quiz": quiz_id, "module": module_id, "track": track_id, "item": item_id}
    given = [(scope, value) for scope, value in scopes.items() if value is not None]
    if len(given) != 1:
        raise ValueError("quiz_items takes exactly one of quiz_id, module_id, track_id and item_id")
    scope, value = given[0]
    with store.connect(catalog_db) as conn:
        return [dict(r) for r in conn.execute(_ITEMS_IN[scope], (value,))]


def _load_counts(path: Path) -> dict[str, int]:
    with store.connect(path) as conn:
        def count(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0] or 0)

        tiers = {row[0] for row in conn.execute("SELECT tier FROM certifications")}
        courses = count("SELECT count(DISTINCT course_id) FROM modules")  # authored: it has modules
        return {
            "lessons": count("SELECT count(*) FROM lessons"),
            "challenges": count("SELECT count(*) FROM lessons WHERE type = 'challenge'"),
            "courses": courses,
            "exercises": count("SELECT count(*) FROM exercises"),
            "quizzes": count("SELECT count(*) FROM quizzes"),
            "find_the_bug": count("SELECT count(*) FROM quiz_items WHERE kind = 'find-the-bug'"),
            "bronze_courses": courses if "bronze" in tiers else 0,
            "silver_courses": count("SELECT count(DISTINCT course_id) FROM silver_items") if "silver" in tiers else 0,
            "gold_courses": count("SELECT count(DISTINCT course_id) FROM gold_options") if "gold" in tiers else 0,
        }


def counts(catalog_db: Path) -> dict[str, int]:
    """How many of each thing the catalog publishes: lessons, challenges, courses (authored), exercises,
    quizzes, find-the-bug questions, and courses that offer Bronze, Silver and Gold."""
    return store.cached(catalog_db, "readers.counts", _load_counts)


def _load_find_the_bug_keys(path: Path) -> dict[str, tuple[str, int]]:
    with store.connect(path) as conn:
        rows = conn.execute("SELECT id, quiz_id, answer FROM quiz_items WHERE kind = 'find-the-bug'").fetchall()
    return {r["id"]: (r["quiz_id"], int(_json(r["answer"], 0))) for r in rows}


def find_the_bug_keys(catalog_db: Path) -> dict[str, tuple[str, int]]:
    """Every find-the-bug question's (quiz id, buggy line), by item id. Server side only: keys."""
    return store.cached(catalog_db, "readers.find_the_bug_keys", _load_find_the_bug_keys)


# ---- achievements -------------------------------------------------------------------------------


def achievements(catalog_db: Path) -> list[AchievementRecord]:
    """The achievement definitions (git owns them; the learner database mirrors them)."""
    with store.connect(catalog_db) as conn:
        rows = conn.execute("SELECT id, slug, title, category, description, xp, rule FROM achievements "
                            "ORDER BY rowid").fetchall()
    return [AchievementRecord(id=r["id"], slug=r["slug"], title=r["title"], category=r["category"],
                              description=r["description"], xp=r["xp"] or 0, rule=_json(r["rule"], {}))
            for r in rows]


# ---- certification tiers (content/certifications.yaml) ----------------------------------------


@dataclass(frozen=True)
class CertificationTier:
    """One tier's definition: its title, XP and requirements (`rules`: min_quiz_percent, pass_percent, ...)."""

    id: str
    tier: str  # bronze | silver | gold
    title: str
    description: str
    xp: int
    rules: dict[str, Any]


def _load_certification_tiers(path: Path) -> dict[str, CertificationTier]:
    with store.connect(path) as conn:
        rows = conn.execute("SELECT id, tier, title, description, xp, rules FROM certifications "
                            "ORDER BY rowid").fetchall()
    return {r["tier"]: CertificationTier(id=r["id"], tier=r["tier"], title=r["title"] or "",
                                         description=r["description"] or "", xp=r["xp"] or 0,
                                         rules=_json(r["rules"], {}))
            for r in rows}


def certification_tiers(catalog_db: Path) -> dict[str, CertificationTier]:
    """The tiers by name (bronze, silver, gold), as content/certifications.yaml defines them."""
    return store.cached(catalog_db, "readers.certification_tiers", _load_certification_tiers)


def content_commit(catalog_db: Path) -> str:
    """The git commit of the content the catalog was built from ("unknown" when not built from git)."""
    with store.connect(catalog_db) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'content_commit'").fetchone()
    value = json.loads(row[0]) if row else None
    return str(value) if value else "unknown"


def _load_draft_paths(path: Path) -> tuple[str, ...]:
    with store.connect(path) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'draft_paths'").fetchone()
    value = json.loads(row[0]) if row else None
    return tuple(str(p) for p in value) if isinstance(value, list) else ()


def draft_paths(catalog_db: Path) -> tuple[str, ...]:
    """Site paths (no leading slash) only content creators may open: a preview build's drafts and its status
    page (`drona build --preview`); none in a normal build."""
    return store.cached(catalog_db, "readers.draft_paths", _load_draft_paths)


def _load_draft_course_ids(path: Path) -> frozenset[str]:
    with store.connect(path) as conn:
        return frozenset(r[0] for r in conn.execute("SELECT id FROM courses WHERE status = 'draft'"))


def draft_course_ids(catalog_db: Path) -> frozenset[str]:
    """The draft courses a preview build holds (none in a normal build)."""
    return store.cached(catalog_db, "readers.draft_course_ids", _load_draft_course_ids)


# ---- certification material (a course's certification/silver.yaml and gold.yaml) -----------------


@dataclass(frozen=True)
class SilverItem:
    """One item of a course's Silver bank, answers included: server side only."""

    id: str
    course_id: str
    section: str  # conceptual | analysis | coding | design
    kind: str  # mcq | predict_output | find_bug | coding | design
    difficulty: int  # 1..3 (coding: easy 1, medium 2, hard 3; design 2)
    data: dict[str, Any]  # the authored item as written (prompt, choices, answer, code, tests, rubric, ...)


def _load_silver_banks(path: Path) -> dict[str, list[SilverItem]]:
    with store.connect(path) as conn:
        rows = conn.execute("SELECT id, course_id, section, kind, difficulty, data FROM silver_items "
                            "ORDER BY rowid").fetchall()
    banks: dict[str, list[SilverItem]] = {}
    for r in rows:
        banks.setdefault(r["course_id"], []).append(SilverItem(
            id=r["id"], course_id=r["course_id"], section=r["section"], kind=r["kind"],
            difficulty=int(r["difficulty"]), data=_json(r["data"], {})))
    return banks


def silver_bank(catalog_db: Path, course_id: str) -> list[SilverItem]:
    """The course's Silver items, section by section in authored order ([] when it has no bank)."""
    return list(store.cached(catalog_db, "readers.silver_banks", _load_silver_banks).get(course_id, []))


def silver_points(catalog_db: Path, course_id: str) -> dict[str, int]:
    """Each Silver section's points as the course's bank authors them ({} when it has no bank)."""
    with store.connect(catalog_db) as conn:
        row = conn.execute("SELECT points FROM silver_banks WHERE course_id = ?", (course_id,)).fetchone()
    return {str(k): int(v) for k, v in _json(row["points"], {}).items()} if row else {}


@dataclass(frozen=True)
class GoldOption:
    """A predefined Gold project of a course, hidden tests included (never its reference solution)."""

    id: str
    course_id: str
    title: str
    summary: str
    brief: str  # Markdown
    requirements: list[str]
    entry: str  # the module the tests exercise (sidecar/courseware/project_program.py)
    tests: list[dict[str, Any]]  # tests in the shape ExerciseRecord.tests has (each with a boolean `hidden`)


def gold_options(catalog_db: Path, course_id: str) -> list[GoldOption]:
    """The course's Gold project options in authored order ([] when it has none)."""
    with store.connect(catalog_db) as conn:
        rows = conn.execute("SELECT id, course_id, title, summary, brief, requirements, entry, tests "
                            "FROM gold_options WHERE course_id = ? ORDER BY position", (course_id,)).fetchall()
    return [GoldOption(id=r["id"], course_id=r["course_id"], title=r["title"] or "", summary=r["summary"] or "",
                       brief=r["brief"] or "", requirements=_json(r["requirements"], []), entry=r["entry"],
                       tests=_json(r["tests"], []))
            for r in rows]
