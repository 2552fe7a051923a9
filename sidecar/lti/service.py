"""LTI 1.3 (issue #16): registrations, the tool's key, the OIDC login and launch, deep linking.

A platform (Canvas, Moodle...) is registered by an organisation's admin. Its launches are verified by
pylti1p3 (the id_token's signature against the platform's JWKS, state cookie, one-time nonce, client id
and deployment), then sign the learner in: the account is found by (platform, sub), or made from the
launch's email and joined to the organisation through orgs.service (seats checked there). Grades go
back through passback.py.
"""

from __future__ import annotations

import hashlib
import html
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem
from pylti1p3.registration import Registration
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sidecar.audit import service as audit
from sidecar.auth import service as auth
from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.catalog.service import get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, Forbidden, InvalidInput, NotFound
from sidecar.orgs import service as orgs
from sidecar.settings import Settings

from . import passback
from .adapters import (
    DbSessionService,
    DbStorage,
    DbToolConf,
    LtiCookies,
    LtiLaunch,
    LtiLogin,
    LtiRequest,
    PlatformRow,
    TimeoutSession,
)
from .models import PlatformCreate, PlatformPublic, ToolUrls
from .tables import LtiAccount, LtiGrant, LtiPlatform, LtiToolKey

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LOGIN_PATH, LAUNCH_PATH, JWKS_PATH, DEEP_LINK_PATH = ("/api/lti/login", "/api/lti/launch", "/api/lti/jwks",
                                                       "/api/lti/deep-link")
SCORE_MAXIMUM = 100


# ---------------------------------------------------------------------------------------------
# The tool's key pair


@dataclass(frozen=True)
class ToolKey:
    kid: str
    public_pem: str
    private_pem: str  # decrypted, in this process's memory only


_keys: dict[tuple[str, str], ToolKey] = {}  # (database URL, kid) -> key: decrypting on every launch is slow
_keys_lock = threading.Lock()


def _passphrase(settings: Settings) -> bytes:
    # Derived from SECRET_KEY with a label of its own, as the certificate issuer's key is (see
    # certificates/issuer.py): the database alone never holds a usable private key.
    return hashlib.sha256(b"dronacharya lti tool key\x00" + settings.SECRET_KEY.encode()).hexdigest().encode()


def _stored_key(engine: Engine) -> tuple[str, str, bytes] | None:
    with read_session(engine) as session:
        row = session.get(LtiToolKey, "tool")
        return (row.kid, row.public_pem, bytes(row.private_pem)) if row is not None else None


def tool_key(*, engine: Engine, settings: Settings) -> ToolKey:
    """The tool's RSA key, made once (the first process to need it wins; the others read its row). The row
    is read each time (one primary-key lookup), so a key an operator replaced is never served stale."""
    stored = _stored_key(engine)
    if stored is None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        encrypted = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.BestAvailableEncryption(_passphrase(settings)))
        kid = str(Registration.get_jwk(public_pem)["kid"])  # the key's JWK thumbprint
        with write_session(engine) as session:
            insert_ignore(session, LtiToolKey, {"id": "tool", "kid": kid, "public_pem": public_pem,
                                                "private_pem": encrypted, "created_at": utcnow()}, ["id"])
        stored = _stored_key(engine)
        assert stored is not None
    kid, public_pem, encrypted = stored
    with _keys_lock:
        found = _keys.get((str(engine.url), kid))
    if found is None:
        private_key = serialization.load_pem_private_key(encrypted, password=_passphrase(settings))
        private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()).decode()
        found = ToolKey(kid=kid, public_pem=public_pem, private_pem=private_pem)
        with _keys_lock:
            _keys[(str(engine.url), kid)] = found
    return found


def jwks(*, engine: Engine, settings: Settings) -> dict[str, Any]:
    """The tool's public key set: platforms verify our deep-linking responses and token requests with it."""
    return {"keys": [Registration.get_jwk(tool_key(engine=engine, settings=settings).public_pem)]}


# ---------------------------------------------------------------------------------------------
# Registrations (an organisation's admins)


