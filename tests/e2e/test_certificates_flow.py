"""Certificates in the browser: earn Bronze in the demo course, then open the verification page through
the URL its QR code encodes (decoded by an independent reader, ZXing), as someone without an account.

Every lesson but the course's last quiz is completed through the API with the browser's session
(exercises graded for real in the sandbox with their reference solutions; challenges started first),
because doing twenty lessons by hand would take minutes; the last quiz is answered on its page, where
the Bronze certificate is announced.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import yaml

from .conftest import CONTENT, DemoSite, answer_quiz
from .test_learner import call, learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e


def _yaml_by_id(kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in CONTENT.glob(f"tracks/**/{kind}/*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found[str(data["id"])] = data
    return found


def _course(site: DemoSite) -> dict[str, Any]:
    track = next(t for t in site.get_json("api/catalog")["tracks"] if t["status"] == "active")
    return next(c for c in track["courses"] if c.get("modules"))


def _right_answers(quiz: dict[str, Any]) -> dict[str, Any]:
    return {str(item["id"]): item["answer"] for item in quiz["items"]}


def complete_all_but_last_quiz(page: Any, site: DemoSite, course: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Completes the course's lessons through the API; returns (the last quiz's YAML, its lesson's URL)."""
    exercises, quizzes = _yaml_by_id("exercises"), _yaml_by_id("quizzes")
    lessons = [lesson for module in course["modules"] for lesson in module["lessons"]]
    last_quiz_lesson = [lesson for lesson in lessons if lesson["quiz_ids"]][-1]
    for lesson in lessons:
        if lesson["type"] == "challenge":
            call(page, site, "POST", f"challenges/{lesson['id']}/start", {})
        for exercise_id in lesson["exercise_ids"]:
            result = call(page, site, "POST", f"exercises/{exercise_id}/submissions",
                          {"code": exercises[exercise_id]["solution"], "submission_id": uuid.uuid4().hex})
            assert result["passed"], result
        if lesson is last_quiz_lesson:
            continue
        for quiz_id in lesson["quiz_ids"]:
            result = call(page, site, "POST", f"quizzes/{quiz_id}/attempts",
                          {"answers": _right_answers(quizzes[quiz_id])})
            assert result["passed"], result
        if not lesson["exercise_ids"] and not lesson["quiz_ids"]:
            call(page, site, "POST", "progress/events",
                 {"event_id": uuid.uuid4().hex, "lesson_id": lesson["id"], "kind": "completed"})
    return quizzes[last_quiz_lesson["quiz_ids"][0]], site.base_url + last_quiz_lesson["url"]


def test_earn_bronze_and_verify_it_through_the_qr_code(browser: Any, demo_site: DemoSite) -> None:
    import zxingcpp
    from PIL import Image

    site = demo_site
    course = _course(site)
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site, name="Grace Hopper")
        quiz, url = complete_all_but_last_quiz(page, site, course)
        page.goto(site.base_url + course["url"])
        bronze = page.locator('[data-drona-certification] [data-tier="bronze"]')
        bronze.wait_for()
        assert bronze.get_attribute("data-earned") == "false"
        assert "requirements met" in bronze.inner_text()
        page.goto(url)
        answer_quiz(page, quiz)
        page.get_by_role("button", name=re.compile("Check|Submit", re.I)).first.click()
        toast = page.locator(".drona-toast", has_text="Bronze")
        toast.wait_for()
        verify_href = toast.locator("[data-drona-verify-link]").get_attribute("href")
        assert verify_href and "/verify/" in verify_href
        credential_id = verify_href.rsplit("/", 1)[1]
        # The account's Certificates page lists it with its links.
        page.goto(site.base_url + "account/certificates/")
        card = page.locator(f'[data-credential-id="{credential_id}"]')
        card.wait_for()
        assert course["title"] in card.inner_text()
        card.locator("summary", has_text="Print, download and share").click()
        print_link = card.get_by_role("link", name="Print: Academic")
        print_link.click()
        page.wait_for_load_state()
        shot = page.locator("svg[data-qr-url]").first.screenshot()
    from io import BytesIO

    decoded = zxingcpp.read_barcodes(Image.open(BytesIO(shot)).convert("L"))
    assert decoded, "the QR code on the printed certificate could not be read"
    qr_url = decoded[0].text
    assert qr_url == verify_href
    # Someone else, without an account, scans it.
    with learner_page(browser) as stranger:
        stranger.goto(qr_url)
        text = stranger.locator("main").inner_text()
        assert "Grace Hopper" in text and course["title"] in text
        assert "Valid" in text and "Bronze" in text
        assert stranger.locator('[data-check="signature"][data-ok="true"]').count() == 1
        assert stranger.locator('[data-check="log"][data-ok="true"]').count() == 1
