"""Draft courses (issue 16): left out of a normal build; built by `drona build --preview` for content creators,
with a content status page; their problems never block a build, and only content creators open their pages."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sidecar.auth.preview import is_draft_path
from sidecar.auth.roles import Role
from sidecar.compiler.build import BuildFailed, BuildReport, build, is_up_to_date
from sidecar.courseware.validate import validate
from tests.conftest import MINIMAL, client_factory
from tests.test_security_orgs import _account

TRACK = "tracks/demo-track"


def _with_draft(root: Path, *, track_status: str = "active") -> Path:
    """The minimal content plus a draft course: a copy of the demo course under new ids."""
    shutil.copytree(MINIMAL, root, dirs_exist_ok=True)
    content = root / "content"
    source, draft = content / TRACK / "demo-course", content / TRACK / "draft-course"
    shutil.copytree(source, draft)
    for path in draft.rglob("*"):
        if path.suffix in {".yaml", ".md"}:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("00000000-0000-4000-8000-", "00000000-0000-4000-a000-"), encoding="utf-8")
    course = draft / "course.yaml"
    course.write_text(course.read_text(encoding="utf-8").replace("status: active", "status: draft")
                      .replace("title: Demo Course", "title: Secret Draft Course"), encoding="utf-8")
    track = content / TRACK / "track.yaml"
    track.write_text(track.read_text(encoding="utf-8").replace("courses: [demo-course]",
                                                               "courses: [demo-course, draft-course]")
                     .replace("status: active", f"status: {track_status}"), encoding="utf-8")
    return content


def _build(content: Path, out: Path, *, preview: bool, logs: list[str] | None = None) -> BuildReport:
    return build(content_dir=content, build_dir=out, check_code=False, preview=preview,
                 log=(logs.append if logs is not None else lambda _: None))


def _site_text(site: Path) -> str:
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in site.rglob("*")
                   if p.is_file() and p.suffix in {".html", ".json", ".xml", ".js"} and "pyodide" not in p.parts)


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _with_draft(tmp_path_factory.mktemp("drafted"))


@pytest.fixture(scope="module")
def normal_build(drafted: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    return _build(drafted, tmp_path_factory.mktemp("normal"), preview=False)


@pytest.fixture(scope="module")
def preview_build(drafted: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    return _build(drafted, tmp_path_factory.mktemp("preview"), preview=True)


def _meta(report: BuildReport, key: str) -> Any:
    row = sqlite3.connect(report.catalog_db).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def test_a_normal_build_publishes_nothing_of_a_draft(normal_build: BuildReport) -> None:
    site = normal_build.site_dir
    assert (site / "demo-track" / "demo-course" / "index.html").is_file()
    assert not (site / "demo-track" / "draft-course").exists()
    assert "Secret Draft Course" not in _site_text(site)  # not in pages, nav, search index or sitemap
    conn = sqlite3.connect(normal_build.catalog_db)
    assert conn.execute("SELECT count(*) FROM courses WHERE status = 'draft'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM lessons WHERE id LIKE '00000000-0000-4000-a000-%'").fetchone()[0] == 0
    assert _meta(normal_build, "preview") is False and _meta(normal_build, "draft_paths") == []


def test_a_preview_build_has_the_draft_marked_and_out_of_search(preview_build: BuildReport) -> None:
    site = preview_build.site_dir
    page = (site / "demo-track" / "draft-course" / "index.html").read_text(encoding="utf-8")
    assert "Secret Draft Course" in page and "This course is a draft" in page
    assert list((site / "demo-track" / "draft-course").rglob("*.html"))[1:], "module and lesson pages too"
    assert "Draft" in (site / "demo-track" / "index.html").read_text(encoding="utf-8")
    search = (site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "Secret Draft Course" not in search and "draft-course" not in search
    assert "Demo Course" in search  # the active course stays searchable
    conn = sqlite3.connect(preview_build.catalog_db)
    assert conn.execute("SELECT status FROM courses WHERE slug = 'draft-course'").fetchone() == ("draft",)
    assert _meta(preview_build, "preview") is True
    assert _meta(preview_build, "draft_paths") == ["demo-track/draft-course/", "preview/status/"]
    status = (site / "preview" / "status" / "index.html").read_text(encoding="utf-8")
    assert "Secret Draft Course" in status and "ready: built in this preview" in status


def test_a_preview_and_a_normal_build_are_not_each_others_up_to_date(drafted: Path, normal_build: BuildReport,
                                                                     preview_build: BuildReport) -> None:
    normal, preview = normal_build.site_dir.parent, preview_build.site_dir.parent
    assert is_up_to_date(drafted, normal) and not is_up_to_date(drafted, normal, preview=True)
    assert is_up_to_date(drafted, preview, preview=True) and not is_up_to_date(drafted, preview)


def test_a_drafts_problems_never_block_a_build_and_show_on_the_status_page(tmp_path: Path) -> None:
    content = _with_draft(tmp_path / "repo")
    lesson = content / TRACK / "draft-course" / "second-steps" / "reading-code.md"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("title:", "titel:", 1), encoding="utf-8")
    problems = validate(content, content.parent, run_code=False).problems.sorted()
    mine = [p for p in problems if p.path.startswith("content/tracks/demo-track/draft-course/")]
    assert mine and len(mine) == len(problems), "validate still reports the draft's problems, and only those"
    logs: list[str] = []
    report = _build(content, tmp_path / "preview", preview=True, logs=logs)
    assert not (report.site_dir / "demo-track" / "draft-course").exists(), "a broken draft is left out"
    assert any("Secret Draft Course" in line and "problem" in line for line in logs)
    status = (report.site_dir / "preview" / "status" / "index.html").read_text(encoding="utf-8")
    assert "not built" in status
    assert "content/tracks/demo-track/draft-course/second-steps/reading-code.md:" in status
    _build(content, tmp_path / "normal", preview=False)  # a normal build is not blocked either


def test_problems_outside_drafts_still_fail_both_builds(tmp_path: Path) -> None:
    content = _with_draft(tmp_path / "repo")
    lesson = content / TRACK / "demo-course" / "second-steps" / "reading-code.md"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("title:", "titel:", 1), encoding="utf-8")
    for preview in (False, True):
        with pytest.raises(BuildFailed) as failed:
            _build(content, tmp_path / f"out-{preview}", preview=preview)
        assert failed.value.problems and all("demo-course" in p.path for p in failed.value.problems.sorted())


def test_status_rules_for_drafts(tmp_path: Path) -> None:
    # A new track's first course is drafted inside the planned track: allowed, and the preview opens it.
    content = _with_draft(tmp_path / "planned", track_status="planned")
    demo = content / TRACK / "demo-course" / "course.yaml"
    demo.write_text(re.sub(r"modules: \[.*\]", "modules: []", demo.read_text(encoding="utf-8"))
                    .replace("status: active", "status: planned"), encoding="utf-8")
    for module in ("first-steps", "second-steps", "third-steps", "certification"):
        shutil.rmtree(content / TRACK / "demo-course" / module)
    assert validate(content, content.parent, run_code=False).problems.sorted() == []
    # An active track whose only authored course is a draft would publish nothing takeable.
    content = _with_draft(tmp_path / "active")
    demo = content / TRACK / "demo-course" / "course.yaml"
    demo.write_text(demo.read_text(encoding="utf-8").replace("status: active", "status: draft"), encoding="utf-8")
    messages = [str(p) for p in validate(content, content.parent, run_code=False).problems.sorted()]
    assert messages == ["content/tracks/demo-track/track.yaml:5: an active track needs at least one active course "
                        "(a draft one is not published)"]
    # A draft is written: it has modules.
    draft = content / TRACK / "draft-course" / "course.yaml"
    draft.write_text(re.sub(r"modules: \[.*\]", "modules: []", draft.read_text(encoding="utf-8")), encoding="utf-8")
    messages = [str(p) for p in validate(content, content.parent, run_code=False).problems.sorted()]
    assert any("draft-course/course.yaml" in m and "a draft course needs at least one module" in m for m in messages)


def test_the_gate_normalises_paths() -> None:
    drafts = ("demo-track/draft-course/", "preview/status/")
    for path in ("/demo-track/draft-course/", "/demo-track/draft-course", "/demo-track/draft-course/index.html",
                 "/demo-track/./draft-course/first-steps/", "//demo-track//draft-course/x.html",
                 "/demo-track/other/../draft-course/", "/preview/status/"):
        assert is_draft_path(path, drafts), path
    for path in ("/demo-track/draft-course-2/", "/demo-track/demo-course/", "/", "/preview/"):
        assert not is_draft_path(path, drafts), path


@pytest.fixture
def preview_client(preview_build: BuildReport) -> Iterator[Any]:
    yield from client_factory(preview_build)


def test_only_content_creators_open_drafts_on_a_preview(preview_client: Any, db_url: str) -> None:
    anonymous = preview_client(db_url)
    learner = _account(preview_client, db_url, "learner@example.com")
    creator = _account(preview_client, db_url, "author@example.com", Role.CONTENT_CREATOR)
    admin = _account(preview_client, db_url, "admin@example.com", Role.ENTERPRISE_ADMIN)
    for path in ("/demo-track/draft-course/", "/demo-track/draft-course/first-steps/printing/",
                 "/demo-track/./draft-course/", "/preview/status/"):
        for client in (anonymous, learner):
            refused = client.get(path)
            assert refused.status_code == 403, (path, refused.status_code)
            assert "Secret Draft Course" not in refused.text and "Sign in as a content creator" in refused.text
        for client in (creator, admin):
            opened = client.get(path)
            assert opened.status_code == 200, (path, opened.status_code)
    assert "Secret Draft Course" in creator.get("/demo-track/draft-course/").text
    assert anonymous.get("/demo-track/demo-course/").status_code == 200  # active courses stay public

    def courses(client: Any) -> set[str]:
        tree = client.get("/api/catalog").json()
        return {c["slug"] for t in tree["tracks"] for c in t["courses"]}

    assert courses(anonymous) == courses(learner) == {"demo-course"}
    assert courses(creator) == {"demo-course", "draft-course"}
