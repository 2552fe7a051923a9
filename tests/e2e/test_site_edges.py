"""The site's edges in the browser: the 404 page at any depth, a signed-out visit that logs nothing in
the console, and a learner who signs up or in from a lesson landing back on it (never on another site).

Headless Chromium against `drona serve` of the demo content (see conftest.py).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import DemoSite
from .test_learner import PASSWORD, call, fresh_email, sign_up_and_onboard

pytestmark = pytest.mark.e2e


@contextmanager
def watched_page(browser: Any) -> Iterator[tuple[Any, dict[str, list[str]]]]:
    """A fresh context whose page records page errors, console errors and failed (4xx/5xx) responses."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    seen: dict[str, list[str]] = {"pageerror": [], "console": [], "responses": []}
    page.on("pageerror", lambda error: seen["pageerror"].append(str(error)))
    page.on("console", lambda msg: seen["console"].append(f"{msg.text} ({page.url})")
            if msg.type == "error" else None)
    page.on("response", lambda r: seen["responses"].append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 400 else None)
    try:
        yield page, seen
    finally:
        context.close()


def settle(page: Any) -> None:
    """Let the page's widgets ask what they ask (the user bar says who is signed in last)."""
    page.wait_for_selector("[data-drona-userbar][data-state]:not([data-state=loading])")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # A page that keeps a connection open never goes idle: that is fine, the errors are checked after.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=10_000)
    page.wait_for_timeout(300)


def lesson_with(site: DemoSite, *, quiz: bool) -> dict[str, Any]:
    return next(lesson for lesson in site.lessons() if bool(lesson.get("quiz_ids")) == quiz
                and (quiz or lesson.get("exercise_ids")))


def path_of(site: DemoSite, url: str) -> str:
    return urlsplit(site.base_url + url).path


