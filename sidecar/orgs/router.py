from __future__ import annotations

from fastapi import APIRouter, Response, status

from sidecar.auth.deps import CurrentPrincipal, EngineDep

from . import service
from .models import (
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
    OrgMemberAdd,
    TeamCreate,
    TeamMemberAdd,
    TeamPublic,
)

router = APIRouter(tags=["organisations"])


@router.post("/orgs", response_model=OrganizationPublic, status_code=201, summary="Create an organisation")
def create_org(body: OrganizationCreate, principal: CurrentPrincipal, engine: EngineDep) -> OrganizationPublic:
    return service.create_org(engine=engine, actor=principal.user, name=body.name,
                              gamification_mode=body.gamification_mode)


@router.patch("/orgs/{org_id}", response_model=OrganizationPublic, summary="Update an organisation")
def update_org(org_id: str, body: OrganizationUpdate, principal: CurrentPrincipal,
               engine: EngineDep) -> OrganizationPublic:
    return service.update_org(engine=engine, actor=principal.user, org_id=org_id,
                              gamification_mode=body.gamification_mode)


@router.post("/orgs/{org_id}/members", status_code=204, summary="Add an account to an organisation")
def add_org_member(org_id: str, body: OrgMemberAdd, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.add_org_member(engine=engine, actor=principal.user, org_id=org_id, email=body.email, role=body.role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/orgs/{org_id}/teams", response_model=TeamPublic, status_code=201,
             summary="Create a team, class or cohort")
def create_team(org_id: str, body: TeamCreate, principal: CurrentPrincipal, engine: EngineDep) -> TeamPublic:
    return service.create_team(engine=engine, actor=principal.user, org_id=org_id, name=body.name, kind=body.kind)


@router.post("/teams/{team_id}/members", status_code=204, summary="Add a member to a team")
def add_team_member(team_id: str, body: TeamMemberAdd, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.add_team_member(engine=engine, actor=principal.user, team_id=team_id, email=body.email, role=body.role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/teams", response_model=list[TeamPublic], summary="Your teams, classes and cohorts")
def my_teams(principal: CurrentPrincipal, engine: EngineDep) -> list[TeamPublic]:
    return service.my_teams(engine=engine, user_id=principal.user.id)
