"""A course that flows, in the browser: pass a lesson, follow "Next lesson", see the tick on the
passed lesson in the sidebar and on the course page, and the course page's resume card pointing at
the lesson to continue. Signed out, the course page offers "Start the course" and asks nothing of
the progress API.

Headless Chromium against `drona serve` of the demo content (see conftest.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import pytest

from .conftest import DemoSite
from .test_learner import learner_page, lesson_status, sign_up_and_onboard

pytestmark = pytest.mark.e2e


def _courses(site: DemoSite) -> list[dict[str, Any]]:
    return [c for t in site.get_json("api/catalog")["tracks"] for c in t["courses"] if c["modules"]]


def reading_lesson_with_a_next(site: DemoSite) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(course, lesson, next lesson): the first lesson that completes on reading ("Mark complete")
    and is not its course's last; the next lesson may be in the next module."""
    for course in _courses(site):
        lessons = [lesson for module in course["modules"] for lesson in module["lessons"]]
        for lesson, following in zip(lessons, lessons[1:], strict=False):
            if not lesson["exercise_ids"] and not lesson["quiz_ids"]:
                return course, lesson, following
    raise LookupError("the demo content has no reading lesson followed by another in its course")


def _absolute(site: DemoSite, url: str) -> str:
    return urljoin(site.base_url, url)


def _sidebar_link(page: Any, site: DemoSite, lesson_url: str) -> Any:
    """The primary sidebar's link to a lesson, found by where its href leads."""
    target = _absolute(site, lesson_url)
    handle = page.evaluate_handle(
        """(target) => Array.from(document.querySelectorAll('.md-sidebar--primary .md-nav__link[href]'))
             .find((a) => new URL(a.getAttribute('href'), location.href).href === target) || null""", target)
    element = handle.as_element()
    assert element is not None, f"no sidebar link to {target}"
    return element


def _wait_mark(page: Any, site: DemoSite, lesson_url: str, state: str) -> None:
    page.wait_for_function(
        """([target, state]) => Array.from(document.querySelectorAll('.md-sidebar--primary .md-nav__link[href]'))
             .some((a) => new URL(a.getAttribute('href'), location.href).href === target
                          && a.querySelector(':scope > [data-drona-mark="' + state + '"]'))""",
        arg=[_absolute(site, lesson_url), state])


