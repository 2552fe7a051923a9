"""Single sign-on per organisation against a real OpenID provider (oidc-provider-mock, on 127.0.0.1 in a thread),
on SQLite and PostgreSQL: the redirect dance driven over HTTP, JIT accounts, links, verified domains, seats,
forged and replayed states, provider refusals, configuration checks, who may configure, and secrets."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
import werkzeug.serving
from oidc_provider_mock import app as provider_app
from sqlalchemy import func, select, update

from sidecar.audit.tables import AuditEvent
from sidecar.auth.roles import Role
from sidecar.auth.tables import User
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.mail.tables import OutboxEmail
from sidecar.sso.tables import SsoConfig, SsoState
from tests.test_org_admin import _join
from tests.test_security_orgs import PASSWORD, _account, _me, _org

SECRET = "s3cret-client-secret-never-shown"
DOMAIN = "acme.example.com"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A real OpenID provider on a free port of 127.0.0.1 (nonce required, as ours always sends one)."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, provider_app(require_nonce=True), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@contextmanager
def _impostor(provider: str) -> Iterator[str]:
    """A server on 127.0.0.1 whose discovery document is the real provider's, naming the real issuer."""
    document = httpx.get(provider + "/.well-known/openid-configuration").content

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def _person(provider: str, sub: str, email: str, *, verified: bool = True, name: str = "Ada Lovelace") -> None:
    """What the provider says about `sub` when it signs them in."""
    answer = httpx.put(f"{provider}/users/{sub}", json={"email": email, "email_verified": verified, "name": name})
    assert answer.status_code == 204, answer.text


def _configure(admin: Any, org_id: str, provider: str, **changes: Any) -> Any:
    body = {"issuer": provider, "client_id": "drona", "client_secret": SECRET, **changes}
    return admin.put(f"/api/orgs/{org_id}/sso", json=body)


@pytest.fixture
def acme(make_client: Any, db_url: str, provider: str) -> dict[str, Any]:
    """An organisation with SSO configured at the provider and acme.example.com verified; its admin; a super admin."""
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root, "Acme Labs")
    admin = _account(make_client, db_url, "boss@example.com")
    assert _join(root, admin, db_url, org_id, "boss@example.com", "enterprise_admin").status_code == 200
    saved = _configure(admin, org_id, provider)
    assert saved.status_code == 200, saved.text
    added = admin.post(f"/api/orgs/{org_id}/domains", json={"domain": DOMAIN})
    assert added.status_code == 201, added.text
    verified = root.post(f"/api/admin/orgs/{org_id}/domains/{DOMAIN}/verify")
    assert verified.status_code == 200 and verified.json()["verified"] is True, verified.text
    return {"root": root, "admin": admin, "org": org_id, "db": db_url}


def _to_provider(client: Any, provider: str, **params: str) -> str:
    started = client.get("/api/sso/start", params=params, follow_redirects=False)
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert location.startswith(provider + "/oauth2/authorize?")
    query = parse_qs(urlsplit(location).query)
    # The request carries state, nonce and PKCE (S256); no secret travels through the browser.
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["response_type"] == ["code"]
    assert SECRET not in location
    return str(location)


def _at_provider(authorize: str, form: dict[str, str]) -> str:
    """The person submits the provider's form; returns our callback path and query it redirects to."""
    answer = httpx.post(authorize, data=form)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.path == "/api/sso/callback"
    return f"{back.path}?{back.query}"


def _sign_in(client: Any, provider: str, sub: str, **params: str) -> Any:
    callback = _at_provider(_to_provider(client, provider, **params), {"sub": sub})
    return client.get(callback, follow_redirects=False)


def _users(db_url: str, email: str) -> int:
    with read_session(get_engine(db_url)) as session:
        return session.scalar(select(func.count()).select_from(User).where(User.email == email)) or 0


def _joins(db_url: str, org_id: str) -> list[dict[str, Any]]:
    with read_session(get_engine(db_url)) as session:
        return [dict(d or {}) for d in session.scalars(select(AuditEvent.details).where(
            AuditEvent.organization_id == org_id, AuditEvent.action == "member.join"))]


