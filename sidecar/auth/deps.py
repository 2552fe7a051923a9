"""Typed dependencies: the database engine, the signed-in user, role checks, CSRF and the client address."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Annotated
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import Depends, Request

from sidecar.db.engine import is_sqlite
from sidecar.deps import EngineDep, SettingsDep
from sidecar.errors import Forbidden, Unauthorized
from sidecar.settings import Settings

from . import security, service
from .roles import Role, has_role
from .tables import User, UserProfile

SESSION_COOKIE = "drona_session"
CSRF_COOKIE = "drona_csrf"
CSRF_HEADER = "X-CSRF-Token"
DEVICE_COOKIE = "drona_device"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}




@dataclass
class Principal:
    user: User
    profile: UserProfile
    token: str


async def _principal(request: Request, engine: EngineDep, settings: SettingsDep) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    lookup = partial(service.user_for_token, engine=engine, settings=settings, token=token)
    # Every signed-in request pays this. On SQLite it is one indexed read of a local file, cheaper
    # than the hop to a worker thread; over a network (PostgreSQL) it goes to a worker thread.
    found = lookup() if is_sqlite(engine) else await anyio.to_thread.run_sync(lookup)
    if found is None:
        return None
    if found.stale:
        await anyio.to_thread.run_sync(partial(service.refresh_session, engine=engine, settings=settings,
                                               token=token))
    return Principal(found.user, found.profile, token)


async def _require_principal(principal: Annotated[Principal | None, Depends(_principal)]) -> Principal:
    # async: no I/O here, and a sync dependency would cost a thread-pool hop on every request.
    if principal is None:
        raise Unauthorized("Sign in to continue.")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(_principal)]
CurrentPrincipal = Annotated[Principal, Depends(_require_principal)]


def require_role(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if not has_role(principal.user.role, role):
            raise Forbidden("Your role does not allow this.")
        return principal

    return check


def csrf_token(request: Request, settings: Settings) -> str | None:
    """The CSRF token this request must carry: bound to the session when the browser holds a session
    cookie, else None (signed out: the double-submit cookie)."""
    session_token = request.cookies.get(SESSION_COOKIE)
    return security.csrf_for_session(settings.SECRET_KEY, session_token) if session_token else None


def _origin(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return parts.scheme.lower(), parts.netloc.lower()


def _same_origin(request: Request, settings: Settings) -> bool:
    """Whether an unsafe request comes from our own pages. Origin first: it must be APP_URL's origin
    or the host the request was sent to; without Origin, Sec-Fetch-Site must say same-origin or none
    (typed or bookmarked). A client that sends neither is not a browser acting for someone on another
    site (browsers send Origin on every cross-origin POST), so the CSRF token alone decides."""
    origin = request.headers.get("origin")
    if origin is not None:
        theirs = _origin(origin)  # "null" (sandboxed frames, some redirects) has no origin: refused
        if theirs is None:
            return False
        host = request.headers.get("host", "").lower()
        # The host, not the scheme: behind a TLS proxy the sidecar sees http while the page is https.
        return theirs == _origin(settings.APP_URL) or (bool(host) and theirs[1] == host)
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.lower() in ("same-origin", "none")
    return True


async def csrf_protect(request: Request, settings: SettingsDep) -> None:
    """Cross-site request forgery, twice over. The request must come from our own origin (Origin or
    Sec-Fetch-Site), and echo its CSRF token in X-CSRF-Token: signed in, the token bound to the
    session (an HMAC of the session cookie with SECRET_KEY, which scripts read from the drona_csrf
    cookie we set at sign-in); signed out (sign-in and sign-up forms), the drona_csrf cookie itself
    (double submit)."""
    if request.method not in UNSAFE_METHODS:
        return
    if not _same_origin(request, settings):
        raise Forbidden("Cross-site request refused: this API only takes changes from its own pages.")
    header = request.headers.get(CSRF_HEADER, "")
    expected = csrf_token(request, settings) or request.cookies.get(CSRF_COOKIE, "")
    if not expected or not header or not security.same(expected, header):
        raise Forbidden("Missing or wrong CSRF token: call GET /api/auth/csrf and send it as X-CSRF-Token.")


@lru_cache(maxsize=32)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


def client_ip(request: Request, settings: Settings) -> str:
    """The client's address for per-address limits. X-Forwarded-For is believed only from a proxy in
    TRUSTED_PROXIES (anyone can send the header): read from the right, the first address that is not
    one of our proxies is the client. Default (no proxies): the socket peer's address."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage in the chain: trust nothing further left of it
        client = hop
        if not _trusted(hop, networks):
            break
    return client
