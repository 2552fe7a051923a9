"""A review session in Chromium (issue #15): what a learner got wrong in a quiz comes back the next day on the
dashboard; they answer it in the daily review, the server grades it, and the day's review is done and paid.

Runs on the demo server whose clock the test may move (conftest.py's clock_site).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sidecar.gamification import xp

from .conftest import DemoSite, authored
from .test_challenge_flow import move_clock
from .test_learner import call, learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e

DAY = 86_400


@pytest.fixture
def learner(browser: Any, clock_site: DemoSite) -> Iterator[Any]:
    with learner_page(browser) as page:
        sign_up_and_onboard(page, clock_site)
        try:
            yield page
        finally:
            move_clock(page, clock_site, 0)


def test_a_missed_quiz_item_comes_back_and_a_review_session_finishes_the_day(learner: Any,
                                                                             clock_site: DemoSite) -> None:
    page, site = learner, clock_site
    quiz, _ = authored("quizzes", "getting-started-quiz")
    items = quiz["items"]
    missed = next(item for item in items if item["kind"] == "predict-output")
    answers = {item["id"]: item["answer"] for item in items}
    answers[missed["id"]] = "not what it prints"
    call(page, site, "POST", f"quizzes/{quiz['id']}/attempts", {"answers": answers})

    page.goto(site.base_url + "dashboard/")
    page.wait_for_selector(".drona-dash-card--review")
    assert page.locator("[data-drona-dash-review-due]").get_attribute("data-drona-dash-review-due") == "0"

    move_clock(page, site, DAY + 3600)  # tomorrow: the missed item is due, the right ones not yet
    page.goto(site.base_url + "dashboard/")
    page.wait_for_selector("[data-drona-review-start]")
    assert page.locator("[data-drona-dash-review-due]").get_attribute("data-drona-dash-review-due") == "1"
    page.click("[data-drona-review-start]")

    page.wait_for_selector("[data-drona-review-count]")
    assert "Item 1 of 1" in page.locator("[data-drona-review-count]").inner_text()
    item = page.locator('.drona-quiz-item[data-kind="predict-output"]')
    assert missed["code"].strip().splitlines()[0] in item.locator("pre").inner_text()
    shown = page.locator(".drona-app").inner_text()
    assert str(missed["answer"]).strip() not in shown and missed["explanation"].strip()[:40] not in page.content()
    item.locator("textarea").fill(str(missed["answer"]))
    page.get_by_role("button", name="Check").click()
    verdict = page.locator("[data-drona-review-verdict]")
    verdict.wait_for()
    assert verdict.get_attribute("data-drona-review-verdict") == "right"
    assert "comes back" in verdict.inner_text()
    page.get_by_role("button", name="Finish").click()
    done = page.locator("[data-drona-review-done]")
    done.wait_for()
    assert "1 of 1 item right" in done.inner_text()

    queue = call(page, site, "GET", "review")
    assert queue["done_today"] is True and queue["answered_today"] == 1
    # The lesson row's XP with the first-attempt bonus; yesterday's quiz pass may have started a streak.
    assert queue["xp_awarded_today"] in {xp.review_xp(all_right=True, streak_active=streak).amount
                                         for streak in (False, True)}
    assert queue["retention"]["reviews"] == 1 and queue["retention"]["recalled"] == 1
    page.goto(site.base_url + "dashboard/")
    page.wait_for_selector(".drona-dash-card--review")
    assert "Today's review is done" in page.locator(".drona-dash-card--review").inner_text()
