"""The site's Content-Security-Policy in headless Chromium (issue 18; docs/security.md).

The demo site, served by `drona serve` with the policy the build computed: the home page, a lesson,
an exercise whose code runs in Pyodide, and a signed-in learner's dashboard and settings report no
violation at all, while a script injected into the page is refused. `drona serve --watch` still
reloads pages under the policy (its live-reload script is a file of the sidecar).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_watch import LESSON, PAGE, served  # noqa: F401 - `served` is a fixture used below

from .conftest import READY, DemoSite, authored, set_code

pytestmark = pytest.mark.e2e

# Installed before any script of every document: records each violation the browser reports.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push({ directive: event.effectiveDirective, blocked: event.blockedURI,
                                sample: event.sample, source: event.sourceFile, line: event.lineNumber });
}, true);
"""
INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__injectedRan = true;";
  document.head.append(script);
  const button = document.createElement("button");
  button.setAttribute("onclick", "window.__handlerRan = true;");
  document.body.append(button);
  button.click();
  button.remove();
  return { script: window.__injectedRan === true, handler: window.__handlerRan === true };
}"""
# In a task of the worker's own: code evaluated through the DevTools protocol is exempt from the policy.
EVAL_IN_WORKER = """() => new Promise((resolve) => setTimeout(() => {
  try { resolve(String(eval("6 * 7"))); } catch (error) { resolve(error.name); }
}, 0))"""


@contextmanager
def watched(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A fresh context that records CSP violations and the console's CSP errors; fails on page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: console.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page, console
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def violations(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.__cspViolations || []"))


def assert_clean(page: Any, console: list[str], where: str) -> None:
    assert violations(page) == [], f"{where}: the policy refused something: {violations(page)}"
    assert console == [], f"{where}: CSP errors in the console: {console}"


def sign_up(page: Any, site: DemoSite) -> None:
    """A learner made through the API, signed in in this context, onboarding done."""
    request = page.context.request
    request.get(site.base_url + "api/auth/csrf")

    def post(path: str, data: Any) -> None:
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "drona_csrf")
        response = request.post(site.base_url + "api/" + path, data=json.dumps(data),
                                headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
        assert response.ok, f"{path}: {response.status} {response.text()}"

    post("auth/signup", {"email": f"csp-{uuid.uuid4().hex[:10]}@example.com", "password": "correct horse battery",
                         "display_name": "Ada"})
    track = next(t for t in site.get_json("api/catalog")["tracks"] if t["status"] == "active")["id"]
    post("onboarding/role", {"learner_kind": "student"})
    post("onboarding/skill-check", {"track_id": track, "answers": {}})
    post("onboarding/goals", {"goals": ["Build a project"], "minutes_per_week": 120})
    post("onboarding/learning-style", {"learning_style": "hands-on"})
    post("onboarding/complete", {"track_id": track, "timezone": "UTC"})


def test_the_site_runs_under_its_policy_and_an_injected_script_is_refused(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with watched(browser) as (page, console):
        response = page.goto(site.base_url)
        policy = response.headers["content-security-policy"]
        assert "'wasm-unsafe-eval'" in policy and "'sha256-" in policy and "'unsafe-eval'" not in policy
        page.wait_for_load_state("networkidle")
        assert_clean(page, console, "home page")

        reading = next(lesson for lesson in site.lessons() if not lesson.get("exercise_ids")
                       and not lesson.get("quiz_ids"))
        page.goto(site.base_url + reading["url"])
        page.wait_for_load_state("networkidle")
        assert page.locator(".drona-progress__fill").count() == 1
        assert_clean(page, console, "reading lesson")

        exercise, _ = authored("exercises", "say-hello")
        page.goto(site.lesson_url_with(exercise_id=exercise["id"]))
        widget = page.locator(f'.drona-exercise[data-exercise-id="{exercise["id"]}"]')
        page.wait_for_selector(f'.drona-exercise[data-exercise-id="{exercise["id"]}"][data-state=ready]',
                               timeout=60_000)
        set_code(page, widget, 'print("Hello from", 6 * 7)\n')
        widget.get_by_role("button", name="Run").click()
        page.wait_for_selector(f"{READY} .drona-output__log .drona-note, {READY} .drona-traceback")
        assert "Hello from 42" in widget.locator(".drona-output__log").inner_text()
        assert_clean(page, console, "exercise page (Python in Pyodide)")
        # The Python worker runs under the same policy (its script carries it): WebAssembly, yes; eval, no.
        workers = [w for w in page.workers if w.url.endswith("/assets/drona/worker.js")]
        assert workers, f"the Python worker: {[w.url for w in page.workers]}"
        assert workers[0].evaluate(EVAL_IN_WORKER) == "EvalError"
        assert page.evaluate(EVAL_IN_WORKER) == "EvalError"  # and in the page
        page.evaluate("window.__cspViolations = []")
        console.clear()

        # An inline script and an inline handler that the policy does not name are refused.
        ran = page.evaluate(INJECT)
        assert ran == {"script": False, "handler": False}
        refused = violations(page)
        assert {v["directive"] for v in refused} == {"script-src-elem", "script-src-attr"}, refused
        assert all(v["blocked"] == "inline" for v in refused), refused
        page.evaluate("window.__cspViolations = []")
        console.clear()

        sign_up(page, site)
        for path, app in (("dashboard/", "dashboard"), ("account/settings/", "settings"), ("progress/", "progress")):
            page.goto(site.base_url + path)
            page.wait_for_selector(f'[data-drona-app="{app}"][data-state=ready]')
            page.wait_for_load_state("networkidle")
            assert_clean(page, console, path)


def test_live_reload_works_under_the_policy(browser: Any, served: tuple[Path, str]) -> None:  # noqa: F811
    repo, base = served
    with watched(browser) as (page, console):
        response = page.goto(base + PAGE)
        assert "'wasm-unsafe-eval'" in response.headers["content-security-policy"]
        # (Not wait_for_function: Playwright polls it with eval, which this very policy refuses.)
        page.locator('script[src$="/__drona/livereload.js"]').wait_for(state="attached")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__dronaLiveReload") is True, "the live-reload script ran"
        lesson = repo / LESSON
        with page.expect_navigation(timeout=120_000):  # the reload the rebuild's event asks for
            lesson.write_text(lesson.read_text().replace("Programs talk to you", "Programs chat with you"))
        page.get_by_text("Programs chat with you").first.wait_for()
        assert page.evaluate("window.__dronaLiveReload") is True
        assert_clean(page, console, "live-reloaded page")
