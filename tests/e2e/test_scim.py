"""The organisation page's Provisioning (SCIM) section in the browser: an admin creates a token (shown once,
copied with the button), the identity provider uses it at the base URL shown, the list shows its last use,
and revoking it shuts the identity provider out."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest

from .conftest import DemoSite
from .test_learner import learner_page

pytestmark = pytest.mark.e2e

ROOT = "root@e2e-scim.example.com"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def scim_org(demo_site: DemoSite) -> str:
    assert demo_site.data_dir is not None, "needs a demo site this test started (its database)"
    with httpx.Client(base_url=demo_site.base_url, headers={"Origin": demo_site.base_url.rstrip("/")}) as client:
        client.get("api/auth/csrf")

        def post(path: str, body: dict[str, Any]) -> Any:
            answer = client.post(path, json=body, headers={"X-CSRF-Token": client.cookies.get("drona_csrf") or ""})
            assert answer.status_code < 300, answer.text
            return answer.json()

        post("api/auth/signup", {"email": ROOT, "password": PASSWORD, "display_name": "Root"})
        with sqlite3.connect(demo_site.data_dir.parent / "learners.db") as db:
            db.execute("UPDATE users SET role = 'super_admin' WHERE email = ?", (ROOT,))
        return str(post("api/orgs", {"name": "SCIM Corp"})["id"])


def test_an_admin_creates_copies_uses_and_revokes_a_scim_token(browser: Any, demo_site: DemoSite,
                                                               scim_org: str) -> None:
    from .test_accessibility import axe_violations, describe

    base = demo_site.base_url.rstrip("/")
    with learner_page(browser, permissions=["clipboard-read", "clipboard-write"]) as page:
        page.goto(demo_site.base_url + "account/signin/")
        page.get_by_label("Email", exact=True).fill(ROOT)
        page.get_by_label("Password").fill(PASSWORD)
        page.locator("form[aria-label='Sign in'] button[type=submit]").click()
        page.wait_for_url("**/onboarding/**")
        page.goto(demo_site.base_url + f"organisation/?org={scim_org}")
        page.wait_for_selector('[data-drona-app="org"][data-state=ready]')
        section = page.locator("section", has=page.get_by_role("heading", name="Provisioning (SCIM)"))
        assert section.locator("[data-drona-scim-base]").inner_text() == f"{base}/scim/v2"
        assert "No tokens yet." in section.inner_text()

        page.get_by_label("Token name").fill("Okta")
        page.get_by_role("button", name="Create token").click()
        secret = page.locator("[data-drona-scim-secret]")
        secret.wait_for()
        token = secret.inner_text()
        assert token.startswith("scim_") and "will not be shown again" in section.inner_text()
        page.get_by_role("button", name="Copy token").click()
        page.get_by_text("Copied.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == token
        problems = describe("organisation page with a new SCIM token", axe_violations(page))
        assert not problems, "\n".join(problems)

        # The identity provider, with the token, at the base URL shown.
        headers = {"Authorization": f"Bearer {token}"}
        made = httpx.post(f"{base}/scim/v2/Users", headers=headers, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@scim-corp.example",
            "emails": [{"value": "ada@scim-corp.example", "primary": True}]})
        assert made.status_code == 201, made.text

        page.reload()
        page.wait_for_selector('[data-drona-app="org"][data-state=ready]')
        assert page.locator("[data-drona-scim-secret]").count() == 0, "shown once only"
        row = page.locator('[data-drona-scim-token="Okta"]')
        assert "Never" not in row.inner_text(), "its last use is listed"
        assert token not in page.content()
        row.get_by_role("button", name="Revoke Okta").click()
        row.get_by_role("button", name="Revoke Okta").click()  # the second press confirms
        page.locator('[data-drona-scim-token="Okta"]').wait_for(state="detached")
        refused = httpx.get(f"{base}/scim/v2/Users", headers=headers)
        assert refused.status_code == 401 and refused.json()["status"] == "401"
