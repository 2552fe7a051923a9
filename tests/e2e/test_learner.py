"""A learner's account in the browser: sign up, onboarding, progress, XP in the header, offline
queueing, the dashboard, settings, password reset, gamification modes and instant navigation.

Headless Chromium against `drona serve` of the demo content (see conftest.py); each test signs up
a fresh learner, in a fresh browser context.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_string
from typing import Any

import pytest
import yaml

from .conftest import CONTENT, DemoSite, answer_quiz

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
TIMEZONE = "Asia/Kolkata"


@contextmanager
def learner_page(browser: Any, **options: Any) -> Iterator[Any]:
    """A fresh context in TIMEZONE; fails the test on JavaScript errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=TIMEZONE, **options)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def call(page: Any, site: DemoSite, method: str, path: str, data: Any = None) -> Any:
    """The API with the browser's cookies (session and CSRF double-submit)."""
    request = page.context.request
    if not any(c["name"] == "drona_csrf" for c in page.context.cookies()):
        request.get(site.base_url + "api/auth/csrf")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "drona_csrf")
    headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
    response = request.fetch(site.base_url + "api/" + path, method=method, headers=headers,
                             data=json.dumps(data) if data is not None else None)
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json() if response.status != 204 else None


def fresh_email() -> str:
    return f"learner-{uuid.uuid4().hex[:10]}@example.com"


def active_track(site: DemoSite) -> dict[str, Any]:
    return next(t for t in site.get_json("api/catalog")["tracks"] if t["status"] == "active")


def sign_up_and_onboard(page: Any, site: DemoSite, name: str = "Grace Hopper") -> str:
    """A learner made through the API (signed in in this browser context), onboarding done."""
    email = fresh_email()
    call(page, site, "POST", "auth/signup", {"email": email, "password": PASSWORD, "display_name": name})
    onboard(page, site)
    return email


def onboard(page: Any, site: DemoSite) -> None:
    """The signed-in learner of this browser context goes through every onboarding step."""
    track = active_track(site)["id"]
    call(page, site, "POST", "onboarding/role", {"learner_kind": "student"})
    call(page, site, "POST", "onboarding/skill-check", {"track_id": track, "answers": {}})
    call(page, site, "POST", "onboarding/goals", {"goals": ["Build a project"], "minutes_per_week": 120})
    call(page, site, "POST", "onboarding/learning-style", {"learning_style": "hands-on"})
    call(page, site, "POST", "onboarding/complete", {"track_id": track, "timezone": TIMEZONE})


def reading_lesson(site: DemoSite) -> dict[str, Any]:
    """The first lesson that completes on reading (no exercise, no quiz: "Mark complete")."""
    return next(lesson for lesson in site.lessons() if not lesson.get("exercise_ids") and not lesson.get("quiz_ids"))


