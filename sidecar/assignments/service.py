"""Course assignments with due dates: who may set them, and what a learner sees (issue #16, §4).

An organisation's admins assign any of its teams or members; a team manager assigns the teams they
manage and those teams' members. Progress is never stored here: a learner's assignment reads their
course progress (progress.service), so it is done the moment the course is.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_, select

from sidecar.audit import service as audit
from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.catalog.models import CoursePublic
from sidecar.catalog.service import get_catalog
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, Forbidden, InvalidInput, NotFound
from sidecar.mail import send_email
from sidecar.orgs import service as orgs
from sidecar.orgs.models import TeamPublic
from sidecar.progress import service as progress
from sidecar.settings import Settings

from .models import (
    AssignmentCreate,
    AssignmentPublic,
    AssignmentState,
    CourseTallyPublic,
    MemberCourseProgress,
    MyAssignmentPublic,
    NudgeCreate,
    OrgDashboardPublic,
    RemindersSent,
    TeamMemberProgress,
    TeamProgressPublic,
)
from .tables import Assignment, AssignmentNotice

DUE_SOON = timedelta(days=3)  # the reminder window before the due date


def _course(catalog_db: Path, course_id: str) -> CoursePublic:
    for track in get_catalog(catalog_db=catalog_db).tracks:
        for course in track.courses:
            if course.id == course_id:
                if course.status != "active" or not course.modules:
                    raise InvalidInput(f"'{course.title}' has no lessons yet: only an active course can be assigned.")
                return course
    raise InvalidInput("No course has that id.")


def _is_admin(actor: User, org_id: str) -> bool:
    return has_role(actor.role, Role.SUPER_ADMIN) or (
        has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id == org_id)


def _scope(*, engine: Engine, actor: User, org_id: str) -> tuple[set[str], set[str]] | None:
    """What `actor` may assign in the organisation: None for everything (an admin), else the
    (team ids, member ids) of the teams they manage. Anyone else gets 403."""
    if _is_admin(actor, org_id):
        return None
    teams = orgs.managed_team_ids(engine=engine, user=actor) if actor.organization_id == org_id else set()
    if not teams:
        raise Forbidden("Only this organisation's admins and its team managers may do that.")
    members = set().union(*(orgs.team_member_ids(engine=engine, team_id=t) for t in teams))
    return teams, members


def _public(row: Assignment, *, titles: dict[str, str], teams: dict[str, str],
            emails: dict[str, str]) -> AssignmentPublic:
    return AssignmentPublic(id=row.id, organization_id=row.organization_id, course_id=row.course_id,
                            course_title=titles.get(row.course_id, "(a course no longer in the catalog)"),
                            team_id=row.team_id, team_name=teams.get(row.team_id or ""), user_id=row.user_id,
                            email=emails.get(row.user_id or ""), due_at=row.due_at, created_at=row.created_at)


def _titles(catalog_db: Path) -> dict[str, str]:
    return {c.id: c.title for t in get_catalog(catalog_db=catalog_db).tracks for c in t.courses}


def create_assignment(*, engine: Engine, catalog_db: Path, actor: User, org_id: str,
                      body: AssignmentCreate) -> AssignmentPublic:
    scope = _scope(engine=engine, actor=actor, org_id=org_id)
    course = _course(catalog_db, body.course_id)
    team_id = user_id = None
    if body.team_id is not None:
        found = orgs.team(engine=engine, team_id=body.team_id)
        if found is None or found.organization_id != org_id:
            raise NotFound("No such team in this organisation.")
        if scope is not None and found.id not in scope[0]:
            raise Forbidden("You can assign only the teams you manage.")
        team_id = found.id
    else:
        member = orgs.member_by_email(engine=engine, org_id=org_id, email=str(body.email))
        if member is None:
            raise InvalidInput("No member of this organisation has that email.")
        if scope is not None and member[0] not in scope[1]:
            raise Forbidden("You can assign only members of the teams you manage.")
        user_id = member[0]
    if body.due_at <= utcnow():
        raise InvalidInput("The due date is in the past.")
    with write_session(engine) as session:
        row = Assignment(id=str(uuid.uuid4()), organization_id=org_id, course_id=course.id, team_id=team_id,
                         user_id=user_id, due_at=body.due_at, created_by=actor.id, created_at=utcnow())
        session.add(row)
        session.flush()
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="assignment.create",
                     target_type="assignment", target_id=row.id,
                     details={"course_id": course.id, "team_id": team_id, "user_id": user_id,
                              "due_at": body.due_at.isoformat()})
        teams = orgs.teams_of_org(engine=engine, org_id=org_id) if team_id else {}
        emails = orgs.member_emails(engine=engine, user_ids={user_id}) if user_id else {}
        return _public(row, titles={course.id: course.title}, teams=teams, emails=emails)


def list_assignments(*, engine: Engine, catalog_db: Path, actor: User, org_id: str) -> list[AssignmentPublic]:
    """An admin sees all of the organisation's; a team manager those of their teams and their members."""
    scope = _scope(engine=engine, actor=actor, org_id=org_id)
    with read_session(engine) as session:
        query = select(Assignment).where(Assignment.organization_id == org_id).order_by(Assignment.due_at)
        if scope is not None:
            query = query.where(or_(Assignment.team_id.in_(scope[0]), Assignment.user_id.in_(scope[1])))
        rows = session.scalars(query).all()
    emails = orgs.member_emails(engine=engine, user_ids={r.user_id for r in rows if r.user_id})
    teams = orgs.teams_of_org(engine=engine, org_id=org_id)
    titles = _titles(catalog_db)
    return [_public(r, titles=titles, teams=teams, emails=emails) for r in rows]


