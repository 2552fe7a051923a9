"""The Simulation canvas in Chromium: a simulation lesson's scenario runs in the page's Pyodide worker
beside the learner's code, every request is drawn on the time axis and listed in the text table, and
the exercise is submitted: graded on the server, where the trusted judge replays the record. The drawn
canvas passes axe-core's WCAG checks."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import DemoSite, authored, set_code
from .test_accessibility import axe_violations, describe
from .test_grading_ui import server_verdict
from .test_learner import learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e

SIM = ".drona-sim:not([hidden])"


def open_exercise(page: Any, demo_site: DemoSite, slug: str) -> tuple[Any, dict[str, Any]]:
    exercise, _ = authored("exercises", slug)
    page.goto(demo_site.lesson_url_with(exercise_id=exercise["id"]))
    selector = f'.drona-exercise[data-exercise-id="{exercise["id"]}"]'
    page.wait_for_selector(f"{selector}[data-state=ready]", timeout=60_000)
    return page.locator(selector), exercise


def simulate(widget: Any) -> Any:
    widget.get_by_role("button", name="Simulate").click()
    widget.locator('.drona-sim[data-state="done"]').wait_for(timeout=30_000)
    return widget.locator(".drona-sim")


def rows(sim: Any) -> list[list[str]]:
    body = sim.locator(".drona-sim__table:not(.drona-sim__tasks) tbody tr")
    return [[cell.inner_text() for cell in body.nth(i).locator("td").all()] for i in range(body.count())]


def test_a_web_api_simulation_is_drawn_live_and_graded_on_the_server(browser: Any, demo_site: DemoSite) -> None:
    with learner_page(browser) as page:
        sign_up_and_onboard(page, demo_site)
        widget, exercise = open_exercise(page, demo_site, "retry-with-backoff")

        # The starter asks once, gets the authored seed's 503 and returns nothing useful.
        sim = simulate(widget)
        first = rows(sim)
        assert len(first) == 1 and "503" in first[0][-1]
        assert sim.locator("svg .drona-sim__req--failed").count() == 1
        assert sim.locator("svg").get_attribute("role") == "img"

        # The reference client retries: two 503s, a timeout, then the data; its waits are drawn.
        set_code(page, widget, exercise["solution"])
        sim = simulate(widget)
        table = rows(sim)
        assert [row[-1].split(" (")[0] for row in table] == [
            "503 Service Unavailable", "503 Service Unavailable", "timed out after 2.00 s", "200 OK"]
        assert sim.locator("svg g.drona-sim__req").count() == 4
        assert sim.locator("svg .drona-sim__wait").count() == 3
        assert [label.text_content() for label in sim.locator("svg .drona-sim__wait-label").all()] == [
            "wait 0.50 s", "wait 1.00 s", "wait 2.00 s"]
        assert "4 requests" in sim.locator(".drona-sim__status").inner_text()
        assert "Pune" in sim.locator(".drona-sim__summary").inner_text()

        # Submitted: the server grades it, the judge replaying the record through its own model.
        widget.get_by_role("button", name="Check").click()
        block = server_verdict(page, widget, "passed")
        assert block.locator('.drona-test[data-result="fail"]').count() == 0


def test_the_event_loop_timeline_shows_one_lane_per_task(page: Any, demo_site: DemoSite) -> None:
    widget, exercise = open_exercise(page, demo_site, "fetch-concurrently")
    sim = simulate(widget)  # the starter: one await after another
    starts = [row[3] for row in rows(sim)]
    assert len(starts) == 4 and len(set(starts)) == 4, "sequential awaits start one after another"

    set_code(page, widget, exercise["solution"])
    sim = simulate(widget)
    table = rows(sim)
    assert len(table) == 4 and {row[3] for row in table} == {"0.00 s"}, "gathered fetches all start at once"
    assert len({row[1] for row in table}) == 4, "one task per fetch"
    tasks = sim.locator(".drona-sim__tasks tbody tr")
    assert tasks.count() == 5, "the event loop's record: main and one task per feed"
    assert sim.locator("svg .drona-sim__lane-label").count() == 5
    assert sim.locator("svg .drona-sim__await").count() >= 5
    assert any(row[-1] == "cancelled" and row[4] == "2.00 s" for row in table), "the hanging feed is cut at 2 s"
    assert not axe_violations(page), describe("simulation canvas", axe_violations(page))
    widget.get_by_role("button", name="Check").click()
    page.wait_for_selector('.drona-results .drona-test[data-result="pass"]', timeout=60_000)
    assert widget.locator('.drona-results .drona-test[data-result="fail"]').count() == 0
