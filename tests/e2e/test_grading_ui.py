"""Server-side grading in the browser: Check submits to the server for signed-in learners, shows
every test (hidden ones by their feedback only), completes the lesson and raises the header XP;
a wrong solution earns nothing; hints come from the server (the worked answer waits); a challenge shows its countdown.

Headless Chromium against `drona serve` of the demo content (see conftest.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .conftest import DemoSite, authored, set_code
from .test_learner import call, learner_page, lesson_status, sign_up_and_onboard, wait_header_xp

pytestmark = pytest.mark.e2e

SAY_HELLO = "python-developer/python-basics/getting-started/hello-python/"
FIZZBUZZ_CHALLENGE = "python-developer/python-basics/loops/fizzbuzz-challenge/"
SERVER_CHECK = "[data-drona-server-check]"


def open_say_hello(page: Any, site: DemoSite) -> tuple[Any, dict[str, Any]]:
    exercise, _ = authored("exercises", "say-hello")
    page.goto(site.base_url + SAY_HELLO)
    selector = f'.drona-exercise[data-exercise-id="{exercise["id"]}"]'
    page.wait_for_selector(selector + "[data-state=ready]", timeout=60_000)
    return page.locator(selector), exercise


def server_verdict(page: Any, widget: Any, state: str) -> Any:
    page.wait_for_selector(f'{SERVER_CHECK}[data-state="{state}"]', timeout=60_000)
    return widget.locator(SERVER_CHECK)


def header_xp(page: Any) -> int:
    page.wait_for_selector("[data-drona-userbar] [data-drona-xp]")
    return int(page.locator("[data-drona-userbar] [data-drona-xp]").get_attribute("data-drona-xp"))


def test_correct_solution_is_graded_on_the_server_and_completes_the_lesson(
        browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        widget, exercise = open_say_hello(page, site)
        lesson_status(page, "graded")
        before = header_xp(page)

        set_code(page, widget, 'print("Hello, World!")\n')
        widget.get_by_role("button", name="Check").click()
        block = server_verdict(page, widget, "passed")

        tests = block.locator(".drona-test")
        expected = len(exercise["tests"]["visible"]) + len(exercise["tests"]["hidden"])
        assert tests.count() == expected
        assert block.locator('.drona-test[data-result="fail"]').count() == 0
        hidden = block.locator('.drona-test[data-hidden="true"]')
        assert hidden.count() == len(exercise["tests"]["hidden"])
        assert "hidden test" in hidden.first.inner_text().lower()
        assert "including" in block.locator(".drona-results__summary").inner_text()
        assert "Lesson completed" in block.inner_text()
        assert re.search(r"\+\d+ XP", block.inner_text())

        lesson_status(page, "completed")
        profile = call(page, site, "GET", "gamification/profile")
        assert profile["xp"] > before
        wait_header_xp(page, profile["xp"])

        response = page.request.get(site.base_url + "api/progress")
        assert response.ok
        lesson_id = page.locator(".drona-lesson-head").get_attribute("data-lesson-id")
        mine = next(lesson for lesson in response.json()["lessons"] if lesson["lesson_id"] == lesson_id)
        assert mine["state"] == "completed"


def test_wrong_solution_shows_failures_and_awards_nothing(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        widget, exercise = open_say_hello(page, site)
        lesson_status(page, "graded")
        before = header_xp(page)

        # Passes the visible test (the first line), fails the hidden one (nothing else printed).
        set_code(page, widget, 'print("Hello, World!")\nprint("bye")\n')
        widget.get_by_role("button", name="Check").click()
        block = server_verdict(page, widget, "failed")

        failed = block.locator('.drona-test[data-result="fail"]')
        assert failed.count() >= 1
        hidden_failed = block.locator('.drona-test[data-result="fail"][data-hidden="true"]')
        assert hidden_failed.count() == 1
        feedback = exercise["tests"]["hidden"][0]["feedback"]
        assert hidden_failed.locator(".drona-test__message").inner_text().strip() == feedback
        assert "assert" not in hidden_failed.inner_text()  # the hidden test's code never shows
        assert "XP" not in block.inner_text()
        assert "Lesson completed" not in block.inner_text()

        assert call(page, site, "GET", "gamification/profile")["xp"] == before
        assert page.locator("[data-drona-lesson-status]").get_attribute("data-state") == "graded"
        assert header_xp(page) == before

        # The server's hint ladder: numbered rungs, but not the bottom-out rung after one failed submission.
        tutor = widget.locator(".drona-tutor")
        hints = exercise["hints"]
        tutor.get_by_role("button", name="Hint").click()
        labels = tutor.locator(".drona-msg__label")
        # The code already calls print, which is all the first rung asks about (its done_when): skipped.
        assert re.search(hints[0]["done_when"], 'print("Hello, World!")\nprint("bye")\n')
        page.wait_for_function(
            "() => [...document.querySelectorAll('.drona-tutor .drona-msg__label')].some("
            "l => l.textContent.startsWith('Hint 2 of'))")
        assert labels.last.text_content().strip() == f"Hint 2 of {len(hints)}"
        assert "I skipped hint 1" in tutor.locator(".drona-msg--tutor").last.inner_text()
        for rung in range(3, len(hints)):
            tutor.get_by_role("button", name="Hint").click()
            page.wait_for_function(
                "n => [...document.querySelectorAll('.drona-tutor .drona-msg__label')].some("
                "l => l.textContent.startsWith(`Hint ${n} of`))", arg=rung)
        tutor.get_by_role("button", name="Hint").click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.drona-tutor .drona-msg--tutor[data-state=done]')].some("
            "m => m.textContent.includes('It opens after 2 more different attempts'))")
        shown = [text for label in labels.all() if (text := label.text_content().strip())]
        assert shown[-1] == f"Hint {len(hints) - 1} of {len(hints)}"  # the gate's reply carries no rung
        assert "— the answer" not in tutor.text_content()


def test_signed_out_check_invites_sign_in(page: Any, demo_site: DemoSite) -> None:
    widget, _ = open_say_hello(page, demo_site)
    set_code(page, widget, 'print("Hello, World!")\n')
    widget.get_by_role("button", name="Check").click()
    block = server_verdict(page, widget, "signed-out")
    assert "Sign in to have your solution graded and saved" in re.sub(r"\s+", " ", block.inner_text())


def test_challenge_shows_the_countdown_after_sign_in(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        page.goto(site.base_url + FIZZBUZZ_CHALLENGE)
        page.wait_for_selector('[data-drona-challenge][data-state="signed-out"]')
        assert "Sign in" in page.locator("[data-drona-challenge]").inner_text()

        sign_up_and_onboard(page, site)
        page.goto(site.base_url + FIZZBUZZ_CHALLENGE)
        # The rules first; the clock starts only with Start (tests/e2e/test_challenge_flow.py has more).
        page.wait_for_selector('[data-drona-challenge][data-state="not-started"]')
        assert "15 minutes, starting when you press Start" in page.locator("[data-drona-challenge]").inner_text()
        page.locator("[data-drona-challenge]").get_by_role("button", name="Start the challenge").click()
        page.wait_for_selector('[data-drona-challenge][data-state="running"]')
        countdown = page.locator("[data-drona-countdown]")
        assert re.fullmatch(r"1[45]:\d\d", countdown.inner_text().strip()), countdown.inner_text()
        first = countdown.inner_text()
        page.wait_for_function(
            "t => document.querySelector('[data-drona-countdown]').textContent !== t", arg=first, timeout=5_000)

        # The tutor gives minimal help: Hint only.
        tutor = page.locator(".drona-tutor")
        assert tutor.get_by_role("button", name="Hint").is_visible()
        assert not tutor.get_by_role("button", name="Explain").is_visible()
        assert not tutor.get_by_role("button", name="Example").is_visible()
        assert "no-hints bonus" in tutor.inner_text()

        # The server's clock is the one shown: the same deadline on a later start call.
        lesson_id = page.locator(".drona-lesson-head").get_attribute("data-lesson-id")
        again = call(page, site, "POST", f"challenges/{lesson_id}/start")
        assert 13 * 60 < again["seconds_left"] <= 15 * 60


def test_a_network_error_is_retried_once_with_the_same_submission_id(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        widget, _ = open_say_hello(page, site)
        sent: list[str] = []

        def flaky(route: Any) -> None:
            if route.request.method != "POST":
                route.continue_()
                return
            sent.append(route.request.post_data_json["submission_id"])
            if len(sent) == 1:
                route.abort()  # the first answer is lost
            else:
                route.continue_()

        page.route("**/api/exercises/*/submissions", flaky)
        set_code(page, widget, 'print("Hello, World!")\n')
        widget.get_by_role("button", name="Check").click()
        server_verdict(page, widget, "passed")
        assert len(sent) == 2 and sent[0] == sent[1]


def test_challenge_time_up_stops_server_grading(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        # A running attempt about to run out (the real one has 15 minutes), under a `locked` policy.
        state = {"lesson_id": "x", "status": "running", "attempt": 1, "attempts_left": 0,
                 "started_at": "2024-01-01T00:00:00Z", "deadline": "2024-01-01T00:15:00Z", "seconds_left": 2,
                 "retake_at": None, "can_start": False, "submission_mode": "timed", "time_limit_minutes": 15,
                 "server_time": "2024-01-01T00:14:58Z",
                 "policy": {"max_attempts": 1, "cooldown_minutes": 0, "after_expiry": "locked", "practice_xp": True}}
        expired = {**state, "status": "expired", "seconds_left": 0, "submission_mode": "locked"}
        answers = [state]  # the first read; every later one (after the time is up) says expired

        def answer(route: Any) -> None:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(answers.pop(0) if answers
                                                                                      else expired))

        page.route("**/api/challenges/*", answer)
        page.goto(site.base_url + FIZZBUZZ_CHALLENGE)
        page.wait_for_selector('[data-drona-challenge][data-state="warning"]')
        page.wait_for_selector('[data-drona-challenge][data-state="expired"]', timeout=10_000)
        assert "Time is up" in page.locator("[data-drona-challenge]").inner_text()
        widget = page.locator(".drona-exercise")
        page.wait_for_selector(".drona-exercise[data-state=ready]", timeout=60_000)
        widget.get_by_role("button", name="Check").click()
        block = server_verdict(page, widget, "expired")
        assert "no longer graded" in block.inner_text()
