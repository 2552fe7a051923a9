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

from sidecar.courseware.lesson_types import lesson_type_name
from sidecar.courseware.model import (
    CODE_DIRECTIVES,
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
    if data.get("scenario"):
        from sidecar.courseware.scenarios import page_config  # the Simulation canvas's Simulate button

        config["simulation"] = page_config(exercise)
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


def playground_html(starter: str, time_limit: float = 5.0, visualize: bool = False) -> str:
    """A playground; with visualize, an authored step-through diagram of the code (::visualize),
    which the browser traces and draws when it scrolls into view."""
    config = {"starter": starter, "time_limit_seconds": time_limit}
    extra = " data-visualize" if visualize else ""
    return f'\n<div class="drona-playground"{extra} data-config="{_attr(config)}"></div>\n\n'


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
        elif placement.kind in CODE_DIRECTIVES:
            out.append(playground_html(placement.starter, visualize=placement.kind == "visualize"))
            if placement.starter:
                # Skip the fenced block that became the playground's code.
                skip_until = index + placement.starter.count("\n") + 2
    return "\n".join(out) + "\n"


def _card(title: str, summary: str, url: str | None, badge: str | None = None, meta: str = "",
          heading: str = "h3", planned: bool = False, searchable: bool = True) -> str:
    badge_html = f'<span class="drona-badge">{html.escape(badge)}</span>' if badge else ""
    meta_html = f'<p class="drona-card__meta">{html.escape(meta)}</p>' if meta else ""
    inner = (f"{badge_html}<{heading}>{html.escape(title)}</{heading}><p>{html.escape(summary)}</p>"
             f"{meta_html}")
    if url:
        # A planned course's card still looks planned, but leads to the outline of what it will teach.
        css = "drona-card drona-card--planned" if planned else "drona-card"
        # A draft's card (preview builds only) stays out of the search index, like the draft's own pages.
        hidden = "" if searchable else ' data-search-exclude="true"'
        return f'<a class="{css}" href="{html.escape(url)}"{hidden}>{inner}</a>'
    return f'<div class="drona-card drona-card--planned" aria-disabled="true">{inner}</div>'


def _rel(from_dir_depth: int, url: str) -> str:
    return "../" * from_dir_depth + url


def first_lesson_url(catalog: Catalog) -> str | None:
    """The first lesson of the first authored (not planned) course, relative to the site root."""
    for track in catalog.tracks:
        if track.planned:
            continue
        for course in track.courses:
            if course.planned:
                continue
            for module in course.modules:
                if module.lessons:
                    return lesson_url(track, course, module, module.lessons[0])
    return None


def home_page(catalog: Catalog) -> str:
    """The landing page: what this is, one button that starts learning, where you left off, the catalog.

    The "Start the first lesson" link is static (it works on a static host and signed out); the
    "Continue where you left off" card stays hidden until site/src/home.js finds a lesson to continue.
    """
    tracks = {t.slug: t for t in catalog.tracks}
    start = first_lesson_url(catalog)
    start_html = (f'<a class="drona-btn drona-btn--primary drona-btn--big" href="{html.escape(start)}" '
                  f'data-drona-start-first>Start the first lesson</a>\n' if start else "")
    out = [
        "---\ntitle: Learn by doing\nhide: [navigation, toc]\n---\n\n",
        '<div class="drona-hero">\n',
        '<p class="drona-hero__kicker">Free, hands-on courses</p>\n',
        "<h1>Learn to code by writing code</h1>\n",
        '<p class="drona-hero__lead">No videos. Every lesson has you write and run real Python in your '
        "browser, with tests that check your work and a tutor that guides you with questions instead of "
        "handing over answers.</p>\n",
        '<p class="drona-hero__actions">\n',
        start_html,
        '<a class="drona-btn drona-btn--secondary drona-btn--big" href="#catalog">Browse the courses</a>\n',
        "</p>\n",
        '<ul class="drona-hero__points">\n<li>Short lessons, each ending in code you run</li>\n'
        "<li>Instant feedback from tests</li>\n<li>Sign up free to save progress and earn XP</li>\n</ul>\n",
        "</div>\n\n",
        # Filled by site/src/home.js for a signed-in learner with a lesson to continue (GET /api/progress).
        '<section class="drona-continue" data-drona-home-continue hidden aria-labelledby="drona-continue-title">\n'
        '<h2 id="drona-continue-title">Continue where you left off</h2>\n'
        '<p class="drona-continue__lesson"></p>\n</section>\n\n',
        '<h2 id="catalog">Courses</h2>\n\n',
    ]
    for domain in catalog.domains:
        domain_tracks = [tracks[s] for s in domain.get("tracks", []) if s in tracks]
        if not domain_tracks:
            continue
        out.append(f"### {domain['title']}\n\n{domain['summary']}\n\n<div class=\"drona-catalog\">")
        # Authored tracks first: a planned one is an outline, marked "Planned".
        for track in sorted(domain_tracks, key=lambda t: t.planned):
            courses = len(track.courses)
            meta = f"{courses} course{'s' if courses != 1 else ''}"
            badge = "Planned" if track.planned else None
            out.append(_card(track.data["title"], track.data["summary"], track_url(track), badge, meta, "h4"))
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
            count = course.planned_module_count
            meta = f"{count} modules planned" if count else "Planned"
            out.append(_card(course.data["title"], course.data["summary"], f"{course.slug}/", "Planned", meta,
                             planned=True))
        else:
            lessons = sum(len(m.lessons) for m in course.modules)
            meta = f"{len(course.modules)} modules · {lessons} lessons"
            out.append(_card(course.data["title"], course.data["summary"], f"{course.slug}/",
                             "Draft" if course.draft else None, meta, searchable=not course.draft))
    out.append("</div>\n")
    return "".join(out)


def planned_course_page(track: Track, course: Course) -> str:
    """A course that is not written yet: what it will teach, module by module (its outline)."""
    out = [_front_matter({"title": course.data["title"]})]
    out.append(f"# {course.data['title']}\n\n{course.data['summary']}\n\n")
    level = course.data.get("level")
    level_text = f" It is a{'n' if str(level).startswith(('a', 'i')) else ''} {level} course." if level else ""
    out.append('!!! note "Coming soon"\n'
               f"    This course is planned and not written yet.{level_text} Here is what it will teach; "
               f"the [{track.data['title']}](../index.md) track lists what you can take today.\n\n")
    outline = course.outline
    if not outline:
        count = course.planned_module_count
        out.append(f"Its outline is still being written{f': {count} modules are planned' if count else ''}.\n")
    for number, module in enumerate(outline, 1):
        out.append(f"## {number}. {module['title']}\n\n")
        out.extend(f"- {objective}\n" for objective in module.get("objectives", []))
        out.append("\n")
    return "".join(out)


def _type_html(lesson: Lesson) -> str:
    # The human name (lesson_types.py); the raw type stays in a data attribute for styling and scripts.
    return (f'<span class="drona-type" data-lesson-type="{html.escape(lesson.type)}">'
            f"{html.escape(lesson_type_name(lesson.type))}</span>")


def _lesson_link(title: str, target: str, lesson: Lesson, module: Module) -> str:
    # attr_list puts the ids on the <a>: course-progress.js marks the link by the lesson's and names
    # the module of the lesson to continue by the module's.
    return (f'[{title}]({target}){{: data-lesson-id="{html.escape(lesson.id)}" '
            f'data-module-id="{html.escape(module.id)}" }}')


def course_sequence(course: Course) -> list[tuple[Module, Lesson]]:
    """Every lesson of the course in reading order, across its modules."""
    return [(module, lesson) for module in course.modules for lesson in module.lessons]


def next_course(track: Track, course: Course) -> Course | None:
    """The course after this one in its track, if it is authored (a planned one has no pages yet)."""
    courses = list(track.courses)
    position = next(i for i, c in enumerate(courses) if c is course)
    if position + 1 < len(courses) and not courses[position + 1].planned:
        return courses[position + 1]
    return None


def _after_course(track: Track, course: Course) -> dict[str, str]:
    """What comes after a completed course: the next course of the track, else the track's page."""
    following = next_course(track, course)
    if following is not None:
        return {"title": following.data["title"], "url": course_url(track, following), "kind": "course"}
    return {"title": track.data["title"], "url": track_url(track), "kind": "track"}


def lesson_neighbours(track: Track, course: Course, lesson: Lesson) -> tuple[dict[str, str] | None, dict[str, str]]:
    """(previous, next) of a lesson in its course, each {title, url, kind}: site-root-relative URLs.

    Across module boundaries; the first lesson has no previous, the last lesson's next is the
    course page (where the course's completion shows).
    """
    sequence = course_sequence(course)
    position = next(i for i, (_, item) in enumerate(sequence) if item is lesson)
    previous = None
    if position > 0:
        module, before = sequence[position - 1]
        previous = {"title": before.data["title"], "url": lesson_url(track, course, module, before),
                    "kind": "lesson"}
    if position + 1 < len(sequence):
        module, after = sequence[position + 1]
        return previous, {"title": after.data["title"], "url": lesson_url(track, course, module, after),
                          "kind": "lesson"}
    return previous, {"title": course.data["title"], "url": course_url(track, course), "kind": "course"}


def _course_card(track: Track, course: Course) -> str:
    """The card at the top of a course page: "Start the course" as written here (signed out, static
    hosting); course-progress.js turns it into "Continue" and the completion summary from the
    learner's progress. The data-* attributes carry what those need and the API does not know."""
    sequence = course_sequence(course)
    if not sequence:
        return ""
    first_module, first = sequence[0]
    after = _after_course(track, course)
    minutes = sum(int(lesson.data["minutes"]) for _, lesson in sequence)
    data = {"course-id": course.id, "after-url": after["url"], "after-title": after["title"],
            "after-kind": after["kind"]}
    attrs = "".join(f' data-{key}="{html.escape(value)}"' for key, value in data.items())
    # Raw HTML with no blank line, so Markdown leaves it whole; the link is relative to the course page.
    return (f'<section class="drona-course-card" data-drona-course-card{attrs} '
            'aria-labelledby="drona-course-card-title">'
            f'<h2 class="drona-course-card__title" id="drona-course-card-title">Start the course</h2>'
            f'<p class="drona-course-card__text">{len(sequence)} lessons in {len(course.modules)} modules, '
            f"about {minutes} minutes.</p>"
            f'<p class="drona-course-card__actions"><a class="drona-btn drona-btn--primary" '
            f'href="{html.escape(first_module.slug)}/{html.escape(first.slug)}/">Start with '
            f"{html.escape(first.data['title'])}</a></p></section>\n\n")


def _certification_panel(course: Course) -> str:
    """Where the learner stands on Bronze, Silver and Gold (certification-progress.js fills it in from
    GET /api/certifications/{course id}); as written here it says what each tier asks."""
    if not course.modules:
        return ""
    return (f'<section class="drona-certification" data-drona-certification data-course-id="{html.escape(course.id)}" '
            'aria-labelledby="drona-certification-title">'
            '<h2 class="drona-certification__title" id="drona-certification-title">Certificates</h2>'
            '<ul class="drona-certification__tiers">'
            "<li><strong>Bronze</strong>: complete every module, with at least 70 % on each quiz. It is issued "
            "the moment you get there.</li>"
            "<li><strong>Silver</strong>: pass a proctored assessment in four timed sections.</li>"
            "<li><strong>Gold</strong>: build and deploy a project that passes review.</li>"
            "</ul></section>\n\n")


def course_page(track: Track, course: Course) -> str:
    out = [_front_matter({"title": course.data["title"]})]
    out.append(f"# {course.data['title']}\n\n{course.data['summary']}\n\n")
    if course.draft:
        out.append(DRAFT_NOTE)
    out.append(_course_card(track, course))
    out.append(_certification_panel(course))
    for number, module in enumerate(course.modules, 1):
        minutes = sum(int(lesson.data["minutes"]) for lesson in module.lessons)
        out.append(f"## {number}. [{module.data['title']}]({module.slug}/index.md)\n\n")
        out.append(f"{module.data['summary']} *About {minutes} minutes.*\n\n")
        for lesson in module.lessons:
            link = _lesson_link(lesson.data["title"], f"{module.slug}/{lesson.slug}.md", lesson, module)
            out.append(f"- {link} {_type_html(lesson)}\n")
        out.append("\n")
    return "".join(out)


def module_page(module: Module) -> str:
    out = [_front_matter({"title": module.data["title"]})]
    out.append(f"# {module.data['title']}\n\n{module.data['summary']}\n\n")
    for lesson in module.lessons:
        link = _lesson_link(lesson.data["title"], f"{lesson.slug}.md", lesson, module)
        out.append(f"1. {link} — {lesson.data['minutes']} min, {_type_html(lesson)}\n")
    return "".join(out) + "\n"


def lesson_page(track: Track, course: Course, module: Module, lesson: Lesson, position: int, total: int) -> str:
    graded = any(p.kind in ("exercise", "quiz") for p in lesson.placements)
    previous, following = lesson_neighbours(track, course, lesson)
    meta: dict[str, Any] = {
        "title": lesson.data["title"],
        "template": "lesson.html",
        "drona": {
            "lesson_id": lesson.id,
            "module_id": module.id,
            "course_id": course.id,
            "lesson_type": lesson.type,
            "lesson_type_name": lesson_type_name(lesson.type),
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
            # Static links (lesson.html): they work signed out and without the sidecar.
            "prev": previous,
            "next": following,
        },
    }
    if following["kind"] == "course":
        # The course's last lesson: its end panel shows the course's completion and what comes next.
        meta["drona"]["after_course"] = _after_course(track, course)
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
    ("account/certificates.md", "Your certificates", "certificates"),
    ("certification/assessment.md", "Silver assessment", "assessment"),
    ("certification/project.md", "Gold project", "project"),
    ("account/reviews.md", "Reviews", "reviews"),
    ("dashboard.md", "Your dashboard", "dashboard"),
    ("review.md", "Daily review", "review"),
    ("leaderboard.md", "Leaderboard", "leaderboard"),
    ("organisation.md", "Your organisation", "org"),
    ("support.md", "Support", "support"),
    # The analytics dashboards (issue #17): the learner's own, a team's, an organisation's, the platform's.
    ("progress.md", "Your progress", "progress"),
    ("analytics/team.md", "Team dashboard", "team-analytics"),
    ("analytics/organisation.md", "Organisation dashboard", "org-analytics"),
    ("analytics/platform.md", "Platform dashboard", "platform-analytics"),
)


