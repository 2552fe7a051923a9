"""A learner on a lesson page: write code, Run, Check, stop a runaway loop, ask for hints, answer input().

Everything runs in headless Chromium against `drona serve` of the demo content, with Python in
Pyodide inside the page's worker, served by the site itself.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from .conftest import READY, DemoSite, answer_quiz, authored, set_code

pytestmark = pytest.mark.e2e


def plain(markdown: str) -> str:
    """Authored Markdown as the learner reads it: no code ticks or emphasis, single spaces."""
    text = re.sub(r"[`*_]", "", markdown)
    return re.sub(r"\s+", " ", text).strip()


def visible_text(locator: Any) -> str:
    return re.sub(r"\s+", " ", locator.inner_text()).strip()


def open_exercise(page: Any, demo_site: DemoSite, slug: str) -> tuple[Any, dict[str, Any]]:
    exercise, _ = authored("exercises", slug)
    page.goto(demo_site.lesson_url_with(exercise_id=exercise["id"]))
    widget = page.locator(f'.drona-exercise[data-exercise-id="{exercise["id"]}"]')
    page.wait_for_selector(f'.drona-exercise[data-exercise-id="{exercise["id"]}"][data-state=ready]',
                           timeout=60_000)
    return widget, exercise


def run(page: Any, widget: Any) -> None:
    widget.get_by_role("button", name="Run").click()
    page.wait_for_selector(f'{READY} .drona-output__log .drona-note, {READY} .drona-traceback')


def test_run_and_check_say_hello(page: Any, demo_site: DemoSite) -> None:
    widget, exercise = open_exercise(page, demo_site, "say-hello")
    assert "Ready" in widget.locator(".drona-status").inner_text()

    set_code(page, widget, 'print("Hello, World!")\n')
    run(page, widget)
    output = widget.locator(".drona-output__log")
    assert "Hello, World!" in output.inner_text()
    assert widget.locator(".drona-traceback").count() == 0

    widget.get_by_role("button", name="Check").click()
    page.wait_for_selector(".drona-exercise .drona-results__summary[data-tone]")
    visible = exercise["tests"]["visible"]
    results = widget.locator(".drona-test")
    assert results.count() == len(visible)
    for index, test in enumerate(visible):
        item = results.nth(index)
        assert item.get_attribute("data-result") == "pass", visible_text(item)
        assert test["name"] in item.inner_text()
    assert widget.locator(".drona-results__summary").get_attribute("data-tone") == "success"


def test_check_reports_failing_test_with_its_message(page: Any, demo_site: DemoSite) -> None:
    widget, _ = open_exercise(page, demo_site, "say-hello")
    set_code(page, widget, 'print("hello world")\n')
    widget.get_by_role("button", name="Check").click()
    page.wait_for_selector(".drona-exercise .drona-results__summary[data-tone=error]")
    failed = widget.locator('.drona-test[data-result="fail"]')
    assert failed.count() >= 1
    assert "expected" in failed.first.locator(".drona-test__message").inner_text()


def test_infinite_loop_is_stopped_then_next_run_works(page: Any, demo_site: DemoSite) -> None:
    widget, exercise = open_exercise(page, demo_site, "say-hello")
    limit = exercise.get("time_limit_seconds", 5)
    set_code(page, widget, "while True:\n    pass\n")
    started = time.monotonic()
    widget.get_by_role("button", name="Run").click()
    note = widget.locator(".drona-output__log .drona-note--error")
    note.wait_for(timeout=(limit + 5) * 1000)
    elapsed = time.monotonic() - started
    assert elapsed < limit + 3, f"stopped after {elapsed:.1f} s with a {limit} s limit"
    message = note.inner_text()
    assert f"Stopped: your program ran longer than {limit:g} s" in message
    assert "loop that never ends" in message

    page.wait_for_selector(READY, timeout=30_000)
    set_code(page, widget, 'print("after the loop")\n')
    run(page, widget)
    assert "after the loop" in widget.locator(".drona-output__log").inner_text()


def test_hint_ladder_reveals_one_rung_at_a_time(page: Any, demo_site: DemoSite) -> None:
    widget, exercise = open_exercise(page, demo_site, "say-hello")
    hints = exercise["hints"]
    tutor = widget.locator(".drona-tutor")
    messages = tutor.locator(".drona-msg--tutor .drona-msg__body")
    before = messages.count()

    tutor.get_by_role("button", name="Hint").click()
    first = visible_text(messages.nth(before))
    assert first == plain(hints[0]["text"])
    assert tutor.locator(".drona-msg__label").last.text_content().strip() == f"Hint 1 of {len(hints)}"

    # Signed out, that was all: the later rungs are not in the page, they come from the server.
    tutor.get_by_role("button", name="Hint").click()
    gate = visible_text(messages.last)
    assert gate.startswith("Sign in for more hints"), gate
    assert plain(hints[1]["text"]) not in gate
    widget.get_by_role("button", name="Check").click()
    page.wait_for_selector(".drona-exercise .drona-results__summary[data-tone]")
    tutor.get_by_role("button", name="Hint").click()  # a Check changes nothing: the answer is not in the page
    assert visible_text(messages.last).startswith("Sign in for more hints")
    assert plain(hints[-1]["text"]) not in visible_text(tutor)


def test_input_is_answered_inline(page: Any, demo_site: DemoSite) -> None:
    widget, _ = open_exercise(page, demo_site, "greet-by-name")
    isolated = page.evaluate("crossOriginIsolated")
    assert isolated, "drona serve sends COOP/COEP, so input() blocks on a SharedArrayBuffer"
    set_code(page, widget, 'name = input("What is your name? ")\nprint("Hello, " + name + "!")\n')
    widget.get_by_role("button", name="Run").click()
    field = widget.locator(".drona-stdin-line__field")
    field.wait_for()
    assert "What is your name?" in widget.locator(".drona-output__log").inner_text()
    field.fill("Ada")
    field.press("Enter")
    page.wait_for_selector(f"{READY} .drona-note--success")
    assert "Hello, Ada!" in widget.locator(".drona-output__log").inner_text()


def test_quiz_is_graded_by_the_server(page: Any, demo_site: DemoSite) -> None:
    quiz, _ = authored("quizzes", "*")
    page.goto(demo_site.lesson_url_with(quiz_id=quiz["id"]))
    page.wait_for_selector(f'.drona-quiz[data-quiz-id="{quiz["id"]}"][data-state=ready]')
    answer_quiz(page, quiz)
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_selector(".drona-quiz[data-result]")
    assert page.locator(".drona-quiz").get_attribute("data-result") == "passed"
    assert "100%" in page.locator(".drona-quiz__status").inner_text()
    assert page.locator('.drona-quiz-item[data-result="correct"]').count() == len(quiz["items"])


def test_instant_navigation_keeps_the_python_worker(page: Any, demo_site: DemoSite) -> None:
    # Material follows only links listed in sitemap.xml, matched on origin: `drona serve` rewrites
    # the sitemap to the address it is reached at.
    sitemap = demo_site.get_text("sitemap.xml")
    assert f"<loc>{demo_site.base_url}" in sitemap, "sitemap.xml must list the pages at the served origin"
    widget, _ = open_exercise(page, demo_site, "say-hello")
    page.evaluate("window.__sameDocument = true")
    target = page.locator('.md-nav--primary a[href$="names-and-input/"]').first
    target.click()
    page.wait_for_url("**/names-and-input/")
    page.wait_for_selector(READY, timeout=5_000)
    assert page.evaluate("window.__sameDocument === true"), "the click reloaded the page"
    assert page.evaluate("window.drona.runner.restarts") == 0


def test_keyboard_runs_and_leaves_the_editor(page: Any, demo_site: DemoSite) -> None:
    widget, _ = open_exercise(page, demo_site, "say-hello")
    set_code(page, widget, 'print("from the keyboard")\n')
    page.keyboard.press("ControlOrMeta+Enter")
    page.wait_for_selector(f"{READY} .drona-note--success")
    assert "from the keyboard" in widget.locator(".drona-output__log").inner_text()

    widget.locator(".cm-content").click()
    page.keyboard.press("Tab")  # indents: the editor keeps focus
    assert page.evaluate("document.activeElement.classList.contains('cm-content')")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Run"


def test_code_is_kept_across_reloads_until_reset(page: Any, demo_site: DemoSite) -> None:
    widget, exercise = open_exercise(page, demo_site, "say-hello")
    set_code(page, widget, 'print("kept")\n')
    page.wait_for_timeout(500)  # the editor saves after a short pause
    page.reload()
    page.wait_for_selector(READY, timeout=60_000)
    assert 'print("kept")' in widget.locator(".cm-content").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    widget.get_by_role("button", name="Reset to starter").click()
    starter_first_line = exercise["starter"].splitlines()[0]
    assert starter_first_line in widget.locator(".cm-content").inner_text()
    assert 'print("kept")' not in widget.locator(".cm-content").inner_text()


def test_a_program_can_import_pytest_and_asyncio_runs(page: Any, demo_site: DemoSite) -> None:
    """The worker installs the vendored pytest wheels on the first `import pytest` (served by the site, no
    network), and asyncio.run works on the simulated clock (issue #15)."""
    widget, _ = open_exercise(page, demo_site, "say-hello")
    wheels: list[str] = []
    page.on("request", lambda r: wheels.append(r.url) if r.url.endswith(".whl") else None)
    set_code(page, widget, "import pytest\n\ndef test_sum():\n    assert sum([1, 2]) == 3\n\n"
                           "test_sum()\nwith pytest.raises(ZeroDivisionError):\n    1 / 0\n"
                           "print('pytest', pytest.__version__, 'ok')\n")
    widget.get_by_role("button", name="Run").click()
    output = widget.locator(".drona-output__log")
    output.filter(has_text="ok").wait_for(timeout=60_000)
    assert re.search(r"pytest \d+\.\d+\.\d+ ok", output.inner_text()), output.inner_text()
    assert wheels and all(url.startswith(demo_site.base_url + "assets/drona/wheels/") for url in wheels)
    assert any("/pytest-" in url for url in wheels)

    set_code(page, widget, "import asyncio\n\nasync def nap(n):\n    await asyncio.sleep(n)\n    return n\n\n"
                           "async def main():\n    loop = asyncio.get_running_loop()\n    start = loop.time()\n"
                           "    got = await asyncio.gather(nap(2), nap(1))\n"
                           "    print(got, 'after', loop.time() - start, 'seconds')\n\nasyncio.run(main())\n")
    run(page, widget)
    assert "[2, 1] after 2.0 seconds" in output.inner_text()
    assert widget.locator(".drona-traceback").count() == 0
