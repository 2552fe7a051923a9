"""The home page starts learning, planned tracks wait in one nav section, and the 404 page has a way on."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from sidecar.compiler.build import BuildReport
from sidecar.compiler.pages import PLANNED_SECTION, first_lesson_url, lesson_url, write_pages
from sidecar.courseware.loader import load_catalog
from sidecar.courseware.model import Catalog
from sidecar.courseware.problems import Problems
from sidecar.settings import REPO_ROOT


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "content", REPO_ROOT, Problems(REPO_ROOT))


def _article(page: str) -> str:
    return page[page.index("<article"):page.index("</article>")]


def test_home_page_has_a_hero_one_h1_and_a_start_link(demo_build: BuildReport) -> None:
    article = _article((demo_build.site_dir / "index.html").read_text(encoding="utf-8"))
    assert len(re.findall(r"<h1[\s>]", article)) == 1, "one h1 on the home page"
    assert 'class="drona-hero"' in article
    start = re.search(r'<a class="[^"]*drona-btn--primary[^"]*" href="([^"]+)" data-drona-start-first>'
                      r"Start the first lesson</a>", article)
    assert start, "a primary 'Start the first lesson' button"
    target = demo_build.site_dir / start.group(1) / "index.html"
    assert target.is_file(), f"the start link leads to a built page: {start.group(1)}"
    assert "drona-lesson-head" in target.read_text(encoding="utf-8"), "it is a lesson page"
    # The continue card is there for the front end (home.js), hidden until it knows a lesson.
    assert re.search(r"<section[^>]*data-drona-home-continue[^>]*hidden", article)
    assert 'id="catalog"' in article, "the hero's 'Browse the courses' and the 404 page link here"
    assert article.index("drona-hero") < article.index('id="catalog"'), "the hero comes first"


def test_first_lesson_is_the_first_lesson_of_the_first_authored_course(catalog: Catalog) -> None:
    track = next(t for t in catalog.tracks if not t.planned)
    course = next(c for c in track.courses if not c.planned)
    module = course.modules[0]
    assert first_lesson_url(catalog) == lesson_url(track, course, module, module.lessons[0])
    # With the authored tracks left out, nothing is left to start.
    only_planned = Catalog(root=catalog.root, content_dir=catalog.content_dir,
                           tracks=[t for t in catalog.tracks if t.planned])
    assert first_lesson_url(only_planned) is None


def test_home_page_marks_planned_tracks(demo_build: BuildReport, catalog: Catalog) -> None:
    article = _article((demo_build.site_dir / "index.html").read_text(encoding="utf-8"))
    cards = re.findall(r'<(a|div) class="drona-card( drona-card--planned)?"[^>]*>(.*?)</\1>', article, re.S)
    titles = {t.data["title"]: t.planned for t in catalog.tracks}
    seen = set()
    for _tag, _planned, body in cards:
        title = next((name for name in titles if f">{html.escape(name)}</h4>" in body), None)
        if title is None:
            continue
        seen.add(title)
        assert ('<span class="drona-badge">Planned</span>' in body) == titles[title], title
    assert seen == set(titles), "every track has a card"


def _flatten(entries: list[Any]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                out.extend(_flatten(value) if isinstance(value, list) else [value])
    return out


def test_planned_tracks_are_grouped_in_one_nav_section(tmp_path: Path, catalog: Catalog) -> None:
    pages = write_pages(catalog, tmp_path)
    top = [next(iter(entry)) for entry in pages.nav]
    planned = [t for t in catalog.tracks if t.planned]
    authored = [t for t in catalog.tracks if not t.planned]
    assert planned and authored, "the demo content has both"
    assert top.count(PLANNED_SECTION) == 1 and top[-1] == PLANNED_SECTION, top
    for track in planned:
        assert track.data["title"] not in top, f"{track.slug} is not among the courses"
    for track in authored:
        assert track.data["title"] in top
    section = pages.nav[-1][PLANNED_SECTION]
    assert [next(iter(entry)) for entry in section] == [t.data["title"] for t in planned]
    listed = _flatten(section)
    for track in planned:
        assert f"{track.slug}/index.md" in listed
        assert (tmp_path / track.slug / "index.md").is_file(), "its page still builds"


def test_404_page_has_links_search_and_an_absolute_root(demo_build: BuildReport) -> None:
    page = (demo_build.site_dir / "404.html").read_text(encoding="utf-8")
    assert '<meta name="drona-root" content="/">' in page, "not '//': the front end would throw on it"
    for link in ("home", "catalog", "first-lesson", "dashboard"):
        assert f'data-drona-link="{link}"' in page, link
    assert 'href="/" data-drona-link="home"' in page
    assert 'href="/#catalog" data-drona-link="catalog"' in page
    assert 'href="/dashboard/" data-drona-link="dashboard"' in page
    first = re.search(r'href="/([^"]+)" data-drona-link="first-lesson"', page)
    assert first and (demo_build.site_dir / first.group(1) / "index.html").is_file()
    assert "md-search__input" in page, "the header's search is on the page"
    assert len(re.findall(r"<h1[\s>]", _article(page))) == 1


def test_site_files_answer_an_unknown_address_with_the_404_page(tmp_path: Path) -> None:
    """At any depth, with or without a slash: status 404, the site's page, revalidated, gzip when offered."""
    import gzip

    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from sidecar.web.static import REVALIDATE, SiteFiles

    page = b"<!doctype html><title>Not found</title><h1>We can't find that page</h1>"
    (tmp_path / "404.html").write_bytes(page)
    (tmp_path / "404.html.gz").write_bytes(gzip.compress(page))
    (tmp_path / "index.html").write_bytes(b"<h1>Home</h1>")
    app = Starlette()
    app.mount("/", SiteFiles(directory=tmp_path, html=True))
    client = TestClient(app)
    for address in ("/no/such/deep/page/", "/missing", "/a/b.css"):
        plain = client.get(address, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 404, address
        assert plain.content == page
        assert plain.headers["cache-control"] == REVALIDATE, address
        zipped = client.get(address, headers={"Accept-Encoding": "gzip"})
        assert zipped.status_code == 404 and zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["content-type"].startswith("text/html")
        assert zipped.content == page  # decoded by the client
    home = client.get("/")
    assert home.status_code == 200 and home.content == b"<h1>Home</h1>"


PLANNED_COURSE = """\
id: 00000000-0000-4000-8000-0000000000f1
title: Coming Soon
summary: A planned course with its outline.
status: planned
level: intermediate
modules: []
planned_modules: 2
outline:
  - title: Lists and indexing
    objectives: [Create lists and index them., Change an item in place.]
  - title: Dictionaries
    objectives: [Look up a value by its key.]
"""


def test_a_planned_course_has_a_page_with_its_outline(content_tree: Path, tmp_path: Path) -> None:
    track_dir = content_tree / "content/tracks/demo-track"
    (track_dir / "coming-soon").mkdir()
    (track_dir / "coming-soon/course.yaml").write_text(PLANNED_COURSE, encoding="utf-8")
    track_yaml = track_dir / "track.yaml"
    track_yaml.write_text(track_yaml.read_text(encoding="utf-8").replace(
        "courses: [demo-course]", "courses: [demo-course, coming-soon]"), encoding="utf-8")
    problems = Problems(content_tree)
    catalog = load_catalog(content_tree / "content", content_tree, problems)
    assert not problems.items, [str(p) for p in problems.sorted()]
    docs = tmp_path / "docs"
    pages = write_pages(catalog, docs)

    page = (docs / "demo-track/coming-soon/index.md").read_text(encoding="utf-8")
    assert "Coming soon" in page and "an intermediate course" in page
    headings = re.findall(r"^## (\d+)\. (.+)$", page, re.M)
    assert headings == [("1", "Lists and indexing"), ("2", "Dictionaries")]
    for objective in ("Create lists and index them.", "Change an item in place.", "Look up a value by its key."):
        assert f"- {objective}\n" in page
    assert page.index("Change an item in place.") < page.index("## 2. Dictionaries"), "objectives under their module"

    track_page = (docs / "demo-track/index.md").read_text(encoding="utf-8")
    card = re.search(r'<a class="drona-card drona-card--planned" href="coming-soon/">(.*?)</a>', track_page)
    assert card, "the planned course's card leads to its outline"
    assert "2 modules planned" in card.group(1) and '<span class="drona-badge">Planned</span>' in card.group(1)
    assert "demo-track/coming-soon/index.md" in _flatten(pages.nav)


def test_every_planned_course_of_the_catalog_has_an_outline(catalog: Catalog) -> None:
    planned = [c for c in catalog.courses() if c.planned]
    assert planned, "the demo catalog has planned courses"
    missing = [c.slug for c in planned if not c.outline]
    assert missing == [], f"planned courses without an outline: {missing}"
    for course in planned:
        for module in course.outline:
            assert module["title"].strip() and module["objectives"], (course.slug, module)
