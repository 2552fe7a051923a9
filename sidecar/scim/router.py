"""SCIM over HTTP: the tokens under /api (for the organisation's admins, signed in with cookies and CSRF)
and the SCIM service at /scim/v2 (for its identity provider, with a bearer token).

/scim/v2 lives outside /api: SCIM clients send a bearer token, never cookies, so CSRF does not apply. Its
errors are SCIM's own body (RFC 7644 §3.12: schemas, status as a string, detail, scimType) with the
content type application/scim+json: the protocol requires it, and it is the one exception to the JSON
error shape of sidecar/errors.py. Every /scim/v2 route goes through _ScimRoute, which turns every error
(domain errors, bad bodies, body limits) into that shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import EngineDep
from sidecar.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from sidecar.text import SafeJSONResponse
from sidecar.web.limits import KIB, RouteLimit

from . import service
from .models import ScimTokenCreate, ScimTokenCreated, ScimTokenPublic
from .service import GROUP_SCHEMA, LIST_SCHEMA, SEARCH_SCHEMA, USER_SCHEMA, Query, ScimError

PREFIX = "/scim/v2"
# A Group's PUT lists all of its members (about 100 bytes each): a team of 10,000 fits.
BODY_LIMIT = RouteLimit(None, re.compile(r"^/scim/v2(/|$)"), 1024 * KIB)

Id = Annotated[str, Path(max_length=64)]
router = APIRouter(tags=["organisations"])


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


@router.post("/orgs/{org_id}/scim/tokens", response_model=ScimTokenCreated, status_code=201,
             summary="Create a SCIM token for the organisation's identity provider (shown once)")
def create_token(org_id: Id, body: ScimTokenCreate, request: Request, principal: CurrentPrincipal,
                 engine: EngineDep) -> ScimTokenCreated:
    """For the organisation's admins and super admins. The token is in this answer only; its hash is kept."""
    return service.create_token(engine=engine, actor=principal.user, org_id=org_id, name=body.name,
                                base_url=_base_url(request))


@router.get("/orgs/{org_id}/scim/tokens", response_model=list[ScimTokenPublic],
            summary="The organisation's SCIM tokens (never their secrets)")