def tool_urls(settings: Settings) -> ToolUrls:
    base = settings.APP_URL.rstrip("/")
    return ToolUrls(login_url=base + LOGIN_PATH, launch_url=base + LAUNCH_PATH, deep_linking_url=base + LAUNCH_PATH,
                    jwks_url=base + JWKS_PATH)


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _platform_url(settings: Settings, url: str, what: str) -> str:
    """A platform address the server will call: https, or http to this machine while DRONA_ENV=local
    (development and the tests), as for SSO providers. Plain http elsewhere would send tokens in clear."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in _LOOPBACK and settings.DRONA_ENV == "local"
    if not parts.hostname or (parts.scheme != "https" and not local) or parts.fragment or parts.username:
        raise InvalidInput(f"The platform's {what} must be an https:// address (got {url[:120]}).")
    return url


def _admin(actor: User, org_id: str) -> None:
    if has_role(actor.role, Role.SUPER_ADMIN):
        return
    if not has_role(actor.role, Role.ENTERPRISE_ADMIN):
        raise Forbidden("Only an organisation's admins manage its LTI platforms.")
    if actor.organization_id != org_id:
        raise NotFound("No such organisation.")


def _public(platform: LtiPlatform, settings: Settings) -> PlatformPublic:
    return PlatformPublic(id=platform.id, organization_id=platform.organization_id, name=platform.name,
                          issuer=platform.issuer, client_id=platform.client_id,
                          deployment_ids=list(platform.deployment_ids), auth_login_url=platform.auth_login_url,
                          auth_token_url=platform.auth_token_url, key_set_url=platform.key_set_url,
                          auth_audience=platform.auth_audience, created_at=platform.created_at,
                          tool=tool_urls(settings))


def register_platform(*, engine: Engine, settings: Settings, actor: User, org_id: str,
                      body: PlatformCreate) -> PlatformPublic:
    _admin(actor, org_id)
    tool_key(engine=engine, settings=settings)  # made now, so the JWKS URL shown answers at once
    for url, what in ((body.auth_login_url, "authorisation URL"), (body.auth_token_url, "token URL"),
                      (body.key_set_url, "key set URL")):
        _platform_url(settings, url, what)
    deployments = sorted({d.strip() for d in body.deployment_ids if d.strip()})
    if not deployments:
        raise InvalidInput("Give at least one deployment id.")
    platform = LtiPlatform(id=str(uuid.uuid4()), organization_id=org_id, name=body.name.strip() or body.issuer.strip(),
                           issuer=body.issuer.strip(), client_id=body.client_id.strip(), deployment_ids=deployments,
                           auth_login_url=body.auth_login_url, auth_token_url=body.auth_token_url,
                           key_set_url=body.key_set_url, auth_audience=(body.auth_audience or "").strip() or None,
                           created_by=actor.id, created_at=utcnow())
    orgs.get_org(engine=engine, actor=actor, org_id=org_id)  # NotFound for an organisation that is not there
    try:
        with write_session(engine) as session:
            session.add(platform)
            session.flush()
            audit.record(session, actor_id=actor.id, organization_id=org_id, action="lti.platform.register",
                         target_type="lti_platform", target_id=platform.id,
                         details={"issuer": platform.issuer, "client_id": platform.client_id,
                                  "deployment_ids": deployments})
            return _public(platform, settings)
    except IntegrityError:
        raise Conflict("This issuer and client id are already registered.") from None


def list_platforms(*, engine: Engine, settings: Settings, actor: User, org_id: str) -> list[PlatformPublic]:
    _admin(actor, org_id)
    with read_session(engine) as session:
        rows = session.scalars(select(LtiPlatform).where(LtiPlatform.organization_id == org_id)
                               .order_by(LtiPlatform.created_at, LtiPlatform.id))
        return [_public(p, settings) for p in rows]


def delete_platform(*, engine: Engine, actor: User, org_id: str, platform_id: str) -> None:
    """Launches from it stop at once; its learners keep their accounts and progress."""
    _admin(actor, org_id)
    with write_session(engine) as session:
        platform = session.get(LtiPlatform, platform_id)
        if platform is None or platform.organization_id != org_id:
            raise NotFound("No such LTI platform.")
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="lti.platform.delete",
                     target_type="lti_platform", target_id=platform.id,
                     details={"issuer": platform.issuer, "client_id": platform.client_id})
        session.delete(platform)


# ---------------------------------------------------------------------------------------------
# Login, launch and deep linking (the platform's side of the conversation: no signed-in user yet)


@dataclass
class Tool:
    """pylti1p3's services for one request."""

    conf: DbToolConf
    request: LtiRequest
    sessions: DbSessionService
    cookies: LtiCookies