def test_pass_a_lesson_follow_next_and_see_the_ticks_and_the_resume_card(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    course, lesson, following = reading_lesson_with_a_next(site)
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        page.goto(_absolute(site, lesson["url"]))
        lesson_status(page, "ready")
        page.wait_for_function("() => !localStorage.getItem('drona:progress-queue')")  # the "started" event is sent
        _wait_mark(page, site, lesson["url"], "started")  # the "started" reward marks it, no reload
        page.get_by_role("button", name="Mark complete").click()
        status = lesson_status(page, "completed")
        assert "Completed ✓" in status.inner_text()
        # The pass leads on: a primary "Next lesson" link, reachable by keyboard.
        nxt = status.get_by_role("link", name=f"Next lesson: {following['title']}")
        nxt.wait_for()
        assert nxt.get_attribute("href") == _absolute(site, following["url"])
        nxt.focus()
        assert page.evaluate("document.activeElement.dataset.dronaNextLesson") == ""
        # The sidebar ticks the passed lesson at once, with words for screen readers.
        _wait_mark(page, site, lesson["url"], "completed")
        mark = _sidebar_link(page, site, lesson["url"]).query_selector("[data-drona-mark]")
        assert mark is not None and "(completed)" in mark.text_content()
        # The static navigation at the end of the lesson says the same next lesson.
        nav = page.get_by_role("navigation", name="Lesson navigation")
        assert following["title"] in nav.get_by_role("link", name=f"Next: {following['title']}").inner_text()

        page.keyboard.press("Enter")  # follow "Next lesson" from the keyboard (instant navigation)
        page.wait_for_url(_absolute(site, following["url"]))
        page.wait_for_selector(f'.drona-lesson-head[data-lesson-id="{following["id"]}"]')
        assert page.locator("article h1").first.inner_text().rstrip("¶").strip() == following["title"]
        prev = page.get_by_role("navigation", name="Lesson navigation").get_by_role(
            "link", name=f"Previous: {lesson['title']}")
        assert prev.get_attribute("href") is not None
        # The new page's sidebar marks the lesson just opened as started (its "started" reward).
        _wait_mark(page, site, following["url"], "started")
        # Back by "Previous" (instant navigation again): a new sidebar, the tick from the server.
        prev.click()
        page.wait_for_url(_absolute(site, lesson["url"]))
        _wait_mark(page, site, lesson["url"], "completed")
        lesson_status(page, "completed")

        # The course page: the tick on the lesson's link, and the card says where to continue.
        page.goto(_absolute(site, course["url"]))
        page.wait_for_selector(f'a[data-lesson-id="{lesson["id"]}"] > [data-drona-mark="completed"]')
        assert page.locator(f'a[data-lesson-id="{following["id"]}"] > [data-drona-mark="started"]').count() == 1
        card = page.locator('[data-drona-course-card][data-state="in-progress"]')
        card.wait_for()
        assert "Continue the course" in card.inner_text()
        assert "1 of " in card.inner_text()
        cont = card.locator("[data-drona-continue]")
        assert cont.inner_text() == f"Continue: {following['title']}"
        assert cont.get_attribute("href") == _absolute(site, following["url"])
        bar = card.get_by_role("progressbar", name="Course completion")
        assert int(bar.get_attribute("aria-valuenow")) > 0


def test_signed_out_the_course_page_offers_the_start(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    course = _courses(site)[0]
    first = course["modules"][0]["lessons"][0]
    with learner_page(browser) as page:
        progress_requests: list[str] = []
        page.on("request", lambda r: progress_requests.append(r.url) if "/api/progress" in r.url else None)
        page.goto(_absolute(site, course["url"]))
        card = page.locator("[data-drona-course-card]")
        card.wait_for()
        page.wait_for_function("() => window.drona !== undefined")
        page.wait_for_timeout(500)  # time for a widget to ask, were it to
        assert card.get_attribute("data-state") is None
        assert "Start the course" in card.inner_text()
        start = card.get_by_role("link", name=f"Start with {first['title']}")
        assert start.get_attribute("href") is not None
        start.click()
        page.wait_for_url(_absolute(site, first["url"]))
        assert page.locator("[data-drona-mark]").count() == 0
        assert progress_requests == []


def test_a_completed_course_shows_its_summary_and_what_comes_next(browser: Any, demo_site: DemoSite) -> None:
    """The card's completion summary, from the progress answer (here a completed course's, served to
    the page: completing every lesson of a demo course through the browser would take minutes)."""
    site = demo_site
    course = _courses(site)[0]
    lessons = [lesson for module in course["modules"] for lesson in module["lessons"]]
    quizzes = sum(len(lesson["quiz_ids"]) for lesson in lessons)
    done = {
        "lessons": [{"lesson_id": lesson["id"], "state": "completed", "url": lesson["url"], "title": lesson["title"]}
                    for lesson in lessons],
        "courses": [{"course_id": course["id"], "title": course["title"], "track_id": "t",
                     "completed_lessons": len(lessons), "total_lessons": len(lessons), "percent": 100.0,
                     "completed": True, "xp_earned": 1234, "quizzes_passed": quizzes, "quizzes_total": quizzes,
                     "modules": []}],
        "continue_lesson": None,
    }
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        page.route("**/api/progress", lambda route: route.fulfill(json=done))
        page.goto(_absolute(site, course["url"]))
        card = page.locator('[data-drona-course-card][data-state="completed"]')
        card.wait_for()
        text = card.inner_text()
        assert f"You completed {course['title']}" in text
        assert f"{len(lessons)} lessons completed" in text and "1,234 XP earned" in text
        if quizzes:
            assert f"{quizzes} of {quizzes} quizzes passed" in text
        assert "ertificate" not in text  # none can be earned yet: none is promised
        after = card.get_by_role("link", name="Next course:").or_(card.get_by_role("link", name="Back to the track:"))
        kind = page.locator("[data-drona-course-card]").get_attribute("data-after-kind")
        title = page.locator("[data-drona-course-card]").get_attribute("data-after-title")
        label = f"Next course: {title}" if kind == "course" else f"Back to the track: {title}"
        assert after.inner_text() == label
        assert after.get_attribute("href") == _absolute(
            site, page.locator("[data-drona-course-card]").get_attribute("data-after-url"))
        assert page.locator("a[data-lesson-id] > [data-drona-mark='completed']").count() == len(lessons)
        # The course's last lesson says the same below its "Completed ✓", and leads to the same place.
        page.goto(_absolute(site, lessons[-1]["url"]))
        status = lesson_status(page, "completed")
        assert status.locator("[data-drona-next-lesson]").count() == 0  # no next lesson: the course ends
        done_panel = page.locator("[data-drona-lesson-end] [data-drona-course-done]")
        done_panel.wait_for()
        assert f"You completed {course['title']}" in done_panel.inner_text()
        assert done_panel.get_by_role("link").inner_text() == label
        back = page.get_by_role("navigation", name="Lesson navigation").get_by_role(
            "link", name=f"Back to the course: {course['title']}")
        assert back.get_attribute("href") is not None
