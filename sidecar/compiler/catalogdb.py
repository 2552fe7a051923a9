"""Write catalog.db: the structure, XP values and all private material.

The sidecar reads this file; the static site never contains what is stored only here
(reference solutions, hidden tests, answer keys, explanations, a course's Silver bank and Gold
options). The tables are created from the declared schema (sidecar/catalog/schema.py, with its
SCHEMA_VERSION written into `meta`), then filled with sqlite-utils, which stores list and dict
values as JSON text; a row with a column the schema lacks fails the build rather than growing the
table. The database is written to a
temporary file and renamed into place, so a running server never sees a half-written catalog.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import markdown
import sqlite_utils
import yaml
from markdown.extensions.toc import slugify, unique

from sidecar.catalog import schema
from sidecar.catalog.schema import SCHEMA_VERSION
from sidecar.courseware.certcode import gold_tests
from sidecar.courseware.certification import SECTIONS as SILVER_SECTIONS
from sidecar.courseware.certification import silver_kind
from sidecar.courseware.model import DIRECTIVE_RE, Catalog, Course, Lesson, Module

from .pages import course_url, lesson_url, module_url, track_url

CHUNK_CHARS = 1200
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*)$")
_FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})")


def markdown_renderer(mkdocs_yml: Path) -> markdown.Markdown:
    """A Markdown renderer with the site's own extensions, for HTML stored in the catalog."""
    config = yaml.safe_load(mkdocs_yml.read_text(encoding="utf-8")) or {}
    names: list[str] = []
    settings: dict[str, Any] = {}
    for entry in config.get("markdown_extensions", []):
        if isinstance(entry, str):
            names.append(entry)
        else:
            (name, options), = entry.items()
            names.append(name)
            settings[name] = options or {}
    return markdown.Markdown(extensions=names, extension_configs=settings)


def chunk_lesson(lesson: Lesson, module: Module) -> list[dict[str, Any]]:
    """Split a lesson into heading-led passages for retrieval (FTS5 and vectors).

    Each passage keeps the id MkDocs gives its heading on the page (toc's default slugify, made
    unique in page order: the H1, body headings and the exercise and quiz titles all take ids), so
    the tutor can link to the section; the lesson's opening text links to the page itself.
    """
    title = lesson.data["title"]
    used: set[str] = set()
    sections: list[tuple[str, str | None, list[str]]] = [(title, None, [])]
    exercises: list[tuple[str, str | None, list[str]]] = []
    unique(slugify(title, "-"), used)
    fence: str | None = None
    for line in lesson.body.splitlines():
        # A `# comment` inside a fenced code block is code, not a heading.
        marker = _FENCE_RE.match(line)
        if marker and fence is None:
            fence = marker.group(1)
        elif marker and fence and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
            fence = None
        directive = DIRECTIVE_RE.match(line) if fence is None else None
        heading = _HEADING_RE.match(line) if fence is None else None
        if directive:
            slug = directive.group("arg")
            if directive.group("kind") == "exercise" and slug in module.exercises:
                data = module.exercises[slug].data
                anchor = unique(slugify(data["title"], "-"), used)
                exercises.append((data["title"], anchor, data["prompt"].splitlines()))
            elif directive.group("kind") == "quiz" and slug in module.quizzes:
                unique(slugify(module.quizzes[slug].data["title"], "-"), used)
        elif heading:
            text = heading.group(2).strip()
            sections.append((text, unique(slugify(text, "-"), used), []))
        else:
            sections[-1][2].append(line)
    chunks: list[dict[str, Any]] = []
    for heading_text, anchor, lines in sections + exercises:
        text = "\n".join(lines).strip()
        if not text:
            continue
        for piece in _split(text):
            chunks.append({"heading": heading_text, "anchor": anchor, "text": piece})
    return chunks


