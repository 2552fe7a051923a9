"""The organisation roles' own screens in the browser: an analytics viewer opens the organisation page and finds
the read-only dashboard (counts per course, nobody named, no admin sections), on a phone too."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest

from .conftest import DemoSite
from .test_learner import learner_page

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
ADMIN, VIEWER = "admin@e2e-roles.example.com", "viewer@e2e-roles.example.com"


def _client(site: DemoSite) -> httpx.Client:
    client = httpx.Client(base_url=site.base_url, headers={"Origin": site.base_url.rstrip("/")})
    client.get("api/auth/csrf")
    return client


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    answer = client.post(path, json=body, headers={"X-CSRF-Token": client.cookies.get("drona_csrf") or ""})
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def test_an_analytics_viewer_sees_the_dashboard_and_no_admin_section(browser: Any, demo_site: DemoSite) -> None:
    from .test_accessibility import axe_violations, describe

    assert demo_site.data_dir is not None, "needs a demo site this test started (its database)"
    admin, viewer = _client(demo_site), _client(demo_site)
    try:
        _post(admin, "api/auth/signup", {"email": ADMIN, "password": PASSWORD, "display_name": "Admin"})
        _post(viewer, "api/auth/signup", {"email": VIEWER, "password": PASSWORD, "display_name": "Vic"})
        with sqlite3.connect(demo_site.data_dir.parent / "learners.db") as db:
            db.execute("UPDATE users SET role = 'super_admin' WHERE email = ?", (ADMIN,))
        org = _post(admin, "api/orgs", {"name": "Roles Corp"})
        with sqlite3.connect(demo_site.data_dir.parent / "learners.db") as db:
            db.execute("UPDATE users SET role = 'analytics_viewer', organization_id = ? WHERE email = ?",
                       (org["id"], VIEWER))
        course = next(c for t in admin.get("api/catalog").json()["tracks"] for c in t["courses"]
                      if c["status"] == "active")
        team = _post(admin, f"api/orgs/{org['id']}/teams", {"name": "Analysts"})
        _post(admin, f"api/teams/{team['id']}/members", {"email": VIEWER})
        _post(admin, f"api/orgs/{org['id']}/assignments",
              {"course_id": course["id"], "team_id": team["id"], "due_at": "2099-01-01T12:00:00+00:00"})
    finally:
        admin.close()
        viewer.close()
    for viewport in ({"width": 1280, "height": 900}, {"width": 375, "height": 740}):
        with learner_page(browser) as page:
            page.set_viewport_size(viewport)
            page.goto(demo_site.base_url + "account/signin/")
            page.get_by_label("Email", exact=True).fill(VIEWER)
            page.get_by_label("Password").fill(PASSWORD)
            page.locator("form[aria-label='Sign in'] button[type=submit]").click()
            page.wait_for_url("**/onboarding/**")
            page.goto(demo_site.base_url + "organisation/")
            page.wait_for_selector('[data-drona-app="org"][data-state=ready]')
            page.get_by_role("heading", name="Roles Corp: dashboard").wait_for()
            row = page.locator(f'[data-drona-dashboard-course="{course["id"]}"]')
            assert row.locator("th").inner_text() == course["title"]
            assert [cell.inner_text() for cell in row.locator("td").all()][:2] == ["1", "0"]  # assigned, done
            app = page.locator('[data-drona-app="org"]')
            assert "@" not in app.inner_text(), "the dashboard names nobody"
            for admin_only in ("Invite someone", "Members", "Settings", "Recent changes"):
                assert page.get_by_role("heading", name=admin_only, exact=True).count() == 0, admin_only
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scroll"
            problems = describe(f"organisation page as an analytics viewer at {viewport['width']} px",
                                axe_violations(page))
            assert not problems, "\n".join(problems)