def test_404_page_at_a_deep_path(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with watched_page(browser) as (page, seen):
        response = page.goto(site.base_url + "no/such/deep/page/")
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache", "a 404 is never cached like an asset"
        page.wait_for_selector("[data-drona-notfound]")
        settle(page)
        assert page.locator("h1").count() == 1
        assert "can't find that page" in page.locator("h1").inner_text()
        links = page.locator("[data-drona-notfound] a")
        # As the browser resolves them (the theme's instant navigation may make them absolute).
        hrefs = {a.get_attribute("data-drona-link"): a.evaluate("(a) => a.pathname + a.hash") for a in links.all()}
        assert hrefs["home"] == "/" and hrefs["catalog"] == "/#catalog" and hrefs["dashboard"] == "/dashboard/"
        assert hrefs["first-lesson"].startswith("/") and hrefs["first-lesson"].count("/") >= 4
        assert page.locator("input.md-search__input").count() == 1, "the header's search"
        userbar = page.locator("[data-drona-userbar]")
        assert userbar.count() == 1 and userbar.get_attribute("data-state") == "signed-out"
        signin = userbar.get_by_role("link", name="Sign in")
        assert signin.is_visible()
        signin.hover()
        assert "next=" not in signin.get_attribute("href"), "a 404 is no place to come back to"
        assert not seen["pageerror"], seen["pageerror"]
        # The browser logs the document's own 404 status: that one is the point; nothing else may fail.
        own = f"status of 404 (Not Found) ({site.base_url}no/such/deep/page/)"
        assert [m for m in seen["console"] if not m.endswith(own)] == [], seen["console"]
        assert seen["responses"] == [f"404 GET {site.base_url}no/such/deep/page/"], seen["responses"]
        # The page's own links lead to real pages.
        page.locator('[data-drona-link="first-lesson"]').click()
        page.wait_for_selector(".drona-lesson-head[data-lesson-id]")
        assert page.url == site.base_url.rstrip("/") + hrefs["first-lesson"]
    # Without a trailing slash, and one level deep, too.
    with watched_page(browser) as (page, seen):
        for address in ("missing", "python-developer/no-such-course"):
            response = page.goto(site.base_url + address)
            assert response is not None and response.status == 404, address
            assert response.headers["cache-control"] == "no-cache", address
            page.wait_for_selector("[data-drona-userbar][data-state=signed-out]")
        assert not seen["pageerror"], seen
        # Only the documents' own 404s, logged by the browser.
        assert len(seen["console"]) == 2 and all("404 (Not Found)" in m for m in seen["console"]), seen
        assert seen["responses"] == [f"404 GET {site.base_url}missing",
                                     f"404 GET {site.base_url}python-developer/no-such-course"], seen


def test_signed_out_pages_log_nothing_and_every_request_succeeds(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    exercise, quiz = lesson_with(site, quiz=False), lesson_with(site, quiz=True)
    course = "/".join(exercise["url"].strip("/").split("/")[:2]) + "/"
    tour = ["", course, exercise["url"], quiz["url"], "leaderboard/", "account/signin/", "account/signup/"]
    with watched_page(browser) as (page, seen):
        for address in tour:
            response = page.goto(site.base_url + address)
            assert response is not None and response.status == 200, address
            settle(page)
            assert page.locator("[data-drona-userbar]").get_attribute("data-state") == "signed-out", address
        asked = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
        assert any(url.endswith("/api/auth/session") for url in asked), "the page did ask who is signed in"
        assert not any(url.endswith("/api/me") for url in asked), "no signed-in-only request when signed out"
        assert not seen["responses"], seen["responses"]
        assert not seen["console"], seen["console"]
        assert not seen["pageerror"], seen["pageerror"]


def test_sign_up_from_a_lesson_comes_back_to_it(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    lesson = lesson_with(site, quiz=False)
    lesson_path = path_of(site, lesson["url"])
    with watched_page(browser) as (page, seen):
        page.goto(site.base_url + lesson["url"] + "#no-such-heading")
        status = page.locator('[data-drona-lesson-status][data-state="signed-out"]')
        status.wait_for()
        for name in ("Sign in", "Create a free account"):
            href = status.get_by_role("link", name=name).get_attribute("href")
            assert "#" not in href, f"{name}: no stray fragment in {href}"
            assert parse_qs(urlsplit(href).query)["next"] == [lesson_path], href
        status.get_by_role("link", name="Create a free account").click()
        page.wait_for_selector('[data-drona-app="signup"][data-state=ready]')
        # The way to the sign-in page keeps the place too.
        signin = page.locator('[data-drona-app="signup"]').get_by_role("link", name="Sign in")
        assert parse_qs(urlsplit(signin.get_attribute("href")).query)["next"] == [lesson_path]
        page.get_by_label("Your name").fill("Katherine Johnson")
        page.get_by_label("Email").fill(fresh_email())
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/account/onboarding/?next=*")
        assert parse_qs(urlsplit(page.url).query)["next"] == [lesson_path]

        app = page.locator('[data-drona-app="onboarding"]')
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=role]')
        page.get_by_label("I'm a student").check()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=skill-check]')
        skip = page.get_by_role("button", name="Skip: I'm new to all of this")
        skip.first.wait_for()
        skip.first.click()
        page.locator("[data-drona-skill-result]").wait_for()
        panel = app.locator(".drona-wizard__panel").inner_text()
        assert "null" not in panel and "undefined" not in panel, panel
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=goals]')
        page.get_by_label("Do well in my course").check()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=learning-style]')
        page.get_by_label("Step by step").check()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=path]')
        # A reload on the way keeps the place (the steps change no address; the tab remembers it).
        page.goto(site.base_url + "account/onboarding/")
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=path]')
        page.get_by_role("button", name="Build my path").click()
        start = page.locator("[data-drona-start]")
        start.wait_for()
        assert start.inner_text().strip() == "Start learning"
        start.click()
        page.wait_for_selector(f'.drona-lesson-head[data-lesson-id="{lesson["id"]}"]')
        assert urlsplit(page.url).path == lesson_path
        page.wait_for_selector("[data-drona-userbar][data-state=signed-in]")
        assert not seen["pageerror"], seen["pageerror"]


