"""Tutor history (account/tutor-history/): a learner sees their conversations with the tutor, newest
first, opens one to read it again, deletes one, then deletes everything. The conversations are made
through the API (POST /api/ai/chat from the page, with the CSRF header); the offline teaching policy
answers.

Headless Chromium against `drona serve` of the demo content (see conftest.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import DemoSite
from .test_learner import call, learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e

APP = '[data-drona-app="tutor-history"]'
ITEMS = f"{APP} .drona-history__item"

# One turn with the tutor, sent as the tutor panel sends it; answers the whole event stream.
CHAT = """async ([url, lessonId, message]) => {
  const token = decodeURIComponent((document.cookie.match(/(?:^|; )drona_csrf=([^;]*)/) || [])[1] || "");
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {"Content-Type": "application/json", "Accept": "text/event-stream", "X-CSRF-Token": token},
    body: JSON.stringify({message, intent: "chat", lesson_id: lessonId, client_id: crypto.randomUUID()}),
  });
  return {status: response.status, body: await response.text()};
}"""


def chat(page: Any, site: DemoSite, lesson_id: str, message: str) -> None:
    answer = page.evaluate(CHAT, [site.base_url + "api/ai/chat", lesson_id, message])
    assert answer["status"] == 200, answer
    assert "event: done" in answer["body"], answer["body"][-500:]


def open_history(page: Any, site: DemoSite, state: str = "ready") -> Any:
    page.goto(site.base_url + "account/tutor-history/")
    page.wait_for_selector(f'{APP}[data-state="{state}"]')
    return page.locator(APP)


def text(node: Any) -> str:
    return re.sub(r"\s+", " ", node.inner_text()).strip()


def test_tutor_history_lists_opens_and_deletes_conversations(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    lessons = [lesson for lesson in site.lessons() if lesson.get("exercise_ids") and lesson["type"] != "challenge"][:2]
    assert len(lessons) == 2
    first, second = lessons
    with learner_page(browser) as page:
        # Signed out: the sign-in prompt of the account pages.
        app = open_history(page, site, state="signed-out")
        assert "Sign in to see your tutor history." in text(app)
        assert app.get_by_role("link", name="Sign in").count() == 1

        # Two conversations, on two lessons: the first has two turns, the second (newer) one.
        sign_up_and_onboard(page, site, name="Ada Lovelace")
        open_history(page, site)  # an empty history; and a page of the site to call the API from
        assert page.locator(f"{APP} [data-drona-history-empty]").is_visible()
        chat(page, site, first["id"], "What is a variable?")
        chat(page, site, first["id"], "<b>Why</b> does my loop stop early?")
        chat(page, site, second["id"], "How do I start this exercise?")
        sessions = call(page, site, "GET", "ai/sessions")
        assert [s["lesson_id"] for s in sessions] == [second["id"], first["id"]]
        older = call(page, site, "GET", f"ai/sessions/{sessions[1]['id']}")

        app = open_history(page, site)
        items = page.locator(ITEMS)
        assert items.count() == 2
        assert [items.nth(i).get_attribute("data-session-id") for i in range(2)] == [s["id"] for s in sessions]
        assert text(items.nth(0).locator(".drona-history__toggle")) == sessions[0]["title"]
        link = items.nth(1).locator("[data-drona-history-lesson]")
        assert link.inner_text().strip() == first["title"]
        assert link.get_attribute("href") == site.base_url + first["url"]
        assert items.nth(1).locator("time").get_attribute("datetime") == sessions[1]["updated_at"]
        page.wait_for_selector('[data-drona-userbar][data-state="signed-in"]')
        menu_link = page.locator("[data-drona-userbar] a.drona-usermenu__item", has_text="Tutor history")
        assert menu_link.get_attribute("href") == site.base_url + "account/tutor-history/"

        # Open the older conversation: its messages, in order, as the tutor panel shows them.
        toggle = items.nth(1).locator(".drona-history__toggle")
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        panel = items.nth(1).locator('.drona-history__messages[data-state="ready"]')
        panel.wait_for()
        messages = panel.locator(".drona-msg[data-role]")
        assert [messages.nth(i).get_attribute("data-role") for i in range(messages.count())] == \
            [m["role"] for m in older["messages"]] == ["learner", "tutor", "learner", "tutor"]
        assert text(messages.nth(0).locator(".drona-msg__body")) == "What is a variable?"
        learner = messages.nth(2).locator(".drona-msg__body")
        assert text(learner) == "<b>Why</b> does my loop stop early?"  # text, never HTML
        assert learner.locator("b").count() == 0
        reply = messages.nth(1)
        assert reply.get_attribute("data-message-id") == older["messages"][1]["id"]
        assert reply.get_attribute("data-agent") == "tutor"  # the ordinary tutor: no role label
        assert reply.locator(".drona-msg__agent").is_hidden()
        assert reply.locator(".drona-msg__body").inner_text().strip()

        # Delete the newer conversation: cancelled first, then confirmed.
        page.once("dialog", lambda dialog: dialog.dismiss())
        items.nth(0).locator("[data-drona-history-delete]").click()
        assert items.count() == 2
        dialogs: list[str] = []

        def accept(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.accept()

        page.once("dialog", accept)
        items.nth(0).locator("[data-drona-history-delete]").click()
        page.wait_for_function(f"() => document.querySelectorAll('{ITEMS}').length === 1")
        assert sessions[0]["title"] in dialogs[0]
        status = page.locator(f"{APP} [data-drona-history-status]")
        assert status.get_attribute("role") == "status"
        assert "Deleted the conversation" in status.inner_text()
        # Focus moves to the conversation that is left.
        assert page.evaluate("document.activeElement.closest('.drona-history__item').dataset.sessionId") == \
            sessions[1]["id"]
        open_history(page, site)
        assert [items.nth(i).get_attribute("data-session-id") for i in range(items.count())] == [sessions[1]["id"]]

        # Delete all: the empty state, also after a reload.
        page.once("dialog", lambda dialog: dialog.accept())
        app.get_by_role("button", name="Delete all my tutor history").click()
        page.locator(f"{APP} [data-drona-history-empty]").wait_for()
        assert items.count() == 0
        assert "Deleted all your tutor history." in status.inner_text()
        assert page.evaluate("document.activeElement.tagName") == "H2"
        assert not app.get_by_role("button", name="Delete all my tutor history").is_visible()
        assert call(page, site, "GET", "ai/sessions") == []
        open_history(page, site)
        assert page.locator(f"{APP} [data-drona-history-empty]").is_visible()
        assert items.count() == 0