def list_tokens(org_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> list[ScimTokenPublic]:
    return service.list_tokens(engine=engine, actor=principal.user, org_id=org_id)


@router.delete("/orgs/{org_id}/scim/tokens/{token_id}", status_code=204, summary="Revoke a SCIM token")
def revoke_token(org_id: Id, token_id: Id, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    service.revoke_token(engine=engine, actor=principal.user, org_id=org_id, token_id=token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- /scim/v2 ----------------------------------------------------------------------------------------------


class ScimResponse(SafeJSONResponse):
    media_type = "application/scim+json"


def _error(exc: ScimError, headers: dict[str, str] | None = None) -> ScimResponse:
    return ScimResponse(exc.body(), status_code=exc.status, headers=headers)


def _from_domain(exc: DomainError) -> ScimError:
    if isinstance(exc, NotFound):
        return ScimError(404, exc.message)
    if isinstance(exc, Conflict):
        # Seats full, or the address's account belongs to another organisation: the IdP shows the detail.
        return ScimError(409, exc.message, "uniqueness" if "another organisation" in exc.message else None)
    if isinstance(exc, Forbidden):
        return ScimError(403, exc.message)
    if isinstance(exc, InvalidInput):
        return ScimError(400, exc.message, "invalidValue")
    return ScimError(exc.status_code, exc.message)


class _ScimRoute(APIRoute):
    """Every error of a /scim/v2 route in SCIM's body, never this API's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except ScimError as exc:
                headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else None
                return _error(exc, headers)
            except DomainError as exc:
                return _error(_from_domain(exc), exc.headers)
            except RequestValidationError as exc:
                where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
                return _error(ScimError(400, f"The request is not valid: {where}.", "invalidValue"))
            except StarletteHTTPException as exc:  # the body guard's limit, read as the body streams in
                return _error(ScimError(exc.status_code, str(exc.detail)), {"Connection": "close"}
                              if exc.status_code == 413 else None)

        return route


def scim_organization(request: Request, engine: EngineDep) -> str:
    """The organisation the request's bearer token acts for; 401 without a live one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise ScimError(401, "A SCIM bearer token is required (Authorization: Bearer ...).")
    org_id = service.organization_for_token(engine=engine, token=token.strip())
    if org_id is None:
        raise ScimError(401, "This SCIM token is not valid (unknown or revoked).")
    return org_id


ScimOrg = Annotated[str, Depends(scim_organization)]


async def scim_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise ScimError(400, "The body is not JSON.", "invalidSyntax") from None
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    return body


Body = Annotated[dict[str, Any], Depends(scim_body)]
scim = APIRouter(prefix=PREFIX, route_class=_ScimRoute, include_in_schema=False, tags=["scim"])


def _query(request: Request) -> Query:
    params = request.query_params

    def number(name: str, default: int | None) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ScimError(400, f"{name} must be an integer.", "invalidValue") from None

    def names(name: str) -> tuple[str, ...]:
        return tuple(n.strip() for n in (params.get(name) or "").split(",") if n.strip())

    return Query(filter=params.get("filter"), start_index=number("startIndex", 1) or 1, count=number("count", None),
                 attributes=names("attributes"), excluded=names("excludedAttributes"))


def _search_query(body: dict[str, Any]) -> Query:
    if SEARCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"A search names the schema {SEARCH_SCHEMA}.", "invalidSyntax")

    def names(key: str) -> tuple[str, ...]:
        value = body.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScimError(400, f"{key} must be a list of attribute names.", "invalidValue")
        return tuple(value)

    start, count, text = body.get("startIndex", 1), body.get("count"), body.get("filter")
    if not isinstance(start, int) or (count is not None and not isinstance(count, int)) or (
            text is not None and not isinstance(text, str)):
        raise ScimError(400, "startIndex and count are integers, filter a string.", "invalidValue")
    return Query(filter=text, start_index=start, count=count, attributes=names("attributes"),
                 excluded=names("excludedAttributes"))


def _created(resource: dict[str, Any]) -> ScimResponse:
    return ScimResponse(resource, status_code=201, headers={"Location": resource["meta"]["location"]})


# Discovery (RFC 7644 §4): what this service provider supports, and the schemas of what it serves.


def _attribute(name: str, kind: str = "string", *, required: bool = False, multi: bool = False,
               mutability: str = "readWrite", uniqueness: str = "none", case_exact: bool = False,
               sub: list[dict[str, Any]] | None = None, canonical: list[str] | None = None,
               references: list[str] | None = None, description: str = "") -> dict[str, Any]:
    attribute: dict[str, Any] = {"name": name, "type": kind, "multiValued": multi, "description": description or name,
                                 "required": required, "caseExact": case_exact, "mutability": mutability,
                                 "returned": "default", "uniqueness": uniqueness}
    if sub is not None:
        attribute["subAttributes"] = sub
    if canonical is not None:
        attribute["canonicalValues"] = canonical
    if references is not None:
        attribute["referenceTypes"] = references
    return attribute


USER_ATTRIBUTES = [
    _attribute("userName", required=True, uniqueness="server",
               description="Unique in the organisation; case-insensitive."),
    _attribute("name", "complex", sub=[_attribute(n) for n in (
        "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")]),
    _attribute("displayName"),
    _attribute("emails", "complex", multi=True, required=True,
               description="The primary (else the first) is the account's sign-in address, set at creation.",
               sub=[_attribute("value", required=True), _attribute("display"),
                    _attribute("type", canonical=["work", "home", "other"]), _attribute("primary", "boolean")]),
    _attribute("active", "boolean", description="false: not a member of the organisation (no seat, no sessions)."),
]
GROUP_ATTRIBUTES = [
    _attribute("displayName", required=True, description="The team's name."),
    _attribute("members", "complex", multi=True, description="Users of this organisation.", sub=[
        _attribute("value", mutability="immutable", case_exact=True),
        _attribute("$ref", "reference", mutability="immutable", references=["User"]),
        _attribute("display", mutability="readOnly"),
        _attribute("type", mutability="immutable", canonical=["User"]),
    ]),
]
SCHEMAS = {
    USER_SCHEMA: {"name": "User", "description": "A person of the organisation", "attributes": USER_ATTRIBUTES},
    GROUP_SCHEMA: {"name": "Group", "description": "A team of the organisation", "attributes": GROUP_ATTRIBUTES},
}
RESOURCE_TYPES = {"User": ("/Users", USER_SCHEMA, "A person"), "Group": ("/Groups", GROUP_SCHEMA, "A team")}


def _schema(urn: str, base: str) -> dict[str, Any]:
    schema = SCHEMAS[urn]
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"], "id": urn, **schema,
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"}}


def _resource_type(name: str, base: str) -> dict[str, Any]:
    endpoint, schema, description = RESOURCE_TYPES[name]
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": name, "name": name,
            "endpoint": endpoint, "description": description, "schema": schema, "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"}}


def _listed(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [LIST_SCHEMA], "totalResults": len(resources), "startIndex": 1,
            "itemsPerPage": len(resources), "Resources": resources}


@scim.get("/ServiceProviderConfig")
def service_provider_config(request: Request, org_id: ScimOrg) -> ScimResponse:
    base = _base_url(request)
    return ScimResponse({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/dronacharya/dronacharya/blob/main/docs/organizations.md",
        "patch": {"supported": True}, "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": service.MAX_RESULTS}, "changePassword": {"supported": False},
        "sort": {"supported": False}, "etag": {"supported": False},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer token", "primary": True,
                                   "description": "A token an organisation's admin creates on its page."}],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"}})


@scim.get("/ResourceTypes")
def resource_types(request: Request, org_id: ScimOrg) -> ScimResponse:
    return ScimResponse(_listed([_resource_type(name, _base_url(request)) for name in RESOURCE_TYPES]))


