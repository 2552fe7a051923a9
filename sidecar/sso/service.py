"""Single sign-on per organisation (OpenID Connect, authorization code flow with PKCE), and the email domains
an organisation has proved it holds.

The sign-in (README, "Single sign-on"; docs/organisations.md): `start` keeps the state, nonce and PKCE
verifier server side, bound to the browser by a random cookie, and sends the browser to the provider;
`finish` spends the state once, exchanges the code, checks the ID token (signature by the provider's JWKS,
issuer, audience, nonce, expiry) and then, in ONE transaction, finds or links or creates the account, joins
it to the organisation (orgs.service, seat-checked) and starts a session: a refusal leaves nothing behind.

An identity provider is trusted for its own organisation only: an account is linked or created from its
word only when the address is verified at the provider AND its domain is verified for this organisation,
so a provider cannot take over an account at a domain its organisation has not proved it holds.

Domains are verified by a super admin who has checked the TXT record: the sidecar does no DNS lookups (it
may run offline, and a resolver we cannot trust would make the check worth less than a person's).
"""

from __future__ import annotations

import base64
import contextlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.base_client.sync_openid import OpenIDMixin
from authlib.integrations.httpx_client import OAuth2Client
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sidecar.audit import service as audit
from sidecar.auth import security
from sidecar.auth import service as auth
from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unavailable
from sidecar.orgs import service as orgs
from sidecar.settings import Settings

from .models import DomainPublic, SsoConfigPublic
from .tables import SsoConfig, SsoDomain, SsoLink, SsoState

STATE_MINUTES = 10  # time to sign in at the provider
SCOPES = "openid email profile"
HTTP_TIMEOUT_SECONDS = 10
TXT_PREFIX = "drona-domain-verification="
CALLBACK_PATH = "/api/sso/callback"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# ---------------------------------------------------------------------------------------------
# Helpers


def redirect_uri(settings: Settings) -> str:
    """What the organisation registers at its provider as the redirect URI."""
    return settings.APP_URL.rstrip("/") + CALLBACK_PATH


def _admin(actor: User, org_id: str) -> None:
    if has_role(actor.role, Role.SUPER_ADMIN):
        return
    if not (has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id == org_id):
        raise Forbidden("Only this organisation's admins may do that.")


def _existing_org(session: Session, org_id: str) -> str:
    name = orgs.org_name(session, org_id)
    if name is None:
        raise NotFound("No such organisation.")
    return name


def _fernet(settings: Settings) -> Fernet:
    # A key of its own, derived from SECRET_KEY: rotating SECRET_KEY makes stored secrets unreadable, and the
    # admin is then asked to enter the client secret again (see _client_secret).
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"drona sso client secret").derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _client_secret(settings: Settings, config: SsoConfig) -> str:
    try:
        return _fernet(settings).decrypt(config.client_secret_encrypted.encode()).decode()
    except InvalidToken:
        raise Unavailable("This organisation's single sign-on cannot be used: its client secret was stored "
                          "under another SECRET_KEY. An administrator must enter it again.") from None


def _checked_url(settings: Settings, url: object, what: str) -> str:
    """Provider addresses are https; plain http only for a provider on this machine in a local set-up
    (development and the tests). Anything else would send codes and secrets in clear, or let an admin make
    the server fetch arbitrary internal addresses."""
    if not isinstance(url, str) or not url or len(url) > 500:
        raise InvalidInput(f"The provider's {what} is missing or not an address.")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidInput(f"The provider's {what} is not a valid address.") from None
    local = parts.scheme == "http" and parts.hostname in _LOOPBACK and settings.DRONA_ENV == "local"
    if not parts.hostname or (parts.scheme != "https" and not local) or parts.fragment or parts.username:
        raise InvalidInput(f"The provider's {what} must be an https:// address (got {url[:120]}).")
    return url


