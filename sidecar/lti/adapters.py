"""pylti1p3 on FastAPI: the request wrapper, cookie and session services, the redirect, and a ToolConf
read from the registrations table. pylti1p3 is synchronous (requests), so every caller runs in a
worker thread (sync endpoints)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import Engine, delete, select

from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session

from .tables import LtiPlatform, LtiState

NONCE_SECONDS = 10 * 60  # a login's nonce and state: the platform answers within seconds
LAUNCH_DATA_SECONDS = 60 * 60  # a deep-linking launch, while the instructor picks lessons
HTTP_TIMEOUT = 10


class TimeoutSession(requests.Session):
    """pylti1p3's HTTP client (requests) has no default timeout: a platform that never answers must not hold
    a worker or the sender forever."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        return super().request(*args, **kwargs)


class LtiRequest(Request):
    def __init__(self, params: Mapping[str, str], cookies: Mapping[str, str], secure: bool) -> None:
        self._params = params
        self._cookies = cookies
        self._secure = secure

    @property
    def session(self) -> None:
        return None  # the server-side state lives in the database (DbSessionService)

    def get_param(self, key: str) -> str:
        return self._params.get(key, "")

    def get_cookie(self, key: str) -> str | None:
        return self._cookies.get(key)

    def is_secure(self) -> bool:
        return self._secure


class DbStorage(LaunchDataStorage[Any]):
    """Key/value with expiry in `lti_state`, shared by every process."""

    def get_session_cookie_name(self) -> str | None:
        # No per-browser prefix: the keys are random per login, and the short-lived state cookie already
        # binds the launch to the browser that started the login (a prefix cookie would be one more
        # third-party cookie for the iframe to lose).
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def get_value(self, key: str) -> Any:
        with read_session(self.engine) as session:
            row = session.get(LtiState, self._prepare_key(key))
            return row.value if row is not None and row.expires_at > utcnow() else None

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        now = utcnow()
        with write_session(self.engine) as session:
            session.execute(delete(LtiState).where(LtiState.expires_at < now))  # indexed: old logins go
            session.merge(LtiState(key=self._prepare_key(key), value=value,
                                   expires_at=now + timedelta(seconds=exp or LAUNCH_DATA_SECONDS)))

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None

    def consume(self, key: str) -> bool:
        """Delete a live key; True for exactly one caller (of concurrent ones)."""
        with write_session(self.engine) as session:
            gone = session.execute(delete(LtiState).where(LtiState.key == self._prepare_key(key),
                                                          LtiState.expires_at > utcnow())
                                   .returning(LtiState.key)).first()
            return gone is not None

    def remove(self, key: str) -> None:
        with write_session(self.engine) as session:
            session.execute(delete(LtiState).where(LtiState.key == self._prepare_key(key)))


class DbSessionService(SessionService):
    def __init__(self, storage: DbStorage) -> None:  # not super(): its default storage is a web session
        self.data_storage = storage
        self.storage = storage
        self._launch_data_lifetime = LAUNCH_DATA_SECONDS

    def save_nonce(self, nonce: str) -> None:
        self.data_storage.set_value(self._get_key("nonce", nonce), True, exp=NONCE_SECONDS)

    def check_nonce(self, nonce: str) -> bool:
        # pylti1p3 only asks whether the nonce exists; used up here, so a replayed id_token is refused.
        return self.storage.consume(self._get_key("nonce", nonce))

    def save_state_params(self, state: str, params: dict[str, object]) -> None:
        self.data_storage.set_value(self._get_key(state), params, exp=NONCE_SECONDS)

    def forget_launch(self, launch_id: str) -> None:
        self.storage.remove(self._get_key(launch_id, add_prefix=False))


class LtiCookies(CookieService):
    """The login's state cookie. The launch is a cross-site POST from the platform (and often inside its
    iframe), so the cookie must be SameSite=None; Secure (browsers treat http://localhost as secure) and
    Partitioned (CHIPS: it survives third-party cookie blocking inside the platform's iframe)."""

    def __init__(self, request: LtiRequest) -> None:
        self._request = request
        self._to_set: dict[str, tuple[str, int | None]] = {}

    def _key(self, name: str) -> str:
        return f"{self._cookie_prefix}-{name}"

    def get_cookie(self, name: str) -> str | None:
        return self._request.get_cookie(self._key(name))

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self._to_set[self._key(name)] = (str(value), exp)

    def apply(self, response: Response) -> None:
        for key, (value, exp) in self._to_set.items():
            response.set_cookie(key, value, max_age=exp, path="/api/lti", secure=True, httponly=True,
                                samesite="none")
            # Starlette writes Partitioned only on Python 3.14+ (http.cookies): added to the header here.
            header, cookie = response.raw_headers[-1]
            response.raw_headers[-1] = (header, cookie + b"; Partitioned")