def _split(text: str) -> list[str]:
    if len(text) <= CHUNK_CHARS:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        if current and len(current) + len(paragraph) > CHUNK_CHARS:
            pieces.append(current.strip())
            current = ""
        current += paragraph + "\n\n"
    if current.strip():
        pieces.append(current.strip())
    return pieces


def _tables(catalog: Catalog, render: markdown.Markdown) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "domains", "tracks", "courses", "modules", "lessons", "exercises", "quizzes", "quiz_items",
        "achievements", "certifications", "silver_banks", "silver_items", "gold_options", "lesson_chunks")}

    def html_of(text: str) -> str:
        render.reset()
        return str(render.convert(text))

    for position, domain in enumerate(catalog.domains):
        rows["domains"].append({"id": domain["id"], "slug": domain["slug"], "title": domain["title"],
                                "summary": domain["summary"], "position": position})
    for t_pos, track in enumerate(catalog.tracks):
        rows["tracks"].append({"id": track.id, "slug": track.slug, "domain": track.data["domain"],
                               "title": track.data["title"], "summary": track.data["summary"],
                               "status": track.data["status"], "position": t_pos, "url": track_url(track)})
        for c_pos, course in enumerate(track.courses):
            rows["courses"].append({
                "id": course.id, "track_id": track.id, "slug": course.slug, "title": course.data["title"],
                "summary": course.data["summary"], "status": course.data["status"],
                "level": course.data.get("level"), "planned_modules": course.planned_module_count,
                "position": c_pos, "url": course_url(track, course)})  # planned: its outline page
            for m_pos, module in enumerate(course.modules):
                rows["modules"].append({
                    "id": module.id, "course_id": course.id, "slug": module.slug,
                    "title": module.data["title"], "summary": module.data["summary"],
                    "par_minutes": module.data["par_minutes"], "position": m_pos,
                    "url": module_url(track, course, module)})
                lesson_of: dict[tuple[str, str], str] = {}
                for l_pos, lesson in enumerate(module.lessons):
                    for placement in lesson.placements:
                        if placement.slug:
                            lesson_of[(placement.kind, placement.slug)] = lesson.id
                    rows["lessons"].append({
                        "id": lesson.id, "module_id": module.id, "course_id": course.id, "track_id": track.id,
                        "slug": lesson.slug, "title": lesson.data["title"], "type": lesson.type,
                        "objectives": lesson.data["objectives"], "skills": lesson.data["skills"],
                        "minutes": lesson.data["minutes"], "xp": lesson.xp,
                        "time_limit_minutes": lesson.data.get("time_limit_minutes"),
                        "attempt_policy": lesson.data.get("attempt_policy"), "position": l_pos,
                        "url": lesson_url(track, course, module, lesson), "body": lesson.body})
                    for c_index, chunk in enumerate(chunk_lesson(lesson, module)):
                        rows["lesson_chunks"].append({
                            "id": f"{lesson.id}:{c_index}", "lesson_id": lesson.id, "position": c_index,
                            "heading": chunk["heading"], "anchor": chunk["anchor"], "text": chunk["text"]})
                for exercise in module.exercises.values():
                    data = exercise.data
                    rows["exercises"].append({
                        "id": exercise.id, "slug": exercise.slug, "module_id": module.id,
                        "lesson_id": lesson_of.get(("exercise", exercise.slug)), "title": data["title"],
                        "prompt": data["prompt"], "starter": data["starter"], "solution": data["solution"],
                        "time_limit_seconds": exercise.time_limit,
                        "memory_mb": exercise.memory_mb or 0,  # 0: the sandbox's default
                        "randomized": bool(data.get("randomized", False)),
                        "visible_tests": data["tests"]["visible"], "hidden_tests": data["tests"]["hidden"],
                        "hints": data["hints"], "misconceptions": data["misconceptions"],
                        "example": data.get("example"),
                        # When the bottom-out rung is earned (sidecar/grading/hints.py), defaults filled in.
                        "bottom_out_attempts": exercise.bottom_out_attempts,
                        "bottom_out_minutes": exercise.bottom_out_minutes})
                for quiz in module.quizzes.values():
                    rows["quizzes"].append({
                        "id": quiz.id, "slug": quiz.slug, "module_id": module.id,
                        "lesson_id": lesson_of.get(("quiz", quiz.slug)), "title": quiz.data["title"],
                        "pass_percent": quiz.pass_percent})
                    for i_pos, item in enumerate(quiz.data["items"]):
                        rows["quiz_items"].append({
                            "id": item["id"], "quiz_id": quiz.id, "position": i_pos, "kind": item["kind"],
                            "skills": item["skills"], "prompt": item["prompt"], "code": item.get("code"),
                            "choices": item.get("choices"), "answer": json.dumps(item["answer"]),
                            "accept": item.get("accept", []), "expected_output": item.get("expected_output"),
                            "explanation": item["explanation"],
                            "explanation_html": html_of(item["explanation"])})
    for achievement in catalog.achievements:
        rows["achievements"].append({
            "id": achievement["id"], "slug": achievement["slug"], "title": achievement["title"],
            "category": achievement["category"], "description": achievement["description"],
            "xp": int(achievement.get("xp", 0)), "rule": achievement["rule"]})
    for certification in catalog.certifications:
        base = {k: certification.get(k) for k in ("id", "tier", "title", "description", "xp")}
        rules = {k: v for k, v in certification.items() if k not in base}
        rows["certifications"].append({**base, "rules": rules})
    for course in catalog.courses():
        _certification_rows(course, rows)
    return rows


