"""Analytics on SQLite and PostgreSQL: the fold into rollups (hand-computed, exactly once with two processes),
who sees which dashboard (every role, a foreign organisation's included), k-anonymity, and the CSV export.

Statements are inserted directly (`add_statements`), so these tests do not depend on the domains' hooks.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sidecar.analytics import rollup
from sidecar.analytics import service as analytics
from sidecar.analytics.tables import (
    AnalyticsCourse,
    AnalyticsDaily,
    AnalyticsPlatformDaily,
    AnalyticsSkill,
    AnalyticsUser,
    AnalyticsWatermark,
)
from sidecar.auth.roles import Role
from sidecar.auth.service import create_user
from sidecar.catalog.service import get_index
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.xapi.tables import XapiStatement
from tests.test_org_admin import COURSE, _join
from tests.test_security_orgs import PASSWORD, _account, _me, _org

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def add_statements(db_url: str, rows: list[dict[str, Any]]) -> None:
    """Insert statements as the domains would record them: {user_id, verb, object_type, object_id, at, ...}."""
    with write_session(get_engine(db_url)) as session:
        for row in rows:
            session.add(XapiStatement(
                id=str(uuid.uuid4()), user_id=row["user_id"], verb=row["verb"],
                object_type=row.get("object_type", "exercise"), object_id=row.get("object_id", "e1"),
                course_id=row.get("course_id"), skills=row.get("skills", []), success=row.get("success"),
                score=row.get("score"), duration_s=row.get("duration_s"), timestamp=row["at"],
                stored=row.get("stored", row["at"]), statement={}))


def _user(db_url: str, email: str, name: str | None = None, role: Role = Role.LEARNER) -> str:
    with write_session(get_engine(db_url)) as session:
        return create_user(session=session, email=email, password=PASSWORD, display_name=name or email.split("@")[0],
                           role=role).id


# ---- the fold ----------------------------------------------------------------------------------------------


def test_the_fold_adds_each_statement_into_the_rollups_as_computed_by_hand(db_url: str) -> None:
    uid = _user(db_url, "ada@example.com")
    loops = ["loops"]
    add_statements(db_url, [
        {"user_id": uid, "verb": "viewed", "object_type": "lesson", "object_id": "l1", "course_id": "c1", "at": T0},
        {"user_id": uid, "verb": "attempted", "object_id": "e1", "course_id": "c1", "skills": loops,
         "success": False, "duration_s": 120, "at": T0 + timedelta(minutes=10)},
        {"user_id": uid, "verb": "asked", "object_id": "e1", "course_id": "c1", "skills": loops,
         "at": T0 + timedelta(minutes=15)},
        {"user_id": uid, "verb": "attempted", "object_id": "e1", "course_id": "c1", "skills": loops,
         "success": True, "duration_s": 60, "at": T0 + timedelta(minutes=20)},
        {"user_id": uid, "verb": "completed", "object_type": "lesson", "object_id": "l1", "course_id": "c1",
         "at": T0 + timedelta(minutes=21)},
        {"user_id": uid, "verb": "reviewed", "object_type": "quiz_item", "object_id": "q1", "skills": loops,
         "success": True, "at": T0 + timedelta(days=2)},
        {"user_id": uid, "verb": "interacted", "object_type": "tutor", "object_id": "s1",
         "at": T0 + timedelta(days=2, minutes=5)},
        {"user_id": None, "verb": "viewed", "object_type": "lesson", "object_id": "l1", "at": T0},  # anonymous
    ])
    engine = get_engine(db_url)
    assert rollup.behind(engine=engine) == 8
    assert analytics.fold(engine=engine) == 8
    assert analytics.fold(engine=engine) == 0  # nothing twice
    assert rollup.behind(engine=engine) == 0
    with read_session(engine) as session:
        user = session.get(AnalyticsUser, uid)
        assert user is not None
        # Two sessions (the review is two days later); active time is the gaps inside them:
        # 600 + 300 + 300 + 60 on the first day, 300 on the third.
        assert (user.events, user.sessions, user.active_s) == (7, 2, 1560.0)
        assert (user.lessons_completed, user.attempts, user.successes, user.hints) == (1, 2, 1, 1)
        assert (user.hinted, user.hint_passes, user.tutor_turns, user.reviews, user.reviews_correct) == (1, 1, 1, 1, 1)
        days = {d.day: d for d in session.scalars(select(AnalyticsDaily).where(AnalyticsDaily.user_id == uid))}
        assert sorted(days) == [T0.date(), (T0 + timedelta(days=2)).date()]
        first, third = days[T0.date()], days[(T0 + timedelta(days=2)).date()]
        assert (first.events, first.sessions, first.active_s, first.attempts) == (5, 1, 1260.0, 2)
        assert (third.events, third.sessions, third.active_s, third.reviews) == (2, 1, 300.0, 1)
        skill = session.get(AnalyticsSkill, (uid, "loops"))
        assert skill is not None
        assert (skill.attempts, skill.successes, skill.hints, skill.duration_s, skill.streak) == (2, 1, 1, 180.0, 1)
        assert skill.mastered_at is None and skill.stability is not None and skill.stability > 0
        course = session.get(AnalyticsCourse, (uid, "c1"))
        assert course is not None and course.lessons_completed == 1
        platform = session.get(AnalyticsPlatformDaily, T0.date())
        assert platform is not None
        assert (platform.active_users, platform.new_users, platform.events, platform.hint_passes) == (1, 1, 5, 1)
        assert session.get(AnalyticsWatermark, "xapi").seq == 8  # type: ignore[union-attr]


def test_mastery_three_right_in_a_row_and_delayed_re_attempts(db_url: str) -> None:
    uid = _user(db_url, "ada@example.com")
    outcomes = [False, True, False, True, True, True]  # mastered at the sixth attempt
    add_statements(db_url, [{"user_id": uid, "verb": "answered", "object_type": "quiz_item", "object_id": f"q{i}",
                             "skills": ["recursion"], "success": ok, "at": T0 + timedelta(minutes=i)}
                            for i, ok in enumerate(outcomes)])
    add_statements(db_url, [{"user_id": uid, "verb": "attempted", "object_id": "e9", "skills": ["recursion"],
                             "success": False, "at": T0 + timedelta(days=3)}])  # a re-attempt three days later
    analytics.fold(engine=get_engine(db_url))
    with read_session(get_engine(db_url)) as session:
        skill = session.get(AnalyticsSkill, (uid, "recursion"))
        assert skill is not None
        assert skill.mastered_at == T0 + timedelta(minutes=5) and skill.attempts_to_mastery == 6
        assert (skill.attempts, skill.streak, skill.delayed_attempts, skill.delayed_successes) == (7, 0, 1, 0)


def test_a_young_gap_in_seq_is_waited_for_on_postgresql(db_url: str) -> None:
    uid = _user(db_url, "ada@example.com")
    now = datetime.now(UTC)
    add_statements(db_url, [{"user_id": uid, "verb": "viewed", "object_type": "lesson", "at": now,
                             "stored": now}] * 2)
    engine = get_engine(db_url)
    with write_session(engine) as session:  # as if seq 1 were still in flight: remove it, keep 2
        session.execute(XapiStatement.__table__.delete().where(XapiStatement.seq == 1))
    if db_url.startswith("sqlite"):  # one writer: a gap is never a statement still in flight
        assert rollup.fold_batch(engine=engine) == 1
        return
    assert rollup.fold_batch(engine=engine) == 0  # seq 2 waits: 1 may still commit
    assert rollup.fold_batch(engine=engine, now=now + rollup.GAP_GRACE + timedelta(seconds=1)) == 1


FOLD_SCRIPT = """
import sys
from sidecar.analytics import rollup
from sidecar.db.engine import get_engine
total = rollup.fold(engine=get_engine(sys.argv[1]), batch=50)
print(total)
"""


def test_two_processes_folding_at_once_count_every_statement_once(db_url: str) -> None:
    uid = _user(db_url, "ada@example.com")
    add_statements(db_url, [{"user_id": uid, "verb": "attempted", "object_id": f"e{i % 7}", "skills": ["s"],
                             "success": i % 3 == 0, "at": T0 + timedelta(seconds=30 * i)} for i in range(1500)])
    procs = [subprocess.Popen([sys.executable, "-c", FOLD_SCRIPT, db_url], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    folded = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(folded) == 1500  # split between the two, each statement once
    with read_session(get_engine(db_url)) as session:
        user = session.get(AnalyticsUser, uid)
        assert user is not None and user.events == 1500 and user.attempts == 1500 and user.successes == 500
        assert session.scalar(select(func.sum(AnalyticsDaily.events))) == 1500


# ---- who sees what -------------------------------------------------------------------------------------------


@pytest.fixture
def world(make_client: Any, db_url: str) -> dict[str, Any]:
    """Two organisations. In a: an admin, an analytics viewer, team a (its manager, a learner) and another team
    (its own manager). In b: an admin, a manager of team b and a learner. A super admin."""
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    people: dict[str, Any] = {"root": root, "anonymous": make_client(db_url)}
    ids: dict[str, str] = {}
    for tag in ("a", "b"):
        org_id = _org(root, f"Org {tag}")
        admin = _account(make_client, db_url, f"admin-{tag}@example.com")
        assert _join(root, admin, db_url, org_id, f"admin-{tag}@example.com", "enterprise_admin").status_code == 200
        team = admin.post(f"/api/orgs/{org_id}/teams", json={"name": f"Team {tag}"}).json()
        for who in ("manager", "learner"):
            client = _account(make_client, db_url, f"{who}-{tag}@example.com")
            assert _join(admin, client, db_url, org_id, f"{who}-{tag}@example.com").status_code == 200
            answer = admin.post(f"/api/teams/{team['id']}/members",
                                json={"email": f"{who}-{tag}@example.com", "role": who.replace("learner", "member")})
            assert answer.status_code == 204, answer.text
            people[f"{who}_{tag}"] = client
            ids[f"{who}_{tag}"] = _me(client)["id"]
        people[f"admin_{tag}"] = admin
        ids[f"org_{tag}"], ids[f"team_{tag}"] = org_id, team["id"]
    admin_a = people["admin_a"]
    viewer = _account(make_client, db_url, "viewer-a@example.com")
    assert _join(admin_a, viewer, db_url, ids["org_a"], "viewer-a@example.com", "analytics_viewer").status_code == 200
    other = _account(make_client, db_url, "other-manager-a@example.com")
    assert _join(admin_a, other, db_url, ids["org_a"], "other-manager-a@example.com").status_code == 200
    other_team = admin_a.post(f"/api/orgs/{ids['org_a']}/teams", json={"name": "Other a"}).json()
    admin_a.post(f"/api/teams/{other_team['id']}/members",
                 json={"email": "other-manager-a@example.com", "role": "manager"})
    people.update(viewer_a=viewer, other_manager_a=other)
    return {"people": people, "ids": ids}


# (path, who may see it); everyone else signed in gets 403, and nobody signed out gets through (401).
VISIBILITY = [
    ("/api/analytics/me", {"root", "admin_a", "viewer_a", "manager_a", "learner_a", "other_manager_a", "admin_b",
                           "manager_b", "learner_b"}),
    ("/api/analytics/users/{learner_a}", {"learner_a", "manager_a"}),
    ("/api/analytics/teams/{team_a}", {"manager_a", "admin_a", "root"}),
    ("/api/analytics/orgs/{org_a}", {"admin_a", "viewer_a", "root"}),
    ("/api/analytics/platform", {"root"}),
]
ROLES = ["root", "admin_a", "viewer_a", "manager_a", "learner_a", "other_manager_a", "admin_b", "manager_b",
         "learner_b"]


def test_every_role_sees_exactly_the_dashboards_it_may(world: dict[str, Any]) -> None:
    people, ids = world["people"], world["ids"]
    for path, allowed in VISIBILITY:
        url = path.format(**ids)
        assert people["anonymous"].get(url).status_code == 401, url
        for who in ROLES:
            answer = people[who].get(url)
            if who in allowed:
                assert answer.status_code == 200, (url, who, answer.text)
                assert answer.json()["level"] in ("individual", "team", "organization", "platform")
            else:
                assert answer.status_code == 403, (url, who, answer.status_code, answer.text)
                assert answer.json()["error"]["code"] == "forbidden"
            csv_answer = people[who].get(url, params={"format": "csv", "chart": "weekly_trend"})
            assert csv_answer.status_code in (200, 403, 422), (url, who)
            if who not in allowed:
                assert csv_answer.status_code == 403  # the export is no way around the check
    # A dashboard of one's own is about oneself; a drill-down is about the learner.
    me = people["learner_a"].get("/api/analytics/me").json()
    assert me["subject"]["id"] == ids["learner_a"] and me["level"] == "individual"
    drill = people["manager_a"].get(f"/api/analytics/users/{ids['learner_a']}").json()
    assert drill["subject"]["id"] == ids["learner_a"]
    # Unknown ids: a team or organisation that does not exist is 404 for those who could see one.
    assert people["root"].get("/api/analytics/teams/nope").status_code == 404
    assert people["root"].get("/api/analytics/orgs/nope").status_code == 404
    assert people["manager_a"].get("/api/analytics/users/nope").status_code == 403  # not theirs, whatever it is


def test_each_member_is_told_who_may_open_their_dashboard(world: dict[str, Any], make_client: Any,
                                                          db_url: str) -> None:
    """The organisation's policy as it applies to the signed-in member: by name, the managers of their teams
    (exactly those the drill-down lets in), and the k of the aggregates."""
    people, ids = world["people"], world["ids"]
    assert people["anonymous"].get("/api/analytics/who-sees-me").status_code == 401
    mine = people["learner_a"].get("/api/analytics/who-sees-me").json()
    assert mine["organization"] == {"id": ids["org_a"], "name": "Org a"} and mine["k"] == 5
    assert mine["drill_down"] == [{"team": "Team a", "managers": ["manager-a"]}]
    assert people["manager_a"].get("/api/analytics/who-sees-me").json()["drill_down"] == []  # only themselves
    assert people["learner_b"].get("/api/analytics/who-sees-me").json()["drill_down"] == [
        {"team": "Team b", "managers": ["manager-b"]}]
    viewer = people["viewer_a"].get("/api/analytics/who-sees-me").json()
    assert viewer["organization"]["id"] == ids["org_a"] and viewer["drill_down"] == []
    loner = _account(make_client, db_url, "loner@example.com").get("/api/analytics/who-sees-me").json()
    assert loner == {"organization": None, "k": 5, "drill_down": []}
    # What it names is what the drill-down enforces: the other team's manager is not listed and is refused.
    assert people["other_manager_a"].get(f"/api/analytics/users/{ids['learner_a']}").status_code == 403


def test_each_persons_rows_and_alerts_are_for_the_teams_managers_only(world: dict[str, Any], db_url: str) -> None:
    people, ids = world["people"], world["ids"]
    add_statements(db_url, [{"user_id": ids["learner_a"], "verb": "attempted", "object_id": "e1",
                             "skills": ["loops"], "success": False, "at": datetime.now(UTC) - timedelta(hours=1)}
                            for _ in range(10)])
    manager = people["manager_a"].get(f"/api/analytics/teams/{ids['team_a']}").json()
    admin = people["admin_a"].get(f"/api/analytics/teams/{ids['team_a']}").json()
    rows = {c["id"]: c for c in manager["charts"]}["people"]["rows"]
    assert [r["user_id"] for r in rows] == [ids["learner_a"]]
    assert {(a["user_id"], a["kind"]) for a in manager["alerts"]} >= {(ids["learner_a"], "wheel_spinning"),
                                                                       (ids["learner_a"], "struggling")}
    admin_people = {c["id"]: c for c in admin["charts"]}["people"]
    assert admin_people["rows"] == [] and "managers" in admin_people["note"]
    assert admin["alerts"] == []


def test_groups_smaller_than_k_are_suppressed(world: dict[str, Any], db_url: str) -> None:
    people, ids = world["people"], world["ids"]
    add_statements(db_url, [{"user_id": ids["learner_a"], "verb": "completed", "object_type": "lesson",
                             "object_id": "l1", "course_id": COURSE, "at": datetime.now(UTC) - timedelta(hours=2)}])
    team = people["manager_a"].get(f"/api/analytics/teams/{ids['team_a']}").json()  # one learner < k = 5
    assert team["k"] == 5
    assert all(metric["suppressed"] and metric["value"] is None for metric in team["metrics"])
    charts = {c["id"]: c for c in team["charts"]}
    for chart_id in ("team_progress", "deadlines", "weekly_trend"):
        assert charts[chart_id]["suppressed"] and charts[chart_id]["rows"] == []
    org = people["admin_a"].get(f"/api/analytics/orgs/{ids['org_a']}").json()  # five active members: k met
    assert not any(metric["suppressed"] for metric in org["metrics"])
    progress = {c["id"]: c for c in org["charts"]}["company_progress"]
    assert progress["rows"] == [] and "1 row over fewer than 5 people hidden" in progress["note"]  # one learner


def test_a_team_at_k_shows_its_aggregates_hand_computed(make_client: Any, db_url: str, minimal_build: Any) -> None:
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root, "Acme")
    manager = _account(make_client, db_url, "boss@example.com")
    assert _join(root, manager, db_url, org_id, "boss@example.com").status_code == 200
    team = root.post(f"/api/orgs/{org_id}/teams", json={"name": "Five"}).json()
    root.post(f"/api/teams/{team['id']}/members", json={"email": "boss@example.com", "role": "manager"})
    index = get_index(catalog_db=minimal_build.site_dir.parent / "catalog.db")
    size = sum(len(index.modules[m].lesson_ids) for m in index.courses[COURSE].module_ids)
    lessons = [lid for mid in index.courses[COURSE].module_ids for lid in index.modules[mid].lesson_ids]
    now = datetime.now(UTC).replace(microsecond=0)
    learners = []
    for i in range(5):
        email = f"l{i}@example.com"
        client = _account(make_client, db_url, email)
        assert _join(root, client, db_url, org_id, email).status_code == 200
        root.post(f"/api/teams/{team['id']}/members", json={"email": email})
        learners.append(_me(client)["id"])
    # Learner i completes i lessons (one every 10 minutes, in one session) in the last day.
    rows: list[dict[str, Any]] = []
    for i, uid in enumerate(learners):
        start = now - timedelta(hours=20)
        rows.append({"user_id": uid, "verb": "viewed", "object_type": "lesson", "object_id": lessons[0],
                     "course_id": COURSE, "at": start})
        rows += [{"user_id": uid, "verb": "completed", "object_type": "lesson", "object_id": lessons[j],
                  "course_id": COURSE, "at": start + timedelta(minutes=10 * (j + 1))} for j in range(min(i, size))]
    add_statements(db_url, rows)
    dashboard = manager.get(f"/api/analytics/teams/{team['id']}").json()
    metrics = {x["id"]: x for x in dashboard["metrics"]}
    assert not metrics["learning_velocity"]["suppressed"]
    # Each learner with i ≥ 1 lessons spent 10·i minutes: i / (i/6 h) = 6 lessons an hour; learner 0: no time.
    assert metrics["learning_velocity"]["value"] == 6.0
    charts = {c["id"]: c for c in dashboard["charts"]}
    progress_rows = charts["team_progress"]["rows"]
    assert len(progress_rows) == 1 and progress_rows[0]["learners"] == 5
    done = [min(i, size) for i in range(5)]
    assert progress_rows[0]["percent"] == round(100 * sum(done) / (size * 5), 1)
    assert sum(r["lessons"] for r in charts["weekly_trend"]["rows"]) == sum(done)
    assert [r["lessons"] for r in charts["people"]["rows"]] == done  # l0 … l4, by name
    # Predicted completion: every learner who has not finished has a finish date with an interval.
    assert metrics["predicted_completion"]["value"] is not None
    me = _account(make_client, db_url, "solo@example.com")
    solo = me.get("/api/analytics/me").json()
    assert {m["id"] for m in solo["metrics"]} == set(analytics.METRICS)
    assert solo["charts"][0]["id"] == "skill_map" and solo["charts"][0]["kind"] == "skillmap"


def test_the_learner_sees_a_skill_map_recommendations_and_a_prediction(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com")
    uid = _me(client)["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    add_statements(db_url, [
        *({"user_id": uid, "verb": "answered", "object_type": "quiz_item", "object_id": f"q{i}",
           "skills": ["loops"], "success": True, "at": now - timedelta(days=40, minutes=-i)} for i in range(3)),
        *({"user_id": uid, "verb": "attempted", "object_id": "e1", "skills": ["strings"], "success": False,
           "at": now - timedelta(hours=2, minutes=-i)} for i in range(10)),
        {"user_id": uid, "verb": "completed", "object_type": "lesson", "object_id": "l1", "course_id": COURSE,
         "at": now - timedelta(hours=1)},
    ])
    body = client.get("/api/analytics/me").json()
    skill_map = {r["skill"]: r for r in {c["id"]: c for c in body["charts"]}["skill_map"]["rows"]}
    assert skill_map["loops"]["status"] in ("mastered", "fading") and skill_map["loops"]["decay_risk"] > 0.3
    assert skill_map["strings"]["status"] == "wheel_spinning"
    assert all(0 <= r["mastery"] <= 1 for r in skill_map.values())
    assert any(a["kind"] == "wheel_spinning" for a in body["alerts"])
    assert any(r["kind"] == "review" and "Loops" in r["title"] for r in body["recommendations"])
    prediction = {m["id"]: m for m in body["metrics"]}["predicted_completion"]
    assert prediction["value"] is not None and prediction["interval"][0] <= prediction["value"] <= \
        prediction["interval"][1]


def test_csv_export_is_the_charts_table_and_defuses_formulas(make_client: Any, db_url: str) -> None:
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root, "Acme")
    manager = _account(make_client, db_url, "boss@example.com")
    assert _join(root, manager, db_url, org_id, "boss@example.com").status_code == 200
    team = root.post(f"/api/orgs/{org_id}/teams", json={"name": "T"}).json()
    root.post(f"/api/teams/{team['id']}/members", json={"email": "boss@example.com", "role": "manager"})
    _user(db_url, "evil@example.com", name="=HYPERLINK(\"http://x\")")
    evil = make_client(db_url)
    assert evil.post("/api/auth/login", json={"email": "evil@example.com", "password": PASSWORD}).status_code == 200
    assert _join(root, evil, db_url, org_id, "evil@example.com").status_code == 200
    root.post(f"/api/teams/{team['id']}/members", json={"email": "evil@example.com"})
    answer = manager.get(f"/api/analytics/teams/{team['id']}", params={"format": "csv", "chart": "people"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0][:3] == ["Name", "Lessons completed", "Lessons, last 28 days"]
    assert table[1][0] == "'=HYPERLINK(\"http://x\")"
    assert manager.get(f"/api/analytics/teams/{team['id']}", params={"format": "csv", "chart": "nope"}
                       ).status_code == 422
    assert manager.get(f"/api/analytics/teams/{team['id']}", params={"format": "csv"}).status_code == 422
    assert analytics._cell("-1") == "'-1" and analytics._cell(-1) == "-1" and analytics._cell("+x") == "'+x"
    assert analytics._cell("@SUM(A1)") == "'@SUM(A1)" and analytics._cell(None) == "" and analytics._cell(1.5) == "1.5"


def test_the_platform_dashboard_counts_users_engagement_and_the_ai(make_client: Any, db_url: str) -> None:
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    uid = _user(db_url, "ada@example.com")
    now = datetime.now(UTC).replace(microsecond=0)
    add_statements(db_url, [
        {"user_id": uid, "verb": "asked", "object_id": "e1", "at": now - timedelta(minutes=30)},
        {"user_id": uid, "verb": "attempted", "object_id": "e1", "success": True, "at": now - timedelta(minutes=20)},
        {"user_id": uid, "verb": "asked", "object_id": "e2", "at": now - timedelta(minutes=15)},
        {"user_id": uid, "verb": "interacted", "object_type": "tutor", "object_id": "s",
         "at": now - timedelta(minutes=10)},
    ])
    from sidecar.agents.api import service as agents
    from sidecar.agents.policy.llm import ModelCall

    engine = get_engine(db_url)
    agents.record_model_calls(engine=engine, calls=[
        ModelCall(agent="tutor", provider="openai", model="openai/gpt-5", ok=True, latency_ms=latency, cost_usd=0.01)
        for latency in (100.0, 200.0, 300.0)] + [
        ModelCall(agent="tutor", provider="openai", model="openai/gpt-5", ok=False, latency_ms=50.0)])
    body = root.get("/api/analytics/platform").json()
    charts = {c["id"]: c for c in body["charts"]}
    assert sum(r["tutor_turns"] for r in charts["ai_performance"]["rows"]) == 1
    assert "50.0%" in charts["ai_performance"]["note"]  # hinted on two exercises, passed one
    assert sum(r["new"] for r in charts["users"]["rows"]) == 1
    model = charts["models"]["rows"][0]
    assert (model["provider"], model["calls"], model["failures"], model["latency_p50_ms"]) == (
        "openai", 4, 1, 200.0)
    assert model["cost_usd"] == pytest.approx(0.03)
    assert {m["id"] for m in body["metrics"]} == set(analytics.METRICS)


def test_an_organisations_skill_metrics_in_sql_are_the_ones_computed_row_by_row(db_url: str,
                                                                               minimal_build: Any) -> None:
    """The organisation dashboard sums skills in SQL (one grouped query); a team's reads every row and
    computes in Python (metrics.py). Both must give the same numbers on every database."""
    import random

    from sidecar.auth.tables import User
    from sidecar.db.engine import is_sqlite

    rng = random.Random(7)
    engine = get_engine(db_url)
    users = [_user(db_url, f"s{i}@example.com") for i in range(12)]
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with write_session(engine) as session:
        for uid in users[:-1]:  # the last one never practised: no skill rows at all
            for skill in rng.sample(["loops", "lists", "dicts", "strings", "functions"], rng.randint(1, 5)):
                attempts = rng.choice([0, 1, 3, 10, 14])
                last = now - timedelta(days=rng.choice([0, 0.4, 1.5, 9, 70]), hours=rng.randint(0, 23))
                mastered = attempts >= 3 and rng.random() < 0.6
                session.add(AnalyticsSkill(
                    user_id=uid, skill=skill, attempts=attempts, successes=rng.randint(0, attempts),
                    hints=rng.randint(0, 4), duration_s=rng.choice([0.0, 95.0, 1200.0]), streak=0,
                    delayed_attempts=rng.randint(0, 3), delayed_successes=rng.randint(0, 1), first_at=last,
                    last_at=last, mastered_at=last if mastered else None, attempts_to_mastery=None,
                    stability=None if attempts == 0 else rng.choice([0.5, 3.0, 40.0]), difficulty=5.0))
    index = get_index(catalog_db=minimal_build.site_dir.parent / "catalog.db")
    members = select(User.id).where(User.id.in_(users))
    sqlite = is_sqlite(engine)
    with read_session(engine) as session:
        by_rows = analytics._people(session, members, now=now, index=index, sqlite=sqlite)
        in_sql = analytics._people(session, members, now=now, index=index, sqlite=sqlite, skill_rows=False)
        gaps, hidden = analytics._skill_gaps(session, members, k=3, now=now, sqlite=sqlite)
    assert set(by_rows) == set(in_sql) == set(users)
    for uid in users:
        a, b = by_rows[uid], in_sql[uid]
        for name in ("retention", "struggle", "decay"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None) and (x is None or y == pytest.approx(x, rel=1e-9)), (uid, name, x, y)
    assert any(p.decay is not None for p in in_sql.values()) and any(p.struggle for p in in_sql.values())
    # The skill gaps by hand, from the rows.
    per: dict[str, list[Any]] = {}
    for p in by_rows.values():
        for s in p.skills:
            per.setdefault(s.skill, []).append(s)
    expected = {}
    for skill, rows in per.items():
        if len(rows) < 3:
            continue
        done = [s for s in rows if s.mastered_at is not None]
        risks = [analytics.m.decay_risk(stability=s.stability, last_at=s.last_at, now=now) for s in done
                 if s.stability is not None]
        expected[skill] = (len(rows), round(100 * len(done) / len(rows), 1),
                           round(100 * sum(risks) / len(risks), 1) if risks else None,
                           sum(1 for s in rows if s.mastered_at is None and s.attempts >= 10))
    assert {r["skill"]: (r["learners"], r["mastered_percent"], r["decay_risk"], r["wheel_spinning"])
            for r in gaps} == expected
    assert hidden == sum(1 for rows in per.values() if len(rows) < 3)


def test_the_platform_trend_from_its_weekly_rollup_is_the_count_over_the_daily_rows(db_url: str) -> None:
    """The super admins' trend reads learners per week from analytics_platform_weekly (kept by the fold);
    it must equal the learners' weekly rows that a group's trend sums, folded in any batches."""
    from sidecar.auth.tables import User

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    users = [_user(db_url, f"w{i}@example.com") for i in range(4)]
    rows: list[dict[str, Any]] = []
    for i, uid in enumerate(users):  # learner i is active every (i + 1)th day for five weeks, twice a day
        for day in range(0, 35, i + 1):
            at = now - timedelta(days=day, hours=3)
            rows += [{"user_id": uid, "verb": "completed", "object_type": "lesson", "object_id": f"l{day}",
                      "course_id": COURSE, "at": at},
                     {"user_id": uid, "verb": "attempted", "success": day % 2 == 0, "at": at + timedelta(hours=1)}]
    add_statements(db_url, rows)
    engine = get_engine(db_url)
    while rollup.fold(engine=engine, limit=37, batch=37):  # small batches: a week spans several
        pass
    with read_session(engine) as session:
        days = session.scalars(select(AnalyticsPlatformDaily)).all()
        from_rollup = analytics._platform_weekly(session, days, now=now)
        counted = analytics._weekly(session, select(User.id), now=now)
    # Two independent rollups, the platform's days and weeks and the learners' weeks, agree.
    assert from_rollup == counted
    assert sum(r["lessons"] for r in counted) == sum(1 for r in rows if r["verb"] == "completed")
    assert sum(r["learners"] for r in from_rollup) == sum(
        len({(now - timedelta(days=d, hours=3)).date() - timedelta(days=(now - timedelta(days=d, hours=3)).weekday())
             for d in range(0, 35, i + 1)}) for i in range(4))
    assert max(r["learners"] for r in from_rollup) == 4