# ---------------------------------------------------------------------------------------------
# Sign-in


def test_jit_account_joins_the_organisation_and_is_signed_in(acme: dict[str, Any], make_client: Any,
                                                              provider: str) -> None:
    _person(provider, "ada-1", "Ada@acme.example.com")
    learner = make_client(acme["db"])
    done = _sign_in(learner, provider, "ada-1", email="ada@acme.example.com", next="/account/")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/account/"
    me = _me(learner)
    assert me["email"] == "ada@acme.example.com" and me["organization_id"] == acme["org"] and me["role"] == "learner"
    assert me["display_name"] == "Ada Lovelace"
    assert learner.get("/api/me/organization").json()["name"] == "Acme Labs"
    # A session like any other: the CSRF token bound to it works for a change.
    assert learner.patch("/api/me/settings", json={"timezone": "Europe/Berlin"}).status_code == 200
    # No password was made: password sign-in fails for it.
    assert make_client(acme["db"]).post("/api/auth/login", json={"email": "ada@acme.example.com",
                                                                "password": "!no-password"}).status_code == 401
    joins = [d for d in _joins(acme["db"], acme["org"]) if d.get("by") == "identity_provider"]
    assert joins == [{"role": "learner", "by": "identity_provider"}]
    members = {m["email"] for m in acme["admin"].get(f"/api/orgs/{acme['org']}/members").json()}
    assert "ada@acme.example.com" in members

    # Later, the provider says a new address: (issuer, sub) finds the same account, and nobody joins twice.
    _person(provider, "ada-1", "ada.lovelace@acme.example.com")
    again = make_client(acme["db"])
    assert _sign_in(again, provider, "ada-1", org="acme-labs").status_code == 303
    assert _me(again)["id"] == me["id"]
    assert len([d for d in _joins(acme["db"], acme["org"]) if d.get("by") == "identity_provider"]) == 1


def test_an_existing_account_in_a_verified_domain_is_linked(acme: dict[str, Any], make_client: Any,
                                                             provider: str) -> None:
    existing = _account(make_client, acme["db"], "bo@acme.example.com")
    before = _me(existing)
    assert before["organization_id"] is None
    _person(provider, "bo-sub", "bo@acme.example.com", name="Bo")
    browser = make_client(acme["db"])
    done = _sign_in(browser, provider, "bo-sub", org=acme["org"])
    assert done.status_code == 303 and done.headers["location"] == "/"
    me = _me(browser)
    assert me["id"] == before["id"] and me["organization_id"] == acme["org"]
    assert _users(acme["db"], "bo@acme.example.com") == 1
    # Their password still works: linking took nothing away.
    assert make_client(acme["db"]).post("/api/auth/login", json={"email": "bo@acme.example.com",
                                                                "password": PASSWORD}).status_code == 200


