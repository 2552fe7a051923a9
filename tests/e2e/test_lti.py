"""LTI 1.3 in the browser: an LMS (a real platform implementation, lti1p3platform, on http://localhost: another
site than the tool's http://127.0.0.1, so the launch is a real cross-site form POST) sends a learner to a lesson,
signed in, and an instructor picks lessons that go back to it as a signed deep-linking response."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.test_lti import CLIENT_ID, DEPLOYMENT, INSTRUCTOR, ISSUER, Platform

from .conftest import DemoSite
from .test_learner import learner_page

pytestmark = pytest.mark.e2e


def _api(site: DemoSite) -> httpx.Client:
    client = httpx.Client(base_url=site.base_url, headers={"Origin": site.base_url.rstrip("/")})
    client.get("api/auth/csrf")
    return client


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    answer = client.post(path, json=body, headers={"X-CSRF-Token": client.cookies.get("drona_csrf") or ""})
    assert answer.status_code < 300, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def lms(demo_site: DemoSite) -> Iterator[Platform]:
    """The platform, registered for a new organisation by a super admin through the API."""
    assert demo_site.data_dir is not None, "needs a demo site this test started (its database)"
    tool = demo_site.base_url.rstrip("/")
    platform = Platform(tool=tool, host="localhost")
    root = _api(demo_site)
    try:
        _post(root, "api/auth/signup", {"email": "root@e2e-lti.example.com", "password": "correct horse battery",
                                        "display_name": "Root"})
        with sqlite3.connect(demo_site.data_dir.parent / "learners.db") as db:
            db.execute("UPDATE users SET role = 'super_admin' WHERE email = ?", ("root@e2e-lti.example.com",))
        org = _post(root, "api/orgs", {"name": "E2E School"})
        registered = _post(root, f"api/orgs/{org['id']}/lti/platforms", platform.registration_body())
        assert registered["tool"]["launch_url"] == tool + "/api/lti/launch"
        platform.reg.set_tool_key_set(root.get("api/lti/jwks").json())
    finally:
        root.close()
    yield platform
    platform.close()


def _login_url(site: DemoSite, hint: str) -> str:
    return site.base_url + "api/lti/login?" + urlencode({
        "iss": ISSUER, "login_hint": hint, "client_id": CLIENT_ID, "lti_deployment_id": DEPLOYMENT,
        "target_link_uri": site.base_url + "api/lti/launch", "lti_message_hint": hint})


def test_a_link_in_the_lms_opens_the_lesson_signed_in(browser: Any, demo_site: DemoSite, lms: Platform) -> None:
    lesson = demo_site.lessons()[1]
    lms.next_launch = {"sub": "e2e-learner", "email": "ada@e2e-school.example.com", "lesson_id": lesson["id"]}
    with learner_page(browser) as page:
        page.goto(_login_url(demo_site, "e2e-learner"))  # the LMS's link: login → LMS → form post → lesson
        page.wait_for_url(demo_site.base_url + lesson["url"].lstrip("/") + "*")
        me = page.evaluate("fetch('/api/me').then(r => r.json())")
        assert me["email"] == "ada@e2e-school.example.com" and me["organization_id"]
        assert page.get_by_role("heading", level=1).first.is_visible()


def test_an_instructor_picks_lessons_for_the_course(browser: Any, demo_site: DemoSite, lms: Platform) -> None:
    first, second = demo_site.lessons()[:2]
    lms.next_launch = {"sub": "e2e-teacher", "email": "grace@e2e-school.example.com", "roles": (INSTRUCTOR,),
                       "deep_link": True}
    with learner_page(browser) as page:
        page.goto(_login_url(demo_site, "e2e-teacher"))
        page.get_by_role("heading", name="Add lessons to your course").wait_for()
        page.get_by_role("checkbox", name=first["title"]).check()
        page.get_by_role("checkbox", name=second["title"]).check()
        page.get_by_role("button", name="Add the selected lessons").click()
        page.get_by_role("heading", name="Lessons added").wait_for()  # back on the LMS, the response posted
    items = lms.conf().validate_deeplinking_resp({"JWT": lms.deep_link_jwts[-1]})
    assert [i["custom"]["lesson_id"] for i in items] == [first["id"], second["id"]]
    assert all(i["lineItem"]["scoreMaximum"] == 100 for i in items)


def test_an_admin_registers_and_removes_an_lms_on_the_organisation_page(browser: Any, demo_site: DemoSite) -> None:
    from .test_accessibility import axe_violations, describe

    assert demo_site.data_dir is not None, "needs a demo site this test started (its database)"
    email, password = "root@e2e-lti-ui.example.com", "correct horse battery"
    root = _api(demo_site)
    try:
        _post(root, "api/auth/signup", {"email": email, "password": password, "display_name": "Root"})
        with sqlite3.connect(demo_site.data_dir.parent / "learners.db") as db:
            db.execute("UPDATE users SET role = 'super_admin' WHERE email = ?", (email,))
        org = _post(root, "api/orgs", {"name": "LTI UI School"})
    finally:
        root.close()
    platform = Platform(tool=demo_site.base_url.rstrip("/"), host="localhost")
    # Another client id: the module's platform is registered already (for another organisation), and an
    # issuer and client id name one registration only.
    body = {**platform.registration_body(), "client_id": "ui-form-client"}
    try:
        with learner_page(browser) as page:
            page.goto(demo_site.base_url + "account/signin/")
            page.get_by_label("Email", exact=True).fill(email)
            page.get_by_label("Password").fill(password)
            page.locator("form[aria-label='Sign in'] button[type=submit]").click()
            page.wait_for_url("**/onboarding/**")
            page.goto(demo_site.base_url + f"organisation/?org={org['id']}")
            page.wait_for_selector('[data-drona-app="org"][data-state=ready]')
            section = page.locator("section", has=page.get_by_role("heading", name="Learning management systems"))
            assert demo_site.base_url + "api/lti/launch" in section.locator("[data-drona-lti-tool]").inner_text()
            assert "No LMS registered yet." in section.inner_text()
            form = section.locator("form[aria-label='Register an LMS']")
            form.get_by_label("Name").fill("Test LMS")
            form.get_by_label("Issuer").fill(body["issuer"])
            form.get_by_label("Client assigned by the LMS").fill(body["client_id"])
            form.get_by_label("Deployment ids").fill(", ".join(body["deployment_ids"]))
            form.get_by_label("Authorisation (OIDC) endpoint").fill(body["auth_login_url"])
            form.get_by_label("Token endpoint").fill(body["auth_token_url"])
            form.get_by_label("Public key set (JWKS) URL").fill(body["key_set_url"])
            form.get_by_role("button", name="Register").click()
            row = page.locator(f'[data-drona-lti-platform="{body["issuer"]}"]')
            row.wait_for()
            assert "Test LMS" in row.inner_text() and ", ".join(body["deployment_ids"]) in row.inner_text()
            problems = describe("organisation page with an LMS registered", axe_violations(page))
            assert not problems, "\n".join(problems)
            # The same registration again is refused, with the reason on the form.
            form.get_by_label("Issuer").fill(body["issuer"])
            form.get_by_label("Client assigned by the LMS").fill(body["client_id"])
            form.get_by_label("Deployment ids").fill(", ".join(body["deployment_ids"]))
            form.get_by_label("Authorisation (OIDC) endpoint").fill(body["auth_login_url"])
            form.get_by_label("Token endpoint").fill(body["auth_token_url"])
            form.get_by_label("Public key set (JWKS) URL").fill(body["key_set_url"])
            form.get_by_role("button", name="Register").click()
            page.locator("form[aria-label='Register an LMS'] [role=alert]:not([hidden])").first.wait_for()
            assert page.locator(f'[data-drona-lti-platform="{body["issuer"]}"]').count() == 1
            row.get_by_role("button", name="Remove Test LMS").click()
            row.get_by_role("button", name="Remove Test LMS").click()  # the second press confirms
            page.locator(f'[data-drona-lti-platform="{body["issuer"]}"]').wait_for(state="detached")
    finally:
        platform.close()