def delete_assignment(*, engine: Engine, actor: User, org_id: str, assignment_id: str) -> None:
    scope = _scope(engine=engine, actor=actor, org_id=org_id)
    with write_session(engine) as session:
        row = session.get(Assignment, assignment_id)
        if row is None or row.organization_id != org_id:
            raise NotFound("No such assignment.")
        if scope is not None and row.team_id not in scope[0] and row.user_id not in scope[1]:
            raise Forbidden("You can remove only the assignments of the teams you manage.")
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="assignment.delete",
                     target_type="assignment", target_id=row.id,
                     details={"course_id": row.course_id, "team_id": row.team_id, "user_id": row.user_id})
        session.delete(row)


def state(*, completed: bool, due_at: datetime, now: datetime) -> AssignmentState:
    if completed:
        return "done"
    if now > due_at:
        return "overdue"
    return "due_soon" if due_at - now <= DUE_SOON else "open"


def my_assignments(*, engine: Engine, catalog_db: Path, user: User, now: datetime) -> list[MyAssignmentPublic]:
    """The courses assigned to the learner, directly or through their teams, in their organisation now:
    earliest due first, with their progress. A course assigned twice shows once, at its earliest date."""
    if user.organization_id is None:
        return []
    org_id = user.organization_id
    teams = orgs.team_ids_of(engine=engine, user_id=user.id, org_id=org_id)
    with read_session(engine) as session:
        rows = session.scalars(select(Assignment).where(
            Assignment.organization_id == org_id,
            or_(Assignment.user_id == user.id, Assignment.team_id.in_(teams))).order_by(Assignment.due_at)).all()
    if not rows:
        return []
    courses = {c.id: c for t in get_catalog(catalog_db=catalog_db).tracks for c in t.courses}
    done = {c.course_id: c for c in progress.get_progress(engine=engine, catalog_db=catalog_db,
                                                         user_id=user.id).courses}
    names = orgs.teams_of_org(engine=engine, org_id=org_id)
    found: dict[str, MyAssignmentPublic] = {}
    for row in rows:
        course = courses.get(row.course_id)
        if course is None or row.course_id in found:
            continue
        mine = done.get(row.course_id)
        completed = bool(mine and mine.completed)
        found[row.course_id] = MyAssignmentPublic(
            id=row.id, course_id=course.id, course_title=course.title, course_url=course.url or "",
            due_at=row.due_at, percent=mine.percent if mine else 0.0,
            state=state(completed=completed, due_at=row.due_at, now=now),
            team_name=names.get(row.team_id) if row.team_id else None)
    return list(found.values())


