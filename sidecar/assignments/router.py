from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from sidecar.auth.deps import CurrentPrincipal
from sidecar.db.base import utcnow
from sidecar.deps import CatalogDbDep, EngineDep

from . import service
from .models import AssignmentCreate, AssignmentPublic, MyAssignmentPublic

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
