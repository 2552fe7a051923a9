from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from sidecar.auth.deps import CurrentPrincipal
from sidecar.db.base import utcnow
from sidecar.deps import CatalogDbDep, EngineDep, SettingsDep

from . import service
from .models import (
    AssignmentCreate,
    AssignmentPublic,
    MyAssignmentPublic,
    NudgeCreate,
    OrgDashboardPublic,
    TeamProgressPublic,
)

router = APIRouter(tags=["assignments"])

Id = Annotated[str, Path(max_length=64)]


@router.post("/orgs/{org_id}/assignments", response_model=AssignmentPublic, status_code=201,
             summary="Assign a course to a team or a member, with a due date")
def create_assignment(org_id: Id, body: AssignmentCreate, principal: CurrentPrincipal, engine: EngineDep,
                      catalog_db: CatalogDbDep) -> AssignmentPublic:
    """Admins assign anyone in the organisation; team managers the teams they manage and their members."""
    return service.create_assignment(engine=engine, catalog_db=catalog_db, actor=principal.user, org_id=org_id,
                                     body=body)


@router.get("/orgs/{org_id}/assignments", response_model=list[AssignmentPublic],
            summary="The organisation's assignments (a manager: those of their teams)")
def list_assignments(org_id: Id, principal: CurrentPrincipal, engine: EngineDep,
                     catalog_db: CatalogDbDep) -> list[AssignmentPublic]:
    return service.list_assignments(engine=engine, catalog_db=catalog_db, actor=principal.user, org_id=org_id)


@router.delete("/orgs/{org_id}/assignments/{assignment_id}", status_code=204, summary="Remove an assignment")
def delete_assignment(org_id: Id, assignment_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.delete_assignment(engine=engine, actor=principal.user, org_id=org_id, assignment_id=assignment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/assignments", response_model=list[MyAssignmentPublic],
            summary="Courses assigned to you, with due dates and your progress")
def my_assignments(principal: CurrentPrincipal, engine: EngineDep,
                   catalog_db: CatalogDbDep) -> list[MyAssignmentPublic]:
    return service.my_assignments(engine=engine, catalog_db=catalog_db, user=principal.user, now=utcnow())


@router.get("/teams/{team_id}/progress", response_model=TeamProgressPublic,
            summary="A team's members with their assigned courses, progress and due states")
def team_progress(team_id: Id, principal: CurrentPrincipal, engine: EngineDep,
                  catalog_db: CatalogDbDep) -> TeamProgressPublic:
    """For the team's managers and the organisation's admins."""
    return service.team_progress(engine=engine, catalog_db=catalog_db, actor=principal.user, team_id=team_id,
                                 now=utcnow())


@router.post("/teams/{team_id}/nudges", status_code=204, summary="Email a member a reminder about an assignment")
def nudge(team_id: Id, body: NudgeCreate, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
          catalog_db: CatalogDbDep) -> Response:
    """At most once a day per member and assignment (409 after that)."""
    service.nudge(engine=engine, settings=settings, catalog_db=catalog_db, actor=principal.user, team_id=team_id,
                  body=body, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/orgs/{org_id}/dashboard", response_model=OrgDashboardPublic,
            summary="The organisation at a glance: counts per course (analytics viewers and admins)")
def org_dashboard(org_id: Id, principal: CurrentPrincipal, engine: EngineDep,
                  catalog_db: CatalogDbDep) -> OrgDashboardPublic:
    """Read-only: members, seats, teams, and per course how many are assigned, done, overdue, due soon, open or
    started without an assignment, with their mean progress. Names nobody."""
    return service.org_dashboard(engine=engine, catalog_db=catalog_db, actor=principal.user, org_id=org_id,
                                 now=utcnow())


@router.get("/orgs/{org_id}/progress.csv", summary="Export the members' progress (CSV)",
            responses={200: {"content": {"text/csv": {}}}})
def org_progress_csv(org_id: Id, principal: CurrentPrincipal, engine: EngineDep, catalog_db: CatalogDbDep) -> Response:
    """One row per member and course (assigned or started), for the organisation's admins."""
    rows = service.org_progress_rows(engine=engine, catalog_db=catalog_db, actor=principal.user, org_id=org_id,
                                     now=utcnow())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(service.CSV_COLUMNS)
    # A cell starting with = + - @ would run as a formula in a spreadsheet: quote it as text.
    writer.writerows([[f"'{cell}" if cell[:1] in ("=", "+", "-", "@") else cell for cell in row] for row in rows])
    return Response(out.getvalue(), media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="progress.csv"', "Cache-Control": "no-store"})