def quiz_answers() -> dict[str, Any]:
    """Every authored quiz item's answer, by item id (the skill check draws from quiz items)."""
    answers = {}
    for path in sorted(CONTENT.glob("tracks/**/quizzes/*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            answers[item["id"]] = item["answer"]
    return answers


def header_xp(page: Any) -> int:
    return int(page.locator("[data-drona-userbar] [data-drona-xp]").get_attribute("data-drona-xp"))


def wait_header_xp(page: Any, xp: int) -> None:
    page.wait_for_selector(f'[data-drona-userbar] [data-drona-xp="{xp}"]')


def lesson_status(page: Any, state: str) -> Any:
    page.wait_for_selector(f'[data-drona-lesson-status][data-state="{state}"]')
    return page.locator("[data-drona-lesson-status]")


def test_sign_up_onboard_complete_a_lesson_and_keep_the_xp(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    email = fresh_email()
    with learner_page(browser) as page:
        # Sign up.
        page.goto(site.base_url + "account/signup/")
        page.wait_for_selector('[data-drona-app="signup"][data-state=ready]')
        assert page.locator("[data-drona-userbar]").get_by_role("link", name="Sign in").is_visible()
        page.get_by_label("Your name").fill("Ada Lovelace")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/account/onboarding/")

        # 1. Role.
        app = page.locator('[data-drona-app="onboarding"]')
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=role]')
        assert app.locator('[aria-current="step"]').inner_text().strip().endswith("About you")
        page.get_by_label("I'm learning on my own").check()
        page.get_by_role("button", name="Continue").click()

        # 2. Skill check: adaptive, one question at a time (the server picks each from the answers so far).
        # Answer right, except "I'm not sure" for the third question; the check ends when the server says so.
        page.wait_for_selector('.drona-skillcheck[data-question="1"] .drona-quiz-item')
        assert page.evaluate("document.activeElement.tagName") == "H2", "focus moves to the step's heading"
        answers = quiz_answers()
        kinds, shown, unsure = set(), [], 0
        result = page.locator("[data-drona-skill-result]")
        for number in range(1, 13):
            question = page.locator(f'.drona-skillcheck[data-question="{number}"]')
            question.or_(result).first.wait_for()
            if result.count():
                break
            if number > 1:
                assert page.evaluate("document.activeElement.textContent") == f"Question {number}", \
                    "focus moves to each new question's heading"
            assert re.fullmatch(r"question \d+", question.locator(".drona-quiz__number").inner_text().strip(), re.I), \
                "no total: the check adapts"
            item = question.locator(".drona-quiz-item")
            item_id, kind = item.get_attribute("data-item-id"), item.get_attribute("data-kind")
            assert item_id not in shown, "each question is asked once"
            shown.append(item_id)
            kinds.add(kind)
            if number == 3:
                page.get_by_role("button", name="I'm not sure").click()
                unsure += 1
                continue
            answer = answers[item_id]
            if kind in ("multiple-choice", "find-the-bug"):
                item.locator(f'input[type=radio][value="{answer}"]').check()
            elif kind == "predict-output":
                item.locator("textarea").fill(str(answer))
            else:
                item.locator(".drona-blank").first.fill(str(answer))
            page.get_by_role("button", name="Next").click()
        result.wait_for()
        assert len(shown) >= 4 and unsure == 1, shown
        assert {"multiple-choice", "predict-output"} <= kinds, "the miss brings its module's other question"
        assert f"You answered {len(shown) - 1} of {len(shown)} correctly." in result.inner_text()
        state = call(page, site, "GET", "onboarding")["state"]["skill-check"]
        assert state["adaptive"] and (state["correct"], state["total"]) == (len(shown) - 1, len(shown))
        page.get_by_role("button", name="Continue").click()

        # 3. Goals.
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=goals]')
        page.get_by_role("button", name="Continue").click()  # nothing chosen: an error, not a request
        assert page.get_by_text("Pick at least one goal").is_visible()
        page.get_by_label("Build a project of my own").check()
        page.get_by_label("How much time can you give it?").select_option("180")
        page.get_by_role("button", name="Continue").click()

        # 4. Learning style.
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=learning-style]')
        page.get_by_label("Hands-on").check()
        page.get_by_role("button", name="Continue").click()

        # 5. The path: the browser's time zone is filled in; build it and start learning.
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=path]')
        assert page.get_by_label("Your time zone").input_value() == TIMEZONE
        page.get_by_role("button", name="Build my path").click()
        start = page.locator("[data-drona-start]")
        start.wait_for()
        modules = page.locator(".drona-path__module")
        courses = [c for c in active_track(site)["courses"] if c["status"] == "active"]
        assert modules.count() == sum(len(c["modules"]) for c in courses)
        start.click()
        page.wait_for_selector("[data-drona-lesson-status]")
        assert "/account/" not in page.url
        me = call(page, site, "GET", "me")
        assert me["onboarded"] and me["timezone"] == TIMEZONE and me["learner_kind"] == "self_learner"

        # Complete a lesson that completes on reading: XP and level show in the header at once.
        lesson = reading_lesson(site)
        page.goto(site.base_url + lesson["url"])
        lesson_status(page, "ready")
        wait_header_xp(page, 0)
        page.get_by_role("button", name="Mark complete").click()
        assert "Completed ✓" in lesson_status(page, "completed").inner_text()
        profile = call(page, site, "GET", "gamification/profile")
        assert profile["xp"] > 0
        wait_header_xp(page, profile["xp"])
        level = page.locator("[data-drona-userbar] [data-drona-level]")
        assert level.get_attribute("data-drona-level") == str(profile["level"])
        assert f"Lv {profile['level']}" in level.inner_text()
        assert page.locator("[data-drona-userbar] [data-drona-streak]").get_attribute("data-drona-streak") == "1"
        toast = page.locator(".drona-toasts[role=status] .drona-toast", has_text="Achievement unlocked")
        toast.first.wait_for()
        assert "drona-toast--celebrate" in toast.first.get_attribute("class"), "mode full celebrates"

        # A reload shows the same.
        page.reload()
        lesson_status(page, "completed")
        wait_header_xp(page, profile["xp"])

        # Sign out from the header menu, and back in.
        page.locator(".drona-userbar__toggle").click()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/account/signin/**")
        page.wait_for_selector('[data-drona-userbar][data-state="signed-out"]')
        assert page.get_by_text("You are signed out.").is_visible()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard/")
        wait_header_xp(page, profile["xp"])


def test_offline_completion_is_queued_then_delivered(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser, reduced_motion="reduce") as page:
        sign_up_and_onboard(page, site)
        lesson = reading_lesson(site)
        page.goto(site.base_url + lesson["url"])
        lesson_status(page, "ready")
        wait_header_xp(page, 0)

        page.context.set_offline(True)
        page.get_by_role("button", name="Mark complete").click()
        status = lesson_status(page, "queued")
        assert "queued" in status.inner_text().lower()
        queued = page.evaluate("JSON.parse(localStorage.getItem('drona:progress-queue') || '[]')")
        completion = [e for e in queued if e["kind"] == "completed"]
        assert len(completion) == 1 and completion[0]["lesson_id"] == lesson["id"]
        assert completion[0]["event_id"] and completion[0]["occurred_at"]
        page.wait_for_timeout(1500)  # a retry or two while offline must not lose it
        lesson_status(page, "queued")

        page.context.set_offline(False)
        lesson_status(page, "completed")
        progress = call(page, site, "GET", "progress")
        states = {s["lesson_id"]: s["state"] for s in progress["lessons"]}
        assert states[lesson["id"]] == "completed"
        profile = call(page, site, "GET", "gamification/profile")
        assert profile["xp"] > 0
        wait_header_xp(page, profile["xp"])
        page.wait_for_function("() => !localStorage.getItem('drona:progress-queue')")
        toast = page.locator(".drona-toast--celebrate").first
        toast.wait_for()
        animation = toast.evaluate("t => getComputedStyle(t).animationName")
        assert animation == "none", "prefers-reduced-motion: no celebration animation"


def test_queued_events_survive_a_reload_and_are_sent_once(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        lesson = reading_lesson(site)
        page.goto(site.base_url + lesson["url"])
        lesson_status(page, "ready")
        # An event left over from an earlier visit (the tab closed while offline), sent twice.
        event = {"event_id": uuid.uuid4().hex, "lesson_id": lesson["id"], "kind": "completed",
                 "occurred_at": "2020-01-01T00:00:00Z", "user_id": None}
        page.evaluate("e => localStorage.setItem('drona:progress-queue', JSON.stringify([e, e]))", event)
        page.reload()
        page.wait_for_function("() => !localStorage.getItem('drona:progress-queue')")
        lesson_status(page, "completed")
        history = call(page, site, "GET", "gamification/profile")["history"]
        assert len([h for h in history if h["source_key"] == f"lesson:{lesson['id']}"]) == 1


def test_dashboard_shows_where_to_continue_and_the_streak(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site, name="Katherine Johnson")
        lesson = reading_lesson(site)
        call(page, site, "POST", "progress/events",
             {"event_id": uuid.uuid4().hex, "lesson_id": lesson["id"], "kind": "completed"})
        expected = call(page, site, "GET", "progress")["continue_lesson"]
        page.goto(site.base_url + "dashboard/")
        page.wait_for_selector('[data-drona-app="dashboard"][data-state=ready]')
        app = page.locator('[data-drona-app="dashboard"]')
        assert "Katherine Johnson" in app.inner_text()
        cont = app.locator("[data-drona-continue]")
        assert cont.get_attribute("href").endswith(expected["url"])
        assert expected["title"] in app.locator(".drona-dash-card--continue").inner_text()
        assert app.locator("[data-drona-streak-current]").get_attribute("data-drona-streak-current") == "1"
        assert app.locator("[data-drona-streak-current]").inner_text() == "1 day"
        assert app.locator(".drona-cal__grid .drona-cal__day--active").count() == 1
        assert app.locator(".drona-cal__grid .drona-cal__day.is-today").get_attribute("data-kind") == "active"
        assert app.locator("svg.drona-xpchart rect.drona-xpchart__bar").count() == 30
        assert app.locator(".drona-badge-tile.is-earned").count() >= 1
        # A badge the catalog cannot give yet says it is coming, and why, apart from the others.
        coming = app.locator('.drona-badge-tile.is-coming[data-slug="challenge-ace"]')
        assert "Coming: Needs 10 " in coming.inner_text()
        assert app.locator('.drona-badge-tile[data-slug="python-pro"]:not(.is-coming)').count() == 1
        assert app.locator(".drona-module").count() >= 1
        cont.click()
        page.wait_for_url("**/" + expected["url"])