class LtiRedirect(Redirect[Response]):
    def __init__(self, location: str, cookies: LtiCookies) -> None:
        self._location = location
        self._cookies = cookies

    def do_redirect(self) -> Response:
        response = RedirectResponse(self._location, status_code=302)
        self._cookies.apply(response)
        return response

    def do_js_redirect(self) -> Response:
        return self.do_redirect()  # a plain 302 works for every platform we know; no script needed

    def set_redirect_url(self, location: str) -> None:
        self._location = location

    def get_redirect_url(self) -> str:
        return self._location


class LtiLogin(OIDCLogin[LtiRequest, "DbToolConf", DbSessionService, LtiCookies, Response]):
    def get_redirect(self, url: str) -> Redirect[Response]:
        return LtiRedirect(url, self._cookie_service)

    def get_response(self, html: str) -> Response:
        return HTMLResponse(html)


class LtiLaunch(MessageLaunch[LtiRequest, "DbToolConf", DbSessionService, LtiCookies]):
    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)


@dataclass(frozen=True)
class PlatformRow:
    id: str
    organization_id: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    auth_audience: str | None


def platform_row(platform: LtiPlatform) -> PlatformRow:
    return PlatformRow(id=platform.id, organization_id=platform.organization_id, issuer=platform.issuer,
                       client_id=platform.client_id, deployment_ids=list(platform.deployment_ids),
                       auth_login_url=platform.auth_login_url, auth_token_url=platform.auth_token_url,
                       key_set_url=platform.key_set_url, auth_audience=platform.auth_audience)


def registration(platform: PlatformRow, *, private_pem: str, public_pem: str) -> Registration:
    reg = Registration()
    reg.set_issuer(platform.issuer).set_client_id(platform.client_id).set_auth_login_url(platform.auth_login_url)
    reg.set_auth_token_url(platform.auth_token_url).set_key_set_url(platform.key_set_url)
    reg.set_tool_private_key(private_pem).set_tool_public_key(public_pem)
    if platform.auth_audience:
        reg.set_auth_audience(platform.auth_audience)
    return reg


class DbToolConf(ToolConfAbstract[LtiRequest]):
    """Registrations from `lti_platforms`, by (issuer, client_id): one issuer (a Canvas cloud) may hold
    many organisations' registrations, so every issuer is "many clients"."""

    def __init__(self, engine: Engine, *, private_pem: str, public_pem: str) -> None:
        self.engine = engine
        self._private_pem = private_pem
        self._public_pem = public_pem
        self.found: PlatformRow | None = None  # the registration the last lookup found

    # pylti1p3 keeps these in a class-level dict shared by every ToolConf: answered here instead.
    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def _platform(self, iss: str, client_id: str | None) -> PlatformRow | None:
        query = select(LtiPlatform).where(LtiPlatform.issuer == iss)
        if client_id:
            query = query.where(LtiPlatform.client_id == client_id)
        with read_session(self.engine) as session:
            rows = list(session.scalars(query.limit(2)))
        # Without a client id (an optional login parameter) only an issuer with one registration is clear.
        self.found = platform_row(rows[0]) if len(rows) == 1 else None
        return self.found

    # None for "no such registration": pylti1p3 checks for it (`if not registration`), its stubs say otherwise.
    def find_registration_by_issuer(self, iss: str, *args: Any,  # type: ignore[override]
                                    **kwargs: Any) -> Registration | None:
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(self, iss: str, client_id: str | None, *args: Any,  # type: ignore[override]
                                    **kwargs: Any) -> Registration | None:
        platform = self._platform(iss, client_id)
        if platform is None:
            return None
        return registration(platform, private_pem=self._private_pem, public_pem=self._public_pem)

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None, *args: Any,
                                  **kwargs: Any) -> Deployment | None:
        platform = self._platform(iss, client_id)
        if platform is None or deployment_id not in platform.deployment_ids:
            return None
        return Deployment().set_deployment_id(deployment_id)
