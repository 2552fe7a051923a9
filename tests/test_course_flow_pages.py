"""A course that flows, as built: previous/next links on every lesson (across modules), lesson ids on
the course and module pages' links, the course card, and lesson types by their human names."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from sidecar.compiler.build import BuildReport
from sidecar.courseware.lesson_types import LESSON_TYPE_NAMES, LESSON_TYPES, lesson_type_name

COURSE = Path("demo-track") / "demo-course"
# The minimal fixture's course, in reading order: (module, lesson slug, title, id).
LESSONS = [
    ("first-steps", "printing", "Printing", "00000000-0000-4000-8000-000000000013"),
    ("first-steps", "check-yourself", "Check yourself", "00000000-0000-4000-8000-000000000014"),
    ("second-steps", "reading-code", "Reading code", "00000000-0000-4000-8000-000000000031"),
    ("second-steps", "naming-things", "Naming things", "00000000-0000-4000-8000-000000000032"),
    ("third-steps", "speed-run", "Speed run", "00000000-0000-4000-8000-000000000041"),
]
NAV_RE = re.compile(r'<nav class="drona-lesson-nav" aria-label="Lesson navigation">(.*?)</nav>', re.S)
LINK_RE = re.compile(r'<a class="drona-lesson-nav__link drona-lesson-nav__link--(prev|next)" href="([^"]*)"[^>]*>'
                     r'\s*<span class="drona-lesson-nav__dir">([^<]*)</span>\s*'
                     r'<span class="drona-lesson-nav__title">([^<]*)</span>', re.S)


def _page(site: Path, *parts: str) -> str:
    return (site.joinpath(*parts) / "index.html").read_text(encoding="utf-8")


def _lesson_nav(site: Path, module: str, slug: str) -> dict[str, tuple[str, str, str]]:
    """{"prev"|"next": (href, label, title)} of a lesson's previous/next navigation."""
    page = _page(site / COURSE, module, slug)
    found = NAV_RE.findall(page)
    assert len(found) == 1, f"{module}/{slug}: one lesson navigation expected"
    return {kind: (href, label.strip(), html.unescape(title)) for kind, href, label, title in LINK_RE.findall(found[0])}


def _resolve(page_dir: Path, href: str) -> Path:
    """Where a relative link on the page in page_dir leads, as a directory of the built site."""
    return (page_dir / href).resolve()


@pytest.mark.parametrize("index", range(len(LESSONS)))
def test_every_lesson_links_its_previous_and_next_across_modules(minimal_build: BuildReport, index: int) -> None:
    site = minimal_build.site_dir
    module, slug, _title, _id = LESSONS[index]
    nav = _lesson_nav(site, module, slug)
    here = site / COURSE / module / slug
    if index == 0:
        assert "prev" not in nav
    else:
        before = LESSONS[index - 1]
        href, label, title = nav["prev"]
        assert (label, title) == ("Previous:", before[2])
        assert _resolve(here, href) == (site / COURSE / before[0] / before[1]).resolve()
        assert (_resolve(here, href) / "index.html").is_file()
    href, label, title = nav["next"]
    if index + 1 < len(LESSONS):
        after = LESSONS[index + 1]
        assert (label, title) == ("Next:", after[2])
        assert _resolve(here, href) == (site / COURSE / after[0] / after[1]).resolve()
    else:
        # The last lesson leads back to the course page, where its completion shows.
        assert (label, title) == ("Back to the course:", "Demo Course")
        assert _resolve(here, href) == (site / COURSE).resolve()
    assert (_resolve(here, href) / "index.html").is_file()


def test_the_header_carries_the_next_lesson_for_the_end_panel(minimal_build: BuildReport) -> None:
    site = minimal_build.site_dir
    head = re.search(r'<header class="drona-lesson-head"[^>]*>', _page(site / COURSE, "first-steps", "check-yourself"))
    assert head is not None
    assert 'data-next-url="demo-track/demo-course/second-steps/reading-code/"' in head.group(0)
    assert 'data-next-title="Reading code"' in head.group(0) and 'data-next-kind="lesson"' in head.group(0)
    assert "data-after-url" not in head.group(0)
    last = re.search(r'<header class="drona-lesson-head"[^>]*>', _page(site / COURSE, "third-steps", "speed-run"))
    assert last is not None
    assert 'data-next-kind="course"' in last.group(0)
    # One course in the fixture's track: after it comes the track's page.
    assert 'data-after-url="demo-track/"' in last.group(0) and 'data-after-kind="track"' in last.group(0)