def test_an_unverified_domain_or_address_is_refused(acme: dict[str, Any], make_client: Any,
                                                    provider: str) -> None:
    admin, org_id, db = acme["admin"], acme["org"], acme["db"]
    # Claimed but never verified by a super admin: it does not count.
    assert admin.post(f"/api/orgs/{org_id}/domains", json={"domain": "claimed.example.org"}).status_code == 201
    victim = _account(make_client, db, "victim@claimed.example.org")
    _person(provider, "evil", "victim@claimed.example.org")
    browser = make_client(db)
    refused = _sign_in(browser, provider, "evil", org=org_id)
    assert refused.status_code == 403, refused.text
    assert "not a verified domain of Acme Labs" in refused.json()["error"]["message"]
    assert browser.get("/api/me").status_code == 401
    assert _me(victim)["organization_id"] is None, "the provider took nothing over"
    # A domain nobody claimed: the same, and no account is made.
    _person(provider, "stranger", "someone@elsewhere.example.org")
    assert _sign_in(make_client(db), provider, "stranger", org=org_id).status_code == 403
    assert _users(db, "someone@elsewhere.example.org") == 0
    # The right domain but an address the provider has not verified.
    _person(provider, "unverified", "cy@acme.example.com", verified=False)
    browser = make_client(db)
    refused = _sign_in(browser, provider, "unverified", org=org_id)
    assert refused.status_code == 403 and "verified email" in refused.json()["error"]["message"]
    assert _users(db, "cy@acme.example.com") == 0 and browser.get("/api/me").status_code == 401
    # A browser gets the sign-in page with the message instead of JSON.
    _person(provider, "stranger2", "x@elsewhere.example.org")
    page = make_client(db)
    callback = _at_provider(_to_provider(page, provider, org=org_id), {"sub": "stranger2"})
    answer = page.get(callback, headers={"Accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/account/signin/?sso_error=")
    assert "not a verified domain" in unquote(answer.headers["location"])
    assert "drona_session" not in answer.cookies


def test_no_free_seat_refuses_and_leaves_nothing(acme: dict[str, Any], make_client: Any, provider: str) -> None:
    root, org_id, db = acme["root"], acme["org"], acme["db"]
    assert root.patch(f"/api/orgs/{org_id}", json={"seat_limit": 1}).status_code == 200  # the admin holds it
    _person(provider, "dee", "dee@acme.example.com")
    browser = make_client(db)
    refused = _sign_in(browser, provider, "dee", email="dee@acme.example.com")
    assert refused.status_code == 409 and "no free seat" in refused.json()["error"]["message"]
    assert _users(db, "dee@acme.example.com") == 0, "no account half-made"
    assert browser.get("/api/me").status_code == 401
    assert not [d for d in _joins(db, org_id) if d.get("by") == "identity_provider"]
    # A seat frees: the same person gets in.
    assert root.patch(f"/api/orgs/{org_id}", json={"seat_limit": 2}).status_code == 200
    assert _sign_in(browser, provider, "dee", email="dee@acme.example.com").status_code == 303
    assert _me(browser)["organization_id"] == org_id


def test_forged_replayed_and_foreign_states_and_provider_refusals(acme: dict[str, Any], make_client: Any,
                                                                  provider: str) -> None:
    db, org_id = acme["db"], acme["org"]
    _person(provider, "eve", "eve@acme.example.com")
    browser = make_client(db)
    # A state we never issued.
    forged = browser.get("/api/sso/callback", params={"state": "forged", "code": "whatever"}, follow_redirects=False)
    assert forged.status_code == 422 and browser.get("/api/me").status_code == 401
    # A real callback URL opened in another browser (a planted link): refused, the state is bound to its browser.
    callback = _at_provider(_to_provider(browser, provider, org=org_id), {"sub": "eve"})
    other = make_client(db)
    assert other.get(callback, follow_redirects=False).status_code == 422
    assert other.get("/api/me").status_code == 401
    # The starting browser succeeds once; a replay of the same answer does not.
    assert browser.get(callback, follow_redirects=False).status_code == 303
    assert _me(browser)["email"] == "eve@acme.example.com"
    replay = make_client(db)
    replay.cookies.update({"drona_sso": browser.cookies.get("drona_sso") or "x"})
    assert replay.get(callback, follow_redirects=False).status_code == 422
    assert browser.get(callback, follow_redirects=False).status_code == 422
    # The person presses Deny at the provider: a clear refusal, no session.
    denier = make_client(db)
    denied = denier.get(_at_provider(_to_provider(denier, provider, org=org_id), {"action": "deny"}),
                        follow_redirects=False)
    assert denied.status_code == 403 and "access_denied" in denied.json()["error"]["message"]
    assert denier.get("/api/me").status_code == 401
    # A wrong nonce (an ID token from another sign-in): the provider's token fails our check.
    swapped = make_client(db)
    authorize = _to_provider(swapped, provider, org=org_id)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    from sidecar.auth.security import token_hash

    with write_session(get_engine(db)) as session:
        session.execute(update(SsoState).where(SsoState.state_hash == token_hash(state)).values(nonce="another"))
    refused = swapped.get(_at_provider(authorize, {"sub": "eve"}), follow_redirects=False)
    assert refused.status_code == 403 and "nonce" in refused.json()["error"]["message"]
    assert swapped.get("/api/me").status_code == 401


def test_next_is_a_path_on_this_site_only(acme: dict[str, Any], make_client: Any, provider: str) -> None:
    for index, target in enumerate(("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x")):
        _person(provider, f"nx-{index}", f"nx{index}@acme.example.com")
        browser = make_client(acme["db"])
        done = _sign_in(browser, provider, f"nx-{index}", email=f"nx{index}@acme.example.com", next=target)
        assert done.status_code == 303 and done.headers["location"] == "/", target


def test_start_refuses_what_it_cannot_sign_in(acme: dict[str, Any], make_client: Any) -> None:
    anyone = make_client(acme["db"])
    assert anyone.get("/api/sso/start", params={"email": "a@elsewhere.example.org"},
                      follow_redirects=False).status_code == 404
    assert anyone.get("/api/sso/start", params={"org": "no-such-org"}, follow_redirects=False).status_code == 404
    assert anyone.get("/api/sso/start", follow_redirects=False).status_code == 422
    page = anyone.get("/api/sso/start", params={"email": "a@elsewhere.example.org"}, headers={"Accept": "text/html"},
                      follow_redirects=False)
    assert page.status_code == 303 and "sso_error=" in page.headers["location"]
    # Switched off: no sign-in starts.
    admin = acme["admin"]
    body = {"issuer": admin.get(f"/api/orgs/{acme['org']}/sso").json()["issuer"], "client_id": "drona",
            "enabled": False}
    assert admin.put(f"/api/orgs/{acme['org']}/sso", json=body).status_code == 200
    assert anyone.get("/api/sso/start", params={"email": "a@acme.example.com"},
                      follow_redirects=False).status_code == 404


def test_a_verified_address_joins_its_domains_organisation(acme: dict[str, Any], make_client: Any) -> None:
    """Auth's sign-in link confirms the address: in a verified domain, the account joins, seat permitting."""
    db, org_id, root = acme["db"], acme["org"], acme["root"]

    def confirm(email: str) -> Any:
        client = make_client(db)
        client.signup(email)
        assert _me(client)["organization_id"] is None, "sign-up alone proves nothing"
        assert client.post("/api/auth/signin-link", json={"email": email}).status_code == 202
        with read_session(get_engine(db)) as session:
            body = session.scalars(select(OutboxEmail.body).where(OutboxEmail.to_address == email)
                                   .order_by(OutboxEmail.id.desc())).first()
        token = re.search(r"#link=([\w-]+)", body or "").group(1)  # type: ignore[union-attr]
        assert client.post("/api/auth/signin-link/confirm", json={"token": token}).status_code == 200
        return client

    joined = confirm("fay@acme.example.com")
    assert _me(joined)["organization_id"] == org_id
    assert _joins(db, org_id)[-1] == {"role": "learner", "by": "identity_provider"}
    assert _me(confirm("gus@elsewhere.example.org"))["organization_id"] is None
    # No free seat: the account still works, outside the organisation.
    members = len(acme["admin"].get(f"/api/orgs/{org_id}/members").json())
    assert root.patch(f"/api/orgs/{org_id}", json={"seat_limit": members}).status_code == 200
    full = confirm("hal@acme.example.com")
    assert _me(full)["organization_id"] is None
    assert full.get("/api/me").status_code == 200


# ---------------------------------------------------------------------------------------------
# Configuration


def test_configuration_is_checked_against_the_provider(acme: dict[str, Any], provider: str) -> None:
    admin, org_id = acme["admin"], acme["org"]
    shown = admin.get(f"/api/orgs/{org_id}/sso").json()
    assert shown["configured"] and shown["issuer"] == provider and shown["client_secret_set"] is True
    assert shown["redirect_uri"] == "http://127.0.0.1:8000/api/sso/callback"
    assert shown["authorization_endpoint"] == provider + "/oauth2/authorize"
    # Unreachable: nothing listens there.
    closed = _configure(admin, org_id, "http://127.0.0.1:9")
    assert closed.status_code == 422 and "Could not reach" in closed.json()["error"]["message"]
    # A discovery document that names another issuer (a provider copying someone else's document).
    with _impostor(provider) as impostor:
        other = _configure(admin, org_id, impostor)
    assert other.status_code == 422 and "another issuer" in other.json()["error"]["message"]
    # Not a provider at all (no discovery document there).
    missing = _configure(admin, org_id, provider + "/nothing-here")
    assert missing.status_code == 422
    # Plain http to a host elsewhere is refused before any request is made.
    insecure = _configure(admin, org_id, "http://idp.example.com")
    assert insecure.status_code == 422 and "https://" in insecure.json()["error"]["message"]
    # The first configuration needs a secret; later ones may keep the stored one.
    # (The failed attempts changed nothing.)
    assert admin.get(f"/api/orgs/{org_id}/sso").json() == shown
    kept = admin.put(f"/api/orgs/{org_id}/sso", json={"issuer": provider, "client_id": "drona-2",
                                                      "default_role": "team_manager"})
    assert kept.status_code == 200 and kept.json()["client_secret_set"] is True
    assert kept.json()["client_id"] == "drona-2" and kept.json()["default_role"] == "team_manager"
    bad_role = admin.put(f"/api/orgs/{org_id}/sso", json={"issuer": provider, "client_id": "x",
                                                          "default_role": "super_admin"})
    assert bad_role.status_code == 422
    assert admin.delete(f"/api/orgs/{org_id}/sso").status_code == 204
    assert admin.get(f"/api/orgs/{org_id}/sso").json()["configured"] is False
    first = admin.put(f"/api/orgs/{org_id}/sso", json={"issuer": provider, "client_id": "x"})
    assert first.status_code == 422 and "client secret" in first.json()["error"]["message"]


def test_domains_are_verified_by_a_super_admin_for_one_organisation(acme: dict[str, Any]) -> None:
    root, admin, org_id = acme["root"], acme["admin"], acme["org"]
    added = admin.post(f"/api/orgs/{org_id}/domains", json={"domain": "Docs.Acme.Example.COM."})
    assert added.status_code == 201
    body = added.json()
    assert body["domain"] == "docs.acme.example.com" and body["verified"] is False
    assert body["txt_value"].startswith("drona-domain-verification=") and len(body["txt_value"]) > 40
    assert admin.post(f"/api/orgs/{org_id}/domains", json={"domain": "docs.acme.example.com"}).status_code == 409
    assert admin.post(f"/api/orgs/{org_id}/domains", json={"domain": "not a domain"}).status_code == 422
    # The enterprise admin cannot verify their own claim.
    assert admin.post(f"/api/admin/orgs/{org_id}/domains/docs.acme.example.com/verify").status_code == 403
    listed = {d["domain"]: d for d in admin.get(f"/api/orgs/{org_id}/domains").json()}
    assert listed["acme.example.com"]["verified"] and not listed["docs.acme.example.com"]["verified"]
    # Another organisation may claim acme.example.com, but it cannot be verified for two.
    other = _org(root, "Rival")
    assert root.post(f"/api/orgs/{other}/domains", json={"domain": DOMAIN}).status_code == 409
    assert root.post(f"/api/orgs/{other}/domains", json={"domain": "docs.acme.example.com"}).status_code == 201
    assert root.post(f"/api/admin/orgs/{org_id}/domains/docs.acme.example.com/verify").status_code == 200
    assert root.post(f"/api/admin/orgs/{other}/domains/docs.acme.example.com/verify").status_code == 409
    assert admin.delete(f"/api/orgs/{org_id}/domains/docs.acme.example.com").status_code == 204
    assert admin.delete(f"/api/orgs/{org_id}/domains/docs.acme.example.com").status_code == 404
    actions = {e["action"] for e in admin.get(f"/api/orgs/{org_id}/audit").json()}
    assert {"sso.configure", "sso.domain.add", "sso.domain.verify", "sso.domain.remove"} <= actions


def test_other_organisations_and_members_can_neither_read_nor_change(acme: dict[str, Any], make_client: Any,
                                                                     provider: str) -> None:
    root, org_id, db = acme["root"], acme["org"], acme["db"]
    other = _org(root, "Rival")
    rival = _account(make_client, db, "rival@example.com")
    assert _join(root, rival, db, other, "rival@example.com", "enterprise_admin").status_code == 200
    learner = _account(make_client, db, "lea@example.com")
    assert _join(acme["admin"], learner, db, org_id, "lea@example.com").status_code == 200
    body = {"issuer": provider, "client_id": "stolen", "client_secret": "stolen"}
    for who in (rival, learner):
        assert who.get(f"/api/orgs/{org_id}/sso").status_code in (403, 404)
        assert who.put(f"/api/orgs/{org_id}/sso", json=body).status_code in (403, 404)
        assert who.delete(f"/api/orgs/{org_id}/sso").status_code in (403, 404)
        assert who.get(f"/api/orgs/{org_id}/domains").status_code in (403, 404)
        assert who.post(f"/api/orgs/{org_id}/domains", json={"domain": "evil.example.org"}).status_code in (403, 404)
        assert who.delete(f"/api/orgs/{org_id}/domains/{DOMAIN}").status_code in (403, 404)
        assert who.post(f"/api/admin/orgs/{org_id}/domains/{DOMAIN}/verify").status_code == 403
    assert make_client(db).get(f"/api/orgs/{org_id}/sso").status_code == 401
    shown = acme["admin"].get(f"/api/orgs/{org_id}/sso").json()
    assert shown["client_id"] == "drona"
    assert [d["domain"] for d in acme["admin"].get(f"/api/orgs/{org_id}/domains").json()] == [DOMAIN]


def test_the_client_secret_is_never_returned_or_stored_in_clear(acme: dict[str, Any], make_client: Any,
                                                                 provider: str) -> None:
    admin, root, org_id, db = acme["admin"], acme["root"], acme["org"], acme["db"]
    answers = [_configure(admin, org_id, provider), admin.get(f"/api/orgs/{org_id}/sso"),
               root.get(f"/api/orgs/{org_id}/sso"), admin.get(f"/api/orgs/{org_id}/audit")]
    for answer in answers:
        assert SECRET not in answer.text and "client_secret_encrypted" not in answer.text
    assert answers[0].json()["client_secret_set"] is True
    with read_session(get_engine(db)) as session:
        stored = session.scalar(select(SsoConfig.client_secret_encrypted).where(SsoConfig.organization_id == org_id))
    assert stored and SECRET not in stored
    # The sign-in through the browser never carries it either.
    browser = make_client(db)
    assert SECRET not in _to_provider(browser, provider, org=org_id)


def test_an_id_token_not_signed_by_the_providers_keys_is_refused(acme: dict[str, Any], make_client: Any,
                                                                 provider: str, monkeypatch: Any) -> None:
    """The key set read at the callback holds another key under the provider's key id (a forged or swapped
    key): the real provider's token then fails the signature check, and nobody is signed in."""
    from joserfc.jwk import RSAKey

    from sidecar.sso import service

    real = httpx.get(provider + "/jwks").json()["keys"][0]
    impostor = RSAKey.generate_key(2048, parameters={"kid": real.get("kid"), "alg": "RS256", "use": "sig"})
    fetched: list[str] = []
    original = service._get_json

    def keys_of_someone_else(url: str, what: str) -> dict[str, Any]:
        if url.endswith("/jwks"):
            fetched.append(url)
            return {"keys": [impostor.as_dict(private=False)]}
        return original(url, what)

    monkeypatch.setattr(service, "_get_json", keys_of_someone_else)
    _person(provider, "fay", "fay@acme.example.com")
    browser = make_client(acme["db"])
    refused = _sign_in(browser, provider, "fay", org=acme["org"])
    assert fetched, "the key set was read at the callback"
    assert refused.status_code == 403 and "could not be verified" in refused.json()["error"]["message"]
    assert browser.get("/api/me").status_code == 401
    assert _users(acme["db"], "fay@acme.example.com") == 0