def _tool(engine: Engine, settings: Settings, params: Mapping[str, str], cookies: Mapping[str, str]) -> Tool:
    key = tool_key(engine=engine, settings=settings)
    request = LtiRequest(params, cookies, secure=True)
    return Tool(conf=DbToolConf(engine, private_pem=key.private_pem, public_pem=key.public_pem), request=request,
                sessions=DbSessionService(DbStorage(engine)), cookies=LtiCookies(request))


# pylti1p3's own refusals, and what it raises when a signed-looking token holds the wrong shapes (a list
# where a claim set belongs): a refusal too, never a server error.
_INVALID = (LtiException, OIDCException, ValueError, TypeError, AttributeError, KeyError)


def _refused(what: str, exc: Exception) -> Forbidden:
    # pylti1p3's messages say what failed (state, nonce, signature, deployment) and hold no secrets.
    return Forbidden(f"{what} refused: {str(exc)[:300]}")


def login(*, engine: Engine, settings: Settings, params: Mapping[str, str],
          cookies: Mapping[str, str]) -> tuple[str, LtiCookies]:
    """Third-party initiated login: where to send the browser (the platform's authorisation endpoint,
    with a fresh state and nonce) and the state cookie to set on the way."""
    tool = _tool(engine, settings, params, cookies)
    oidc = LtiLogin(tool.request, tool.conf, session_service=tool.sessions, cookie_service=tool.cookies)
    try:
        redirect = oidc.get_redirect_object(tool_urls(settings).launch_url)
    except _INVALID as exc:
        raise _refused("LTI login", exc) from None
    return redirect.get_redirect_url(), tool.cookies


@dataclass
class LaunchResult:
    signed_in: auth.SignedIn | None = None
    redirect: str | None = None
    page: str | None = None  # HTML (the deep-linking picker)


def launch(*, engine: Engine, settings: Settings, params: Mapping[str, str], cookies: Mapping[str, str],
           user_agent: str = "") -> LaunchResult:
    tool = _tool(engine, settings, params, cookies)
    message = LtiLaunch(tool.request, tool.conf, session_service=tool.sessions, cookie_service=tool.cookies,
                        requests_session=TimeoutSession())
    try:
        data = dict(message.get_launch_data())  # validates: state, format, nonce, registration, signature...
        deep = message.is_deep_link_launch()
        resource = message.is_resource_launch()
        staff = message.check_teacher_access() or message.check_staff_access() or message.check_designer_access()
    except _INVALID as exc:
        raise _refused("LTI launch", exc) from None
    platform = tool.conf.found
    if platform is None:
        raise Forbidden("LTI launch refused: no registration for this platform.")
    if deep:
        if not staff:
            raise Forbidden("Only an instructor picks lessons for a course.")
        return LaunchResult(page=_picker_page(settings, launch_id=message.get_launch_id()))
    if not resource:
        raise Forbidden("LTI launch refused: this tool takes resource link and deep linking launches only.")
    return _resource_launch(engine=engine, settings=settings, platform=platform, data=data, user_agent=user_agent)


def _lesson_id(data: dict[str, Any]) -> str | None:
    """The link's lesson: its custom parameter (deep-linked links carry it), else `lesson_id` in its target."""
    custom = data.get(LTI + "custom") or {}
    found = custom.get("lesson_id") if isinstance(custom, dict) else None
    if not found:
        target = str(data.get(LTI + "target_link_uri") or "")
        found = next(iter(parse_qs(urlsplit(target).query).get("lesson_id") or []), None)
    return str(found).strip()[:64] if found else None


def _display_name(data: dict[str, Any], email: str) -> str:
    name = " ".join(str(data.get("name") or f"{data.get('given_name') or ''} {data.get('family_name') or ''}")
                    .split())
    return (name or email.split("@")[0])[:80]


