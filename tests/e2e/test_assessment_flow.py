"""The Silver assessment in the browser: from the course page's Silver card to a passed attempt, section by
section, each started by the learner and timed by the server (the countdown shows the server's deadline),
then the Silver certificate's verification page. The answers come from the course's bank
(certification/silver.yaml), as a well-prepared learner would give them; the clicks are the learner's."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from .conftest import CONTENT, DemoSite
from .test_certificates_flow import _course
from .test_learner import learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e


def _bank(course: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in CONTENT.glob("tracks/**/certification/silver.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for section in ("conceptual", "analysis", "coding", "design"):
            for item in data.get(section) or []:
                found[str(item["id"])] = item
    return found


def _keywords(item: dict[str, Any]) -> str:
    return "My design: " + "; ".join(f"{point['point']} ({point['keywords'][0]})" for point in item["rubric"])


def _start_section(page: Any, key: str) -> Any:
    page.locator('[data-action="start-section"]').click()
    section = page.locator(f'[data-section="{key}"]')
    timer = page.locator(f'[data-drona-timer="{key}"]')
    timer.wait_for()
    assert re.match(r"Time left: \d+:\d\d", timer.inner_text())
    assert int(timer.get_attribute("data-seconds-left") or "0") > 60
    return section


def _submit_section(page: Any, key: str) -> None:
    page.locator(f'[data-section="{key}"] [data-action="submit-section"]').click()
    page.locator(f'[data-section-status="{key}"][data-state="submitted"]').wait_for()


def test_pass_a_silver_attempt_with_its_section_timers(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    course = _course(site)
    bank = _bank(course)
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site, name="Katherine Johnson")
        page.goto(site.base_url + course["url"])
        action = page.locator('[data-drona-certification] [data-drona-tier-action="silver"]')
        action.wait_for()
        action.click()
        page.locator('[data-action="start-attempt"]').click()
        app = page.locator(".drona-app--assessment")
        page.wait_for_function("() => document.querySelector('.drona-app--assessment').dataset.state === 'running'")

        _start_section(page, "conceptual")
        for _ in range(40):
            item = page.locator('[data-section="conceptual"] fieldset[data-item-id]')
            if item.count() == 0:
                break
            position = item.get_attribute("data-item-position")
            answer = bank[str(item.get_attribute("data-item-id"))]["answer"]
            item.locator(f'[data-choice="{answer}"]').check()
            item.locator('[data-action="answer"]').click()
            page.wait_for_function(
                "p => !document.querySelector(`fieldset[data-item-position=\"${p}\"]`)", arg=position)
        _submit_section(page, "conceptual")

        section = _start_section(page, "analysis")
        for index in range(section.locator("[data-item-id]").count()):
            item = page.locator('[data-section="analysis"] [data-item-id]').nth(index)
            item_id = str(item.get_attribute("data-item-id"))
            item.locator("input, textarea").fill(str(bank[item_id]["answer"]))
            item.locator('[data-action="save"]').click()
            page.locator(f'[data-section="analysis"] [data-item-id="{item_id}"][data-answered="true"]').wait_for()
        _submit_section(page, "analysis")

        section = _start_section(page, "coding")
        for index in range(section.locator("[data-item-id]").count()):
            item = page.locator('[data-section="coding"] [data-item-id]').nth(index)
            data = bank[str(item.get_attribute("data-item-id"))]
            item.locator("textarea").fill(data["solution"])
            item.locator('[data-action="submit-code"]').click()
            result = page.locator('[data-section="coding"] [data-item-id]').nth(index).locator(
                "[data-drona-coding-result]")
            result.wait_for(timeout=60_000)
            passed, total = (result.get_attribute("data-drona-coding-result") or "0/1").split("/")
            assert passed == total, f"{data['title']}: {passed}/{total}"
        _submit_section(page, "coding")

        _start_section(page, "design")
        interview = page.locator("[data-drona-interview]")
        data = bank[str(interview.get_attribute("data-item-id"))]
        page.locator('[data-section="design"] textarea').fill(_keywords(data))
        page.locator('[data-action="reply"]').click()
        page.locator('[data-drona-interview] li[data-role="learner"]').wait_for()
        page.locator('[data-section="design"] [data-action="submit-section"]').click()

        result = page.locator('[data-drona-assessment-result="passed"]')
        result.wait_for(timeout=30_000)
        assert "100" in result.inner_text() or "You passed" in result.inner_text()
        assert app.get_attribute("data-state") == "passed"
        link = result.locator("[data-drona-verify-link]")
        href = link.get_attribute("href")
        assert href and "/verify/" in href
        page.goto(href)
        text = page.locator("main").inner_text()
        assert "Katherine Johnson" in text and "Silver" in text and "Valid" in text
        assert page.locator('[data-check="signature"][data-ok="true"]').count() == 1
