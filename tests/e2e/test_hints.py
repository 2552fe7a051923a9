"""The hint ladder on a lesson page (issue #10, part 4): only the first rung is in the page; later
rungs come from the server one at a time, and the worked answer (the bottom-out rung) only once
earned, with what is still missing said plainly until then.

Headless Chromium against `drona serve` of the demo content (see conftest.py). The server runs in
another process, so its clock cannot be moved: `earn_the_minutes` moves the learner's recorded
activity into the past instead, in the server's own database.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sidecar.db.engine import get_engine, write_session
from sidecar.grading.tables import HintReveal, Submission
from sidecar.progress.tables import ProgressEvent

from .conftest import DemoSite, authored
from .test_learner import call, learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e

# Three failing attempts at "Say hello" that really differ (whitespace or comments would not).
SAY_HELLO_ATTEMPTS = ('print("hello")\n', 'print("Hello World")\n', 'print("Hello, " + "World")\n')


def squashed(text: str) -> str:
    """Text without Markdown marks, tags, entities or whitespace, for "is this rung anywhere in here"."""
    text = re.sub(r"<[^<>]*>", "", text)
    for entity, char in (("&quot;", '"'), ("&#39;", "'"), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        text = text.replace(entity, char)
    return "".join(re.sub(r"[`*_]", "", text).split())


def submit_failing(page: Any, site: DemoSite, exercise_id: str, codes: tuple[str, ...]) -> None:
    """Recorded submissions through the API, each of which must fail."""
    for code in codes:
        result = call(page, site, "POST", f"exercises/{exercise_id}/submissions",
                      {"code": code, "submission_id": uuid.uuid4().hex})
        assert result["passed"] is False, code


def earn_the_minutes(page: Any, site: DemoSite, minutes: float = 6) -> None:
    """Move the signed-in learner's recorded activity `minutes` into the past (the bottom-out rule's clock)."""
    if site.data_dir is None:
        pytest.skip("needs the server's own database (not available with DRONA_E2E_URL)")
    user_id = call(page, site, "GET", "me")["id"]
    shift = timedelta(minutes=minutes)
    engine = get_engine(f"sqlite:///{site.data_dir.parent / 'learners.db'}")
    with write_session(engine) as session:
        for sub in session.scalars(select(Submission).where(Submission.user_id == user_id)):
            sub.created_at = sub.created_at - shift
        for reveal in session.scalars(select(HintReveal).where(HintReveal.user_id == user_id)):
            reveal.revealed_at = reveal.revealed_at - shift
        for event in session.scalars(select(ProgressEvent).where(ProgressEvent.user_id == user_id)):
            event.received_at = event.received_at - shift


def open_say_hello(page: Any, site: DemoSite, state: str) -> tuple[Any, dict[str, Any]]:
    exercise, _ = authored("exercises", "say-hello")
    page.goto(site.lesson_url_with(exercise_id=exercise["id"]))
    tutor = page.locator(f'.drona-exercise[data-exercise-id="{exercise["id"]}"] .drona-tutor')
    page.wait_for_selector(f'.drona-exercise[data-exercise-id="{exercise["id"]}"] .drona-tutor[data-state="{state}"]')
    return tutor, exercise


def test_signed_out_the_page_holds_the_first_rung_only(page: Any, demo_site: DemoSite) -> None:
    tutor, exercise = open_say_hello(page, demo_site, "notes")
    hints = exercise["hints"]
    source = squashed(page.content())
    assert squashed(hints[0]["text"]) in source
    for rung in hints[1:]:
        assert squashed(rung["text"]) not in source, rung["text"]

    tutor.get_by_role("button", name="Hint").click()
    tutor.locator(".drona-msg__label", has_text=f"Hint 1 of {len(hints)}").wait_for()
    tutor.get_by_role("button", name="Hint").click()
    gate = tutor.locator('.drona-msg[data-gate="signed-out"]')
    gate.wait_for()
    assert "Sign in for more hints" in re.sub(r"\s+", " ", gate.inner_text())
    assert "/account/signin" in gate.locator("a").get_attribute("href")


def test_signed_in_without_the_ai_tutor_the_notes_fetch_rungs_and_say_what_the_answer_needs(
        browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        # No AI tutor on this server: the panel falls back to the authored notes, signed in.
        page.route("**/api/ai/status", lambda route: route.fulfill(status=404, content_type="text/html",
                                                                     body="<h1>Not found</h1>"))
        tutor, exercise = open_say_hello(page, site, "notes")
        hints = exercise["hints"]
        total = len(hints)
        for rung in range(1, total):
            tutor.get_by_role("button", name="Hint").click()
            tutor.locator(".drona-msg__label", has_text=f"Hint {rung} of {total}").wait_for()
        second = tutor.locator('.drona-msg[data-tone="hint"] .drona-msg__body').last
        assert squashed(second.inner_text()) == squashed(hints[1]["text"])  # from the server, as Markdown

        tutor.get_by_role("button", name="Hint").click()
        gate = tutor.locator('.drona-msg[data-gate="bottom-out"]')
        gate.wait_for()
        text = re.sub(r"\s+", " ", gate.inner_text())
        # The clock started when the lesson opened, seconds ago.
        assert re.search(r"It opens after 3 more different attempts and [45] more minutes on this exercise", text), text
        assert gate.get_attribute("data-attempts-needed") == "3"
        assert squashed(hints[-1]["text"]) not in squashed(tutor.inner_text())

        submit_failing(page, site, exercise["id"], SAY_HELLO_ATTEMPTS)
        tutor.get_by_role("button", name="Hint").click()
        tutor.locator('.drona-msg[data-gate="bottom-out"]').nth(1).wait_for()
        later = tutor.locator('.drona-msg[data-gate="bottom-out"]').last.inner_text()
        assert re.search(r"It opens after [345] more minutes on this exercise:", later), later

        earn_the_minutes(page, site)
        tutor.get_by_role("button", name="Hint").click()
        label = tutor.locator(".drona-msg__label", has_text=f"Hint {total} of {total} — the answer")
        label.wait_for()
        bottom = tutor.locator('.drona-msg[data-tone="bottom-out"] .drona-msg__body').last
        assert squashed(bottom.inner_text()) == squashed(hints[-1]["text"])
