from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from sidecar.auth.deps import DEVICE_COOKIE, CurrentPrincipal
from sidecar.auth.router import set_session_cookies
from sidecar.deps import EngineDep, SettingsDep
from sidecar.errors import DomainError, documented_errors
from sidecar.settings import Settings

from . import service
from .models import DomainCreate, DomainPublic, SsoConfigPublic, SsoConfigUpdate

router = APIRouter(tags=["single sign-on"])

Id = Annotated[str, Path(max_length=64)]
DomainName = Annotated[str, Path(max_length=253)]
SSO_COOKIE = "drona_sso"  # binds a sign-in under way to the browser that started it
SIGNIN_PAGE = "/account/signin/"


@router.get("/orgs/{org_id}/sso", response_model=SsoConfigPublic, summary="The organisation's single sign-on")
def get_sso(org_id: Id, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep) -> SsoConfigPublic:
    """The client secret is never shown: `client_secret_set` says whether one is stored."""
    return service.get_config(engine=engine, settings=settings, actor=principal.user, org_id=org_id)


@router.put("/orgs/{org_id}/sso", response_model=SsoConfigPublic,
            summary="Configure single sign-on (OpenID Connect)")
def put_sso(org_id: Id, body: SsoConfigUpdate, principal: CurrentPrincipal, engine: EngineDep,
            settings: SettingsDep) -> SsoConfigPublic:
    """Reads the provider's discovery document ({issuer}/.well-known/openid-configuration) and its key set
    first: 422 if either is unreachable or not valid. Register `redirect_uri` (in the answer) at the provider."""
    return service.put_config(engine=engine, settings=settings, actor=principal.user, org_id=org_id,
                              issuer=body.issuer, client_id=body.client_id, client_secret=body.client_secret,
                              default_role=body.default_role, enabled=body.enabled)


@router.delete("/orgs/{org_id}/sso", status_code=204, summary="Remove single sign-on")
def delete_sso(org_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.delete_config(engine=engine, actor=principal.user, org_id=org_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/orgs/{org_id}/domains", response_model=list[DomainPublic],
            summary="The organisation's email domains, with their TXT records")
def list_domains(org_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> list[DomainPublic]:
    return service.list_domains(engine=engine, actor=principal.user, org_id=org_id)


@router.post("/orgs/{org_id}/domains", response_model=DomainPublic, status_code=201,
             summary="Claim an email domain (publish the TXT record it gives)")
def add_domain(org_id: Id, body: DomainCreate, principal: CurrentPrincipal, engine: EngineDep) -> DomainPublic:
    """The domain counts once a super admin has checked the TXT record and marked it verified."""
    return service.add_domain(engine=engine, actor=principal.user, org_id=org_id, domain=body.domain)


@router.delete("/orgs/{org_id}/domains/{domain}", status_code=204, summary="Remove an email domain")
def remove_domain(org_id: Id, domain: DomainName, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.remove_domain(engine=engine, actor=principal.user, org_id=org_id, domain=domain)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/admin/orgs/{org_id}/domains/{domain}/verify", response_model=DomainPublic,
             summary="Mark a domain verified (super admins, after checking its TXT record)")
def verify_domain(org_id: Id, domain: DomainName, principal: CurrentPrincipal, engine: EngineDep) -> DomainPublic:
    """The sidecar looks nothing up in DNS: the super admin checks the record (`dig TXT domain`) first."""
    return service.verify_domain(engine=engine, actor=principal.user, org_id=org_id, domain=domain)


def _wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _refusal(request: Request, settings: Settings, error: DomainError) -> Response:
    """A browser goes back to the sign-in page, which shows the message; an API client gets the error."""
    if not _wants_page(request):
        raise error
    response = RedirectResponse(f"{SIGNIN_PAGE}?sso_error={quote(error.message[:400])}",
                                status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SSO_COOKIE, path="/api/sso")
    return response


@router.get("/sso/start", status_code=303, response_class=RedirectResponse,
            summary="Single sign-on: redirects to the organisation's identity provider")
def sso_start(request: Request, engine: EngineDep, settings: SettingsDep,
              org: Annotated[str | None, Query(max_length=120, description="organisation id or name")] = None,
              email: Annotated[str | None, Query(max_length=320, description="your work email")] = None,
              next: Annotated[str | None, Query(max_length=500, description="a path on this site")] = None,
              ) -> Response:
    try:
        started = service.start(engine=engine, settings=settings, org=org, email=email, next_path=next)
    except DomainError as error:
        return _refusal(request, settings, error)
    response = RedirectResponse(started.url, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(SSO_COOKIE, started.browser_token, max_age=service.STATE_MINUTES * 60, httponly=True,
                        samesite="lax", secure=settings.secure_cookies, path="/api/sso")
    return response


@router.get("/sso/callback", status_code=303, response_class=RedirectResponse,
            summary="Where the identity provider sends the browser back (register this as the redirect URI)",
            # An API client gets these as errors; a browser is sent back to the sign-in page with the message.
            responses=documented_errors({
                401: "The account is disabled.",
                403: "The identity provider refused or did not vouch for the sign-in.",
                409: "The account belongs to another organisation."}))
def sso_callback(request: Request, engine: EngineDep, settings: SettingsDep,
                 state: Annotated[str | None, Query(max_length=200)] = None,
                 code: Annotated[str | None, Query(max_length=2000)] = None,
                 error: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    try:
        finished = service.finish(engine=engine, settings=settings, state=state, code=code, error=error,
                                  browser_token=request.cookies.get(SSO_COOKIE),
                                  user_agent=request.headers.get("user-agent", ""),
                                  device_cookie=request.cookies.get(DEVICE_COOKIE))
    except DomainError as refused:
        return _refusal(request, settings, refused)
    response = RedirectResponse(finished.next_path, status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookies(response, settings, finished.signed_in)
    response.delete_cookie(SSO_COOKIE, path="/api/sso")
    return response
