"""The content model: what `content/` holds once loaded and schema-checked.

Each item keeps its file and the loaded YAML (with lines) so later checks can point at the
exact line of a problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .lesson_types import LESSON_TYPES
from .yamlsource import Located

# The lesson types are the lesson schema's (lesson_types.py). Those whose page must place at least
# one exercise (learners code in them):
EXERCISE_LESSON_TYPES = ("code-along", "sandbox", "challenge")
if not set(EXERCISE_LESSON_TYPES) <= set(LESSON_TYPES):
    raise RuntimeError(f"EXERCISE_LESSON_TYPES names types the lesson schema lacks: "
                       f"{sorted(set(EXERCISE_LESSON_TYPES) - set(LESSON_TYPES))}")
# Base XP per the design's §8.2 table when a lesson does not set its own.
DEFAULT_LESSON_XP = 50
DEFAULT_CHALLENGE_XP = 150
DEFAULT_TIME_LIMIT_SECONDS = 5.0
DEFAULT_QUIZ_PASS_PERCENT = 80
# When an exercise's bottom-out hint (the worked answer) is earned, unless the exercise's own
# `bottom_out` says otherwise: this many different failed attempts and this many minutes on it.
DEFAULT_BOTTOM_OUT_ATTEMPTS = 3
DEFAULT_BOTTOM_OUT_MINUTES = 5.0
BLANK = "____"

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Directives followed by a fenced python block, which becomes the widget's code: a playground to
# edit and run, and a visualization (an authored step-through diagram, design §7.2).
CODE_DIRECTIVES = ("playground", "visualize")
DIRECTIVE_RE = re.compile(r"^::(?P<kind>[a-z-]+)(?:[ \t]+(?P<arg>\S+))?[ \t]*$")


@dataclass
class Source:
    path: Path
    doc: Located
    valid: bool = True  # False: kept only so the items below it are still checked

    def line(self, *path: str | int) -> int:
        return self.doc.line_of(tuple(path))


@dataclass
class Placement:
    """A `::exercise slug`, `::quiz slug`, `::playground` or `::visualize` directive in a lesson."""

    kind: str
    slug: str | None
    line: int
    starter: str = ""  # playground and visualize: the fenced python block that follows


@dataclass
class Item:
    """A content item: its slug (file or folder name), its loaded YAML and where it came from."""

    slug: str
    data: dict[str, Any]
    source: Source

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))


@dataclass
class OutlineItem(Item):
    """Tracks and courses, which may be outline entries marked planned."""

    @property
    def planned(self) -> bool:
        return self.data.get("status") == "planned"

    @property
    def draft(self) -> bool:
        """Written but not published: only a preview build (`drona build --preview`) has its pages."""
        return self.data.get("status") == "draft"


@dataclass
class Exercise(Item):

    @property
    def time_limit(self) -> float:
        return float(self.data.get("time_limit_seconds", DEFAULT_TIME_LIMIT_SECONDS))

    @property
    def memory_mb(self) -> int | None:
        """The exercise's own memory budget in MB; None: the sandbox's default."""
        value = self.data.get("memory_mb")
        return int(value) if value else None

    @property
    def bottom_out_attempts(self) -> int:
        return int(self.data.get("bottom_out", {}).get("attempts", DEFAULT_BOTTOM_OUT_ATTEMPTS))

    @property
    def bottom_out_minutes(self) -> float:
        return float(self.data.get("bottom_out", {}).get("minutes", DEFAULT_BOTTOM_OUT_MINUTES))

    def visible_tests(self) -> list[dict[str, Any]]:
        return [dict(t) for t in self.data["tests"]["visible"]]

    def hidden_tests(self) -> list[dict[str, Any]]:
        return [dict(t, hidden=True) for t in self.data["tests"]["hidden"]]

    def all_tests(self) -> list[dict[str, Any]]:
        return self.visible_tests() + self.hidden_tests()


@dataclass
class Quiz(Item):

    @property
    def pass_percent(self) -> int:
        return int(self.data.get("pass_percent", DEFAULT_QUIZ_PASS_PERCENT))


@dataclass
class Lesson(Item):
    body: str
    body_line: int  # file line of the body's first line
    placements: list[Placement] = field(default_factory=list)

    @property
    def type(self) -> str:
        return str(self.data["type"])

    @property
    def xp(self) -> int:
        default = DEFAULT_CHALLENGE_XP if self.type == "challenge" else DEFAULT_LESSON_XP
        return int(self.data.get("xp", default))


@dataclass
class Module(Item):
    lessons: list[Lesson] = field(default_factory=list)
    exercises: dict[str, Exercise] = field(default_factory=dict)
    quizzes: dict[str, Quiz] = field(default_factory=dict)
    # Files present but invalid (already reported): placements of them are not errors too.
    invalid_items: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class CertificationFile(Item):
    """A course's private certification material: certification/silver.yaml (the Silver item bank,
    slug "silver") or certification/gold.yaml (the Gold project options, slug "gold"). Compiled into
    catalog.db only; its code is run by validation like an exercise's."""

    kind: str = ""  # "silver-bank" | "gold-projects": the schema it was checked against


