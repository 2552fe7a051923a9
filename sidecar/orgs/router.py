from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import EngineDep, SettingsDep

from . import service
from .models import (
    InvitationAnswer,
    InvitationCreate,
    InvitationImport,
    InvitationPublic,
    MemberPublic,
    MemberUpdate,
    MyInvitationsPublic,
    MyOrganizationPublic,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
    TeamCreate,
    TeamMemberAdd,
    TeamPublic,
)

router = APIRouter(tags=["organisations"])

Id = Annotated[str, Path(max_length=64)]


@router.post("/orgs", response_model=OrganizationPublic, status_code=201, summary="Create an organisation")
def create_org(body: OrganizationCreate, principal: CurrentPrincipal, engine: EngineDep) -> OrganizationPublic:
    return service.create_org(engine=engine, actor=principal.user, name=body.name,
                              gamification_mode=body.gamification_mode, seat_limit=body.seat_limit)


@router.get("/orgs", response_model=list[OrganizationPublic], summary="Organisations you administer")
def list_orgs(principal: CurrentPrincipal, engine: EngineDep) -> list[OrganizationPublic]:
    """All of them for a super admin; your own for its administrators; none for anyone else."""
    return service.list_orgs(engine=engine, actor=principal.user)


@router.get("/orgs/{org_id}", response_model=OrganizationPublic, summary="An organisation, with its seat usage")
def get_org(org_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> OrganizationPublic:
    return service.get_org(engine=engine, actor=principal.user, org_id=org_id)


@router.patch("/orgs/{org_id}", response_model=OrganizationPublic, summary="Update an organisation")
def update_org(org_id: Id, body: OrganizationUpdate, principal: CurrentPrincipal,
               engine: EngineDep) -> OrganizationPublic:
    """Only the fields sent change; the seat limit is a super admin's."""
    return service.update_org(engine=engine, actor=principal.user, org_id=org_id,
                              changes=body.model_dump(include=body.model_fields_set))


@router.get("/orgs/{org_id}/members", response_model=list[MemberPublic], summary="An organisation's members")
def list_members(org_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> list[MemberPublic]:
    return service.list_members(engine=engine, actor=principal.user, org_id=org_id)


@router.patch("/orgs/{org_id}/members/{user_id}", response_model=MemberPublic, summary="Change a member's role")
def update_member(org_id: Id, user_id: Id, body: MemberUpdate, principal: CurrentPrincipal,
                  engine: EngineDep) -> MemberPublic:
    return service.update_member(engine=engine, actor=principal.user, org_id=org_id, user_id=user_id, role=body.role)


@router.delete("/orgs/{org_id}/members/{user_id}", status_code=204,
               summary="Remove a member from the organisation (frees a seat)")
def remove_member(org_id: Id, user_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.remove_member(engine=engine, actor=principal.user, org_id=org_id, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/orgs/{org_id}/invitations", response_model=InvitationPublic, status_code=201,
             summary="Invite an email address to an organisation")
def invite(org_id: Id, body: InvitationCreate, principal: CurrentPrincipal, engine: EngineDep,
           settings: SettingsDep) -> InvitationPublic:
    """The same answer (and email) whether or not the address has an account. Roles up to the inviter's own."""
    return service.invite_member(engine=engine, settings=settings, actor=principal.user, org_id=org_id,
                                 email=body.email, role=body.role)


@router.post("/orgs/{org_id}/invitations/import", response_model=list[InvitationPublic], status_code=201,
             summary="Invite everyone in a CSV file (email, role)")
def import_invitations(org_id: Id, body: InvitationImport, principal: CurrentPrincipal, engine: EngineDep,
                       settings: SettingsDep) -> list[InvitationPublic]:
    """All or nothing: every bad row is listed (`line N: what is wrong`) in details.problems and nothing is
    sent; so too when the seats or today's allowance cannot take them all."""
    return service.import_invitations(engine=engine, settings=settings, actor=principal.user, org_id=org_id,
                                      text=body.csv)


@router.get("/orgs/{org_id}/invitations", response_model=list[InvitationPublic],
            summary="An organisation's pending invitations")
def list_invitations(org_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> list[InvitationPublic]:
    return service.list_invitations(engine=engine, actor=principal.user, org_id=org_id)


@router.delete("/orgs/{org_id}/invitations/{invitation_id}", status_code=204, summary="Revoke a pending invitation")
def revoke_invitation(org_id: Id, invitation_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.revoke_invitation(engine=engine, actor=principal.user, org_id=org_id, invitation_id=invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/organization", response_model=MyOrganizationPublic | None,
            summary="Your organisation's name and branding (null: none)")
def my_organization(principal: CurrentPrincipal, engine: EngineDep) -> MyOrganizationPublic | None:
    return service.my_organization(engine=engine, user=principal.user)


@router.get("/me/invitations", response_model=MyInvitationsPublic, summary="Invitations to your email address")
def my_invitations(principal: CurrentPrincipal, engine: EngineDep) -> MyInvitationsPublic:
    return service.my_invitations(engine=engine, user=principal.user)


@router.post("/me/invitations/{invitation_id}/accept", response_model=InvitationPublic,
             summary="Accept an invitation (join the organisation)")
def accept_invitation(invitation_id: Id, body: InvitationAnswer, principal: CurrentPrincipal,
                      engine: EngineDep) -> InvitationPublic:
    return service.accept_invitation(engine=engine, user=principal.user, invitation_id=invitation_id,
                                     token=body.token)


@router.post("/me/invitations/{invitation_id}/decline", status_code=204, summary="Decline an invitation")
def decline_invitation(invitation_id: Id, body: InvitationAnswer, principal: CurrentPrincipal,
                       engine: EngineDep) -> Response:
    service.decline_invitation(engine=engine, user=principal.user, invitation_id=invitation_id, token=body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/orgs/{org_id}/teams", response_model=TeamPublic, status_code=201,
             summary="Create a team, class or cohort")
def create_team(org_id: Id, body: TeamCreate, principal: CurrentPrincipal, engine: EngineDep) -> TeamPublic:
    return service.create_team(engine=engine, actor=principal.user, org_id=org_id, name=body.name, kind=body.kind)


@router.get("/orgs/{org_id}/teams", response_model=list[TeamPublic], summary="An organisation's teams")
def list_teams(org_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> list[TeamPublic]:
    return service.list_teams(engine=engine, actor=principal.user, org_id=org_id)


@router.post("/teams/{team_id}/members", status_code=204, summary="Add a member to a team")
def add_team_member(team_id: Id, body: TeamMemberAdd, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.add_team_member(engine=engine, actor=principal.user, team_id=team_id, email=body.email, role=body.role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/teams", response_model=list[TeamPublic], summary="Your teams, classes and cohorts")
def my_teams(principal: CurrentPrincipal, engine: EngineDep) -> list[TeamPublic]:
    return service.my_teams(engine=engine, user_id=principal.user.id)
