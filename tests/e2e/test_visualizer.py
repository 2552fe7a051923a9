"""The Visualization canvas in Chromium: the learner's own code stepped through in the page's Pyodide
worker (aliasing drawn as two arrows to one box, scrubbing back), input(), the step limit, and an
authored ::visualize diagram in a concept lesson."""

from __future__ import annotations

import time
from typing import Any

import pytest

from .conftest import READY, DemoSite, authored, set_code

pytestmark = pytest.mark.e2e

VIZ = ".drona-viz:not([hidden])"


def open_exercise(page: Any, demo_site: DemoSite, slug: str) -> Any:
    exercise, _ = authored("exercises", slug)
    page.goto(demo_site.lesson_url_with(exercise_id=exercise["id"]))
    selector = f'.drona-exercise[data-exercise-id="{exercise["id"]}"]'
    page.wait_for_selector(f"{selector}[data-state=ready]", timeout=60_000)
    return page.locator(selector)


def visualize(page: Any, widget: Any) -> Any:
    widget.get_by_role("button", name="Visualize").click()
    widget.locator(VIZ).wait_for(timeout=30_000)
    return widget.locator(".drona-viz")


def current_line(viz: Any) -> int:
    return int(viz.locator('.drona-viz__line[aria-current="step"]').get_attribute("data-line"))


def variable_refs(viz: Any) -> dict[str, str | None]:
    """name -> the heap id its value points at (None for a plain value), in the innermost frame."""
    rows = viz.locator(".drona-viz__frame--current .drona-viz__vars tr")
    found: dict[str, str | None] = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        if row.locator("th code").count() == 0:
            continue
        name = row.locator("th code").inner_text()
        ref = row.locator(".drona-viz__ref")
        found[name] = ref.get_attribute("data-ref") if ref.count() else None
    return found


def test_a_list_alias_is_one_box_with_two_arrows_and_stepping_back_undoes_the_append(
        page: Any, demo_site: DemoSite) -> None:
    widget = open_exercise(page, demo_site, "say-hello")
    set_code(page, widget, "a = [1, 2]\nb = a\nb.append(3)\nc = [1, 2, 3]\nprint(a)\n")
    viz = visualize(page, widget)
    assert current_line(viz) == 1 and "Step 1 of" in viz.locator(".drona-viz__position").inner_text()

    viz.get_by_role("button", name="Last").click()
    refs = variable_refs(viz)
    assert refs["a"] is not None and refs["a"] == refs["b"], "a and b point at one list"
    assert refs["c"] not in (None, refs["a"]), "an equal list is a second box"
    shared = viz.locator(f'.drona-viz__obj[data-obj="{refs["a"]}"]')
    assert shared.locator(".drona-viz__cell").count() == 3
    arrows = viz.locator(f'svg.drona-viz__arrows path[data-ref="{refs["a"]}"]')
    assert arrows.count() == 2, "one arrow from each name to the shared box"
    assert "[1, 2, 3]" in viz.locator(".drona-viz__output").inner_text()

    # Scrub back to just before line 3 ran: the shared list has two items again, nothing printed yet.
    back = viz.get_by_role("button", name="Back")
    for _ in range(10):
        if current_line(viz) == 3:
            break
        back.click()
    assert current_line(viz) == 3
    assert viz.locator(f'.drona-viz__obj[data-obj="{refs["a"]}"] .drona-viz__cell').count() == 2
    assert viz.locator(".drona-viz__output").inner_text() == ""
    # The keyboard scrubs too.
    viz.locator(".drona-viz__controls").get_by_role("button", name="Forward").focus()
    page.keyboard.press("ArrowRight")
    assert current_line(viz) == 4
    # Visualizing is not a submission: the exercise's own results stay untouched.
    assert widget.locator(".drona-results").is_hidden()


def test_visualize_asks_for_input_like_run(page: Any, demo_site: DemoSite) -> None:
    widget = open_exercise(page, demo_site, "greet-by-name")
    set_code(page, widget, 'name = input("Name? ")\ngreeting = "Hi " + name\nprint(greeting)\n')
    widget.get_by_role("button", name="Visualize").click()
    field = widget.locator(".drona-stdin-line__field")
    field.wait_for()
    field.fill("Ada")
    field.press("Enter")
    viz = widget.locator(".drona-viz")
    widget.locator(VIZ).wait_for()
    viz.get_by_role("button", name="Last").click()
    assert "Name? Ada\nHi Ada" in viz.locator(".drona-viz__output").inner_text()
    cells = viz.locator(".drona-viz__frame--current .drona-viz__scalar")
    assert "'Hi Ada'" in [cells.nth(i).inner_text() for i in range(cells.count())]


def test_an_endless_loop_stops_at_the_step_limit_and_the_page_stays_responsive(
        page: Any, demo_site: DemoSite) -> None:
    widget = open_exercise(page, demo_site, "say-hello")
    set_code(page, widget, "n = 0\nwhile True:\n    n = n + 1\n")
    viz = visualize(page, widget)
    assert "ran past 1000 steps" in viz.locator(".drona-viz__note").inner_text()
    assert viz.locator(".drona-viz__slider").get_attribute("max") == "999"
    started = time.monotonic()
    viz.locator(".drona-viz__slider").fill("999")
    assert viz.get_attribute("data-step") == "999"
    assert time.monotonic() - started < 5, "scrubbing to the end answers at once"
    page.wait_for_selector(f"{READY}")


def test_an_authored_diagram_draws_itself_and_shows_the_call_frame(page: Any, demo_site: DemoSite) -> None:
    lesson = next(lesson for lesson in demo_site.lessons() if lesson["url"].endswith("/defining-functions/"))
    page.goto(demo_site.base_url + lesson["url"])
    block = page.locator(".drona-playground[data-visualize]")
    block.scroll_into_view_if_needed()
    block.locator(VIZ).wait_for(timeout=60_000)
    viz = block.locator(".drona-viz")
    forward = viz.get_by_role("button", name="Forward")
    names: list[str] = []
    for _ in range(20):
        names = viz.locator(".drona-viz__frame-title").all_inner_texts()
        if len(names) == 2:
            break
        forward.click()
    assert names == ["Global frame", "double()"], "a call opens the function's own frame"
    viz.get_by_role("button", name="Last").click()
    assert viz.locator(".drona-viz__frame-title").all_inner_texts() == ["Global frame"]
    assert "10 20" in viz.locator(".drona-viz__output").inner_text()