# ---- what managers and admins see, and the emails -----------------------------------------------------------


def _assigned_to(session: Any, *, user_id: str, team_ids: set[str], org_id: str) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(
        Assignment.organization_id == org_id,
        or_(Assignment.user_id == user_id, Assignment.team_id.in_(team_ids))).order_by(Assignment.due_at)).all())


def _member_courses(*, engine: Engine, catalog_db: Path, user_id: str, org_id: str,
                    now: datetime) -> list[MemberCourseProgress]:
    """The member's assigned courses (earliest due first), then the others they started."""
    teams = orgs.team_ids_of(engine=engine, user_id=user_id, org_id=org_id)
    with read_session(engine) as session:
        rows = _assigned_to(session, user_id=user_id, team_ids=teams, org_id=org_id)
    titles = _titles(catalog_db)
    started = {c.course_id: c for c in progress.get_progress(engine=engine, catalog_db=catalog_db,
                                                            user_id=user_id).courses}
    courses: dict[str, MemberCourseProgress] = {}
    for row in rows:
        if row.course_id in courses or row.course_id not in titles:
            continue
        mine = started.get(row.course_id)
        courses[row.course_id] = MemberCourseProgress(
            course_id=row.course_id, course_title=titles[row.course_id], percent=mine.percent if mine else 0.0,
            completed_lessons=mine.completed_lessons if mine else 0, total_lessons=mine.total_lessons if mine else 0,
            assignment_id=row.id, due_at=row.due_at,
            state=state(completed=bool(mine and mine.completed), due_at=row.due_at, now=now))
    for course_id, mine in started.items():
        if course_id not in courses:
            courses[course_id] = MemberCourseProgress(
                course_id=course_id, course_title=mine.title, percent=mine.percent,
                completed_lessons=mine.completed_lessons, total_lessons=mine.total_lessons, assignment_id=None,
                due_at=None, state=None)
    return list(courses.values())


def member_courses(*, engine: Engine, catalog_db: Path, user_id: str, org_id: str,
                   now: datetime) -> list[MemberCourseProgress]:
    """A member's required courses (earliest due first, with due state), then the others they started: for
    callers that checked who asks (the reports)."""
    return _member_courses(engine=engine, catalog_db=catalog_db, user_id=user_id, org_id=org_id, now=now)


def _may_see_team(*, engine: Engine, actor: User, team: TeamPublic) -> None:
    if _is_admin(actor, team.organization_id):
        return
    if team.id not in orgs.managed_team_ids(engine=engine, user=actor):
        raise Forbidden("Only the team's managers and the organisation's admins may see this.")


def team_progress(*, engine: Engine, catalog_db: Path, actor: User, team_id: str, now: datetime) -> TeamProgressPublic:
    found = orgs.team(engine=engine, team_id=team_id)
    if found is None:
        raise NotFound("No such team.")
    _may_see_team(engine=engine, actor=actor, team=found)
    members = []
    for user_id, email, name, role in orgs.team_roster(engine=engine, team_id=team_id):
        courses = _member_courses(engine=engine, catalog_db=catalog_db, user_id=user_id,
                                  org_id=found.organization_id, now=now)
        members.append(TeamMemberProgress(user_id=user_id, email=email, display_name=name,
                                          team_role="manager" if role == "manager" else "member",
                                          overdue=sum(1 for c in courses if c.state == "overdue"), courses=courses))
    return TeamProgressPublic(team_id=found.id, team_name=found.name, members=members)


