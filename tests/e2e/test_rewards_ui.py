"""Rewards in the browser: a submission, a quiz attempt and a "Mark complete" update the header, the
toasts and the lesson's panel from the answer's `reward` (site/src/rewards.js), with no second
request for the profile or the progress.

Headless Chromium against `drona serve` of the demo content (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml

from .conftest import CONTENT, DemoSite, answer_quiz, set_code
from .test_grading_ui import open_say_hello, server_verdict
from .test_learner import learner_page, lesson_status, reading_lesson, sign_up_and_onboard, wait_header_xp

pytestmark = pytest.mark.e2e

FOLLOW_UPS = ("/api/gamification/profile", "/api/progress")


@contextmanager
def watching(page: Any, post_path: str) -> Iterator[dict[str, Any]]:
    """Collect the answer to the POST whose path ends with `post_path`, and every GET made after it."""
    seen: dict[str, Any] = {"rewards": [], "gets": []}

    def on_response(response: Any) -> None:
        request = response.request
        path = request.url.split("?", 1)[0]
        if request.method == "POST" and path.endswith(post_path) and response.ok:
            seen["rewards"].append(response.json()["reward"])
        elif request.method == "GET" and seen["rewards"] and path.endswith(FOLLOW_UPS):
            seen["gets"].append(path)

    page.on("response", on_response)
    try:
        yield seen
    finally:
        page.remove_listener("response", on_response)


def _settled(page: Any, seen: dict[str, Any]) -> dict[str, Any]:
    assert seen["rewards"], "the POST was answered"
    reward = seen["rewards"][-1]
    wait_header_xp(page, reward["total_xp"])
    level = page.locator("[data-drona-userbar] [data-drona-level]")
    assert level.get_attribute("data-drona-level") == str(reward["level"])
    streak = page.locator("[data-drona-userbar] [data-drona-streak]")
    assert streak.get_attribute("data-drona-streak") == str(reward["streak"]["current"])
    page.wait_for_timeout(500)  # time for a follow-up request, were one made
    assert seen["gets"] == [], f"no follow-up GETs after the POST: {seen['gets']}"
    return reward


def test_a_passing_submission_updates_the_page_from_its_reward(browser: Any, demo_site: DemoSite) -> None:
    with learner_page(browser) as page:
        sign_up_and_onboard(page, demo_site)
        widget, _ = open_say_hello(page, demo_site)
        lesson_status(page, "graded")
        wait_header_xp(page, 0)
        with watching(page, "/submissions") as seen:
            set_code(page, widget, 'print("Hello, World!")\n')
            widget.get_by_role("button", name="Check").click()
            server_verdict(page, widget, "passed")
            assert "Completed ✓" in lesson_status(page, "completed").inner_text()
            reward = _settled(page, seen)
        assert reward["xp_awarded"] > 0 and reward["lesson_state"] == "completed"
        page.locator(".drona-toast", has_text=f"+{reward['xp_awarded']} XP").first.wait_for()
        page.locator(".drona-toast", has_text="Achievement unlocked").first.wait_for()


def test_a_passing_quiz_updates_the_page_from_its_reward(browser: Any, demo_site: DemoSite) -> None:
    quiz = next(yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(CONTENT.glob("tracks/**/quizzes/*.yaml")))
    with learner_page(browser) as page:
        sign_up_and_onboard(page, demo_site)
        page.goto(demo_site.lesson_url_with(quiz_id=quiz["id"]))
        page.wait_for_selector(f'.drona-quiz[data-quiz-id="{quiz["id"]}"][data-state=ready]')
        lesson_status(page, "graded")
        wait_header_xp(page, 0)
        with watching(page, "/attempts") as seen:
            answer_quiz(page, quiz)
            page.get_by_role("button", name="Submit answers").click()
            page.wait_for_selector(".drona-quiz[data-result=passed]")
            lesson_status(page, "completed")
            reward = _settled(page, seen)
        assert reward["xp_awarded"] > 0


def test_mark_complete_updates_the_page_from_its_reward(browser: Any, demo_site: DemoSite) -> None:
    with learner_page(browser) as page:
        sign_up_and_onboard(page, demo_site)
        page.goto(demo_site.base_url + reading_lesson(demo_site)["url"])
        lesson_status(page, "ready")
        wait_header_xp(page, 0)
        page.wait_for_function("() => !localStorage.getItem('drona:progress-queue')")  # the "started" event is sent
        with watching(page, "/progress/events") as seen:
            page.get_by_role("button", name="Mark complete").click()
            status = lesson_status(page, "completed")
            reward = _settled(page, seen)
        assert reward["xp_awarded"] > 0 and f"You earned {reward['xp_awarded']} XP." in status.inner_text()
