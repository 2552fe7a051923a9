"""Gold in the browser: a learner picks a project option on the course's Gold page, uploads the project as
a .zip with a live demo URL, and sees the Project Guide's pre-review; a reviewer opens it from the review
queue, scores each criterion and approves it; the learner then holds a verifiable Gold certificate."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CONTENT, DemoSite
from .test_certificates_flow import _course
from .test_learner import learner_page, sign_up_and_onboard

pytestmark = pytest.mark.e2e

README = """# Inventory tracker

A small command-line inventory: add items, remove them, and list what is in stock.

## Install

Python 3.11 or later; nothing else to install.

## Usage

Run `python inventory.py` and type commands such as `add apples 3`, `remove apples 1` and `list`.

## Tests

Run `python -m unittest` in this folder; the tests cover adding, removing and listing.

## Deployment

The live demo runs on a small server; see the demo link.
"""


def _gold_options(course_id: str) -> Path:
    """The Gold options of the course with this id (every course has its own)."""
    for course_file in CONTENT.glob("tracks/*/*/course.yaml"):
        if str(yaml.safe_load(course_file.read_text(encoding="utf-8"))["id"]) == course_id:
            return course_file.parent / "certification" / "gold.yaml"
    raise AssertionError(f"no course.yaml with id {course_id}")


def _project_zip(tmp: Path, course_id: str) -> tuple[str, Path]:
    options = yaml.safe_load(_gold_options(course_id).read_text(encoding="utf-8"))
    option = options["options"][0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in option["reference"].items():
            archive.writestr(f"project/{name}", source)
        archive.writestr("project/README.md", README)
    path = tmp / "project.zip"
    path.write_bytes(buffer.getvalue())
    return str(option["id"]), path


def test_a_gold_project_from_upload_to_certificate(browser: Any, demo_site: DemoSite, tmp_path: Path) -> None:
    site = demo_site
    assert site.data_dir is not None
    course = _course(site)
    option_id, archive = _project_zip(tmp_path, str(course["id"]))
    with learner_page(browser) as learner:
        sign_up_and_onboard(learner, site, name="Margaret Hamilton")
        learner.goto(site.base_url + course["url"])
        action = learner.locator('[data-drona-certification] [data-drona-tier-action="gold"]')
        action.wait_for()
        action.click()
        learner.locator(f'[data-option="{option_id}"] [data-action="choose"]').click()
        learner.locator('input[type="file"][name="archive"]').set_input_files(str(archive))
        learner.locator('[data-field="demo_url"] input').fill("https://inventory.example.org/")
        learner.locator('[data-field="notes"] textarea').fill("Stock is kept in a dictionary.")
        learner.get_by_role("button", name="Submit for review").click()
        submission = learner.locator("[data-submission]").first
        submission.wait_for(timeout=90_000)
        submission_id = submission.get_attribute("data-submission")
        assert "pending" in (submission.get_attribute("class") or "")
        # The pre-review's per-criterion findings are there for the learner.
        assert learner.locator("[data-criterion]").count() >= 5

    with learner_page(browser) as reviewer:
        email = sign_up_and_onboard(reviewer, site, name="Reviewer Rita")
        with sqlite3.connect(site.data_dir.parent / "learners.db") as db:
            db.execute("UPDATE users SET role = 'reviewer' WHERE email = ?", (email,))
        reviewer.goto(site.base_url + "account/reviews/")
        reviewer.locator(f'[data-submission="{submission_id}"] [data-action="open"]').click()
        for criterion, points in {"code_quality": 22, "functionality": 28, "testing": 16, "documentation": 13,
                                  "deployment": 8}.items():
            reviewer.locator(f'[data-criterion="{criterion}"] input[type="number"]').fill(str(points))
            reviewer.locator(f'[data-criterion="{criterion}"] textarea').fill(f"{criterion}: well done.")
        # Wait for the decision itself: the button's own label says "Gold", so waiting for that text could
        # return before the request was sent, and closing the page would cancel it.
        with reviewer.expect_response(lambda r: r.request.method == "POST"
                                      and f"/api/reviews/submissions/{submission_id}" in r.url) as decided:
            reviewer.locator('[data-action="approve"]').click()
        assert decided.value.ok, decided.value.text()

    with learner_page(browser) as check:
        # Anyone can verify it: the certificate's verification page, signed out.
        with sqlite3.connect(site.data_dir.parent / "learners.db") as db:
            row = db.execute("SELECT id, demo_url FROM certificates WHERE tier = 'gold' AND holder_name = ?",
                             ("Margaret Hamilton",)).fetchone()
        assert row is not None and row[1] == "https://inventory.example.org/"
        check.goto(site.base_url + f"verify/{row[0]}")
        text = check.locator("main").inner_text()
        assert "Margaret Hamilton" in text and "Gold" in text and "Valid" in text
        assert check.locator('a[href="https://inventory.example.org/"]').count() >= 1