def _certification_rows(course: Course, rows: dict[str, list[dict[str, Any]]]) -> None:
    """A course's Silver bank and Gold options: catalog.db only (pages.py never reads them)."""
    if course.silver is not None:
        bank = course.silver.data
        rows["silver_banks"].append({"course_id": course.id, "points": bank["points"]})
        for section in SILVER_SECTIONS:
            for position, item in enumerate(bank[section]):
                kind, difficulty = silver_kind(section, item)
                rows["silver_items"].append({"id": item["id"], "course_id": course.id, "section": section,
                                             "kind": kind, "difficulty": difficulty, "position": position,
                                             "data": item})
    if course.gold is not None:
        for position, option in enumerate(course.gold.data["options"]):
            rows["gold_options"].append({
                "id": option["id"], "course_id": course.id, "position": position, "title": option["title"],
                "summary": option["summary"], "brief": option["brief"], "requirements": option["requirements"],
                "entry": option["entry"], "tests": gold_tests(option), "reference": option["reference"]})


def write_catalog_db(catalog: Catalog, target: Path, mkdocs_yml: Path, meta: dict[str, Any],
                     add_vectors: Callable[[sqlite_utils.Database, list[dict[str, Any]]], None] | None = None,
                     ) -> dict[str, int]:
    """Write catalog.db atomically; returns row counts per table.

    add_vectors (sidecar/compiler/vectors.py) adds lesson-chunk embeddings inside the same
    atomic write, so a server never sees chunks without the vectors built for them.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    for leftover in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
        leftover.unlink(missing_ok=True)
    rows = _tables(catalog, markdown_renderer(mkdocs_yml))
    db = sqlite_utils.Database(tmp)
    schema.create(db)
    counts: dict[str, int] = {}
    for name, table_rows in rows.items():
        if table_rows:
            # No alter: the table is the declared one (a column it lacks is an error, not a new column).
            db.table(name).insert_all(table_rows)
        counts[name] = len(table_rows)
    db.execute(schema.FTS_FILL)
    db.table("meta").insert_all(
        [{"key": k, "value": json.dumps(v)} for k, v in {**meta, "schema_version": SCHEMA_VERSION}.items()])
    if add_vectors is not None and rows["lesson_chunks"]:
        add_vectors(db, rows["lesson_chunks"])
    db.conn.commit()
    db.close()
    os.replace(tmp, target)
    return counts
