"""The reports of §10.3 (issue #17) on SQLite and PostgreSQL, over real data made through the API and the
services: the compliance report (CSV and PDF), the skill inventory (CSV), the executive summary (PDF), the
weekly digest and team summary (emails, once per period)."""

from __future__ import annotations

import csv
import io
import re
import uuid
import zlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sidecar.agents.memory import state as mastery
from sidecar.auth.roles import Role
from sidecar.auth.service import create_user
from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.jobs import service as jobs
from sidecar.mail.tables import OutboxEmail
from sidecar.orgs.service import add_member_asserted_by_idp
from sidecar.reports import render
from sidecar.settings import Settings
from tests.test_certificates import QUIZ, RIGHT, _earn_bronze
from tests.test_org_admin import COURSE, READING, _join
from tests.test_security_orgs import _account, _me, _org


def pdf_text(pdf: bytes) -> str:
    """The text drawn in an fpdf2 PDF: each font's glyph ids mapped back through its ToUnicode CMap."""
    objects = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}

    def stream(number: int) -> bytes:
        found = re.search(rb"stream\r?\n(.*?)\r?\nendstream", objects[number], re.S)
        assert found
        try:
            return zlib.decompress(found.group(1))
        except zlib.error:
            return found.group(1)

    cmaps: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for name, font in re.findall(rb"/(F\d+) (\d+) 0 R", body):
            unicode_ref = re.search(rb"/ToUnicode (\d+) 0 R", objects.get(int(font), b""))
            if unicode_ref is None or name in cmaps:
                continue
            cmap = stream(int(unicode_ref.group(1))).decode("latin-1")
            mapping: dict[int, str] = {}
            for section in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
                for glyph, code in re.findall(r"<([0-9A-Fa-f]+)>[ \t]*<([0-9A-Fa-f]+)>", section):
                    mapping[int(glyph, 16)] = chr(int(code, 16))
            for section in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
                for first, last, code in re.findall(r"<([0-9A-Fa-f]+)>[ \t]*<([0-9A-Fa-f]+)>[ \t]*<([0-9A-Fa-f]+)>",
                                                    section):
                    for offset in range(int(last, 16) - int(first, 16) + 1):
                        mapping[int(first, 16) + offset] = chr(int(code, 16) + offset)
            cmaps[name] = mapping
    assert cmaps, "the PDF has fonts with ToUnicode maps"
    pages = [stream(int(n)) for body in objects.values() if b"/Type /Page\n" in body or b"/Type /Page " in body
             for n in re.findall(rb"/Contents (\d+) 0 R", body)]
    text: list[str] = []
    for content in pages:
        font: dict[int, str] = {}
        for token in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            if token.group(1):
                font = cmaps.get(token.group(1), {})
                continue
            raw = re.sub(rb"\\([nrtbf()\\]|[0-7]{1,3})", lambda m: _unescape(m.group(1)), token.group(2))
            text.append("".join(font.get(int.from_bytes(raw[i:i + 2], "big"), "?") for i in range(0, len(raw), 2)))
        text.append("\n")
    return "".join(text)


def _unescape(code: bytes) -> bytes:
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}
    return simple[code] if code in simple else bytes([int(code, 8)])


def _outbox(db_url: str, *, to: str | None = None, subject_like: str = "%") -> list[tuple[str, str, str]]:
    with read_session(get_engine(db_url)) as session:
        query = select(OutboxEmail.to_address, OutboxEmail.subject, OutboxEmail.body).where(
            OutboxEmail.subject.like(subject_like)).order_by(OutboxEmail.id)
        if to is not None:
            query = query.where(OutboxEmail.to_address == to)
        return [(r[0], r[1], r[2]) for r in session.execute(query)]


def _member(db_url: str, org_id: str, email: str) -> str:
    """An account that joins the organisation through its identity provider (no browser needed)."""
    engine = get_engine(db_url)
    with write_session(engine) as session:
        create_user(session=session, email=email, password="correct horse battery", display_name=email.split("@")[0])
    return add_member_asserted_by_idp(engine=engine, org_id=org_id, email=email)


