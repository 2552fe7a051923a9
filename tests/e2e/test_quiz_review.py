"""Quiz review in the browser (issue #13): a fail marks the wrong answers without the key, a retake
shuffles the choices, a pass shows the key and the explanations, a reload shows the passed result,
and the dashboard greets a first visit differently.

Headless Chromium against `drona serve` of the demo content (see conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.settings import REPO_ROOT

from .conftest import DemoSite, answer_quiz, authored
from .test_learner import learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e

SLUG = "getting-started-quiz"  # five items of every kind, pass mark 80%: one wrong still passes
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"  # served from disk, never a CDN
SCHEMES = {"light": "default", "dark": "slate"}


def _item(page: Any, item: dict[str, Any]) -> Any:
    return page.locator(f'.drona-quiz-item[data-item-id="{item["id"]}"]')


def _by_kind(quiz: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(item for item in quiz["items"] if item["kind"] == kind)


def _wrong(item: dict[str, Any]) -> Any:
    if item["kind"] == "multiple-choice":
        return (item["answer"] + 1) % len(item["choices"])
    if item["kind"] == "find-the-bug":
        return 1 if item["answer"] != 1 else 2
    return "wrong answer"


def _fill(page: Any, item: dict[str, Any], value: Any) -> None:
    node = _item(page, item)
    if item["kind"] in ("multiple-choice", "find-the-bug"):
        node.locator(f'input[type=radio][value="{value}"]').check()
    elif item["kind"] == "predict-output":
        node.locator("textarea").fill(str(value))
    else:
        node.locator(".drona-blank").first.fill(str(value))


def _choice_order(page: Any, item: dict[str, Any]) -> list[str]:
    return [str(v) for v in _item(page, item).locator("input[type=radio]").evaluate_all("els => els.map(e => e.value)")]


def _open_quiz(page: Any, site: DemoSite, quiz: dict[str, Any]) -> Any:
    page.goto(site.lesson_url_with(quiz_id=quiz["id"]))
    page.wait_for_selector(f'.drona-quiz[data-quiz-id="{quiz["id"]}"][data-state=ready]')
    return page.locator(f'.drona-quiz[data-quiz-id="{quiz["id"]}"]')


def test_signed_out_the_quiz_asks_for_no_stored_attempt(browser: Any, demo_site: DemoSite) -> None:
    quiz, _ = authored("quizzes", SLUG)
    with learner_page(browser) as page:
        asked: list[str] = []
        console_errors: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
        widget = _open_quiz(page, demo_site, quiz)
        assert widget.get_attribute("data-result") is None, "a blank form"
        assert not [url for url in asked if "/attempts" in url]
        assert console_errors == []


def test_fail_then_retake_then_pass_then_reload(browser: Any, demo_site: DemoSite) -> None:
    quiz, _ = authored("quizzes", SLUG)
    mc, bug = _by_kind(quiz, "multiple-choice"), _by_kind(quiz, "find-the-bug")
    with learner_page(browser) as page:
        sign_up_and_onboard(page, demo_site)
        widget = _open_quiz(page, demo_site, quiz)

        # 1. Everything wrong: each item marked wrong, the picks marked with a text cue, no key anywhere.
        for item in quiz["items"]:
            _fill(page, item, _wrong(item))
        widget.get_by_role("button", name="Submit answers").click()
        page.wait_for_selector(".drona-quiz[data-result=failed]")
        for item in quiz["items"]:
            node = _item(page, item)
            assert node.get_attribute("data-result") == "incorrect"
            assert node.locator(".drona-quiz__explanation").count() == 0
            assert node.locator(".drona-quiz__key").count() == 0
            assert "Not quite" in node.locator(".drona-quiz__verdict").inner_text()
            assert node.locator(".drona-quiz__nudge").count() == 1
            assert "null" not in node.locator(".drona-quiz__feedback").inner_text()
        assert widget.locator("[data-state=answer], [data-state=correct]").count() == 0
        picked = _item(page, bug).locator(f'label:has(input[value="{_wrong(bug)}"])')
        assert picked.get_attribute("data-state") == "incorrect" and "✗" in picked.inner_text()
        text = widget.inner_text()
        for item in quiz["items"]:
            assert item["explanation"][:40] not in text
        assert widget.get_by_role("status").inner_text().startswith("You scored 0%")
        assert _item(page, mc).locator("input").first.is_disabled(), "the graded answers are read-only"
        assert page.evaluate("document.activeElement.textContent") == "Retake quiz", "focus is not dropped"

        # 2. Retake: blank answers, the choices in another order (their values stay the authored indices).
        before = _choice_order(page, mc)
        widget.get_by_role("button", name="Retake quiz").click()
        assert widget.get_attribute("data-result") is None
        after = _choice_order(page, mc)
        assert after != before and sorted(after) == sorted(before)
        assert _item(page, mc).locator("input:checked").count() == 0
        assert widget.locator(".drona-cue").count() == 0

        # 3. Everything right but the multiple-choice item: 80%, a pass; now the key and explanations show.
        answer_quiz(page, quiz)
        _fill(page, mc, _wrong(mc))
        widget.get_by_role("button", name="Submit answers").click()
        page.wait_for_selector(".drona-quiz[data-result=passed]")
        for item in quiz["items"]:
            assert _item(page, item).locator(".drona-quiz__explanation").count() == 1
            assert "null" not in _item(page, item).locator(".drona-quiz__feedback").inner_text()
        right_choice = _item(page, mc).locator(f'label:has(input[value="{mc["answer"]}"])')
        assert right_choice.get_attribute("data-state") == "answer" and "right answer" in right_choice.inner_text()
        wrong_choice = _item(page, mc).locator(f'label:has(input[value="{_wrong(mc)}"])')
        assert wrong_choice.get_attribute("data-state") == "incorrect"
        bug_line = _item(page, bug).locator(f'label:has(input[value="{bug["answer"]}"])')
        assert bug_line.get_attribute("data-state") == "correct" and "✓" in bug_line.inner_text()
        assert _item(page, bug).locator("[data-state=incorrect]").count() == 0

        # 4. Reload: the passed result, read-only, with Retake; not a blank form.
        page.reload()
        page.wait_for_selector(f'.drona-quiz[data-quiz-id="{quiz["id"]}"][data-state=ready]')
        assert widget.get_attribute("data-result") == "passed"
        assert "Your latest attempt" in widget.get_by_role("status").inner_text()
        assert widget.get_by_role("button", name="Retake quiz").is_visible()
        assert not widget.get_by_role("button", name="Submit answers").is_visible()
        assert bug_line.get_attribute("data-state") == "correct"
        assert _item(page, mc).locator(f'input[value="{_wrong(mc)}"]').is_checked()
        assert _item(page, mc).locator(".drona-quiz__explanation").count() == 1


def test_dashboard_greets_a_first_visit_then_welcomes_back(browser: Any, demo_site: DemoSite) -> None:
    with learner_page(browser) as page:
        sign_up_and_onboard(page, demo_site, name="Katherine")
        app = '[data-drona-app="dashboard"][data-state=ready]'
        page.goto(demo_site.base_url + "dashboard/")
        page.wait_for_selector(app)
        hello = page.locator(".drona-dash__hello")
        assert page.locator(app).get_attribute("data-visit") == "first"
        assert hello.inner_text().startswith("Welcome, Katherine! Start with")
        assert "back" not in hello.inner_text()
        link = hello.locator("a[data-drona-first-lesson]")
        first = next(lesson for lesson in demo_site.lessons() if link.get_attribute("href").endswith(lesson["url"]))
        assert link.inner_text() == first["title"], "the first lesson, by name"
        page.reload()
        page.wait_for_selector(app)
        assert page.locator(app).get_attribute("data-visit") == "returning"
        assert hello.inner_text() == "Welcome back, Katherine."


def _axe_problems(page: Any, selector: str) -> list[str]:
    """axe-core's serious and critical WCAG 2.2 AA violations inside `selector`."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the site's Content-Security-Policy refuses inline scripts.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async (selector) => {
            const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
            const result = await axe.run(selector, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map((v) => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map((n) => n.target.join(" ") + ": " + (n.failureSummary || ""))}));
        }""",
        selector,
    )
    return [f"{v['id']}: {node}" for v in found if v["impact"] in ("serious", "critical") for node in v["nodes"]]


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_the_review_meets_wcag_aa_in_both_schemes(browser: Any, demo_site: DemoSite, scheme: str) -> None:
    """The failed review (wrong picks, nudges) and the passed one (the key, a wrong pick, explanations)."""
    quiz, _ = authored("quizzes", SLUG)
    mc = _by_kind(quiz, "multiple-choice")
    with learner_page(browser, color_scheme=scheme) as page:
        sign_up_and_onboard(page, demo_site)
        widget = _open_quiz(page, demo_site, quiz)
        assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == SCHEMES[scheme]
        for item in quiz["items"][:3]:
            _fill(page, item, _wrong(item))
        submit = widget.get_by_role("button", name="Submit answers")
        submit.click()
        submit.click()  # the second press submits with the unanswered items
        page.wait_for_selector(".drona-quiz[data-result=failed]")
        assert _axe_problems(page, ".drona-quiz") == []
        widget.get_by_role("button", name="Retake quiz").click()
        answer_quiz(page, quiz)
        _fill(page, mc, _wrong(mc))
        submit.click()
        page.wait_for_selector(".drona-quiz[data-result=passed]")
        assert _axe_problems(page, ".drona-quiz") == []
