"""Generate the MkDocs docs tree (Markdown pages) from the content model.

Only public material goes into pages: prompts, starter code, visible tests, the first hint rung,
misconceptions, quiz prompts and choices. Reference solutions, hidden tests, the later hint rungs,
answer keys and explanations go to catalog.db alone (see catalogdb.py); tests/test_build.py checks
that.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sidecar.courseware.model import (
    DIRECTIVE_RE,
    Catalog,
    Course,
    Exercise,
    Lesson,
    Module,
    Quiz,
    Track,
)


@dataclass
class Page:
    path: str  # docs-relative .md path
    title: str


@dataclass
class PageSet:
    pages: list[Page] = field(default_factory=list)
    nav: list[Any] = field(default_factory=list)
    exercises: int = 0
    quizzes: int = 0


def track_url(track: Track) -> str:
    return f"{track.slug}/"


def course_url(track: Track, course: Course) -> str:
    return f"{track.slug}/{course.slug}/"


def module_url(track: Track, course: Course, module: Module) -> str:
    return f"{track.slug}/{course.slug}/{module.slug}/"


def lesson_url(track: Track, course: Course, module: Module, lesson: Lesson) -> str:
    return f"{track.slug}/{course.slug}/{module.slug}/{lesson.slug}/"


def _attr(value: Any) -> str:
    """JSON for a data-* attribute, escaped so it survives HTML and md_in_html."""
    return html.escape(json.dumps(value, ensure_ascii=False, separators=(",", ":")), quote=True)


def _front_matter(meta: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n"


def _md_block(css_class: str, text: str, attrs: str = "") -> str:
    # Blank lines inside keep Markdown block parsing intact within md_in_html.
    return f'<div class="{css_class}"{attrs} markdown>\n\n{text.strip()}\n\n</div>\n'


def exercise_html(exercise: Exercise) -> str:
    data = exercise.data
    config = {
        "starter": data["starter"],
        "tests": [
            {k: t[k] for k in ("name", "code", "stdin") if k in t} for t in data["tests"]["visible"]
        ],
        "time_limit_seconds": exercise.time_limit,
        "randomized": bool(data.get("randomized", False)),
    }
    # Only the first rung goes into the page (signed-out learners get that one). Every later rung
    # comes from the server one at a time, recorded, and the bottom-out rung only once earned
    # (sidecar/grading/hints.py): a rung in the page would be in everyone's hands, and in the
    # search index too. The count is public, so the panel can say "Hint 1 of 4".
    hints = "".join(
        _md_block("drona-hint", hint["text"], ' data-bottom-out="false"')
        for hint in data["hints"][:1] if not hint.get("bottom_out")
    )
    misconceptions = "".join(
        _md_block("drona-misconception", item["question"], f' data-pattern="{html.escape(item.get("pattern", ""))}"')
        for item in data["misconceptions"]
    )
    parts = [
        f'<div class="drona-exercise" data-exercise-id="{exercise.id}" data-config="{_attr(config)}" markdown>\n',
        f'<h3 class="drona-exercise__title">{html.escape(data["title"])}</h3>\n',
        _md_block("drona-exercise__prompt", data["prompt"]),
        f'<div class="drona-hints" hidden data-search-exclude="true" data-count="{len(data["hints"])}" markdown>\n'
        f'{hints}</div>\n',
        f'<div class="drona-misconceptions" hidden data-search-exclude="true" markdown>\n{misconceptions}</div>\n',
    ]
    if data.get("example"):
        parts.append(_md_block("drona-example", data["example"], " hidden data-search-exclude=\"true\""))
    parts.append("</div>\n")
    return "\n" + "".join(parts) + "\n"


def quiz_html(quiz: Quiz) -> str:
    items = []
    for item in quiz.data["items"]:
        config: dict[str, Any] = {}
        if item["kind"] == "multiple-choice":
            config["choices"] = item["choices"]
        else:
            config["code"] = item["code"]
        items.append(
            _md_block(
                "drona-quiz-item",
                item["prompt"],
                f' data-item-id="{item["id"]}" data-kind="{item["kind"]}" data-config="{_attr(config)}"',
            )
        )
    return (
        f'\n<div class="drona-quiz" data-quiz-id="{quiz.id}" data-pass-percent="{quiz.pass_percent}" markdown>\n'
        f'<h3 class="drona-quiz__title">{html.escape(quiz.data["title"])}</h3>\n'
        + "".join(items)
        + "</div>\n\n"
    )


def playground_html(starter: str, time_limit: float = 5.0) -> str:
    config = {"starter": starter, "time_limit_seconds": time_limit}
    return f'\n<div class="drona-playground" data-config="{_attr(config)}"></div>\n\n'


def render_body(lesson: Lesson, module: Module) -> str:
    """The lesson body with directives replaced by widget blocks."""
    by_line = {p.line: p for p in lesson.placements}
    out: list[str] = []
    lines = lesson.body.splitlines()
    skip_until = -1
    for index, line in enumerate(lines):
        if index <= skip_until:
            continue
        placement = by_line.get(lesson.body_line + index)
        if placement is None or not DIRECTIVE_RE.match(line):
            out.append(line)
            continue
        if placement.kind == "exercise" and placement.slug in module.exercises:
            out.append(exercise_html(module.exercises[placement.slug]))
        elif placement.kind == "quiz" and placement.slug in module.quizzes:
            out.append(quiz_html(module.quizzes[placement.slug]))
        elif placement.kind == "playground":
            out.append(playground_html(placement.starter))
            if placement.starter:
                # Skip the fenced block that became the playground's code.
                skip_until = index + placement.starter.count("\n") + 2
    return "\n".join(out) + "\n"


def _card(title: str, summary: str, url: str | None, badge: str | None = None, meta: str = "") -> str:
    badge_html = f'<span class="drona-badge">{html.escape(badge)}</span>' if badge else ""
    meta_html = f'<p class="drona-card__meta">{html.escape(meta)}</p>' if meta else ""
    inner = f"{badge_html}<h3>{html.escape(title)}</h3><p>{html.escape(summary)}</p>{meta_html}"
    if url:
        return f'<a class="drona-card" href="{html.escape(url)}">{inner}</a>'
    return f'<div class="drona-card drona-card--planned" aria-disabled="true">{inner}</div>'


def _rel(from_dir_depth: int, url: str) -> str:
    return "../" * from_dir_depth + url


def home_page(catalog: Catalog) -> str:
    tracks = {t.slug: t for t in catalog.tracks}
    out = [
        "---\ntitle: Learn by doing\nhide: [navigation, toc]\n---\n\n",
        '<div class="drona-hero" markdown>\n\n# Learn by doing\n\n',
        "No videos. You write and run real code in your browser, and a tutor guides you with "
        "questions instead of handing over answers.\n\n</div>\n\n",
    ]
    for domain in catalog.domains:
        domain_tracks = [tracks[s] for s in domain.get("tracks", []) if s in tracks]
        if not domain_tracks:
            continue
        out.append(f"## {domain['title']}\n\n{domain['summary']}\n\n<div class=\"drona-catalog\">")
        for track in domain_tracks:
            courses = len(track.courses)
            meta = f"{courses} course{'s' if courses != 1 else ''}"
            badge = "Planned" if track.planned else None
            out.append(_card(track.data["title"], track.data["summary"], track_url(track), badge, meta))
        out.append("</div>\n\n")
    return "".join(out)


def track_page(track: Track) -> str:
    out = [_front_matter({"title": track.data["title"], "hide": ["toc"]})]
    out.append(f"# {track.data['title']}\n\n{track.data['summary']}\n\n")
    if track.planned:
        out.append('!!! note "Coming soon"\n    This track is planned. Its outline is below.\n\n')
    out.append('<div class="drona-catalog">')
    for course in track.courses:
        if course.planned:
            count = course.data.get("planned_modules")
            meta = f"{count} modules planned" if count else "Planned"
            out.append(_card(course.data["title"], course.data["summary"], None, "Planned", meta))
        else:
            lessons = sum(len(m.lessons) for m in course.modules)
            meta = f"{len(course.modules)} modules · {lessons} lessons"
            out.append(_card(course.data["title"], course.data["summary"], f"{course.slug}/", None, meta))
    out.append("</div>\n")
    return "".join(out)


def course_page(track: Track, course: Course) -> str:
    out = [_front_matter({"title": course.data["title"]})]
    out.append(f"# {course.data['title']}\n\n{course.data['summary']}\n\n")
    for number, module in enumerate(course.modules, 1):
        minutes = sum(int(lesson.data["minutes"]) for lesson in module.lessons)
        out.append(f"## {number}. [{module.data['title']}]({module.slug}/index.md)\n\n")
        out.append(f"{module.data['summary']} *About {minutes} minutes.*\n\n")
        for lesson in module.lessons:
            out.append(f"- [{lesson.data['title']}]({module.slug}/{lesson.slug}.md) "
                       f"<span class=\"drona-type\">{lesson.type}</span>\n")
        out.append("\n")
    return "".join(out)


def module_page(module: Module) -> str:
    out = [_front_matter({"title": module.data["title"]})]
    out.append(f"# {module.data['title']}\n\n{module.data['summary']}\n\n")
    for lesson in module.lessons:
        out.append(f"1. [{lesson.data['title']}]({lesson.slug}.md) — {lesson.data['minutes']} min, "
                   f"<span class=\"drona-type\">{lesson.type}</span>\n")
    return "".join(out) + "\n"


def lesson_page(track: Track, course: Course, module: Module, lesson: Lesson, position: int, total: int) -> str:
    graded = any(p.kind in ("exercise", "quiz") for p in lesson.placements)
    meta: dict[str, Any] = {
        "title": lesson.data["title"],
        "template": "lesson.html",
        "drona": {
            "lesson_id": lesson.id,
            "module_id": module.id,
            "course_id": course.id,
            "lesson_type": lesson.type,
            # No exercise or quiz: reading it completes it (a "Mark complete" button); otherwise only
            # a server-graded result completes it.
            "completes_on_reading": not graded,
            "xp": lesson.xp,
            "minutes": lesson.data["minutes"],
            "position": position,
            "total": total,
            "objectives": list(lesson.data["objectives"]),
            "breadcrumb": [
                {"title": course.data["title"], "url": course_url(track, course)},
                {"title": module.data["title"], "url": module_url(track, course, module)},
                {"title": lesson.data["title"]},
            ],
        },
    }
    if "time_limit_minutes" in lesson.data:
        meta["drona"]["time_limit_minutes"] = lesson.data["time_limit_minutes"]
    return _front_matter(meta) + f"# {lesson.data['title']}\n\n" + render_body(lesson, module)


# Learner pages: each is a mount point for a front-end app (site/src/account/*.js), outside the
# course nav. The apps talk to the sidecar API; on a static host they say that they need it.
# This list is the only one: the build publishes the pages' addresses to the front end (app_urls,
# in extra.drona.pages, which every page carries in its drona-config meta tag; site/src/config.js).
APP_PAGES = (
    ("account/signin.md", "Sign in", "signin"),
    ("account/signup.md", "Create your account", "signup"),
    ("account/onboarding.md", "Welcome", "onboarding"),
    ("account/reset.md", "Reset your password", "reset"),
    ("account/settings.md", "Profile and settings", "settings"),
    ("account/tutor-history.md", "Tutor history", "tutor-history"),
    ("account/invitations.md", "Invitations", "invitations"),
    ("dashboard.md", "Your dashboard", "dashboard"),
    ("leaderboard.md", "Leaderboard", "leaderboard"),
)


def page_url(rel: str) -> str:
    """A page's address relative to the site root, as MkDocs gives it: a/b.md → a/b/, a/index.md → a/."""
    stem = rel.removesuffix(".md")
    return stem.removesuffix("index") if stem == "index" or stem.endswith("/index") else stem + "/"