def test_onboarding_without_a_place_starts_the_path(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    with watched_page(browser) as (page, _seen):
        email = fresh_email()
        call(page, site, "POST", "auth/signup", {"email": email, "password": PASSWORD, "display_name": "Mary"})
        page.goto(site.base_url + "account/onboarding/?next=" + "https://evil.example/")
        page.wait_for_selector('[data-drona-app="onboarding"][data-step=role]')
        track = next(t for t in site.get_json("api/catalog")["tracks"] if t["status"] == "active")["id"]
        call(page, site, "POST", "onboarding/role", {"learner_kind": "student"})
        call(page, site, "POST", "onboarding/skill-check", {"track_id": track, "answers": {}})
        call(page, site, "POST", "onboarding/goals", {"goals": ["Build a project"], "minutes_per_week": 120})
        call(page, site, "POST", "onboarding/learning-style", {"learning_style": "hands-on"})
        call(page, site, "POST", "onboarding/complete", {"track_id": track, "timezone": "UTC"})
        page.reload()
        start = page.locator("[data-drona-start]")
        start.wait_for()
        path = call(page, site, "GET", "progress/path")
        assert start.get_attribute("href") == site.base_url + path["start_url"]


def test_sign_in_from_a_lesson_comes_back_to_it(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    lesson = lesson_with(site, quiz=True)
    with watched_page(browser) as (page, _seen):
        email = sign_up_and_onboard(page, site, name="Dorothy Vaughan")
    with watched_page(browser) as (page, seen):
        page.goto(site.base_url + lesson["url"])
        status = page.locator('[data-drona-lesson-status][data-state="signed-out"]')
        status.get_by_role("link", name="Sign in").click()
        page.wait_for_selector('[data-drona-app="signin"][data-state=ready]')
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector(f'.drona-lesson-head[data-lesson-id="{lesson["id"]}"]')
        assert urlsplit(page.url).path == path_of(site, lesson["url"])
        page.wait_for_selector("[data-drona-userbar][data-state=signed-in]")
        assert not seen["pageerror"], seen["pageerror"]


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "javascript:alert(1)",
                                    "/\\evil.example/", "http:evil.example", "/%2F%2Fevil.example/"])
def test_next_never_leaves_the_site(browser: Any, demo_site: DemoSite, target: str) -> None:
    site = demo_site
    with watched_page(browser) as (page, _seen):
        email = sign_up_and_onboard(page, site, name="Annie Easley")
        call(page, site, "POST", "auth/logout")
        page.goto(site.base_url + "account/signin/?next=" + re.sub("&", "%26", target))
        page.wait_for_selector('[data-drona-app="signin"][data-state=ready]')
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.wait_for_url(lambda url: "/account/signin/" not in url)
        assert page.url.startswith(site.base_url), page.url
        assert urlsplit(page.url).netloc == urlsplit(site.base_url).netloc
        dialogs: list[str] = []
        page.on("dialog", lambda d: dialogs.append(d.message))
        assert not dialogs


def test_home_page_starts_learning_and_continues_where_you_left_off(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    first = site.lessons()[0]
    with watched_page(browser) as (page, seen):
        page.goto(site.base_url)
        settle(page)
        card = page.locator("[data-drona-home-continue]")
        assert card.is_hidden() and card.get_attribute("data-state") == "signed-out"
        start = page.get_by_role("link", name="Start the first lesson")
        assert urlsplit(start.evaluate("(a) => a.href")).path == path_of(site, first["url"])

        sign_up_and_onboard(page, site, name="Evelyn Boyd")
        lesson = site.lessons()[2]
        call(page, site, "POST", "progress/events",
             {"event_id": uuid.uuid4().hex, "lesson_id": lesson["id"], "kind": "started"})
        page.goto(site.base_url)
        page.wait_for_selector("[data-drona-home-continue][data-state=ready]")
        assert card.is_visible()
        expected = call(page, site, "GET", "progress")["continue_lesson"]
        link = card.get_by_role("link", name=re.compile(r"^(Continue|Start)"))
        assert urlsplit(link.evaluate("(a) => a.href")).path == path_of(site, expected["url"])
        assert expected["title"] in card.inner_text()
        link.click()
        page.wait_for_selector(f'.drona-lesson-head[data-lesson-id="{expected["lesson_id"]}"]')
        assert not seen["pageerror"], seen["pageerror"]
