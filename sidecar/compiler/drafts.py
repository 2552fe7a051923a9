"""Draft courses: left out of a normal build, built by `drona build --preview` for content creators.

A draft is written but not published. Its problems never block a build: a normal build leaves the
draft out anyway, and a preview build leaves out a draft that has problems and lists them on the
preview's content status page instead. Problems anywhere else block both builds as always.
`drona validate` still reports every problem, drafts' included, so a content repository's CI keeps
drafts honest.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace

from sidecar.courseware.model import Catalog, Course
from sidecar.courseware.problems import Problem, Problems

from .pages import course_url

STATUS_PAGE = "preview/status.md"  # the preview's content status page (content creators only)


@dataclass
class DraftSplit:
    blocking: Problems  # problems outside every draft course: they fail the build
    by_draft: dict[str, list[Problem]] = field(default_factory=dict)  # a draft course's id -> its problems


def _folder(problems: Problems, course: Course) -> str:
    return problems.rel(course.source.path.parent) + "/"


def split_problems(catalog: Catalog, problems: Problems) -> DraftSplit:
    """Problems inside a draft course's folder belong to that draft; every other one blocks."""
    folders = {_folder(problems, course): course.id for course in catalog.drafts()}
    split = DraftSplit(blocking=Problems(problems.root), by_draft={course_id: [] for course_id in folders.values()})
    for problem in problems.sorted():
        owner = next((course_id for folder, course_id in folders.items() if problem.path.startswith(folder)), None)
        if owner is None:
            split.blocking.items.append(problem)
        else:
            split.by_draft[owner].append(problem)
    return split


def publishable(catalog: Catalog, *, preview: bool, broken: set[str]) -> Catalog:
    """The catalog a build publishes: without drafts, or (preview) with every draft that has no problem."""
    if not preview:
        return catalog.published()
    shown = catalog.preview()
    tracks = [replace(t, courses=[c for c in t.courses if c.id not in broken]) for t in shown.tracks]
    return replace(shown, tracks=[t for t in tracks if t.courses])


def draft_paths(catalog: Catalog) -> list[str]:
    """Site paths only content creators may open on a preview: each draft course's pages, the status page."""
    paths = [course_url(track, course) for track in catalog.tracks for course in track.courses if course.draft]
    return sorted(paths) + [STATUS_PAGE.removesuffix(".md") + "/"]


def _cell(text: str) -> str:
    return html.escape(text).replace("|", "&#124;")


def status_page(catalog: Catalog, split: DraftSplit) -> str:
    """Every course with its status; each draft as ready, or with its problems as path:line: message."""
    out = ["---\ntitle: Content status\nhide: [navigation]\nsearch:\n  exclude: true\n---\n\n",
           "# Content status\n\n",
           "This preview build has every draft course that validates. Only content creators can open this page "
           "and the drafts. Run `drona validate` for the same problems on the command line.\n\n"]
    for track in catalog.tracks:
        out.append(f"## {html.escape(track.data['title'])}\n\n")
        out.append("| Course | Status | Modules | Lessons | Validation |\n|---|---|---|---|---|\n")
        for course in track.courses:
            status = str(course.data.get("status", ""))
            lessons = sum(len(m.lessons) for m in course.modules)
            problems = split.by_draft.get(course.id, [])
            if not course.draft:
                check = "published" if status == "active" else "outline only"
            elif problems:
                check = f"**{len(problems)} problem{'s' if len(problems) != 1 else ''}: not built**"
            else:
                check = "ready: built in this preview"
            out.append(f"| {_cell(course.data['title'])} | {status} | {len(course.modules)} | {lessons} "
                       f"| {check} |\n")
        out.append("\n")
        for course in track.courses:
            problems = split.by_draft.get(course.id, [])
            if problems:
                out.append(f"### Problems in {html.escape(course.data['title'])}\n\n")
                out.extend(f"- <code>{html.escape(str(problem))}</code>\n" for problem in problems)
                out.append("\n")
    return "".join(out)
