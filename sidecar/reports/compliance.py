"""The compliance report (§10.3, for HR and legal, on demand): every member's required courses, whether
each is done, the certificate that proves it, and its deadline. CSV or PDF, for the organisation's admins."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from sidecar.auth.tables import User
from sidecar.orgs import service as orgs
from sidecar.settings import Settings

from .common import check_org_admin, fmt_date, member_facts
from .render import Document, Table

COLUMNS = (("email", "Email"), ("name", "Name"), ("teams", "Teams"), ("course", "Required course"),
           ("due", "Due"), ("progress", "Progress %"), ("completed", "Completed"), ("state", "State"),
           ("certificate", "Certificate"), ("certificate_id", "Certificate ID"), ("certified_on", "Certified on"))
STATE_TEXT = {"done": "done", "overdue": "overdue", "due_soon": "due soon", "open": "open"}


def compliance_table(*, engine: Engine, settings: Settings, catalog_db: Path, org_id: str, now: datetime) -> Table:
    """One row per member and required course (a member with none: one row saying so), by email."""
    team_names = orgs.teams_of_org(engine=engine, org_id=org_id)
    rows: list[dict[str, object]] = []
    for user_id, email, name, _role in orgs.org_roster(engine=engine, org_id=org_id):
        teams = ", ".join(sorted(team_names[t] for t in orgs.team_ids_of(engine=engine, user_id=user_id,
                                                                       org_id=org_id) if t in team_names))
        facts = member_facts(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                             org_id=org_id, now=now)
        person = {"email": email, "name": name, "teams": teams}
        if not facts.required:
            rows.append({**person, "course": "", "state": "none required"})
        for course in facts.required:
            cert = facts.best_certificate(course.course_id)
            rows.append({**person, "course": course.course_title, "due": fmt_date(course.due_at),
                         "progress": f"{course.percent:g}", "completed": "yes" if course.state == "done" else "no",
                         "state": STATE_TEXT.get(course.state or "", course.state),
                         "certificate": cert.tier_title if cert else "",
                         "certificate_id": cert.credential_id if cert else "",
                         "certified_on": fmt_date(cert.issued_at) if cert else ""})
    return Table(columns=COLUMNS, rows=rows, title="Required courses per person")


def compliance_report(*, engine: Engine, settings: Settings, catalog_db: Path, actor: User, org_id: str,
                      now: datetime) -> tuple[str, Table]:
    """(organisation name, the table), for the organisation's admins."""
    check_org_admin(actor, org_id)
    name, _seats, _teams = orgs.org_overview(engine=engine, org_id=org_id)
    return name, compliance_table(engine=engine, settings=settings, catalog_db=catalog_db, org_id=org_id, now=now)


def compliance_document(org_name: str, table: Table, *, now: datetime) -> Document:
    required = [r for r in table.rows if r.get("course")]
    people = len({r["email"] for r in table.rows})
    done = sum(1 for r in required if r.get("completed") == "yes")
    overdue = sum(1 for r in required if r.get("state") == "overdue")
    certified = sum(1 for r in required if r.get("certificate"))
    pdf_columns = tuple(c for c in COLUMNS if c[0] not in ("certificate_id", "teams"))
    return Document(
        title=f"Compliance report: {org_name}", subtitle=f"Generated {now:%Y-%m-%d %H:%M} UTC",
        lines=[f"{people} people, {len(required)} required course assignments: {done} completed, {overdue} overdue, "
               f"{certified} with a certificate."],
        tables=[Table(columns=pdf_columns, rows=table.rows, title=table.title)])
