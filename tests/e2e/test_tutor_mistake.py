"""The tutor names the learner's mistake (issue #12): a signed-in learner submits a failing attempt
at "Sum up to n", asks "Why is it failing?" in the panel, and the reply points at the buggy line or
the concept (`range`) without handing over the reference solution; "I still don't get it" gets a
different reply, not the first one again minus its opening words. After a pass, "Done! What
next?" gets no hint and no solution outline, but a link to the next lesson. The ordinary tutor's
replies carry no teaching-mode jargon ("Socratic", "Adaptive", "Scaffolded"): the mode stays in
data-mode, out of the learner's view.

Headless Chromium against `drona serve` of the demo content (see conftest.py); the offline
teaching policy answers (no model is configured).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import DemoSite, set_code
from .test_learner import learner_page, sign_up_and_onboard
from .test_tutor import conversation, open_sum_to_n, replies_done

pytestmark = pytest.mark.e2e

# Failing attempts whose mistake is clear, each with what naming it means: the buggy line's number,
# or the concept it gets wrong.
MISTAKES = {
    # range(1, n) stops one short of n: line 3.
    "range-stops-short": ('n = int(input("n: "))\ntotal = 0\nfor i in range(1, n):\n    total = total + i\n'
                          "print(total)\n", r"\bline 3\b|\brange\b"),
    # The colon missing after the for header: a SyntaxError on line 3.
    "syntax-error": ('n = int(input("n: "))\ntotal = 0\nfor i in range(1, n)\n    total = total + i\nprint(total)\n',
                     r"\bline 3\b|\bcolon\b"),
}
# The reference solution's key line (the learner's attempts above don't contain it), in any spacing.
KEY_LINE = re.compile(r"range\(\s*1\s*,\s*n\s*\+\s*1\s*\)")
PASSING = 'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n + 1):\n    total = total + i\nprint(total)\n'
JARGON = ("Socratic", "Adaptive", "Scaffolded")


def text(node: Any) -> str:
    return re.sub(r"\s+", " ", node.inner_text()).strip()


def ask(tutor: Any, message: str, replies: int) -> Any:
    """Type a message in the panel, like a learner, and send it; the finished reply (the `replies`-th)."""
    tutor.get_by_label("Message to the tutor").fill(message)
    tutor.get_by_role("button", name="Send").click()
    return replies_done(tutor, replies)


def check(page: Any, widget: Any, code: str, state: str) -> None:
    """Type the code in the editor and grade it on the server; wait for `state` (passed or failed)."""
    set_code(page, widget, code)
    widget.get_by_role("button", name="Check").click()
    page.wait_for_selector(f'[data-drona-server-check][data-state="{state}"]', timeout=60_000)


def assert_plain_tutor(reply: Any) -> None:
    """The ordinary tutor: no role label and no teaching-mode jargon anywhere in the bubble."""
    assert reply.get_attribute("data-agent") == "tutor"
    assert reply.get_attribute("data-mode")  # still there, for tests and styling
    assert reply.locator(".drona-msg__agent").is_hidden()
    shown = reply.inner_text()
    for word in JARGON:
        assert word not in shown, shown


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_the_tutor_names_the_mistake_without_the_solution_and_rephrases_on_a_follow_up(
        browser: Any, demo_site: DemoSite, mistake: str) -> None:
    site = demo_site
    code, names_it = MISTAKES[mistake]
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        widget, tutor, _ = open_sum_to_n(page, site)
        check(page, widget, code, "failed")

        first = ask(tutor, "Why is it failing?", 1)
        said = text(first.locator(".drona-msg__body"))
        assert_plain_tutor(first)
        assert not KEY_LINE.search(said), said
        assert re.search(names_it, said, re.I), f"the reply names neither the line nor the concept: {said!r}"

        second = ask(tutor, "I still don't get it", 2)
        again = text(second.locator(".drona-msg__body"))
        assert_plain_tutor(second)
        assert again and again != said, again
        # Differs in substance: not the first reply again with only its opening words dropped.
        assert again not in said, f"the follow-up repeats the first reply: {again!r}"
        assert not KEY_LINE.search(again), again
        assert [role for role, _ in conversation(tutor)] == ["learner", "tutor"] * 2


def test_after_a_pass_what_next_gets_the_next_lesson_and_no_hint_or_outline(
        browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        widget, tutor, exercise = open_sum_to_n(page, site)
        check(page, widget, PASSING, "passed")

        reply = ask(tutor, "Done! What next?", 1)
        said = text(reply.locator(".drona-msg__body"))
        assert_plain_tutor(reply)
        # No hint rung: no label, no hint tone, no "Hint n of m" in the text.
        assert reply.locator(".drona-msg__label").is_hidden()
        assert reply.get_attribute("data-tone") is None
        assert not re.search(r"\bHint \d+ of \d+", said), said
        # No solution outline: no "Here is the shape", no code block, no key line of the solution.
        assert "Here is the shape" not in said, said
        assert reply.locator(".drona-msg__body pre").count() == 0, said
        assert not KEY_LINE.search(said), said
        # A link to the next lesson of the course, one that opens.
        lessons = site.lessons()
        here = next(i for i, lesson in enumerate(lessons) if exercise["id"] in lesson.get("exercise_ids", []))
        assert here + 1 < len(lessons), "Sum up to n is the last lesson: no next lesson to link"
        wanted = "/" + lessons[here + 1]["url"].strip("/") + "/"
        hrefs = [a.get_attribute("href") or "" for a in reply.locator(".drona-msg__body a").all()]
        paths = ["/" + re.sub(r"^https?://[^/]+", "", h).split("#")[0].strip("/") + "/" for h in hrefs]
        assert wanted in paths, (said, hrefs, wanted)
        link = reply.locator(".drona-msg__body a").nth(paths.index(wanted))
        assert lessons[here + 1]["title"] in text(link), text(link)
        response = page.request.get(site.base_url + wanted.lstrip("/"))
        assert response.ok, wanted
