"""LTI 1.3 endpoints. Two routers: `router` (the organisation admins' registrations, under the API's CSRF
check) and `public` (login, launch, deep-link answer and JWKS: called by LMS platforms and by browsers
they send here with a cross-site form POST, which the CSRF check exists to refuse. Their own checks are
LTI's: the state cookie, the one-time nonce and the platform's signature; the deep-link answer carries a
one-time launch id that only the verified launch's page has)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Path, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from sidecar.auth.deps import CurrentPrincipal
from sidecar.auth.router import _set_cookies
from sidecar.deps import EngineDep, SettingsDep
from sidecar.errors import documented_errors

from . import passback, service
from .models import PlatformCreate, PlatformPublic

Id = Annotated[str, Path(max_length=64)]
FIELD = 8 * 1024  # an id_token is a few kilobytes; a state or a lesson id far less


@asynccontextmanager
async def _sender(app: FastAPI) -> AsyncIterator[None]:
    # Scores queued before a restart go out without waiting for the next completion.
    passback.start_sender(engine=app.state.engine, settings=app.state.settings)
    yield
    passback.stop_sender(engine=app.state.engine)


router = APIRouter(tags=["lti"], lifespan=_sender)
public = APIRouter(tags=["lti"])


@router.post("/orgs/{org_id}/lti/platforms", response_model=PlatformPublic, status_code=201,
             summary="Register an LTI 1.3 platform (Canvas, Moodle...)")
def register_platform(org_id: Id, body: PlatformCreate, principal: CurrentPrincipal, engine: EngineDep,
                      settings: SettingsDep) -> PlatformPublic:
    """The answer's `tool` holds the URLs to paste into the LMS."""
    return service.register_platform(engine=engine, settings=settings, actor=principal.user, org_id=org_id,
                                     body=body)


@router.get("/orgs/{org_id}/lti/platforms", response_model=list[PlatformPublic],
            summary="An organisation's LTI platforms")
def list_platforms(org_id: Id, principal: CurrentPrincipal, engine: EngineDep,
                   settings: SettingsDep) -> list[PlatformPublic]:
    return service.list_platforms(engine=engine, settings=settings, actor=principal.user, org_id=org_id)


@router.delete("/orgs/{org_id}/lti/platforms/{platform_id}", status_code=204, summary="Remove an LTI platform")
def delete_platform(org_id: Id, platform_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.delete_platform(engine=engine, actor=principal.user, org_id=org_id, platform_id=platform_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@public.get("/lti/jwks", summary="The tool's public key set (JWKS)")
def tool_jwks(engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(service.jwks(engine=engine, settings=settings),
                        headers={"Cache-Control": "public, max-age=300"})


def _login(params: dict[str, str], request: Request, engine: Any, settings: Any) -> Response:
    url, cookies = service.login(engine=engine, settings=settings, params=params, cookies=request.cookies)
    response = RedirectResponse(url, status_code=302)
    cookies.apply(response)
    return response


_LOGIN_FIELDS = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id", "lti_deployment_id")


@public.get("/lti/login", summary="LTI 1.3 login initiation (third-party initiated login)",
            response_class=RedirectResponse, status_code=302,
            responses=documented_errors({403: "No platform is registered for this login (or it is not valid)."}))
def login_get(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    params = {k: request.query_params.get(k, "")[:FIELD] for k in _LOGIN_FIELDS}
    return _login(params, request, engine, settings)


@public.post("/lti/login", summary="LTI 1.3 login initiation (form post)", response_class=RedirectResponse,
             status_code=302)
def login_post(request: Request, engine: EngineDep, settings: SettingsDep,
               iss: Annotated[str, Form(max_length=FIELD)] = "",
               login_hint: Annotated[str, Form(max_length=FIELD)] = "",
               target_link_uri: Annotated[str, Form(max_length=FIELD)] = "",
               lti_message_hint: Annotated[str, Form(max_length=FIELD)] = "",
               client_id: Annotated[str, Form(max_length=FIELD)] = "",
               lti_deployment_id: Annotated[str, Form(max_length=FIELD)] = "") -> Response:
    params = {"iss": iss, "login_hint": login_hint, "target_link_uri": target_link_uri,
              "lti_message_hint": lti_message_hint, "client_id": client_id, "lti_deployment_id": lti_deployment_id}
    return _login(params, request, engine, settings)


@public.post("/lti/launch", summary="LTI 1.3 launch (resource link or deep linking request)",
             response_class=HTMLResponse)
def launch(request: Request, engine: EngineDep, settings: SettingsDep,
           id_token: Annotated[str, Form(max_length=64 * 1024)] = "",
           state: Annotated[str, Form(max_length=FIELD)] = "") -> Response:
    """A resource link signs the learner in and sends them to the link's lesson; a deep linking request
    shows the instructor the lesson picker."""
    result = service.launch(engine=engine, settings=settings, params={"id_token": id_token, "state": state},
                            cookies=request.cookies, user_agent=request.headers.get("user-agent", ""))
    if result.page is not None:
        return HTMLResponse(result.page, headers={"Cache-Control": "no-store"})
    assert result.signed_in is not None and result.redirect is not None
    # 303: the browser follows a POST's answer with a GET of the lesson page.
    response = RedirectResponse(result.redirect, status_code=303)
    _set_cookies(response, settings, result.signed_in)
    return response


@public.post("/lti/deep-link", summary="Send the picked lessons back to the platform (deep linking response)",
             response_class=HTMLResponse)
def deep_link(engine: EngineDep, settings: SettingsDep, launch_id: Annotated[str, Form(max_length=100)] = "",
              lesson_id: Annotated[list[str] | None, Form(max_length=500)] = None) -> Response:
    page = service.deep_link_response(engine=engine, settings=settings, launch_id=launch_id,
                                      lesson_ids=[i[:64] for i in (lesson_id or [])])
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