def _http() -> Any:
    # Authlib's OAuth2 client (httpx underneath): one per call, closed after it.
    return OAuth2Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False)


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        with _http() as http:
            response = http.request("GET", url, withhold_token=True, headers={"Accept": "application/json"})
    except Exception as exc:  # noqa: BLE001 - any transport failure (refused, timeout, TLS) is "unreachable"
        raise InvalidInput(f"Could not reach the provider's {what} at {url[:200]}: {type(exc).__name__}.") from None
    if response.status_code != 200:
        raise InvalidInput(f"The provider's {what} at {url[:200]} answered HTTP {response.status_code}.")
    try:
        data = response.json()
    except ValueError:
        raise InvalidInput(f"The provider's {what} at {url[:200]} is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"The provider's {what} at {url[:200]} is not a JSON object.")
    return data


def discover(settings: Settings, issuer: str) -> dict[str, Any]:
    """The provider's discovery document, checked: its issuer is the one entered (OpenID Connect
    Discovery 1.0, section 4.3), its endpoints are https, and its JWKS has keys."""
    issuer = _checked_url(settings, issuer.strip(), "issuer URL")
    if urlsplit(issuer).query:
        raise InvalidInput("An issuer URL has no query part.")
    document = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise InvalidInput(f"The discovery document names another issuer ({str(document.get('issuer'))[:120]}); "
                           "enter exactly the issuer it names.")
    kept: dict[str, Any] = {"issuer": document["issuer"]}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        kept[name] = _checked_url(settings, document.get(name), name)
    algorithms = document.get("id_token_signing_alg_values_supported")
    if isinstance(algorithms, list):
        kept["id_token_signing_alg_values_supported"] = [a for a in algorithms if isinstance(a, str) and a != "none"]
    keys = _get_json(kept["jwks_uri"], "key set (jwks_uri)")
    if not isinstance(keys.get("keys"), list) or not keys["keys"]:
        raise InvalidInput("The provider's key set (jwks_uri) has no keys: its ID tokens could not be checked.")
    return kept


def normalize_domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if "@" in domain:
        domain = domain.rpartition("@")[2]
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(f"'{value[:80]}' is not a domain name.") from None
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidInput(f"'{value[:80]}' is not a domain name (like example.com).")
    return domain


def safe_next(value: str | None) -> str:
    """A path on this site only: anything else (another host, //host, a scheme, backslashes) is "/"."""
    if not value or len(value) > 500 or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


# ---------------------------------------------------------------------------------------------
# Configuration (an organisation's admins and super admins)


def _config_public(settings: Settings, config: SsoConfig | None) -> SsoConfigPublic:
    if config is None:
        return SsoConfigPublic(configured=False, redirect_uri=redirect_uri(settings))
    return SsoConfigPublic(configured=True, issuer=config.issuer, client_id=config.client_id,
                           client_secret_set=bool(config.client_secret_encrypted), default_role=config.default_role,
                           enabled=config.enabled, redirect_uri=redirect_uri(settings),
                           authorization_endpoint=config.provider_metadata.get("authorization_endpoint"),
                           updated_at=config.updated_at)


def get_config(*, engine: Engine, settings: Settings, actor: User, org_id: str) -> SsoConfigPublic:
    _admin(actor, org_id)
    with read_session(engine) as session:
        _existing_org(session, org_id)
        return _config_public(settings, session.get(SsoConfig, org_id))


def put_config(*, engine: Engine, settings: Settings, actor: User, org_id: str, issuer: str, client_id: str,
               client_secret: str | None, default_role: str, enabled: bool) -> SsoConfigPublic:
    """Save the configuration, after reading the provider's discovery document (so a typo is caught now,
    not at a learner's first sign-in). The secret is kept encrypted; left out, the stored one stays."""
    _admin(actor, org_id)
    with read_session(engine) as session:
        _existing_org(session, org_id)
        had_secret = session.get(SsoConfig, org_id) is not None
    if client_secret is None and not had_secret:
        raise InvalidInput("A client secret is needed the first time single sign-on is configured.")
    metadata = discover(settings, issuer)  # outside any transaction: it is network I/O
    now = utcnow()
    with write_session(engine) as session:
        _existing_org(session, org_id)
        config = session.get(SsoConfig, org_id, with_for_update=True)
        if config is None:
            if client_secret is None:
                raise InvalidInput("A client secret is needed the first time single sign-on is configured.")
            config = SsoConfig(organization_id=org_id, created_at=now)
            session.add(config)
        config.issuer = str(metadata["issuer"])
        config.client_id = client_id.strip()
        if client_secret is not None:
            config.client_secret_encrypted = _fernet(settings).encrypt(client_secret.encode()).decode()
        config.default_role = default_role
        config.enabled = enabled
        config.provider_metadata = metadata
        config.updated_at = now
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="sso.configure",
                     target_type="organization", target_id=org_id,
                     details={"issuer": config.issuer, "client_id": config.client_id, "default_role": default_role,
                              "enabled": enabled, "client_secret_changed": client_secret is not None})
        session.flush()
        return _config_public(settings, config)


