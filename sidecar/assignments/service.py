"""Course assignments with due dates: who may set them, and what a learner sees (issue #16, §4).

An organisation's admins assign any of its teams or members; a team manager assigns the teams they
manage and those teams' members. Progress is never stored here: a learner's assignment reads their
course progress (progress.service), so it is done the moment the course is.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, or_, select

from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.catalog.models import CoursePublic
from sidecar.catalog.service import get_catalog
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.errors import Forbidden, InvalidInput, NotFound
from sidecar.orgs import service as orgs
from sidecar.progress import service as progress

from .models import AssignmentCreate, AssignmentPublic, AssignmentState, MyAssignmentPublic
from .tables import Assignment

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