def test_settings_time_zone_persists(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        page.goto(site.base_url + "account/settings/")
        page.wait_for_selector('[data-drona-app="settings"][data-state=ready]')
        zone = page.get_by_label("Time zone")
        assert zone.input_value() == TIMEZONE
        zone.select_option("America/Sao_Paulo")
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text("Saved.").wait_for()
        page.reload()
        page.wait_for_selector('[data-drona-app="settings"][data-state=ready]')
        assert page.get_by_label("Time zone").input_value() == "America/Sao_Paulo"
        assert call(page, site, "GET", "me")["timezone"] == "America/Sao_Paulo"


def test_moderate_and_minimal_modes(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        # Moderate: XP in the header and toasts, but no celebration.
        call(page, site, "PATCH", "me/settings", {"gamification_mode": "moderate"})
        page.goto(site.base_url + reading_lesson(site)["url"])
        lesson_status(page, "ready")
        page.wait_for_selector('[data-drona-userbar][data-mode="moderate"] [data-drona-xp="0"]')
        page.get_by_role("button", name="Mark complete").click()
        lesson_status(page, "completed")
        page.locator(".drona-toast", has_text="Achievement unlocked").first.wait_for()
        assert page.locator(".drona-toast--celebrate").count() == 0

        # Minimal: level and streak, no XP numbers, no leaderboards.
        page.goto(site.base_url + "account/settings/")
        page.wait_for_selector('[data-drona-app="settings"][data-state=ready]')
        page.get_by_label("Minimal").check()
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text("Saved.").wait_for()
        page.wait_for_selector('[data-drona-userbar][data-mode="minimal"]')
        bar = page.locator("[data-drona-userbar]")
        assert bar.locator("[data-drona-level]").count() == 1
        assert bar.locator("[data-drona-streak]").count() == 1
        assert bar.locator("[data-drona-xp]").count() == 0

        page.goto(site.base_url + "leaderboard/")
        notice = page.locator("[data-drona-forbidden]")
        notice.wait_for()
        assert "settings" in notice.inner_text()

        call(page, site, "PATCH", "me/settings", {"gamification_mode": "off"})
        page.goto(site.base_url + "dashboard/")
        page.wait_for_selector('[data-drona-app="dashboard"][data-state=ready]')
        page.wait_for_selector('[data-drona-userbar][data-mode="off"]')
        assert page.locator("[data-drona-userbar] .drona-userbar__stats").count() == 0
        assert page.locator(".drona-dash-card--streak, .drona-dash-card--xp, .drona-dash-card--badges").count() == 0


def test_leaderboard_highlights_you_when_opted_in(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site, name="Opted In")
        call(page, site, "PATCH", "me/settings", {"gamification_mode": "full", "leaderboard_opt_in": True})
        call(page, site, "POST", "progress/events",
             {"event_id": uuid.uuid4().hex, "lesson_id": reading_lesson(site)["id"], "kind": "completed"})
        page.goto(site.base_url + "leaderboard/")
        page.wait_for_selector('[data-drona-app="leaderboard"][data-result="board"]')
        mine = page.locator("table.drona-board tr.is-you")
        assert mine.count() == 1 and "Opted In" in mine.inner_text()
        page.get_by_text("All time").click()
        page.wait_for_function(
            "() => document.querySelector('table.drona-board caption')?.textContent.includes('all time')")
        assert page.locator("table.drona-board tr.is-you").count() == 1


def test_password_reset_from_the_emailed_link(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    if site.data_dir is None:
        pytest.skip("the outbox of an external server is not readable")
    with learner_page(browser) as page:
        email = sign_up_and_onboard(page, site)
        call(page, site, "POST", "auth/logout")
        page.goto(site.base_url + "account/reset/")
        page.wait_for_selector('[data-drona-app="reset"][data-state=ready]')
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Send the link").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        outbox = sorted((site.data_dir / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime)
        messages = [message_from_string(p.read_text(encoding="utf-8")) for p in reversed(outbox)]
        mail = next(m for m in messages if m["To"] == email).get_payload(decode=True).decode("utf-8")
        link = re.search(r"(http\S+/account/reset/#token=[\w-]+)", mail)
        assert link, mail
        assert link.group(1).startswith(site.base_url.rstrip("/")), "APP_URL matches the served origin"
        page.goto("about:blank")  # as a new tab from the mail client (a fragment alone would not load a page)
        page.goto(link.group(1))
        page.get_by_label("New password", exact=True).wait_for()
        assert "token" not in page.url, "the token leaves the address bar at once"
        page.get_by_label("New password", exact=True).fill("a brand new secret")
        page.get_by_label("New password, again").fill("a brand new secret")
        page.get_by_role("button", name="Set new password").click()
        page.wait_for_url("**/account/signin/?reset=1")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("a brand new secret")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard/")


def test_instant_navigation_mounts_once(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        lessons = site.lessons()
        page.goto(site.base_url + lessons[0]["url"])
        lesson_status(page, "graded")
        page.evaluate("window.__sameDocument = true")
        for lesson in lessons[1:4]:
            slug = lesson["url"].rstrip("/").split("/")[-1]
            page.locator(f'.md-nav--primary a[href$="{slug}/"]').first.click()
            page.wait_for_url("**/" + lesson["url"])
            page.wait_for_selector(f'.drona-lesson-head[data-lesson-id="{lesson["id"]}"][data-drona-mounted]')
            page.wait_for_selector("[data-drona-lesson-status]:not([data-state=loading])")
            assert page.locator("[data-drona-userbar]").count() == 1
            assert page.locator("[data-drona-lesson-status]").count() == 1
        assert page.evaluate("window.__sameDocument === true"), "a click reloaded the page"
        page.wait_for_function("() => !localStorage.getItem('drona:progress-queue')")
        started = {s["lesson_id"] for s in call(page, site, "GET", "progress")["lessons"]}
        assert {lesson["id"] for lesson in lessons[:4]} <= started


def test_passing_a_quiz_completes_its_lesson_and_updates_the_header(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    quiz = next(yaml.safe_load(p.read_text(encoding="utf-8"))
                for p in sorted(CONTENT.glob("tracks/**/quizzes/*.yaml")))
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site)
        page.goto(site.lesson_url_with(quiz_id=quiz["id"]))
        page.wait_for_selector(f'.drona-quiz[data-quiz-id="{quiz["id"]}"][data-state=ready]')
        lesson_status(page, "graded")
        wait_header_xp(page, 0)
        answer_quiz(page, quiz)
        page.get_by_role("button", name="Submit answers").click()
        page.wait_for_selector(".drona-quiz[data-result=passed]")
        lesson_status(page, "completed")
        profile = call(page, site, "GET", "gamification/profile")
        assert profile["xp"] > 0
        wait_header_xp(page, profile["xp"])


def _latest_mail(site: DemoSite, to: str) -> str:
    assert site.data_dir is not None
    outbox = sorted((site.data_dir / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime)
    messages = [message_from_string(p.read_text(encoding="utf-8")) for p in reversed(outbox)]
    return str(next(m for m in messages if m["To"] == to).get_payload(decode=True).decode("utf-8"))


def test_sign_in_with_an_emailed_link(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    if site.data_dir is None:
        pytest.skip("the outbox of an external server is not readable")
    with learner_page(browser) as page:
        email = sign_up_and_onboard(page, site)
        call(page, site, "POST", "auth/logout")
        page.goto(site.base_url + "account/signin/")
        page.wait_for_selector('[data-drona-app="signin"][data-state=ready]')
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Email me a sign-in link").click()  # opens the form
        page.get_by_role("button", name="Email me a sign-in link").click()  # sends it
        page.get_by_role("heading", name="Check your email").wait_for()
        link = re.search(r"(http\S+/account/signin/#link=[\w-]+)", _latest_mail(site, email))
        assert link, "the sign-in link is emailed"
        page.goto("about:blank")  # as a new tab from the mail client
        page.goto(link.group(1))
        page.get_by_text("You opened a sign-in link").wait_for()
        assert "link=" not in page.url, "the token leaves the address bar at once"
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard/")
        assert call(page, site, "GET", "me")["email"] == email


def test_accept_an_organisation_invitation(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    if site.data_dir is None:
        pytest.skip("the outbox and database of an external server are not reachable")
    from sidecar.auth.roles import Role
    from sidecar.auth.service import create_user
    from sidecar.db.engine import get_engine, write_session

    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    with write_session(get_engine(f"sqlite:///{site.data_dir.parent / 'learners.db'}")) as session:
        create_user(session=session, email=admin_email, password=PASSWORD, display_name="Admin",
                    role=Role.SUPER_ADMIN)
    with learner_page(browser) as admin, learner_page(browser) as page:
        call(admin, site, "POST", "auth/login", {"email": admin_email, "password": PASSWORD})
        org = call(admin, site, "POST", "orgs", {"name": "Acme Learning"})
        email = sign_up_and_onboard(page, site)
        call(admin, site, "POST", f"orgs/{org['id']}/invitations", {"email": email, "role": "learner"})
        link = re.search(r"(http\S+/account/invitations/#invitation=[\w-]+&token=[\w-]+)", _latest_mail(site, email))
        assert link, "the invitation is emailed"
        page.goto(link.group(1))
        page.wait_for_selector('[data-drona-app="invitations"][data-state=ready]')
        assert "token" not in page.url
        item = page.locator(".drona-invitation")
        assert "Acme Learning" in item.inner_text()
        item.get_by_role("button", name="Accept").click()
        page.get_by_text("You joined Acme Learning.").wait_for()
        assert call(page, site, "GET", "me")["organization_id"] == org["id"]


def test_an_enterprise_admin_assigns_a_course_and_the_learner_sees_it(browser: Any, demo_site: DemoSite) -> None:
    """Issue #16: an enterprise admin invites a member, assigns a course with a deadline, and the learner,
    who accepted in the browser, finds it on the dashboard with its due date."""
    site = demo_site
    if site.data_dir is None:
        pytest.skip("the outbox and database of an external server are not reachable")
    from sidecar.auth.roles import Role
    from sidecar.auth.service import create_user
    from sidecar.db.engine import get_engine, write_session

    root_email, boss_email = (f"{who}-{uuid.uuid4().hex[:8]}@example.com" for who in ("root", "boss"))
    with write_session(get_engine(f"sqlite:///{site.data_dir.parent / 'learners.db'}")) as session:
        create_user(session=session, email=root_email, password=PASSWORD, display_name="Root", role=Role.SUPER_ADMIN)
        create_user(session=session, email=boss_email, password=PASSWORD, display_name="Boss")
    course = yaml.safe_load((CONTENT / "tracks/python-developer/python-basics/course.yaml").read_text())
    with learner_page(browser) as root, learner_page(browser) as boss, learner_page(browser) as page:
        call(root, site, "POST", "auth/login", {"email": root_email, "password": PASSWORD})
        org = call(root, site, "POST", "orgs", {"name": f"Initech {uuid.uuid4().hex[:4]}"})
        call(root, site, "POST", f"orgs/{org['id']}/invitations", {"email": boss_email, "role": "enterprise_admin"})
        invitation = re.search(r"#invitation=([\w-]+)&token=([\w-]+)", _latest_mail(site, boss_email))
        assert invitation
        call(boss, site, "POST", "auth/login", {"email": boss_email, "password": PASSWORD})
        call(boss, site, "POST", f"me/invitations/{invitation.group(1)}/accept", {"token": invitation.group(2)})
        email = sign_up_and_onboard(page, site)
        # The admin works on the organisation page: invite, then (once the learner joined) assign.
        boss.goto(site.base_url + "organisation/")
        boss.wait_for_selector('[data-drona-app="org"][data-state=ready]')
        assert boss.locator("[data-drona-org-seats]").get_attribute("data-drona-org-seats") == "1"
        invite = boss.get_by_role("form", name="Invite someone")
        invite.get_by_label("Email address").fill(email)
        invite.get_by_role("button", name="Send invitation").click()
        invite.get_by_text(f"Invitation sent to {email}.").wait_for()
        link = re.search(r"(http\S+/account/invitations/#invitation=[\w-]+&token=[\w-]+)", _latest_mail(site, email))
        assert link
        page.goto(link.group(1))
        page.wait_for_selector('[data-drona-app="invitations"][data-state=ready]')
        page.locator(".drona-invitation").get_by_role("button", name="Accept").click()
        page.get_by_text(f"You joined {org['name']}.").wait_for()
        boss.reload()
        boss.wait_for_selector('[data-drona-app="org"][data-state=ready]')
        assert boss.locator(f'[data-drona-member="{email}"]').is_visible()
        # The change log: the invitation, then the learner's joining, newest first.
        changes = boss.locator("[data-drona-audit]")
        assert changes.first.get_attribute("data-drona-audit") == "member.join"
        assert email in boss.locator('[data-drona-audit="invitation.create"]').first.inner_text()
        assign = boss.get_by_role("form", name="Assign a course")
        assign.get_by_label("Course").select_option(label="Python Basics")
        assign.get_by_label("Assign to").select_option(label="One member (by email)")
        assign.get_by_label("Member's email").fill(email)
        assign.get_by_label("Due date").fill("2099-03-01")
        assign.get_by_role("button", name="Assign").click()
        boss.wait_for_selector('[data-drona-assigned="Python Basics"]')
        assert course["id"] in json.dumps(call(boss, site, "GET", f"orgs/{org['id']}/assignments"))
        page.goto(site.base_url + "dashboard/")
        page.wait_for_selector('[data-drona-app="dashboard"][data-state=ready]')
        assigned = page.locator(".drona-dash-card--assigned")
        assert assigned.get_by_role("link", name="Python Basics").is_visible()
        item = assigned.locator("[data-drona-assignment]")
        assert item.get_attribute("data-drona-assignment") == "open"
        assert "2099" in item.inner_text() and "0% done" in item.inner_text()
        # The admin brands the organisation: the member's pages wear its colour and logo.
        settings = boss.get_by_role("form", name="Organisation settings")
        settings.get_by_label("Main colour").fill("#f4d03f")
        settings.get_by_label("The tutor's tone").select_option("direct")
        settings.get_by_role("button", name="Save settings").click()
        settings.get_by_text("Settings saved.").wait_for()
        assert call(boss, site, "GET", f"orgs/{org['id']}")["ai_tone"] == "direct"
        page.reload()
        page.wait_for_function("() => document.documentElement.dataset.dronaBranded === 'true'")
        style = page.evaluate("""() => { const s = getComputedStyle(document.documentElement);
            return ['--md-primary-fg-color', '--md-primary-bg-color'].map((p) => s.getPropertyValue(p).trim()); }""")
        assert style[0] == "#f4d03f"
        assert style[1] != "#ffffff", "a light colour gets dark header text"
