"""Code that follows the learner (issue #13): drafts saved on the server, restored in another
browser with the last server verdict; an offline edit merged when back online without losing
either side; and "Ready" only once Python can run.

Headless Chromium against `drona serve` of the demo content (see conftest.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import READY, DemoSite, authored, set_code
from .test_learner import PASSWORD, call, learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e

SAY_HELLO = "python-developer/python-basics/getting-started/hello-python/"
SERVER_CHECK = "[data-drona-server-check]"


def open_exercise(page: Any, site: DemoSite) -> tuple[Any, str]:
    exercise, _ = authored("exercises", "say-hello")
    page.goto(site.base_url + SAY_HELLO)
    selector = f'.drona-exercise[data-exercise-id="{exercise["id"]}"]'
    page.wait_for_selector(selector + "[data-state=ready]", timeout=60_000)
    return page.locator(selector), str(exercise["id"])


def server_draft(page: Any, site: DemoSite, exercise_id: str) -> dict[str, Any]:
    return dict(call(page, site, "GET", f"exercises/{exercise_id}/draft"))


def wait_server_code(page: Any, site: DemoSite, exercise_id: str, code: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll the API until the server's draft holds `code` (the save is debounced)."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = server_draft(page, site, exercise_id)
        if state["draft"] and state["draft"]["code"] == code:
            return state
        time.sleep(0.3)
    raise AssertionError(f"the server never stored the draft {code!r}: {state}")


def sign_in(page: Any, site: DemoSite, email: str) -> None:
    call(page, site, "POST", "auth/login", {"email": email, "password": PASSWORD})


def editor_text(widget: Any) -> Any:
    return widget.locator(".cm-content")


def test_code_and_verdict_follow_the_learner_to_another_browser(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    code = 'print("Hello, World!")  # written in browser A\n'
    with learner_page(browser) as first:
        email = sign_up_and_onboard(first, site)
        widget, exercise_id = open_exercise(first, site)
        set_code(first, widget, code)
        saved = wait_server_code(first, site, exercise_id, code)
        assert saved["draft"]["revision"] >= 1 and saved["others"] == []

        with learner_page(browser) as second:
            sign_in(second, site, email)
            other, _ = open_exercise(second, site)
            expect(editor_text(other)).to_contain_text("written in browser A", timeout=15_000)
            assert other.locator(".drona-draft-note").inner_text().strip() == "", "no conflict to offer"
            panel = other.locator(SERVER_CHECK)
            assert panel.get_attribute("data-state") == "idle" and panel.is_hidden(), "nothing graded yet"

            widget.get_by_role("button", name="Check").click()
            first.wait_for_selector(f'{SERVER_CHECK}[data-state="passed"]', timeout=60_000)

            second.reload()
            second.wait_for_selector(READY, timeout=60_000)
            block = second.locator(f'{SERVER_CHECK}[data-state="passed"]')
            expect(block).to_be_visible(timeout=15_000)
            assert "Passed" in block.locator(".drona-results__summary").inner_text()
            assert "last server check" in block.inner_text()
            expect(editor_text(second.locator(".drona-exercise").first)).to_contain_text("written in browser A")


def test_offline_edit_is_merged_and_the_other_side_kept(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        email = sign_up_and_onboard(page, site)
        widget, exercise_id = open_exercise(page, site)
        set_code(page, widget, "print('first version')\n")
        wait_server_code(page, site, exercise_id, "print('first version')\n")

        page.context.set_offline(True)
        set_code(page, widget, "print('typed offline')\n")
        page.wait_for_timeout(2500)  # past the save delay: the save fails and waits

        with learner_page(browser) as other_device:
            sign_in(other_device, site, email)
            elsewhere, _ = open_exercise(other_device, site)
            expect(editor_text(elsewhere)).to_contain_text("first version", timeout=15_000)
            set_code(other_device, elsewhere, "print('other device')\n")
            wait_server_code(other_device, site, exercise_id, "print('other device')\n")

        page.context.set_offline(False)  # "online": the queued edit goes out on its old revision
        note = widget.locator(".drona-draft-note")
        expect(note).to_contain_text("was kept", timeout=20_000)
        # The other device's edit is newer, so it is the draft; the offline one is kept.
        expect(editor_text(widget)).to_contain_text("other device")
        state = server_draft(page, site, exercise_id)
        assert state["draft"]["code"] == "print('other device')\n"
        assert [o["code"] for o in state["others"]] == ["print('typed offline')\n"]

        note.get_by_role("button", name="Restore it").click()
        expect(editor_text(widget)).to_contain_text("typed offline", timeout=15_000)
        state = server_draft(page, site, exercise_id)
        assert state["draft"]["code"] == "print('typed offline')\n"
        assert [o["code"] for o in state["others"]] == ["print('other device')\n"], "the restore is undoable"


def test_edits_are_saved_when_the_page_is_left_before_the_save_delay(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        widget, exercise_id = open_exercise(page, site)
        page.wait_for_timeout(500)  # the draft sync of the page has answered
        set_code(page, widget, "print('left at once')\n")
        page.goto(site.base_url)  # well within the 1.5 s save delay: pagehide sends it (keepalive)
        state = wait_server_code(page, site, exercise_id, "print('left at once')\n", timeout=10.0)
        assert state["others"] == []


def test_ready_means_python_runs_at_once(browser: Any, demo_site: DemoSite) -> None:
    """While loading the status shows progress; at Ready the runner is idle, warmed up, and Run starts at once."""
    with learner_page(browser) as page:
        exercise, _ = authored("exercises", "say-hello")
        page.goto(demo_site.base_url + SAY_HELLO)
        widget = page.locator(f'.drona-exercise[data-exercise-id="{exercise["id"]}"]')
        page.wait_for_selector(READY, timeout=60_000)
        runner = page.evaluate("() => ({state: drona.runner.state, busy: drona.runner.busy, "
                               "progress: drona.runner.progress, timings: drona.runner.timings})")
        assert runner["state"] == "ready" and runner["busy"] is False and runner["progress"] == 1
        assert "warmUp" in runner["timings"], "the worker warmed Python up before it said ready"
        assert widget.locator(".drona-status").inner_text().strip() == "Ready"
        assert widget.locator(".drona-status progress").count() == 0

        set_code(page, widget, "print(6 * 7)\n")
        started = time.monotonic()
        widget.get_by_role("button", name="Run").click()
        expect(widget.locator(".drona-output__log")).to_contain_text("42", timeout=10_000)
        assert time.monotonic() - started < 5, "a run at Ready does not wait for Python to load"


def test_loading_shows_an_accessible_progress_bar(browser: Any, demo_site: DemoSite) -> None:
    with learner_page(browser) as page:
        # Hold the Pyodide runtime back, so the loading state lasts long enough to look at.
        release: list[Any] = []
        page.route("**/pyodide.asm.wasm", lambda route: release.append(route))
        page.goto(demo_site.base_url + SAY_HELLO)
        bar = page.locator(".drona-exercise .drona-status progress")
        expect(bar).to_be_visible(timeout=30_000)
        assert bar.get_attribute("aria-label") in ("Loading Python…", "Restarting Python…")
        assert page.locator(".drona-exercise").first.get_attribute("data-state") == "loading"
        assert page.locator(".drona-exercise .drona-status").get_attribute("role") == "status"
        deadline = time.monotonic() + 30
        while not release and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        for route in release:
            route.continue_()
        page.wait_for_selector(READY, timeout=60_000)
        assert page.locator(".drona-exercise .drona-status progress").count() == 0