def app_urls() -> dict[str, str]:
    """Each learner app's page address, relative to the site root: {app: url}."""
    return {app: page_url(rel) for rel, _, app in APP_PAGES}


def app_page(title: str, app: str) -> str:
    meta = {"title": title, "hide": ["navigation", "toc"], "search": {"exclude": True}}
    return _front_matter(meta) + f'# {title}\n\n<div class="drona-app" data-drona-app="{app}"></div>\n'


def write_pages(catalog: Catalog, docs: Path) -> PageSet:
    """Write every page under docs/ and return the nav for the generated config."""
    result = PageSet()

    def write(rel: str, text: str, title: str) -> None:
        target = docs / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        result.pages.append(Page(rel, title))

    write("index.md", home_page(catalog), "Home")
    result.nav.append({"Home": "index.md"})
    for rel, title, app in APP_PAGES:
        write(rel, app_page(title, app), title)
    for track in catalog.tracks:
        write(f"{track.slug}/index.md", track_page(track), track.data["title"])
        track_nav: list[Any] = [f"{track.slug}/index.md"]
        for course in track.courses:
            if course.planned:
                continue
            base = f"{track.slug}/{course.slug}"
            write(f"{base}/index.md", course_page(track, course), course.data["title"])
            course_nav: list[Any] = [f"{base}/index.md"]
            total = sum(len(m.lessons) for m in course.modules)
            position = 0
            for module in course.modules:
                write(f"{base}/{module.slug}/index.md", module_page(module), module.data["title"])
                module_nav: list[Any] = [f"{base}/{module.slug}/index.md"]
                for lesson in module.lessons:
                    position += 1
                    rel = f"{base}/{module.slug}/{lesson.slug}.md"
                    write(rel, lesson_page(track, course, module, lesson, position, total), lesson.data["title"])
                    module_nav.append({lesson.data["title"]: rel})
                result.exercises += len(module.exercises)
                result.quizzes += len(module.quizzes)
                course_nav.append({module.data["title"]: module_nav})
            track_nav.append({course.data["title"]: course_nav})
        result.nav.append({track.data["title"]: track_nav})
    return result