def delete_config(*, engine: Engine, actor: User, org_id: str) -> None:
    """Turn single sign-on off for good (the links of accounts to the provider go too; accounts stay)."""
    _admin(actor, org_id)
    with write_session(engine) as session:
        _existing_org(session, org_id)
        config = session.get(SsoConfig, org_id, with_for_update=True)
        if config is None:
            raise NotFound("This organisation has no single sign-on configured.")
        for link in session.scalars(select(SsoLink).where(SsoLink.organization_id == org_id)):
            session.delete(link)
        session.delete(config)
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="sso.delete",
                     target_type="organization", target_id=org_id, details={"issuer": config.issuer})


# ---------------------------------------------------------------------------------------------
# Domains


def _domain_public(row: SsoDomain) -> DomainPublic:
    return DomainPublic(domain=row.domain, verified=row.verified_at is not None, verified_at=row.verified_at,
                        txt_name=row.domain, txt_value=row.txt_value, created_at=row.created_at)


def list_domains(*, engine: Engine, actor: User, org_id: str) -> list[DomainPublic]:
    _admin(actor, org_id)
    with read_session(engine) as session:
        _existing_org(session, org_id)
        rows = session.scalars(select(SsoDomain).where(SsoDomain.organization_id == org_id)
                               .order_by(SsoDomain.domain)).all()
        return [_domain_public(r) for r in rows]


def add_domain(*, engine: Engine, actor: User, org_id: str, domain: str) -> DomainPublic:
    """Claim a domain: the answer holds the TXT value to publish. It counts only once a super admin has
    seen the record and marked it verified."""
    _admin(actor, org_id)
    domain = normalize_domain(domain)
    with write_session(engine) as session:
        _existing_org(session, org_id)
        if session.scalar(select(SsoDomain.id).where(SsoDomain.verified_domain == domain,
                                                     SsoDomain.organization_id != org_id)):
            raise Conflict(f"{domain} is verified for another organisation.")
        if session.scalar(select(SsoDomain.id).where(SsoDomain.domain == domain, SsoDomain.organization_id == org_id)):
            raise Conflict(f"{domain} is already on this organisation's list.")
        row = SsoDomain(id=str(uuid.uuid4()), organization_id=org_id, domain=domain,
                        txt_value=TXT_PREFIX + secrets.token_urlsafe(24), created_at=utcnow())
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"{domain} is already on this organisation's list.") from None
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="sso.domain.add",
                     target_type="domain", target_id=row.id, details={"domain": domain})
        return _domain_public(row)


def remove_domain(*, engine: Engine, actor: User, org_id: str, domain: str) -> None:
    """Members who joined through it stay members; new addresses there no longer join."""
    _admin(actor, org_id)
    domain = normalize_domain(domain)
    with write_session(engine) as session:
        _existing_org(session, org_id)
        row = session.scalar(select(SsoDomain).where(SsoDomain.organization_id == org_id,
                                                     SsoDomain.domain == domain).with_for_update())
        if row is None:
            raise NotFound(f"{domain} is not on this organisation's list.")
        session.delete(row)
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="sso.domain.remove",
                     target_type="domain", target_id=row.id, details={"domain": domain})