@pytest.fixture
def acme(make_client: Any, db_url: str, minimal_build: Any, tmp_path: Any) -> dict[str, Any]:
    """Acme: an admin (boss), a team Support with its manager (max) and two learners: lea, who finished the
    assigned course and holds its Bronze certificate, and an address that looks like a formula."""
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root, "Acme")
    boss = _account(make_client, db_url, "boss@example.com")
    assert _join(root, boss, db_url, org_id, "boss@example.com", "enterprise_admin").status_code == 200
    lea, max_ = _account(make_client, db_url, "lea@example.com"), _account(make_client, db_url, "max@example.com")
    eve = _account(make_client, db_url, "=cmd@example.com")
    for email, client in (("lea@example.com", lea), ("max@example.com", max_), ("=cmd@example.com", eve)):
        assert _join(boss, client, db_url, org_id, email).status_code == 200
    team = boss.post(f"/api/orgs/{org_id}/teams", json={"name": "Support"}).json()
    for email, role in (("lea@example.com", "member"), ("max@example.com", "manager"), ("=cmd@example.com", "member")):
        assert boss.post(f"/api/teams/{team['id']}/members", json={"email": email, "role": role}).status_code == 204
    due = utcnow() + timedelta(days=2)
    assert boss.post(f"/api/orgs/{org_id}/assignments", json={
        "course_id": COURSE, "team_id": team["id"], "due_at": due.isoformat()}).status_code == 201
    attempt = _earn_bronze(lea, db_url)
    assert attempt["reward"]["new_certificates"], attempt
    # 75 % earned Bronze; the quiz's lesson (and so the course) completes with a passing attempt.
    assert lea.post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": RIGHT}).status_code == 200
    certificate = lea.get("/api/me/certificates").json()[0]
    settings = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=db_url,
                        DRONA_DATA_DIR=tmp_path / "data")
    return {"root": root, "boss": boss, "max": max_, "lea": lea, "org": org_id, "team": team["id"], "due": due,
            "certificate": certificate, "lea_id": _me(lea)["id"], "settings": settings}