CSV_COLUMNS = ("email", "name", "role", "course", "percent", "completed_lessons", "total_lessons", "due_at", "state")


def org_progress_rows(*, engine: Engine, catalog_db: Path, actor: User, org_id: str,
                      now: datetime) -> list[tuple[str, ...]]:
    """One row per member and course (assigned, or started), for the organisation's admins: the export."""
    if not _is_admin(actor, org_id):
        raise Forbidden("Only this organisation's admins may export its progress.")
    rows: list[tuple[str, ...]] = []
    for user_id, email, name, role in orgs.org_roster(engine=engine, org_id=org_id):
        courses = _member_courses(engine=engine, catalog_db=catalog_db, user_id=user_id, org_id=org_id, now=now)
        if not courses:
            rows.append((email, name, role, "", "", "", "", "", ""))
        for c in courses:
            rows.append((email, name, role, c.course_title, f"{c.percent:g}", str(c.completed_lessons),
                         str(c.total_lessons), c.due_at.isoformat() if c.due_at else "", c.state or ""))
    return rows


def org_dashboard(*, engine: Engine, catalog_db: Path, actor: User, org_id: str, now: datetime) -> OrgDashboardPublic:
    """Read-only counts per course over the organisation's members: for its analytics viewers (and its admins,
    who hold that role's powers) and super admins. Nobody is named; a manager's view of a person is the team's."""
    may_see = has_role(actor.role, Role.SUPER_ADMIN) or (
        has_role(actor.role, Role.ANALYTICS_VIEWER) and actor.organization_id == org_id)
    if not may_see:
        raise Forbidden("Only this organisation's analytics viewers and admins may see its dashboard.")
    name, seat_limit, teams = orgs.org_overview(engine=engine, org_id=org_id)
    tallies: dict[str, dict[str, Any]] = {}
    roster = orgs.org_roster(engine=engine, org_id=org_id)
    for user_id, _email, _name, _role in roster:
        for course in _member_courses(engine=engine, catalog_db=catalog_db, user_id=user_id, org_id=org_id, now=now):
            tally = tallies.setdefault(course.course_id, {"title": course.course_title, "percents": [],
                                                          "states": [], "unassigned": 0})
            tally["percents"].append(course.percent)
            if course.state is None:
                tally["unassigned"] += 1
            else:
                tally["states"].append(course.state)
    courses = [CourseTallyPublic(
        course_id=course_id, course_title=t["title"], learners=len(t["percents"]), assigned=len(t["states"]),
        done=t["states"].count("done"), overdue=t["states"].count("overdue"), due_soon=t["states"].count("due_soon"),
        open=t["states"].count("open"), started_unassigned=t["unassigned"],
        average_percent=round(sum(t["percents"]) / len(t["percents"]), 1)) for course_id, t in tallies.items()]
    courses.sort(key=lambda c: (c.assigned == 0, -c.overdue, c.course_title))
    return OrgDashboardPublic(organization_id=org_id, name=name, members=len(roster), seat_limit=seat_limit,
                              teams=teams, courses=courses)


def _notice_once(session: Any, *, assignment_id: str, user_id: str, kind: str, now: datetime) -> bool:
    """Claim the notice (True: this caller sends it); a second claim, from any process, gets False."""
    return insert_ignore(session, AssignmentNotice, {"assignment_id": assignment_id, "user_id": user_id,
                                                     "kind": kind, "sent_at": now},
                         ["assignment_id", "user_id", "kind"])