def verify_domain(*, engine: Engine, actor: User, org_id: str, domain: str) -> DomainPublic:
    """A super admin, having looked up the TXT record themselves, marks the domain verified."""
    if not has_role(actor.role, Role.SUPER_ADMIN):
        raise Forbidden("Only a super admin verifies domains.")
    domain = normalize_domain(domain)
    with write_session(engine) as session:
        _existing_org(session, org_id)
        row = session.scalar(select(SsoDomain).where(SsoDomain.organization_id == org_id,
                                                     SsoDomain.domain == domain).with_for_update())
        if row is None:
            raise NotFound(f"{domain} is not on this organisation's list.")
        if row.verified_at is not None:
            return _domain_public(row)
        if session.scalar(select(SsoDomain.id).where(SsoDomain.verified_domain == domain)):
            raise Conflict(f"{domain} is verified for another organisation already.")
        row.verified_domain, row.verified_at, row.verified_by = domain, utcnow(), actor.id
        try:
            session.flush()
        except IntegrityError:  # two organisations verified at the same moment: the unique index decides
            raise Conflict(f"{domain} is verified for another organisation already.") from None
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="sso.domain.verify",
                     target_type="domain", target_id=row.id, details={"domain": domain})
        return _domain_public(row)


def _org_of_domain(session: Session, domain: str) -> str | None:
    return session.scalar(select(SsoDomain.organization_id).where(SsoDomain.verified_domain == domain))


def _domain_of(email: str) -> str | None:
    try:
        return normalize_domain(email.rpartition("@")[2]) if "@" in email else None
    except InvalidInput:
        return None


# ---------------------------------------------------------------------------------------------
# Sign-in


@dataclass(frozen=True)
class Started:
    url: str  # the provider's authorization endpoint, with the request's parameters
    browser_token: str  # for the cookie that binds the sign-in to this browser


@dataclass(frozen=True)
class Finished:
    signed_in: auth.SignedIn
    next_path: str
    organization: str


def start(*, engine: Engine, settings: Settings, org: str | None, email: str | None,
          next_path: str | None) -> Started:
    """Begin a sign-in for the organisation named (id or name slug) or found by the address's domain."""
    login_hint = None
    with read_session(engine) as session:
        if email:
            domain = _domain_of(email.strip().lower())
            org_id = _org_of_domain(session, domain) if domain else None
            if org_id is None:
                raise NotFound("No organisation signs in with single sign-on for that address. Sign in with your "
                               "email and password, or ask for a sign-in link.")
            login_hint = email.strip()
        elif org:
            found = orgs.find_org(session, org)
            if found is None:
                raise NotFound("No organisation by that name or id.")
            org_id = found[0]
        else:
            raise InvalidInput("Say which organisation (org) or give your work email (email).")
        config = session.get(SsoConfig, org_id)
        if config is None or not config.enabled:
            raise NotFound("This organisation does not sign in with single sign-on here. Sign in with your email "
                           "and password, or ask for a sign-in link.")
        metadata, client_id = dict(config.provider_metadata), config.client_id
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    browser = security.new_token()
    now = utcnow()
    with write_session(engine) as session:
        # Sign-ins never finished are forgotten a day after they expired.
        session.execute(delete(SsoState).where(SsoState.expires_at < now - timedelta(days=1)))
        session.add(SsoState(state_hash=security.token_hash(state), organization_id=org_id,
                             browser_hash=security.token_hash(browser), nonce=nonce, code_verifier=verifier,
                             next_path=safe_next(next_path), created_at=now,
                             expires_at=now + timedelta(minutes=STATE_MINUTES)))
    extra = {"login_hint": login_hint} if login_hint else {}
    with OAuth2Client(client_id=client_id, redirect_uri=redirect_uri(settings), scope=SCOPES,
                      code_challenge_method="S256") as client:
        url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state, nonce=nonce,
                                                 code_verifier=verifier, **extra)
    return Started(url=str(url), browser_token=browser)