def _account(session: Session, *, platform: PlatformRow, sub: str, data: dict[str, Any]) -> User:
    """The platform's user `sub` here: linked before, or found or made by the launch's email (and linked)."""
    link = session.get(LtiAccount, (platform.id, sub))
    if link is not None:
        user = session.get(User, link.user_id, with_for_update=True)
        assert user is not None  # the link goes with the account (ON DELETE CASCADE)
        return user
    email = auth.normalize_email(str(data.get("email") or ""))
    if not email:
        raise Forbidden("The platform did not share this learner's email address, which this site needs to "
                        "make the account. Ask the LMS admin to share it with the tool (Canvas: privacy level "
                        "Public or Email only; Moodle: Share launcher's email with the tool: Always).")
    user = session.scalar(select(User).where(User.email == email).with_for_update())
    if user is None:
        user = auth.create_user(session=session, email=email, password=uuid.uuid4().hex + uuid.uuid4().hex,
                                display_name=_display_name(data, email))
    elif user.organization_id != platform.organization_id or has_role(user.role, Role.ENTERPRISE_ADMIN):
        # A platform speaks for the organisation that registered it: it may sign in the accounts that
        # organisation already manages, not anyone's by naming their address (nor its admins').
        raise Conflict("An account with this email address already exists. Sign in to it on this site "
                       "directly, or ask your organisation's admin.")
    session.add(LtiAccount(platform_id=platform.id, sub=sub, user_id=user.id, created_at=utcnow()))
    return user


def _grant(session: Session, *, settings: Settings, platform: PlatformRow, user_id: str, sub: str,
           data: dict[str, Any], lesson_id: str, course_id: str) -> str | None:
    """Remember where this link's grade goes (its line item), when the platform lets us post scores."""
    endpoint = data.get(AGS_ENDPOINT) or {}
    link = data.get(LTI + "resource_link") or {}
    lineitem, scopes = endpoint.get("lineitem"), endpoint.get("scope") or []
    if not (isinstance(lineitem, str) and isinstance(scopes, list) and SCORE_SCOPE in scopes and link.get("id")):
        return None
    try:
        _platform_url(settings, lineitem, "line item URL")
    except InvalidInput:
        return None  # the launch still works; no grade goes to an address we would not call
    resource_link_id = str(link["id"])[:255]
    grant = session.scalar(select(LtiGrant).where(LtiGrant.platform_id == platform.id, LtiGrant.user_id == user_id,
                                                  LtiGrant.resource_link_id == resource_link_id))
    if grant is None:
        grant = LtiGrant(id=str(uuid.uuid4()), platform_id=platform.id, user_id=user_id,
                         resource_link_id=resource_link_id, created_at=utcnow())
        session.add(grant)
    grant.sub, grant.lesson_id, grant.course_id = sub[:255], lesson_id, course_id
    grant.lineitem_url, grant.scopes = str(lineitem)[:2000], [str(s) for s in scopes]
    return grant.id


def _resource_launch(*, engine: Engine, settings: Settings, platform: PlatformRow, data: dict[str, Any],
                     user_agent: str) -> LaunchResult:
    sub = str(data.get("sub") or "")[:255]
    if not sub:
        raise Forbidden("LTI launch refused: anonymous launches (no sub) are not supported.")
    lesson_id = _lesson_id(data)
    lesson = None
    if lesson_id:
        lesson = get_index(catalog_db=settings.catalog_db).lessons.get(lesson_id)
        if lesson is None:
            raise NotFound("This link names a lesson this site does not have (any more). Ask the instructor to "
                           "pick it again.")
    queued = False
    # One transaction: a refusal (no free seat) leaves no half-made account behind.
    with write_session(engine) as session:
        user = _account(session, platform=platform, sub=sub, data=data)
        if user.organization_id != platform.organization_id:
            # Seats are checked where every way into an organisation is (orgs.service).
            orgs.join_asserted_by_idp(session, org_id=platform.organization_id, user=user, by="lti")
        signed_in = auth.sign_in_vouched(session=session, settings=settings, user_id=user.id, user_agent=user_agent)
        grant_id = None
        if lesson is not None:
            grant_id = _grant(session, settings=settings, platform=platform, user_id=user.id, sub=sub, data=data,
                              lesson_id=lesson.id, course_id=lesson.course_id)
        if grant_id is not None:
            # Completed before this launch (or before the link existed): the gradebook hears of it now.
            queued = passback.queue_if_completed(Tx.of_session(session), grant_id=grant_id)
    if queued:
        passback.wake()
    # The catalog's page URLs are relative to the site's root.
    return LaunchResult(signed_in=signed_in, redirect="/" + lesson.url.lstrip("/") if lesson is not None else "/")