@scim.get("/ResourceTypes/{name}")
def resource_type(name: Id, request: Request, org_id: ScimOrg) -> ScimResponse:
    if name not in RESOURCE_TYPES:
        raise ScimError(404, f"No resource type {name}.")
    return ScimResponse(_resource_type(name, _base_url(request)))


@scim.get("/Schemas")
def schemas(request: Request, org_id: ScimOrg) -> ScimResponse:
    return ScimResponse(_listed([_schema(urn, _base_url(request)) for urn in SCHEMAS]))


@scim.get("/Schemas/{urn}")
def schema(urn: Annotated[str, Path(max_length=200)], request: Request, org_id: ScimOrg) -> ScimResponse:
    if urn not in SCHEMAS:
        raise ScimError(404, f"No schema {urn}.")
    return ScimResponse(_schema(urn, _base_url(request)))


# Users


@scim.post("/Users")
def create_user(request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return _created(service.create_user(engine=engine, org_id=org_id, base=_base_url(request), doc=body))


@scim.get("/Users")
def list_users(request: Request, org_id: ScimOrg, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.list_users(engine=engine, org_id=org_id, base=_base_url(request),
                                           query=_query(request)))


@scim.post("/Users/.search")
def search_users(request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.search(engine=engine, org_id=org_id, base=_base_url(request),
                                       query=_search_query(body), types=("User",)))


@scim.get("/Users/{scim_id}")
def get_user(scim_id: Id, request: Request, org_id: ScimOrg, engine: EngineDep) -> ScimResponse:
    query = _query(request)
    resource = service.get_user(engine=engine, org_id=org_id, base=_base_url(request), scim_id=scim_id)
    return ScimResponse(service.project(resource, list(query.attributes), list(query.excluded)))


@scim.put("/Users/{scim_id}")
def replace_user(scim_id: Id, request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.replace_user(engine=engine, org_id=org_id, base=_base_url(request), scim_id=scim_id,
                                             doc=body))


@scim.patch("/Users/{scim_id}")
def patch_user(scim_id: Id, request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.patch_user(engine=engine, org_id=org_id, base=_base_url(request), scim_id=scim_id,
                                           body=body))


@scim.delete("/Users/{scim_id}", status_code=204)
def delete_user(scim_id: Id, org_id: ScimOrg, engine: EngineDep) -> Response:
    service.delete_user(engine=engine, org_id=org_id, scim_id=scim_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Groups


@scim.post("/Groups")
def create_group(request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return _created(service.create_group(engine=engine, org_id=org_id, base=_base_url(request), doc=body))


@scim.get("/Groups")
def list_groups(request: Request, org_id: ScimOrg, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.list_groups(engine=engine, org_id=org_id, base=_base_url(request),
                                            query=_query(request)))


@scim.post("/Groups/.search")
def search_groups(request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.search(engine=engine, org_id=org_id, base=_base_url(request),
                                       query=_search_query(body), types=("Group",)))


@scim.get("/Groups/{group_id}")
def get_group(group_id: Id, request: Request, org_id: ScimOrg, engine: EngineDep) -> ScimResponse:
    query = _query(request)
    resource = service.get_group(engine=engine, org_id=org_id, base=_base_url(request), group_id=group_id)
    return ScimResponse(service.project(resource, list(query.attributes), list(query.excluded)))


@scim.put("/Groups/{group_id}")
def replace_group(group_id: Id, request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.replace_group(engine=engine, org_id=org_id, base=_base_url(request),
                                              group_id=group_id, doc=body))


@scim.patch("/Groups/{group_id}")
def patch_group(group_id: Id, request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.patch_group(engine=engine, org_id=org_id, base=_base_url(request),
                                            group_id=group_id, body=body))


@scim.delete("/Groups/{group_id}", status_code=204)
def delete_group(group_id: Id, org_id: ScimOrg, engine: EngineDep) -> Response:
    service.delete_group(engine=engine, org_id=org_id, group_id=group_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@scim.post("/.search")
def search_all(request: Request, org_id: ScimOrg, body: Body, engine: EngineDep) -> ScimResponse:
    return ScimResponse(service.search(engine=engine, org_id=org_id, base=_base_url(request),
                                       query=_search_query(body), types=("User", "Group")))


_METHODS = ["DELETE", "GET", "PATCH", "POST", "PUT"]


@scim.api_route("/{rest:path}", methods=_METHODS)
def unknown(rest: str, request: Request) -> ScimResponse:
    """Last: a known path asked with another method is a 405 (with Allow), anything else a 404, in SCIM's body."""
    allowed = sorted({method for route in scim.routes if isinstance(route, APIRoute) and route.endpoint is not unknown
                      and route.path_regex.match(request.url.path) for method in route.methods or ()} - {"HEAD"})
    if allowed:
        return _error(ScimError(405, f"{request.method} is not allowed here; use {', '.join(allowed)}."),
                      {"Allow": ", ".join(allowed)})
    raise ScimError(404, f"No SCIM endpoint at {request.url.path}.")