class _IdTokens(OpenIDMixin):  # type: ignore[misc]
    """Authlib's ID token check (signature by the JWKS, then iss, aud, exp, iat, nonce, azp, at_hash), fed
    with the metadata saved at configuration and the key set read now."""

    def __init__(self, client_id: str, metadata: dict[str, Any], jwks: dict[str, Any]) -> None:
        self.client_id = client_id
        self.server_metadata = metadata
        self._jwks = jwks

    def load_server_metadata(self) -> dict[str, Any]:
        return self.server_metadata

    def fetch_jwk_set(self, force: bool = False) -> dict[str, Any]:
        return self._jwks


@dataclass(frozen=True)
class _Flow:
    organization_id: str
    nonce: str
    verifier: str
    next_path: str
    issuer: str
    client_id: str
    client_secret: str
    default_role: str
    metadata: dict[str, Any]


def _spend_state(engine: Engine, settings: Settings, state: str | None, browser_token: str | None) -> _Flow:
    """The sign-in this callback answers: once only, in time, in the browser that started it."""
    refused = InvalidInput("This sign-in is not valid (expired, already used, or started in another browser). "
                           "Start again from the sign-in page.")
    if not state or len(state) > 200 or not browser_token:
        raise refused
    now = utcnow()
    with write_session(engine) as session:
        row = session.get(SsoState, security.token_hash(state), with_for_update=True)
        if (row is None or row.used_at is not None or row.expires_at <= now
                or not security.same(row.browser_hash, security.token_hash(browser_token))):
            raise refused
        row.used_at = now
        config = session.get(SsoConfig, row.organization_id)
        if config is None or not config.enabled:
            raise NotFound("This organisation does not sign in with single sign-on any more.")
        return _Flow(organization_id=row.organization_id, nonce=row.nonce, verifier=row.code_verifier,
                     next_path=row.next_path, issuer=config.issuer, client_id=config.client_id,
                     client_secret=_client_secret(settings, config), default_role=config.default_role,
                     metadata=dict(config.provider_metadata))


def _claims(settings: Settings, flow: _Flow, code: str) -> dict[str, Any]:
    """Exchange the code (with the PKCE verifier) and return the ID token's checked claims."""
    try:
        with OAuth2Client(client_id=flow.client_id, client_secret=flow.client_secret,
                          redirect_uri=redirect_uri(settings), code_challenge_method="S256",
                          timeout=HTTP_TIMEOUT_SECONDS) as client:
            token = client.fetch_token(flow.metadata["token_endpoint"], grant_type="authorization_code", code=code,
                                       code_verifier=flow.verifier)
    except Exception as exc:  # noqa: BLE001 - refused code, unreachable provider, bad answer: all one refusal
        # The provider's own error code only (never the request, which holds the secret).
        reason = getattr(exc, "error", None) or type(exc).__name__
        raise Forbidden(f"Your organisation's sign-in service did not accept the sign-in ({str(reason)[:80]}). "
                        "Start again from the sign-in page.") from None
    if not isinstance(token, dict) or "id_token" not in token:
        raise Forbidden("Your organisation's sign-in service sent no ID token.")
    jwks = _get_json(flow.metadata["jwks_uri"], "key set (jwks_uri)")
    options = {"iss": {"essential": True, "values": [flow.issuer]},
               "aud": {"essential": True, "values": [flow.client_id]},
               "sub": {"essential": True}, "exp": {"essential": True}}
    try:
        claims = _IdTokens(flow.client_id, flow.metadata, jwks).parse_id_token(token, flow.nonce,
                                                                                claims_options=options)
    except Exception as exc:  # noqa: BLE001 - joserfc's errors: bad signature, wrong issuer/audience/nonce, expired
        raise Forbidden(f"The sign-in could not be verified ({type(exc).__name__}: {str(exc)[:120]}).") from None
    if claims is None:
        raise Forbidden("Your organisation's sign-in service sent no ID token.")
    return dict(claims)