def nudge(*, engine: Engine, settings: Settings, catalog_db: Path, actor: User, team_id: str, body: NudgeCreate,
          now: datetime) -> None:
    """A manager's reminder email to one member about one of their assignments, at most once a day."""
    found = orgs.team(engine=engine, team_id=team_id)
    if found is None:
        raise NotFound("No such team.")
    _may_see_team(engine=engine, actor=actor, team=found)
    roster = {r[0]: r for r in orgs.team_roster(engine=engine, team_id=team_id)}
    if body.user_id not in roster:
        raise NotFound("No such member of this team.")
    teams = orgs.team_ids_of(engine=engine, user_id=body.user_id, org_id=found.organization_id)
    with write_session(engine) as session:
        assigned = {a.id: a for a in _assigned_to(session, user_id=body.user_id, team_ids=teams,
                                                  org_id=found.organization_id)}
        row = assigned.get(body.assignment_id)
        if row is None:
            raise NotFound("No such assignment for this member.")
        if not _notice_once(session, assignment_id=row.id, user_id=body.user_id, kind=f"nudge:{now:%Y-%m-%d}",
                            now=now):
            raise Conflict("You already nudged them about this course today.")
        title = _titles(catalog_db).get(row.course_id, "an assigned course")
        _, email, name, _ = roster[body.user_id]
        note = f"\n\n{actor.display_name} adds: {' '.join(body.message.split())}" if body.message else ""
        send_email(settings=settings, session=session, to=email, subject=f"A reminder about {title}",
                   body=f"Hello {name},\n\n{actor.display_name} reminds you of {title}, due on "
                        f"{row.due_at:%Y-%m-%d}.{note}\n\nContinue at {settings.APP_URL.rstrip('/')}/dashboard/\n")


def send_due_reminders(*, engine: Engine, settings: Settings, catalog_db: Path, now: datetime) -> RemindersSent:
    """Email each learner once when an assignment of theirs is due within DUE_SOON and not done, and once
    when it is overdue. Safe to run from several processes at once, and as often as you like."""
    sent = {"due_soon": 0, "overdue": 0}
    with read_session(engine) as session:
        rows = session.scalars(select(Assignment).where(Assignment.due_at <= now + DUE_SOON)).all()
    titles = _titles(catalog_db)
    for row in rows:
        kind = "overdue" if row.due_at < now else "due_soon"
        people = ({row.user_id} if row.user_id else orgs.team_member_ids(engine=engine, team_id=row.team_id or ""))
        with read_session(engine) as session:  # those already told are skipped before reading any progress
            people -= set(session.scalars(select(AssignmentNotice.user_id).where(
                AssignmentNotice.assignment_id == row.id, AssignmentNotice.kind == kind)).all())
        current = {r[0] for r in orgs.org_roster(engine=engine, org_id=row.organization_id)}
        emails = orgs.member_emails(engine=engine, user_ids=people & current)  # not those who left
        for user_id in sorted(people):
            done = {c.course_id: c.completed for c in progress.get_progress(
                engine=engine, catalog_db=catalog_db, user_id=user_id).courses}
            if done.get(row.course_id) or user_id not in emails:
                continue
            with write_session(engine) as session:
                if not _notice_once(session, assignment_id=row.id, user_id=user_id, kind=kind, now=now):
                    continue
                title = titles.get(row.course_id, "an assigned course")
                lead = (f"{title} was due on {row.due_at:%Y-%m-%d} and is not finished yet." if kind == "overdue"
                        else f"{title} is due on {row.due_at:%Y-%m-%d}.")
                send_email(settings=settings, session=session, to=emails[user_id],
                           subject=f"{'Overdue' if kind == 'overdue' else 'Due soon'}: {title}",
                           body=f"Hello,\n\n{lead}\n\nContinue at {settings.APP_URL.rstrip('/')}/dashboard/\n")
                sent[kind] += 1
    return RemindersSent(**sent)


def org_assignments(*, engine: Engine, org_id: str) -> list[Assignment]:
    """Every assignment of the organisation (detached rows: course, team or member, due date), for callers
    that checked who asks (the analytics dashboards)."""
    with read_session(engine) as session:
        return list(session.scalars(select(Assignment).where(Assignment.organization_id == org_id)
                                    .order_by(Assignment.due_at)).all())