@dataclass
class Course(OutlineItem):
    modules: list[Module] = field(default_factory=list)
    silver: CertificationFile | None = None
    gold: CertificationFile | None = None

    @property
    def outline(self) -> list[dict[str, Any]]:
        """A planned course's outline: the modules it will teach, each {title, objectives}."""
        outline = self.data.get("outline")
        return [m for m in outline if isinstance(m, dict)] if isinstance(outline, list) else []

    @property
    def planned_module_count(self) -> int | None:
        """How many modules a planned course will have: its outline's length, else planned_modules."""
        if self.outline:
            return len(self.outline)
        count = self.data.get("planned_modules")
        return count if isinstance(count, int) and not isinstance(count, bool) else None


@dataclass
class Track(OutlineItem):
    courses: list[Course] = field(default_factory=list)


@dataclass
class Catalog:
    root: Path  # the repository root paths are reported against
    content_dir: Path
    domains: list[dict[str, Any]] = field(default_factory=list)
    domains_source: Source | None = None
    tracks: list[Track] = field(default_factory=list)
    achievements: list[dict[str, Any]] = field(default_factory=list)
    achievements_source: Source | None = None
    certifications: list[dict[str, Any]] = field(default_factory=list)
    certifications_source: Source | None = None

    def courses(self) -> list[Course]:
        return [c for t in self.tracks for c in t.courses]

    def modules(self) -> list[Module]:
        return [m for c in self.courses() for m in c.modules]

    def lessons(self) -> list[Lesson]:
        return [lesson for m in self.modules() for lesson in m.lessons]

    def drafts(self) -> list[Course]:
        return [c for c in self.courses() if c.draft]

    def published(self) -> Catalog:
        """What a normal build publishes: every draft course left out (pages, catalog.db, search)."""
        tracks = [replace(t, courses=[c for c in t.courses if not c.draft]) for t in self.tracks]
        return replace(self, tracks=[t for t in tracks if t.courses])

    def preview(self) -> Catalog:
        """What `drona build --preview` publishes: draft courses built like active ones. A planned track that
        holds a draft course is shown as active in the preview, so its draft can be opened."""
        tracks = [replace(t, data={**t.data, "status": "active"}) if t.planned and any(c.draft for c in t.courses)
                  else t for t in self.tracks]
        return replace(self, tracks=tracks)

    def exercises(self) -> list[Exercise]:
        return [e for m in self.modules() for e in m.exercises.values()]

    def quizzes(self) -> list[Quiz]:
        return [q for m in self.modules() for q in m.quizzes.values()]

    def certification_files(self) -> list[CertificationFile]:
        """Every course's Silver bank and Gold options (validated by running, like exercises)."""
        return [f for c in self.courses() for f in (c.silver, c.gold) if f is not None]