def test_course_and_module_pages_put_lesson_ids_on_their_links(minimal_build: BuildReport) -> None:
    site = minimal_build.site_dir
    course = _page(site, str(COURSE))
    for module, slug, title, lesson_id in LESSONS:
        link = re.search(rf'<a[^>]*data-lesson-id="{lesson_id}"[^>]*>([^<]*)</a>', course)
        assert link is not None, title
        assert link.group(1) == title
        assert f'href="{module}/{slug}/"' in link.group(0)
    steps = _page(site / COURSE, "second-steps")
    ids = re.findall(r'<a[^>]*data-lesson-id="([^"]+)"', steps)
    assert ids == [LESSONS[2][3], LESSONS[3][3]]


def test_the_course_page_starts_with_a_start_card(minimal_build: BuildReport) -> None:
    course = _page(minimal_build.site_dir, str(COURSE))
    card = re.search(r"<section class=\"drona-course-card\"[^>]*>.*?</section>", course, re.S)
    assert card is not None
    assert 'data-course-id="00000000-0000-4000-8000-000000000011"' in card.group(0)
    assert 'data-after-url="demo-track/"' in card.group(0) and 'data-after-title="Demo Track"' in card.group(0)
    assert "5 lessons in 3 modules" in card.group(0)
    assert "Start the course" in card.group(0)
    start = re.search(r'<a class="drona-btn drona-btn--primary" href="([^"]+)">([^<]+)</a>', card.group(0))
    assert start is not None
    assert start.groups() == ("first-steps/printing/", "Start with Printing")
    # Before the modules: it is the first thing under the course's summary.
    assert course.index("drona-course-card") < course.index("First steps</a>")


def test_every_lesson_type_has_a_human_name() -> None:
    assert set(LESSON_TYPE_NAMES) == set(LESSON_TYPES)
    assert lesson_type_name("guided-discovery") == "Guided discovery"
    assert lesson_type_name("code-along") == "Code-along"
    assert lesson_type_name("challenge") == "Timed challenge"
    with pytest.raises(ValueError, match="lesson type"):
        lesson_type_name("pair-programming")


def _visible_text(page: str) -> str:
    """The page's text as read: no tags, attributes, scripts or styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_lesson_types_show_by_their_names_on_course_module_and_lesson_pages(minimal_build: BuildReport) -> None:
    site = minimal_build.site_dir
    course = _page(site, str(COURSE))
    assert '<span class="drona-type" data-lesson-type="challenge">Timed challenge</span>' in course
    assert '<span class="drona-type" data-lesson-type="code-along">Code-along</span>' in course
    module = _page(site / COURSE, "third-steps")
    assert "Timed challenge" in _visible_text(module)
    chip = re.search(r'<li class="drona-chip drona-chip--type">([^<]*)</li>', _page(site / COURSE, "third-steps",
                                                                                     "speed-run"))
    assert chip is not None and chip.group(1) == "Timed challenge"


def test_no_raw_lesson_type_is_shown_in_the_demo_site(demo_build: BuildReport) -> None:
    shown = 0
    for path in demo_build.site_dir.rglob("index.html"):
        page = path.read_text(encoding="utf-8")
        if "drona-type" not in page and "drona-chip--type" not in page:
            continue
        text = _visible_text(page)
        for raw in ("guided-discovery", "code-along", "project-milestone"):
            # "code-along" is also the human name's spelling ("Code-along"): case matters.
            assert raw not in text, f"{path}: raw lesson type {raw!r} shown"
        shown += 1
    assert shown > 10
    assert any("Guided discovery" in _visible_text(p.read_text(encoding="utf-8"))
               for p in demo_build.site_dir.rglob("index.html"))
