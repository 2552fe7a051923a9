"""The analytics dashboards in the browser (issue #17): a team's manager opens the team dashboard from the
organisation page, shows a chart as a table and exports it as CSV; a learner sees the skill map on "Your progress".
Both pages are checked with axe-core too. The data is real: accounts, an organisation and a team made through the
API, lessons completed and an exercise graded for real."""

from __future__ import annotations

import csv
import io
import math
import sqlite3
import uuid
from typing import Any

import httpx
import pytest
import yaml

from .conftest import CONTENT, DemoSite, authored
from .test_learner import PASSWORD, call, learner_page, reading_lesson, sign_up_and_onboard

pytestmark = pytest.mark.e2e

TEAM_SIZE = 5  # members besides the manager: the default k, so the team's aggregates are shown


def _client(site: DemoSite) -> httpx.Client:
    client = httpx.Client(base_url=site.base_url, headers={"Origin": site.base_url.rstrip("/")}, timeout=30)
    client.get("api/auth/csrf")
    return client


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    answer = client.post(path, json=body, headers={"X-CSRF-Token": client.cookies.get("drona_csrf") or ""})
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def _sql(site: DemoSite, query: str, *args: Any) -> None:
    assert site.data_dir is not None, "needs a demo site this test started (its database)"
    with sqlite3.connect(site.data_dir.parent / "learners.db") as db:
        db.execute(query, args)


def _team_with_progress(site: DemoSite) -> tuple[dict[str, Any], str, list[str], list[str]]:
    """An organisation with a team of TEAM_SIZE learners (each has completed a lesson) and its manager:
    returns (the team, the manager's email, the members' names, the members' emails)."""
    tag = uuid.uuid4().hex[:8]
    admin = _client(site)
    try:
        admin_email = f"admin-{tag}@e2e-analytics.example.com"
        _post(admin, "api/auth/signup", {"email": admin_email, "password": PASSWORD, "display_name": "Admin"})
        _sql(site, "UPDATE users SET role = 'super_admin' WHERE email = ?", admin_email)
        org = _post(admin, "api/orgs", {"name": f"Metrics Corp {tag}"})
        team = _post(admin, f"api/orgs/{org['id']}/teams", {"name": f"Analysts {tag}"})
        manager = f"manager-{tag}@e2e-analytics.example.com"
        client = _client(site)
        try:
            _post(client, "api/auth/signup", {"email": manager, "password": PASSWORD, "display_name": "Mona Manager"})
        finally:
            client.close()
        _sql(site, "UPDATE users SET role = 'team_manager', organization_id = ? WHERE email = ?", org["id"], manager)
        _post(admin, f"api/teams/{team['id']}/members", {"email": manager, "role": "manager"})
        lesson = reading_lesson(site)
        names, emails = [], []
        for i in range(TEAM_SIZE):
            email, name = f"member{i}-{tag}@e2e-analytics.example.com", f"Member {i} {tag}"
            member = _client(site)
            try:
                _post(member, "api/auth/signup", {"email": email, "password": PASSWORD, "display_name": name})
                _sql(site, "UPDATE users SET organization_id = ? WHERE email = ?", org["id"], email)
                _post(member, "api/progress/events",
                      {"event_id": uuid.uuid4().hex, "lesson_id": lesson["id"], "kind": "completed"})
            finally:
                member.close()
            _post(admin, f"api/teams/{team['id']}/members", {"email": email})
            names.append(name)
            emails.append(email)
    finally:
        admin.close()
    return team, manager, names, emails


def _lesson_skills(lesson: dict[str, Any]) -> list[str]:
    """The skills in a lesson's front matter (content/…/LESSON.md)."""
    path = next(CONTENT.glob(f"tracks/**/{lesson['url'].rstrip('/').rsplit('/', 1)[-1]}.md"))
    front = path.read_text(encoding="utf-8").split("---", 2)[1]
    return list(yaml.safe_load(front).get("skills") or [])


def _axe(page: Any, where: str) -> None:
    from .test_accessibility import axe_violations, describe

    page.wait_for_timeout(400)  # Material's header title fades in after a scroll: let it settle
    problems = describe(where, axe_violations(page))
    assert not problems, "\n".join(problems)


