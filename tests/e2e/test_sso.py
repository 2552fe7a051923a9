"""Single sign-on in the browser: a learner clicks "Use single sign-on (SSO)", enters their work email,
lands on the organisation's identity provider (a real one, oidc-provider-mock on 127.0.0.1), signs in there
and comes back to the site signed in, a member of the organisation."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import werkzeug.serving
from oidc_provider_mock import app as provider_app

from .conftest import DemoSite
from .test_learner import learner_page

pytestmark = pytest.mark.e2e

DOMAIN = "e2e-corp.example.com"
EMAIL = f"grace@{DOMAIN}"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    server = werkzeug.serving.make_server("127.0.0.1", 0, provider_app(require_nonce=True), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def _api(site: DemoSite) -> httpx.Client:
    """A client that talks to the API as the site's own pages do (same origin, CSRF token echoed)."""
    client = httpx.Client(base_url=site.base_url, headers={"Origin": site.base_url.rstrip("/")})
    client.get("api/auth/csrf")
    return client


def _post(client: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = client.request(method, path, json=body, headers={"X-CSRF-Token": client.cookies.get("drona_csrf") or ""})
    assert answer.status_code < 300, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def corp(demo_site: DemoSite, provider: str) -> str:
    """An organisation with SSO at the provider and its domain verified, set up through the API by a super admin."""
    assert demo_site.data_dir is not None, "needs a demo site this test started (its database)"
    root = _api(demo_site)
    try:
        _post(root, "POST", "api/auth/signup", {"email": "root@e2e-admin.example.com",
                                                "password": "correct horse battery", "display_name": "Root"})
        with sqlite3.connect(demo_site.data_dir.parent / "learners.db") as db:
            db.execute("UPDATE users SET role = 'super_admin' WHERE email = ?", ("root@e2e-admin.example.com",))
        org = _post(root, "POST", "api/orgs", {"name": "E2E Corp"})
        _post(root, "PUT", f"api/orgs/{org['id']}/sso", {"issuer": provider, "client_id": "drona-e2e",
                                                         "client_secret": "e2e-secret"})
        _post(root, "POST", f"api/orgs/{org['id']}/domains", {"domain": DOMAIN})
        _post(root, "POST", f"api/admin/orgs/{org['id']}/domains/{DOMAIN}/verify")
    finally:
        root.close()
    answer = httpx.put(f"{provider}/users/grace", json={"email": EMAIL, "email_verified": True,
                                                        "name": "Grace Hopper"})
    assert answer.status_code == 204
    return str(org["id"])


def test_a_learner_signs_in_with_their_organisation(browser: Any, demo_site: DemoSite, provider: str,
                                                     corp: str) -> None:
    site = demo_site
    with learner_page(browser) as page:
        page.goto(site.base_url + "account/signin/")
        page.get_by_role("button", name="Use single sign-on (SSO)").click()
        page.get_by_label("Work address or organisation").fill(EMAIL)
        page.get_by_role("button", name="Continue").click()
        # The organisation's identity provider's own page.
        page.wait_for_url(f"{provider}/oauth2/authorize?**")
        assert "Authorize" in page.content()
        page.locator('input[name="sub"]').fill("grace")
        page.get_by_role("button", name="Authorize").click()
        # Back on the site, signed in.
        page.wait_for_url(f"{site.base_url}**")
        me = page.evaluate("fetch('/api/me').then((r) => r.json())")
        assert me["email"] == EMAIL and me["organization_id"] == corp and me["display_name"] == "Grace Hopper"
        organisation = page.evaluate("fetch('/api/me/organization').then((r) => r.json())")
        assert organisation["name"] == "E2E Corp"
        page.goto(site.base_url + "account/signin/")
        notice = page.locator(".drona-notice[role=status]")
        notice.wait_for()
        assert "Grace Hopper" in notice.inner_text() and EMAIL in notice.inner_text()


@contextmanager
def _phone(browser: Any, scheme: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 375, "height": 740}, color_scheme=scheme, is_mobile=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_the_sso_screens_fit_a_phone_and_pass_axe(browser: Any, demo_site: DemoSite, corp: str) -> None:
    """The sign-in entry (opened) and the organisation page's single sign-on section with its domains, on a
    phone-sized screen in both colour schemes: no serious or critical axe finding, no sideways scrolling."""
    from .test_accessibility import axe_violations, describe

    problems: list[str] = []
    for scheme in ("light", "dark"):
        with _phone(browser, scheme) as page:
            page.goto(demo_site.base_url + "account/signin/")
            page.get_by_role("button", name="Use single sign-on (SSO)").click()
            page.get_by_label("Work address or organisation").wait_for()
            problems += describe(f"{scheme} sign-in with SSO", axe_violations(page))
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            # The super admin who set the organisation up, on its page.
            page.get_by_label("Email", exact=True).fill("root@e2e-admin.example.com")
            page.get_by_label("Password").fill("correct horse battery")
            page.locator("form[aria-label='Sign in'] button[type=submit]").click()
            page.wait_for_url("**/onboarding/**")
            page.goto(demo_site.base_url + f"organisation/?org={corp}")
            page.wait_for_selector('[data-drona-app="org"][data-state=ready]')
            row = page.locator(f'[data-drona-domain="{DOMAIN}"]')
            assert "Verified" in row.inner_text() and "drona-domain-verification=" in row.inner_text()
            assert page.get_by_label("Client ID").input_value() == "drona-e2e"
            assert page.get_by_label("Client secret").input_value() == ""
            problems += describe(f"{scheme} organisation SSO", axe_violations(page))
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert not problems, "\n".join(problems)


def test_an_address_without_single_sign_on_is_told_why(browser: Any, demo_site: DemoSite, corp: str) -> None:
    with learner_page(browser) as page:
        page.goto(demo_site.base_url + "account/signin/")
        page.get_by_role("button", name="Use single sign-on (SSO)").click()
        page.get_by_label("Work address or organisation").fill("someone@not-a-customer.example.org")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/account/signin/?sso_error=**")
        alert = page.locator(".drona-notice--error[role=alert]")
        alert.wait_for()
        assert "No organisation signs in with single sign-on for that address" in alert.inner_text()
        assert page.evaluate("fetch('/api/auth/session').then((r) => r.json())")["user"] is None
