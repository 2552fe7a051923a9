"""Camera checks (ENABLE_AI_PROCTORING) in Chromium: a learner consents, starts the Silver attempt, and the
browser runs the tiny face detector the site serves itself on Chromium's fake camera (which shows no
face), so a camera_face_missing event is recorded. Nothing the page sends carries an image: every
request goes to the site and every body is a small JSON object. Leaving the page turns the camera
off. Without a camera the check records camera_unavailable and never loads the detector.

A server of its own: the shared demo_site runs with the setting off.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from .conftest import CHROMIUM_ARGS, DemoSite, chromium_path, start_demo_site, stop
from .test_certificates_flow import _course
from .test_learner import learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e

# Chromium grants the camera without a prompt and feeds it a generated picture (no face in it).
FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
MAX_EVENT_BODY = 1024  # bytes; an event is a kind, a section and a few small details
IMAGE_MARKERS = (b"data:image", b"base64", b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"image/")


@pytest.fixture(scope="module")
def proctoring_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    site, proc = start_demo_site(tmp_path_factory.mktemp("e2e-proctoring"), {"ENABLE_AI_PROCTORING": "true"})
    try:
        yield site
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def camera_browser(browser: Any) -> Iterator[Any]:
    """A second Chromium, launched with the fake camera (flags apply at launch only)."""
    launched = browser.browser_type.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS + FAKE_CAMERA)
    try:
        yield launched
    finally:
        launched.close()


def _events(site: DemoSite, attempt_id: str) -> list[tuple[str, dict[str, Any]]]:
    assert site.data_dir is not None
    database = site.data_dir.parent / "learners.db"  # start_demo_site's DATABASE_URL
    with closing(sqlite3.connect(database)) as conn:
        rows = conn.execute("SELECT kind, detail FROM assessment_events WHERE attempt_id = ? ORDER BY id",
                            (attempt_id,)).fetchall()
    return [(str(kind), json.loads(detail) if isinstance(detail, str) else dict(detail or {})) for kind, detail in rows]


def _wait_for_event(site: DemoSite, attempt_id: str, kind: str, timeout: float = 60.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = _events(site, attempt_id)
        if any(k == kind for k, _ in events):
            return events
        time.sleep(0.5)
    raise AssertionError(f"no {kind} event within {timeout} s; recorded: {_events(site, attempt_id)}")


def _start_with_consent(page: Any, site: DemoSite, *, consent: bool = True) -> str:
    course = _course(site)
    page.goto(site.base_url + "certification/assessment/?course=" + course["id"])
    box = page.locator("#drona-consent-camera")
    box.wait_for()
    if consent:
        box.check()
    page.locator('[data-action="start-attempt"]').click()
    page.wait_for_function("() => document.querySelector('.drona-app--assessment').dataset.state === 'running'")
    return str(page.locator(".drona-app--assessment").get_attribute("data-attempt-id"))


def test_camera_checks_send_events_never_images(camera_browser: Any, proctoring_site: DemoSite) -> None:
    site = proctoring_site
    sent: list[tuple[str, str, bytes]] = []
    with learner_page(camera_browser) as page:
        sign_up_and_onboard(page, site, name="Mary Jackson")
        page.on("request", lambda r: sent.append((r.method, r.url, r.post_data_buffer or b"")))
        attempt_id = _start_with_consent(page, site)

        indicator = page.locator("[data-drona-proctoring]")
        indicator.wait_for()
        page.wait_for_function(
            "() => document.querySelector('[data-drona-proctoring]').dataset.dronaProctoring === 'missing'",
            timeout=60_000)
        shown = indicator.inner_text()
        assert "Camera check on" in shown and "No picture leaves your browser" in shown
        events = _wait_for_event(site, attempt_id, "camera_face_missing")
        kinds = [kind for kind, _ in events]
        assert ("camera_face_missing", {"count": 1}) in events
        assert "camera_consent" in kinds and "camera_unavailable" not in kinds
        # Debounced: the fake camera keeps showing no face, and one event says so.
        page.wait_for_timeout(6_000)  # more than one check interval (5 s)
        assert [kind for kind, _ in _events(site, attempt_id)].count("camera_face_missing") == 1

        # Leaving the page stops the camera's track and removes the hidden video.
        page.evaluate("window.__dronaTrack = document.querySelector('[data-drona-proctoring-video]')"
                      ".srcObject.getVideoTracks()[0]")
        assert page.evaluate("window.__dronaTrack.readyState") == "live"
        page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
        assert page.evaluate("window.__dronaTrack.readyState") == "ended"
        assert page.locator("[data-drona-proctoring-video]").count() == 0

    # The detector came from the site itself, and nothing the page sent carries a picture.
    assert sent, "no requests were recorded"
    assert all(url.startswith(site.base_url) for _, url, _ in sent), [u for _, u, _ in sent
                                                                     if not u.startswith(site.base_url)]
    loaded = [url for _, url, _ in sent if "/assets/drona/proctoring/" in url]
    assert any(url.endswith("face-api.esm.js") for url in loaded)
    assert any(url.endswith("tiny_face_detector_model.bin") for url in loaded)
    bodies = [(url, body) for _, url, body in sent if body]
    assert any(url.endswith("/events") for url, _ in bodies)
    for url, body in bodies:
        assert len(body) <= MAX_EVENT_BODY, f"{url}: a {len(body)}-byte body"
        assert not any(marker in body for marker in IMAGE_MARKERS), f"{url}: {body[:200]!r}"
        assert isinstance(json.loads(body), dict), url


def test_without_a_camera_the_check_reports_it_unavailable(browser: Any, proctoring_site: DemoSite) -> None:
    # The shared browser has no fake camera and headless Chromium denies camera requests.
    site = proctoring_site
    urls: list[str] = []
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site, name="Dorothy Vaughan")
        page.on("request", lambda r: urls.append(r.url))
        attempt_id = _start_with_consent(page, site)
        page.wait_for_function(
            "() => document.querySelector('[data-drona-proctoring]').dataset.dronaProctoring === 'unavailable'")
        events = _wait_for_event(site, attempt_id, "camera_unavailable")
    assert [kind for kind, _ in events if kind.startswith("camera_")] == ["camera_unavailable"]
    assert not [url for url in urls if "/proctoring/" in url]  # the detector is loaded only with a camera


def test_without_consent_nothing_starts(camera_browser: Any, proctoring_site: DemoSite) -> None:
    site = proctoring_site
    urls: list[str] = []
    with learner_page(camera_browser) as page:
        sign_up_and_onboard(page, site, name="Annie Easley")
        page.on("request", lambda r: urls.append(r.url))
        attempt_id = _start_with_consent(page, site, consent=False)
        page.wait_for_timeout(2_000)
        assert page.locator("[data-drona-proctoring]").count() == 0
        assert page.locator("[data-drona-proctoring-video]").count() == 0
    assert not [kind for kind, _ in _events(site, attempt_id) if kind.startswith("camera_")]
    assert not [url for url in urls if "/proctoring/" in url]