def test_a_manager_opens_the_team_dashboard_and_exports_a_chart(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    team, manager, names, emails = _team_with_progress(site)
    with learner_page(browser, accept_downloads=True) as page:
        call(page, site, "POST", "auth/login", {"email": manager, "password": PASSWORD})
        # From the organisation page, where a manager follows the team's progress.
        page.goto(site.base_url + "organisation/")
        page.wait_for_selector('[data-drona-app="org"][data-state=ready]')
        page.get_by_role("link", name=f"Open the analytics dashboard of {team['name']}").click()
        page.wait_for_url(f"**/analytics/team/?team={team['id']}")
        app = page.locator('[data-drona-app="team-analytics"][data-state=ready]')
        app.wait_for()
        data = call(page, site, "GET", f"analytics/teams/{team['id']}")
        assert data["level"] == "team"
        assert team["name"] in app.locator(".drona-analytics__subject").inner_text()
        tiles = app.locator("[data-drona-metric]")
        assert tiles.count() == len(data["metrics"]) > 0
        for metric in data["metrics"]:
            tile = app.locator(f'[data-drona-metric="{metric["id"]}"]')
            assert tile.locator(".drona-metric__label").text_content() == metric["label"]
            if metric["suppressed"]:
                assert "Hidden: fewer than 5 people" in tile.text_content()
        assert app.get_by_role("heading", name="Alerts", exact=True).count() == 1

        # The chart with a row per member (a manager's view), else the first chart with rows.
        shown = [c for c in data["charts"] if c["rows"] and not c["suppressed"]]
        assert shown, f"no chart with rows: {[c['id'] for c in data['charts']]}"
        chart = next((c for c in shown if any(names[0] in map(str, row.values()) for row in c["rows"])), shown[0])
        section = app.locator(f'[data-drona-chart="{chart["id"]}"]')
        toggle = section.locator(f'[data-drona-chart-table="{chart["id"]}"]')
        table = section.locator("table")
        assert not table.is_visible()
        assert toggle.get_attribute("aria-pressed") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "true"
        table.wait_for(state="visible")
        assert section.locator(".drona-chart__view").is_hidden()
        headers = [h.inner_text().strip() for h in table.locator("thead th").all()]
        assert headers == [c["label"] for c in chart["columns"]]
        assert table.locator("tbody tr").count() == len(chart["rows"])
        _axe(page, "team dashboard with a table shown")

        # The CSV export: a download of the same rows, its header the column labels.
        with page.expect_download() as download:
            section.locator(f'[data-drona-chart-csv="{chart["id"]}"]').click()
        text = download.value.path().read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == [c["label"] for c in chart["columns"]]
        assert len(rows) - 1 == len(chart["rows"])
        if any(names[0] in map(str, row.values()) for row in chart["rows"]):
            assert any(names[0] in row for row in rows[1:]), "the member's row is in the CSV"
        toggle.click()
        assert table.is_hidden() and section.locator(".drona-chart__view").is_visible()

    # A member of the team reads, on the organisation's page, who may open their own dashboard: the manager.
    with learner_page(browser) as page:
        call(page, site, "POST", "auth/login", {"email": emails[0], "password": PASSWORD})
        page.goto(site.base_url + "organisation/")
        app = page.locator('[data-drona-app="org"][data-state=ready]')
        app.wait_for()
        policy = app.get_by_role("heading", name="who sees your learning")
        assert policy.count() == 1
        text = app.inner_text()
        assert f"{team['name']}: Mona Manager" in text
        assert "groups of 5 or more people, never yours alone" in text
        _axe(page, "the organisation's policy, as a member reads it")


def test_a_learner_sees_the_skill_map(browser: Any, demo_site: DemoSite) -> None:
    site = demo_site
    exercise, _ = authored("exercises", "say-hello")
    lesson = next(lesson for lesson in site.lessons() if exercise["id"] in lesson.get("exercise_ids", []))
    with learner_page(browser) as page:
        sign_up_and_onboard(page, site, name="Skill Mapper")
        for _ in range(2):
            result = call(page, site, "POST", f"exercises/{exercise['id']}/submissions",
                          {"code": exercise["solution"], "submission_id": uuid.uuid4().hex})
            assert result["passed"], result
        # From the account menu, where the learner's pages are.
        page.goto(site.base_url + "dashboard/")
        page.wait_for_selector('[data-drona-app="dashboard"][data-state=ready]')
        page.locator(".drona-userbar__toggle").click()
        page.get_by_role("link", name="Your progress").click()
        page.wait_for_url("**/progress/")
        app = page.locator('[data-drona-app="progress"][data-state=ready]')
        app.wait_for()
        data = call(page, site, "GET", "analytics/me")
        assert data["level"] == "individual"
        skillmap = next(c for c in data["charts"] if c["kind"] == "skillmap")
        section = app.locator(f'[data-drona-chart="{skillmap["id"]}"]')
        tiles = section.locator("[data-drona-skill]")
        assert tiles.count() == len(skillmap["rows"]) > 0
        mastered = {row["skill"]: row["mastery"] for row in skillmap["rows"] if row["mastery"] is not None}
        assert mastered, "the graded exercise gave the learner a mastery estimate"
        assert set(_lesson_skills(lesson)) <= set(mastered), "the exercise's skills have an estimate"
        for skill, mastery in mastered.items():
            tile = section.locator(f'[data-drona-skill="{skill}"]')
            percent = math.floor(mastery * 100 + 0.5)
            assert tile.locator("[data-drona-mastery]").get_attribute("data-drona-mastery") == str(percent)
            assert f"{percent}% mastery" in tile.inner_text()
        # The metric tiles and the recommendations of the individual level.
        assert app.locator("[data-drona-metric]").count() == len(data["metrics"]) > 0
        assert app.get_by_role("heading", name="Recommendations").count() == 1
        # The skill map has a table view too.
        section.locator(f'[data-drona-chart-table="{skillmap["id"]}"]').click()
        assert section.locator("tbody tr").count() == len(skillmap["rows"])
        _axe(page, "your progress with the skill map")
