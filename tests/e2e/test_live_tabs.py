"""Live updates in the browser (site/src/live.js): two tabs of one learner, each served by its own
`drona serve` process on PostgreSQL and Redis. XP earned in the first tab shows in the second tab's
header, and the achievement's toast there, with no reload; the first tab toasts it once.

Cookies belong to the host, not the port: both tabs (one browser context) share the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sidecar.compiler.build import BuildReport

from ..engine_repo import free_port
from ..test_live_events import _env, _serve, _serve_args, _stop, _wait_up
from .conftest import DemoSite
from .test_learner import PASSWORD, call, fresh_email, header_xp, lesson_status, wait_header_xp

pytestmark = pytest.mark.e2e

CONCEPT = "00000000-0000-4000-8000-000000000031"  # a reading lesson of the minimal course: "Mark complete"


def test_xp_earned_in_one_tab_shows_in_a_tab_served_by_the_other_process(
        browser: Any, minimal_build: BuildReport, pg_url: str | None, redis_url: str, tmp_path: Path) -> None:
    if pg_url is None:
        pytest.skip("PostgreSQL is not reachable here (CI sets DRONA_REQUIRE_POSTGRES=1 and starts it)")
    env = _env(pg_url, redis_url, tmp_path)
    ports = free_port(), free_port()
    procs = [_serve(_serve_args(minimal_build, port), env) for port in ports]
    try:
        a, b = (DemoSite(base_url=f"http://127.0.0.1:{port}/") for port in ports)
        for site, proc in zip((a, b), procs, strict=True):
            _wait_up(site.base_url.rstrip("/"), proc)
        lesson = next(item for item in a.lessons() if item["id"] == CONCEPT)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        errors: list[str] = []
        try:
            first, second = context.new_page(), context.new_page()
            for page in (first, second):
                page.on("pageerror", lambda error: errors.append(str(error)))
            call(first, a, "POST", "auth/signup", {"email": fresh_email(), "password": PASSWORD,
                                                    "display_name": "Ada"})
            # Tab 2, on process B: signed in (the cookie is the host's), following live updates.
            second.goto(b.base_url)
            wait_header_xp(second, 0)
            second.wait_for_selector("html[data-drona-live=open]")
            # Tab 1, on process A: the lesson, then "Mark complete".
            first.goto(a.base_url + lesson["url"].lstrip("/"))
            lesson_status(first, "ready")
            first.wait_for_function("() => !localStorage.getItem('drona:progress-queue')")  # "started" is sent
            first.get_by_role("button", name="Mark complete").click()
            lesson_status(first, "completed")
            first.wait_for_selector("[data-drona-userbar] [data-drona-xp]:not([data-drona-xp='0'])")
            earned = header_xp(first)
            assert earned > 0
            # Tab 2 follows without a reload: the header's XP and level, and the badge's toast.
            wait_header_xp(second, earned)
            second.locator(".drona-toast", has_text="Achievement unlocked: First Steps").wait_for()
            assert second.evaluate("performance.getEntriesByType('navigation').length") == 1
            # Tab 1 had the toast from its own answer and the same event live: shown once.
            first.locator(".drona-toast", has_text="Achievement unlocked: First Steps").first.wait_for()
            first.wait_for_timeout(1500)
            assert first.locator(".drona-toast", has_text="Achievement unlocked: First Steps").count() == 1
            # Signed out (here through the API), a page opens no stream.
            call(second, b, "POST", "auth/logout")
            first.reload()
            first.wait_for_selector("html[data-drona-live=closed]")
        finally:
            context.close()
        assert not errors, f"JavaScript errors on the pages: {errors}"
    finally:
        outputs = [_stop(proc) for proc in procs]
    for output in outputs:
        assert "Traceback" not in output, output
