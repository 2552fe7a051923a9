"""A timed challenge in Chromium: opening it starts nothing, Start does, and an expired attempt still
lets the learner finish in practice mode.

The `drona serve` of the demo content with DRONA_TEST_CLOCK=true (conftest.py's clock_site), so that the
test can move the server's clock ("come back a day later", "the 15 minutes are up") without waiting, and without moving
the clock of the server the other end-to-end tests share.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import DemoSite, authored, set_code
from .test_learner import call, learner_page, lesson_status, sign_up_and_onboard

FIZZBUZZ_CHALLENGE = "python-developer/python-basics/loops/fizzbuzz-challenge/"
PANEL = "[data-drona-challenge]"
SERVER_CHECK = "[data-drona-server-check]"
TIMED_XP = 300  # 150 +100% without hints

pytestmark = pytest.mark.e2e


def move_clock(page: Any, site: DemoSite, seconds: float) -> None:
    """Set how far the server's clock is ahead of real time (0: real time)."""
    assert call(page, site, "POST", "test/clock", {"offset_seconds": seconds})["offset_seconds"] == seconds


@pytest.fixture
def learner(browser: Any, clock_site: DemoSite) -> Iterator[Any]:
    with learner_page(browser) as page:
        starts: list[str] = []
        page.on("request", lambda r: starts.append(r.url) if r.method == "POST" and "/start" in r.url else None)
        sign_up_and_onboard(page, clock_site)
        page.starts = starts
        try:
            yield page
        finally:
            move_clock(page, clock_site, 0)


def open_challenge(page: Any, site: DemoSite) -> tuple[Any, str]:
    page.goto(site.base_url + FIZZBUZZ_CHALLENGE)
    lesson_id = page.locator(".drona-lesson-head").get_attribute("data-lesson-id")
    return page.locator(PANEL), lesson_id


def solve(page: Any) -> Any:
    """Check the reference solution; the server's verdict block."""
    exercise, _ = authored("exercises", "fizzbuzz")
    widget = page.locator(f'.drona-exercise[data-exercise-id="{exercise["id"]}"]')
    page.wait_for_selector(f'.drona-exercise[data-exercise-id="{exercise["id"]}"][data-state=ready]', timeout=60_000)
    set_code(page, widget, exercise["solution"])
    widget.get_by_role("button", name="Check").click()
    page.wait_for_selector(f'{SERVER_CHECK}[data-state="passed"]', timeout=60_000)
    return widget.locator(SERVER_CHECK)


def test_start_button_then_come_back_a_day_later_and_pass(learner: Any, clock_site: DemoSite) -> None:
    page, site = learner, clock_site
    panel, lesson_id = open_challenge(page, site)
    page.wait_for_selector(f'{PANEL}[data-state="not-started"]')
    rules = panel.inner_text()
    assert "15 minutes, starting when you press Start" in rules and "retake it 1 hour after" in rules
    assert "practice mode" in rules
    page.wait_for_timeout(1500)  # time for anything that would start a clock on load to do so
    assert page.starts == [], "opening the challenge sent no start"
    assert page.locator("[data-drona-countdown]").count() == 0
    assert call(page, site, "GET", f"challenges/{lesson_id}")["status"] == "not_started"

    # Come back a day later: still nothing started.
    move_clock(page, site, 86_400)
    panel, _ = open_challenge(page, site)
    page.wait_for_selector(f'{PANEL}[data-state="not-started"]')
    before = call(page, site, "GET", "gamification/profile")["xp"]
    panel.get_by_role("button", name="Start the challenge").click()
    page.wait_for_selector(f'{PANEL}[data-state="running"]')
    assert page.locator("[data-drona-countdown]").inner_text().strip() in ("15:00", "14:59", "14:58")
    assert len(page.starts) == 1

    # A reload rejoins the same clock, and starts nothing.
    deadline = call(page, site, "GET", f"challenges/{lesson_id}")["deadline"]
    open_challenge(page, site)
    page.wait_for_selector(f'{PANEL}[data-state="running"]')
    page.wait_for_timeout(500)
    assert len(page.starts) == 1
    state = call(page, site, "GET", f"challenges/{lesson_id}")
    assert state["deadline"] == deadline and state["attempt"] == 1

    block = solve(page)
    assert "Lesson completed" in block.inner_text()
    page.wait_for_selector(f'{PANEL}[data-state="passed"]')
    lesson_status(page, "completed")
    after = call(page, site, "GET", "gamification/profile")["xp"]
    assert after - before >= TIMED_XP, "the timed challenge XP"


def test_time_up_then_practice_pass_completes_the_lesson(learner: Any, clock_site: DemoSite) -> None:
    page, site = learner, clock_site
    panel, lesson_id = open_challenge(page, site)
    page.wait_for_selector(f'{PANEL}[data-state="not-started"]')
    panel.get_by_role("button", name="Start the challenge").click()
    page.wait_for_selector(f'{PANEL}[data-state="running"]')
    before = call(page, site, "GET", "gamification/profile")["xp"]

    move_clock(page, site, 16 * 60)  # the 15 minutes are up
    panel, _ = open_challenge(page, site)
    page.wait_for_selector(f'{PANEL}[data-state="expired"]')
    text = panel.inner_text()
    assert "Time is up" in text and "practice mode" in text and "You can retake it from" in text
    assert panel.get_by_role("button", name="Retake the challenge").count() == 0, "the cool-down runs"

    block = solve(page)
    assert "Lesson completed" in block.inner_text()
    page.wait_for_selector(f'{PANEL}[data-state="passed"]')
    lesson_status(page, "completed")
    earned = call(page, site, "GET", "gamification/profile")["xp"] - before
    assert 0 < earned < TIMED_XP, f"practice pays the ordinary lesson XP, not the timed XP ({earned})"
    assert call(page, site, "GET", f"challenges/{lesson_id}")["status"] == "passed"
    assert len(page.starts) == 1


def test_retake_button_after_the_cooldown(learner: Any, clock_site: DemoSite) -> None:
    page, site = learner, clock_site
    panel, lesson_id = open_challenge(page, site)
    page.wait_for_selector(f'{PANEL}[data-state="not-started"]')
    panel.get_by_role("button", name="Start the challenge").click()
    page.wait_for_selector(f'{PANEL}[data-state="running"]')
    move_clock(page, site, 2 * 3600)  # past the time limit and the hour of cool-down
    panel, _ = open_challenge(page, site)
    page.wait_for_selector(f'{PANEL}[data-state="expired"]')
    assert "You can retake the challenge now" in panel.inner_text()
    panel.get_by_role("button", name="Retake the challenge").click()
    page.wait_for_selector(f'{PANEL}[data-state="running"]')
    assert "Attempt 2" in panel.inner_text()
    assert call(page, site, "GET", f"challenges/{lesson_id}")["attempt"] == 2