def _verified_email(claims: dict[str, Any]) -> str | None:
    email, verified = claims.get("email"), claims.get("email_verified")
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        return None
    try:
        _EMAIL.validate_python(email.strip())  # the same rules as sign-up: an account must be able to show it
    except ValidationError:
        return None
    # Some providers send the string "true" (an old Cognito habit); anything else is unverified.
    return email.strip().lower() if verified is True or verified == "true" else None


def finish(*, engine: Engine, settings: Settings, state: str | None, code: str | None, error: str | None,
           browser_token: str | None, user_agent: str = "", device_cookie: str | None = None) -> Finished:
    """The provider's answer: a session, or a DomainError saying why not (and nothing changed)."""
    if error:
        # The provider said no (the person pressed Deny, or is not allowed to use this application). Some
        # providers leave the state out of error answers: the refusal is shown either way, and nothing starts.
        with contextlib.suppress(DomainError):
            _spend_state(engine, settings, state, browser_token)
        raise Forbidden(f"Your organisation's sign-in service refused the sign-in ({error[:80]}).")
    flow = _spend_state(engine, settings, state, browser_token)
    if not code or len(code) > 2000:
        raise InvalidInput("The sign-in service sent no code. Start again from the sign-in page.")
    claims = _claims(settings, flow, code)
    subject = str(claims["sub"])[:255]
    now = utcnow()
    with write_session(engine) as session:
        name = _existing_org(session, flow.organization_id)
        # Links are per organisation: two organisations may share a provider (and its subjects), and one's link
        # must never let the other's sign-in skip its own domain check.
        link = session.get(SsoLink, (flow.organization_id, flow.issuer, subject))
        user = session.get(User, link.user_id, with_for_update=True) if link is not None else None
        if user is None:
            email = _verified_email(claims)
            if email is None:
                raise Forbidden(f"{name}'s sign-in service did not vouch for your email address (no verified "
                                "email), so no account could be found or made.")
            if _org_of_domain(session, _domain_of(email) or "") != flow.organization_id:
                raise Forbidden(f"{email.rpartition('@')[2]} is not a verified domain of {name}: its sign-in service "
                                "cannot sign in accounts there. Sign in with your email and password instead.")
            user = session.scalar(select(User).where(User.email == email).with_for_update())
            if user is None:
                display = claims.get("name") if isinstance(claims.get("name"), str) else ""
                user = auth.create_user_without_password(session=session, email=email, display_name=str(display),
                                                         verified_at=now)
            elif user.email_verified_at is None:
                user.email_verified_at = now  # the provider, holding a verified domain, vouched for it
            if link is not None:
                session.delete(link)  # its account is gone (deleted): link the one found now
                session.flush()
            session.add(SsoLink(issuer=flow.issuer, subject=subject, user_id=user.id,
                                organization_id=flow.organization_id, created_at=now))
        if user.organization_id != flow.organization_id:
            if user.organization_id is not None:
                raise Conflict("This account belongs to another organisation. Sign in with your email and password.")
            orgs.join_asserted_by_idp(session, org_id=flow.organization_id, user=user, role=flow.default_role)
        signed_in = auth.signed_in_by_provider(session=session, settings=settings, user=user, user_agent=user_agent,
                                               device_cookie=device_cookie)
        return Finished(signed_in=signed_in, next_path=flow.next_path, organization=name)


# ---------------------------------------------------------------------------------------------
# Auto-join: an address confirmed (auth's sign-in or reset link) in a verified domain joins its organisation.


def _join_verified_domain(session: Session, user: User) -> None:
    if user.organization_id is not None:
        return
    org_id = _org_of_domain(session, _domain_of(user.email) or "")
    if org_id is None:
        return
    try:
        # A savepoint: a refusal (no free seat) must not undo the sign-in around it.
        with session.begin_nested():
            orgs.join_asserted_by_idp(session, org_id=org_id, user=user, role=Role.LEARNER.value)
    except DomainError:
        # No seat: the account works as before, outside the organisation; an admin sees it in no member list
        # and can free a seat, after which the next confirmed sign-in joins it.
        return


auth.register_email_verified_hook(_join_verified_domain)