def _picker_page(settings: Settings, *, launch_id: str) -> str:
    index = get_index(catalog_db=settings.catalog_db)
    parts: list[str] = []
    for course in index.courses.values():
        items = []
        for module_id in course.module_ids:
            module = index.modules.get(module_id)
            for lesson_id in module.lesson_ids if module is not None else ():
                lesson = index.lessons[lesson_id]
                items.append(f'<li><label><input type="checkbox" name="lesson_id" value="{html.escape(lesson.id)}"> '
                             f'{html.escape(lesson.title)}</label></li>')
        if items:
            parts.append(f"<fieldset><legend>{html.escape(course.title)}</legend><ul>{''.join(items)}</ul>"
                         "</fieldset>")
    lessons = "".join(parts) or "<p>This site has no lessons yet.</p>"
    return _page("Add lessons", f"""<h1>Add lessons to your course</h1>
<p>Pick the lessons to add. Each becomes a link in your course with its own gradebook column; a learner's
grade is sent when they complete the lesson.</p>
<form method="post" action="{DEEP_LINK_PATH}">
<input type="hidden" name="launch_id" value="{html.escape(launch_id)}">
{lessons}
<button type="submit">Add the selected lessons</button>
</form>""")


def _page(title: str, body: str, *, script: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;'
            'line-height:1.5}fieldset{margin:1rem 0}ul{list-style:none;padding-left:0}li{margin:.25rem 0}'
            'button{font-size:1rem;padding:.5rem 1rem}</style></head>'
            f'<body><main>{body}</main>{script}</body></html>')


def deep_link_response(*, engine: Engine, settings: Settings, launch_id: str, lesson_ids: list[str]) -> str:
    """The signed LtiDeepLinkingResponse for the picked lessons, in a page that posts it to the platform."""
    if not launch_id.startswith("lti1p3-launch-") or len(launch_id) > 80:
        raise Forbidden("This selection is not valid; open it again from your course.")
    index = get_index(catalog_db=settings.catalog_db)
    chosen = list(dict.fromkeys(i for i in lesson_ids if i))
    unknown = [i for i in chosen if i not in index.lessons]
    if not chosen or unknown:
        raise InvalidInput("Pick at least one lesson." if not chosen else "Some picked lessons do not exist.")
    tool = _tool(engine, settings, {}, {})
    try:
        message = LtiLaunch.from_cache(launch_id, tool.request, tool.conf, session_service=tool.sessions,
                                       cookie_service=tool.cookies, requests_session=TimeoutSession())
        if not message.is_deep_link_launch():
            raise Forbidden("This selection is not a deep linking launch.")
        deep_link = message.get_deep_link()
        settings_claim = message.get_launch_data().get("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings")
    except _INVALID:
        raise Forbidden("This selection has expired or was already sent; open it again from your course.") from None
    launch_url = tool_urls(settings).launch_url
    resources = []
    for lesson_id in chosen:
        lesson = index.lessons[lesson_id]
        line_item = LineItem().set_score_maximum(SCORE_MAXIMUM).set_label(lesson.title).set_resource_id(lesson.id)
        resources.append(DeepLinkResource().set_url(launch_url).set_title(lesson.title)
                         .set_custom_params({"lesson_id": lesson.id}).set_lineitem(line_item))
    token = deep_link.get_response_jwt(resources)
    tool.sessions.forget_launch(launch_id)  # one answer per launch
    return_url = str((settings_claim or {}).get("deep_link_return_url") or "")
    body = (f'<h1>Adding {len(resources)} lesson{"s" if len(resources) != 1 else ""}…</h1>'
            f'<form id="lti-return" method="post" action="{html.escape(return_url)}">'
            f'<input type="hidden" name="JWT" value="{html.escape(token)}">'
            '<button type="submit">Return to your course</button></form>')
    script = "<script>document.getElementById('lti-return').submit();</script>"
    return _page("Returning to your course", body, script=script)
