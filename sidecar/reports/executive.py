"""The executive summary (§10.3, monthly, a PDF to the organisation's admins): the month's activity,
compliance with required courses, certificates, and each course's figures. Only counts: nobody is named,
and a figure over fewer than k people is left out (k-anonymity)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.orgs import service as orgs
from sidecar.settings import Settings

from .common import analytics_metrics, as_recipient, check_org_admin, k_of, member_facts
from .messages import Message
from .render import Document, Table, pdf_bytes

COURSE_COLUMNS = (("course", "Course"), ("learners", "Learners"), ("assigned", "Assigned"), ("done", "Done"),
                  ("overdue", "Overdue"), ("progress", "Mean progress %"))


@dataclass
class _Tally:
    course: str
    percents: list[float] = field(default_factory=list)
    assigned: int = 0
    done: int = 0
    overdue: int = 0


@dataclass(frozen=True)
class ExecutiveSummary:
    org_name: str
    month: str
    members: int
    teams: int
    figures: list[tuple[str, str]]  # (label, value), those shown
    courses: Table


def executive_summary(*, engine: Engine, settings: Settings, catalog_db: Path, org_id: str, month: str,
                      start: datetime, end: datetime, now: datetime, reader: User) -> ExecutiveSummary:
    """The month [start, end) of the organisation, as `reader` (one of its admins) may see it."""
    name, _seats, teams = orgs.org_overview(engine=engine, org_id=org_id)
    roster = orgs.org_roster(engine=engine, org_id=org_id)
    k = k_of(settings)
    active = lessons = certificates = required = done = overdue = 0
    courses: dict[str, _Tally] = {}
    for user_id, _email, _name, _role in roster:
        facts = member_facts(engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                             org_id=org_id, now=now)
        month_lessons = facts.completed_between(start, end)
        active += month_lessons > 0
        lessons += month_lessons
        certificates += len(facts.certificates_between(start, end))
        required += len(facts.required)
        done += sum(1 for c in facts.required if c.state == "done")
        overdue += sum(1 for c in facts.required if c.state == "overdue")
        for course in facts.courses:
            tally = courses.setdefault(course.course_id, _Tally(course=course.course_title))
            tally.percents.append(course.percent)
            tally.assigned += course.state is not None
            tally.done += course.state == "done"
            tally.overdue += course.state == "overdue"
    figures = [("Members", str(len(roster))), ("Teams", str(teams))]
    if len(roster) >= k:
        figures += [("Members active this month", str(active)), ("Lessons completed this month", str(lessons)),
                    ("Certificates earned this month", str(certificates)),
                    ("Required courses done", f"{done} of {required}"
                     + (f" ({100 * done / required:.0f}%)" if required else "")),
                    ("Required courses overdue", str(overdue))]
        figures += analytics_metrics("org_dashboard", engine=engine, settings=settings, catalog_db=catalog_db,
                                     org_id=org_id, now=now, actor=reader)
    rows: list[dict[str, object]] = []
    hidden = 0
    for tally in sorted(courses.values(), key=lambda t: t.course):
        if len(tally.percents) < k:
            hidden += 1
            continue
        rows.append({"course": tally.course, "learners": len(tally.percents), "assigned": tally.assigned,
                     "done": tally.done, "overdue": tally.overdue,
                     "progress": f"{sum(tally.percents) / len(tally.percents):.0f}"})
    note = f"Courses with fewer than {k} learners are left out ({hidden})." if hidden else None
    return ExecutiveSummary(org_name=name, month=month, members=len(roster), teams=teams, figures=figures,
                            courses=Table(columns=COURSE_COLUMNS, rows=rows, title="Courses", note=note))


def executive_document(summary: ExecutiveSummary, *, k: int, now: datetime) -> Document:
    lines = [f"{label}: {value}" for label, value in summary.figures]
    if summary.members < k:
        lines.append(f"Activity figures are shown for organisations of {k} or more members.")
    return Document(title=f"Executive summary: {summary.org_name}, {summary.month}",
                    subtitle=f"Generated {now:%Y-%m-%d %H:%M} UTC", lines=lines, tables=[summary.courses])


def executive_report(*, engine: Engine, settings: Settings, catalog_db: Path, actor: User, org_id: str, month: str,
                     start: datetime, end: datetime, now: datetime) -> bytes:
    """The month's summary as a PDF, for the organisation's admins."""
    check_org_admin(actor, org_id)
    summary = executive_summary(engine=engine, settings=settings, catalog_db=catalog_db, org_id=org_id, month=month,
                                start=start, end=end, now=now, reader=actor)
    return pdf_bytes(executive_document(summary, k=k_of(settings), now=now))


def org_admins(*, engine: Engine, org_id: str) -> list[tuple[str, str]]:
    """(user id, email) of the organisation's enterprise admins: who gets its scheduled reports."""
    return [(user_id, email) for user_id, email, _name, role in orgs.org_roster(engine=engine, org_id=org_id)
            if has_role(role, Role.ENTERPRISE_ADMIN)]


def executive_summaries(*, engine: Engine, settings: Settings, catalog_db: Path, month: str, start: datetime,
                        end: datetime, now: datetime) -> Iterator[Message]:
    """One message, with the PDF, per organisation and admin."""
    for org_id in orgs.org_ids(engine=engine):
        admins = org_admins(engine=engine, org_id=org_id)
        if not admins:
            continue
        # Every admin of the organisation may see the same: one summary, read as the first of them.
        summary = executive_summary(engine=engine, settings=settings, catalog_db=catalog_db, org_id=org_id,
                                    month=month, start=start, end=end, now=now,
                                    reader=as_recipient(engine=engine, user_id=admins[0][0]))
        pdf = pdf_bytes(executive_document(summary, k=k_of(settings), now=now))
        body = "\n".join([f"The executive summary of {summary.org_name} for {month} is attached (PDF).", "",
                          *(f"- {label}: {value}" for label, value in summary.figures), ""])
        for user_id, email in admins:
            yield Message(target=f"{org_id}:{user_id}", to=email,
                          subject=f"Executive summary, {month}: {summary.org_name}", body=body,
                          attachments=[(f"executive-summary-{month}.pdf", "application/pdf", pdf)])


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a month given as YYYY-MM."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    return start, datetime(year + 1, 1, 1, tzinfo=UTC) if number == 12 else datetime(year, number + 1, 1, tzinfo=UTC)


def last_month(now: datetime) -> str:
    year, number = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year}-{number:02d}"