PLANNED_SECTION = "Planned tracks"  # the nav section that holds every planned track


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


DRAFT_NOTE = ('!!! warning "Draft"\n    This course is a draft: only this preview build has it, and only content '
              "creators can open it. A normal build leaves it out until its status is `active`.\n\n")


def _unsearchable(text: str) -> str:
    """A draft's page kept out of the search index, which anyone can download."""
    return "---\nsearch:\n  exclude: true\n" + text[4:] if text.startswith("---\n") else text


def write_pages(catalog: Catalog, docs: Path) -> PageSet:
    """Write every page under docs/ and return the nav for the generated config."""
    result = PageSet()
    drafts = {f"{track.slug}/{course.slug}/" for track in catalog.tracks for course in track.courses if course.draft}

    def write(rel: str, text: str, title: str) -> None:
        target = docs / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.startswith(tuple(drafts)):
            text = _unsearchable(text)
        target.write_text(text, encoding="utf-8")
        result.pages.append(Page(rel, title))

    write("index.md", home_page(catalog), "Home")
    result.nav.append({"Home": "index.md"})
    for rel, title, app in APP_PAGES:
        write(rel, app_page(title, app), title)
    # Planned tracks are outlines: their pages build, but in the nav they wait together under one
    # section instead of crowding the courses a learner can take today.
    planned_nav: list[Any] = []
    for track in catalog.tracks:
        write(f"{track.slug}/index.md", track_page(track), track.data["title"])
        track_nav: list[Any] = [f"{track.slug}/index.md"]
        for course in track.courses:
            base = f"{track.slug}/{course.slug}"
            if course.planned:
                write(f"{base}/index.md", planned_course_page(track, course), course.data["title"])
                track_nav.append({course.data["title"]: f"{base}/index.md"})
                continue
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
        (planned_nav if track.planned else result.nav).append({track.data["title"]: track_nav})
    if planned_nav:
        result.nav.append({PLANNED_SECTION: planned_nav})
    return result