def test_the_compliance_report_lists_each_persons_required_courses(acme: dict[str, Any]) -> None:
    boss, org_id = acme["boss"], acme["org"]
    answer = boss.get(f"/api/orgs/{org_id}/reports/compliance?format=csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="compliance-')
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["Email", "Name", "Teams", "Required course", "Due", "Progress %", "Completed", "State",
                       "Certificate", "Certificate ID", "Certified on"]
    by_email = {row[0]: row for row in rows[1:]}
    assert set(by_email) == {"boss@example.com", "lea@example.com", "max@example.com", "'=cmd@example.com"}, \
        "every member once (no formula: the address is quoted as text)"
    certificate = acme["certificate"]
    assert by_email["lea@example.com"] == [
        "lea@example.com", "lea", "Support", "Demo Course", f"{acme['due']:%Y-%m-%d}", "100", "yes", "done",
        certificate["tier_title"], certificate["credential_id"], certificate["issued_at"][:10]]
    assert by_email["max@example.com"][3:9] == ["Demo Course", f"{acme['due']:%Y-%m-%d}", "0", "no", "due soon", ""]
    assert by_email["boss@example.com"][3] == "" and by_email["boss@example.com"][7] == "none required"
    assert acme["max"].get(f"/api/orgs/{org_id}/reports/compliance").status_code == 403, "a manager is not an admin"
    assert acme["lea"].get(f"/api/orgs/{org_id}/reports/compliance?format=pdf").status_code == 403
    assert boss.get(f"/api/orgs/{org_id}/reports/compliance?format=xlsx").status_code == 422

    pdf = boss.get(f"/api/orgs/{org_id}/reports/compliance?format=pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf.content)
    assert "Compliance report: Acme" in text
    assert "4 people, 3 required course assignments: 1 completed, 0 overdue, 1 with a certificate." in text
    assert "lea@example.com" in text and certificate["tier_title"] in text


def test_the_skill_inventory_is_people_by_skills_with_k_anonymous_means(acme: dict[str, Any], db_url: str) -> None:
    boss, org_id, engine = acme["boss"], acme["org"], get_engine(db_url)
    mastery.record_result(engine=engine, user_id=acme["lea_id"], skills=["loops", "recursion"], correct=True,
                          source_key="test:lea:1")
    others = []
    for number in range(4):  # four more people with an estimate of "loops": five in all, the default k
        user_id = _member(db_url, org_id, f"p{number}@example.com")
        mastery.record_result(engine=engine, user_id=user_id, skills=["loops"], correct=number % 2 == 0,
                              source_key=f"test:p{number}")
        others.append(user_id)
    answer = boss.get(f"/api/orgs/{org_id}/reports/skills?format=csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == ["Email", "Name", "Skills mastered (p ≥ 0.95)", "loops", "recursion"]
    by_email = {row["Email"]: row for row in rows}
    assert len(rows) == 9 and list(by_email)[-1] == "(organisation mean)"
    lea = by_email["lea@example.com"]
    assert 0 < float(lea["loops"]) < 1 and 0 < float(lea["recursion"]) < 1
    assert by_email["max@example.com"]["loops"] == "", "no estimate, no number"
    loops = [float(by_email[f"p{n}@example.com"]["loops"]) for n in range(4)] + [float(lea["loops"])]
    mean = by_email["(organisation mean)"]
    assert mean["loops"] == f"{sum(loops) / 5:.2f}", "five people: the mean is shown"
    assert mean["recursion"] == "", "one person: hidden (k-anonymity)"
    assert acme["max"].get(f"/api/orgs/{org_id}/reports/skills").status_code == 403


def test_the_executive_summary_is_a_pdf_of_counts(acme: dict[str, Any], make_client: Any, db_url: str) -> None:
    boss, org_id = acme["boss"], acme["org"]
    month = f"{utcnow():%Y-%m}"
    answer = boss.get(f"/api/orgs/{org_id}/reports/executive?month={month}")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    text = pdf_text(answer.content)
    assert f"Executive summary: Acme, {month}" in text
    assert "Members: 4" in text and "Teams: 1" in text
    assert "Activity figures are shown for organisations of 5 or more members." in text, "4 < k: no activity"
    assert "Members active this month" not in text and "lea@example.com" not in text, "nobody is named"
    _member(db_url, org_id, "fifth@example.com")
    text = pdf_text(boss.get(f"/api/orgs/{org_id}/reports/executive?month={month}").content)
    assert "Members active this month: 1" in text
    assert "Certificates earned this month: 1" in text and "Required courses done: 1 of 3 (33%)" in text
    for bad in ("2026-13", "0000-01", "9999-12", "26-01"):  # year 0 and 10000 are no datetime: a 422, not a 500
        assert boss.get(f"/api/orgs/{org_id}/reports/executive?month={bad}").status_code == 422, bad
    assert acme["max"].get(f"/api/orgs/{org_id}/reports/executive").status_code == 403


def test_digests_and_team_summaries_land_in_the_outbox_once_per_period(acme: dict[str, Any], db_url: str) -> None:
    engine, settings = get_engine(db_url), acme["settings"]
    # Next week's Wednesday noon: the week just ended is this one, when lea finished, and an hour later is
    # still the same period (utcnow() + 7 days broke on Sundays after 23:00 UTC, an hour before the week turns).
    today = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    at = today + timedelta(days=7 - today.weekday() + 2)
    week = jobs.period_of("weekly", at)
    first = jobs.run_due(engine=engine, settings=settings, now=at, only="weekly-digest")
    assert [(r.job, r.period, r.status) for r in first] == [("weekly-digest", week, "done")]
    digests = _outbox(db_url, subject_like="Your week in learning%")
    by_to = {to: body for to, _subject, body in digests}
    # lea was active; max and the formula address have an unfinished required course; boss has neither.
    assert sorted(by_to) == ["=cmd@example.com", "lea@example.com", "max@example.com"]
    assert first[0].summary == {"emails": 3, "already_sent": 0}
    lea = by_to["lea@example.com"]
    assert "Hello lea," in lea and "- Lessons completed: 5" in lea
    assert f"- Certificate earned: {acme['certificate']['tier_title']}, Demo Course" in lea
    assert "Required courses:" not in lea, "done courses are not listed as due"
    assert f"- Demo Course: 0% done, due {acme['due']:%Y-%m-%d} (overdue)" in by_to["max@example.com"], "as of the run"
    again = jobs.run_due(engine=engine, settings=settings, now=at + timedelta(hours=1), only="weekly-digest")
    assert [r.status for r in again] == ["skipped"]
    assert len(_outbox(db_url, subject_like="Your week in learning%")) == 3, "once per period"

    summary = jobs.run_due(engine=engine, settings=settings, now=at, only="team-summary")
    assert [r.status for r in summary] == ["done"]
    sent = _outbox(db_url, subject_like="Team summary%")
    assert [(to, subject) for to, subject, _ in sent] == [("max@example.com", "Team summary: Support")]
    body = sent[0][2]
    assert re.search(r"^lea\s+5\s+1\s+1\s+0\s+100$", body, re.M), body
    assert "Team totals are shown for teams of 5 or more members." in body, "3 members < k"
    jobs.run_due(engine=engine, settings=settings, now=at, only="team-summary")
    assert len(_outbox(db_url, subject_like="Team summary%")) == 1


def test_the_monthly_and_quarterly_reports_reach_the_admins_with_attachments(acme: dict[str, Any],
                                                                                db_url: str) -> None:
    engine, settings = get_engine(db_url), acme["settings"]
    now = utcnow()
    next_month = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=6)
    result = jobs.run_due(engine=engine, settings=settings, now=next_month, only="executive-summary")
    assert [(r.period, r.status) for r in result] == [(f"{now:%Y-%m}", "done")]
    sent = _outbox(db_url, subject_like="Executive summary%")
    assert [(to, subject) for to, subject, _ in sent] == [("boss@example.com", f"Executive summary, {now:%Y-%m}: Acme")]
    eml = sorted((settings.DRONA_DATA_DIR / "outbox").glob("*.eml"))
    assert any(b"application/pdf" in path.read_bytes() and f"executive-summary-{now:%Y-%m}.pdf".encode()
               in path.read_bytes() for path in eml)
    quarter_end = next_month + timedelta(days=93)
    result = jobs.run_due(engine=engine, settings=settings, now=quarter_end, only="skill-inventory")
    assert result[0].status == "done" and re.fullmatch(r"\d{4}-Q[1-4]", result[0].period)
    assert [to for to, _s, _b in _outbox(db_url, subject_like="Skill inventory%")] == ["boss@example.com"]


def test_csv_cells_never_start_a_formula() -> None:
    table = render.Table(columns=[("a", "=A"), ("b", "B")], rows=[
        {"a": "=HYPERLINK(\"http://x\")", "b": "+1"}, {"a": "-2", "b": "@SUM(A1)"}, {"a": "\tx", "b": "ok"}])
    rows = list(csv.reader(io.StringIO(render.csv_text(table))))
    assert rows == [["'=A", "B"], ["'=HYPERLINK(\"http://x\")", "'+1"], ["'-2", "'@SUM(A1)"], ["'\tx", "ok"]]


def test_a_progress_event_makes_a_learner_a_digest_reader(make_client: Any, db_url: str,
                                                          minimal_build: Any, tmp_path: Any) -> None:
    """A self-learner (no organisation) who read a lesson this week gets a digest; one who did nothing, none."""
    ada, bob = make_client(db_url), make_client(db_url)
    ada.signup("ada@example.com", name="Ada")
    bob.signup("bob@example.com", name="Bob")
    answer = ada.post("/api/progress/events", json={"event_id": uuid.uuid4().hex, "lesson_id": READING,
                                                     "kind": "completed"})
    assert answer.status_code == 200, answer.text
    settings = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=db_url,
                        DRONA_DATA_DIR=tmp_path / "data")
    jobs.run_due(engine=get_engine(db_url), settings=settings, now=utcnow() + timedelta(days=7), only="weekly-digest")
    sent = _outbox(db_url, subject_like="Your week in learning%")
    assert [to for to, _s, _b in sent] == ["ada@example.com"]
    assert "- Lessons completed: 1" in sent[0][2] and "Demo Course" in sent[0][2]


def test_a_learner_who_turns_the_digest_off_gets_none(make_client: Any, db_url: str, minimal_build: Any,
                                                      tmp_path: Any) -> None:
    """The setting (Profile and settings, PATCH /api/me/settings) stops the weekly email; each email says where."""
    ada, bob = make_client(db_url), make_client(db_url)
    ada.signup("ada@example.com", name="Ada")
    bob.signup("bob@example.com", name="Bob")
    assert bob.get("/api/me/settings").json()["weekly_digest"] is True, "on by default"
    off = bob.patch("/api/me/settings", json={"weekly_digest": False})
    assert off.status_code == 200 and off.json()["weekly_digest"] is False
    assert bob.patch("/api/me/settings", json={"weekly_digest": "sometimes"}).status_code == 422
    for client in (ada, bob):
        answer = client.post("/api/progress/events", json={"event_id": uuid.uuid4().hex, "lesson_id": READING,
                                                            "kind": "completed"})
        assert answer.status_code == 200, answer.text
    settings = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=db_url,
                        DRONA_DATA_DIR=tmp_path / "data")
    engine = get_engine(db_url)
    jobs.run_due(engine=engine, settings=settings, now=utcnow() + timedelta(days=7), only="weekly-digest")
    sent = _outbox(db_url, subject_like="Your week in learning%")
    assert [to for to, _s, _b in sent] == ["ada@example.com"], "bob turned it off"
    assert 'untick "Email me my week each Monday" in Profile and settings' in sent[0][2]
    assert f"{settings.APP_URL.rstrip('/')}/account/settings/" in sent[0][2]
    # Turned back on, bob is among that week's readers again.
    assert bob.patch("/api/me/settings", json={"weekly_digest": True}).json()["weekly_digest"] is True
    from sidecar.reports.digest import weekly_digests

    start, end = jobs.period_bounds(jobs.period_of("weekly", utcnow() + timedelta(days=7)))
    again = weekly_digests(engine=engine, settings=settings, catalog_db=settings.catalog_db, start=start, end=end,
                           now=utcnow())
    assert sorted(m.to for m in again) == ["ada@example.com", "bob@example.com"]
