"""The security review's authentication findings (issue #10, part 5), on SQLite and PostgreSQL.

Strangers cannot lock an account (per-account back-off, device cookies, emailed sign-in links), the
client address comes through trusted proxies only, every password change spends old reset tokens
and links, the CSRF token is bound to the session with an Origin check, sign-up does not say that an
address has an account, display names are never blank, and migration 0004 goes both ways.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from starlette.requests import Request

from sidecar.app import create_app
from sidecar.auth import service
from sidecar.auth.deps import client_ip
from sidecar.auth.security import csrf_for_session
from sidecar.auth.tables import LoginAttempt, PasswordResetToken, SignInLink, User
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.db.migrate import alembic_config, current_revision, upgrade
from sidecar.errors import InvalidInput
from sidecar.mail.tables import OutboxEmail
from sidecar.settings import Settings

PASSWORD = "correct horse battery"


def _emails(db_url: str, to: str) -> list[str]:
    with read_session(get_engine(db_url)) as session:
        return list(session.scalars(select(OutboxEmail.body).where(OutboxEmail.to_address == to)
                                    .order_by(OutboxEmail.id)))


def _token(body: str, name: str) -> str:
    found = re.search(rf"[#&?]{name}=([\w-]+)", body)
    assert found, body
    return found.group(1)


def _login(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def _age_attempts(db_url: str, email: str, seconds: float) -> None:
    """Move the address's recorded attempts into the past: time passes without sleeping."""
    with write_session(get_engine(db_url)) as session:
        for attempt in session.scalars(select(LoginAttempt).where(LoginAttempt.email == email)):
            attempt.at = attempt.at - timedelta(seconds=seconds)


def _failures(db_url: str, email: str) -> int:
    with read_session(get_engine(db_url)) as session:
        return len(session.scalars(select(LoginAttempt).where(LoginAttempt.email == email,
                                                              LoginAttempt.succeeded.is_(False))).all())


# ---------------------------------------------------------------------------------------------
# Finding 2: lockout by strangers; the client address behind proxies.


def test_strangers_cannot_lock_out_the_owners_browser(make_client, db_url: str) -> None:
    owner, stranger, new_browser = (make_client(db_url, LOGIN_MAX_FAILURES=3) for _ in range(3))
    owner.signup("owner@example.com")
    assert owner.cookies.get("drona_device"), "a browser the owner signed in with gets a device cookie"
    owner.post("/api/auth/logout")
    answers = [_login(stranger, "owner@example.com", "guess guess").status_code for _ in range(6)]
    assert answers[:3] == [401, 401, 401] and answers[3:] == [429, 429, 429], answers
    # A browser the owner has never used waits like everyone else: the emailed link is its way in.
    refused = _login(new_browser, "owner@example.com")
    assert refused.status_code == 429 and "sign in with a link" in refused.json()["error"]["message"]
    assert _login(owner, "owner@example.com").status_code == 200, "the owner's own browser is not locked out"


def test_backoff_doubles_refused_attempts_do_not_count_and_the_wait_is_capped(make_client, db_url: str) -> None:
    client = make_client(db_url, LOGIN_MAX_FAILURES=2, LOGIN_BACKOFF_MAX_SECONDS=6)
    client.signup("slow@example.com")
    client.cookies.delete("drona_device", path="/api/auth")  # act as a stranger's browser
    client.post("/api/auth/logout")
    assert [_login(client, "slow@example.com", "nope nope").status_code for _ in range(2)] == [401, 401]
    first = _login(client, "slow@example.com")
    assert first.status_code == 429 and 1 <= int(first.headers["retry-after"]) <= 2
    assert first.json()["error"]["details"]["retry_after_seconds"] == int(first.headers["retry-after"])
    for _ in range(5):
        assert _login(client, "slow@example.com", "nope nope").status_code == 429
    assert _failures(db_url, "slow@example.com") == 2, "refused attempts are not guesses and do not count"
    _age_attempts(db_url, "slow@example.com", 3)
    assert _login(client, "slow@example.com", "nope nope").status_code == 401, "allowed again after the wait"
    second = _login(client, "slow@example.com")
    assert second.status_code == 429 and 3 <= int(second.headers["retry-after"]) <= 4, "the wait doubled"
    for _ in range(4):
        _age_attempts(db_url, "slow@example.com", 10)
        assert _login(client, "slow@example.com", "nope nope").status_code == 401
    capped = _login(client, "slow@example.com")
    assert capped.status_code == 429 and int(capped.headers["retry-after"]) <= 6, "never more than the cap"
    _age_attempts(db_url, "slow@example.com", 7)
    assert _login(client, "slow@example.com").status_code == 200, "the right password works once the wait is over"


def test_the_emailed_signin_link_always_works(make_client, db_url: str) -> None:
    owner, stranger, phone = (make_client(db_url, LOGIN_MAX_FAILURES=2) for _ in range(3))
    owner.signup("linked@example.com")
    for _ in range(4):
        _login(stranger, "linked@example.com", "guess guess")
    assert _login(phone, "linked@example.com").status_code == 429
    asked = phone.post("/api/auth/signin-link", json={"email": "linked@example.com"})
    unknown = phone.post("/api/auth/signin-link", json={"email": "nobody@example.com"})
    assert asked.status_code == unknown.status_code == 202 and asked.json() == unknown.json(), \
        "the answer does not say whether the address has an account"
    assert _emails(db_url, "nobody@example.com") == []
    (mail,) = _emails(db_url, "linked@example.com")
    assert "/account/signin/#link=" in mail, "the token travels in the fragment, out of access logs"
    token = _token(mail, "link")
    with read_session(get_engine(db_url)) as session:
        (link,) = session.scalars(select(SignInLink)).all()
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest(), "only its hash is stored"
        assert link.expires_at - link.created_at == timedelta(minutes=15)
    signed_in = phone.post("/api/auth/signin-link/confirm", json={"token": token})
    assert signed_in.status_code == 200 and signed_in.json()["email"] == "linked@example.com"
    assert token not in signed_in.text
    assert phone.get("/api/me").json()["email"] == "linked@example.com"
    again = make_client(db_url).post("/api/auth/signin-link/confirm", json={"token": token})
    assert again.status_code == 422 and again.json()["error"]["code"] == "invalid_input", "single use"
    # The phone is now a known browser of the owner's: strangers' failures do not keep it out.
    phone.post("/api/auth/logout")
    assert _login(phone, "linked@example.com").status_code == 200


def test_signin_links_expire_and_are_rate_limited(make_client, db_url: str) -> None:
    client = make_client(db_url, LOGIN_MAX_FAILURES=1)  # the per-address cap is 4 requests
    client.signup("limits@example.com")
    client.post("/api/auth/logout")
    for _ in range(4):
        assert client.post("/api/auth/signin-link", json={"email": "limits@example.com"}).status_code == 202
    assert len(_emails(db_url, "limits@example.com")) == 3, "at most three emails per address per window"
    limited = client.post("/api/auth/signin-link", json={"email": "someone@example.com"})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 0
    token = _token(_emails(db_url, "limits@example.com")[0], "link")
    with write_session(get_engine(db_url)) as session:
        for link in session.scalars(select(SignInLink)):
            link.expires_at = link.created_at - timedelta(seconds=1)
    assert client.post("/api/auth/signin-link/confirm", json={"token": token}).status_code == 422


def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 1234)})


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    none = Settings(TRUSTED_PROXIES=[])
    proxies = Settings(TRUSTED_PROXIES="10.0.0.1, 192.168.0.0/16")
    assert client_ip(_request("203.0.113.9", "198.51.100.7"), none) == "203.0.113.9", "default: the socket peer"
    assert client_ip(_request("10.0.0.1", "198.51.100.7"), none) == "10.0.0.1"
    assert client_ip(_request("10.0.0.1", "198.51.100.7"), proxies) == "198.51.100.7"
    # A client cannot prepend its own choice: the first untrusted hop from the right is the client.
    assert client_ip(_request("10.0.0.1", "1.2.3.4, 198.51.100.7, 192.168.3.3"), proxies) == "198.51.100.7"
    assert client_ip(_request("203.0.113.9", "198.51.100.7"), proxies) == "203.0.113.9", "not from our proxy"
    assert client_ip(_request("10.0.0.1", "garbage, 198.51.100.7"), proxies) == "198.51.100.7"
    assert client_ip(_request("10.0.0.1", None), proxies) == "10.0.0.1"
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(TRUSTED_PROXIES="10.0.0.1, not-an-address")


@pytest.fixture
def peer_clients(minimal_build) -> Iterator[Any]:
    """TestClients whose socket peer is a given address (a reverse proxy), sending the CSRF token."""
    opened: list[TestClient] = []

    def factory(db_url: str, peer: str, **settings: Any) -> TestClient:
        config = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=db_url,
                          DRONA_DATA_DIR=minimal_build.site_dir.parent / "data", **settings)
        client = TestClient(create_app(config), client=(peer, 50000))
        client.__enter__()
        client.headers["X-CSRF-Token"] = client.get("/api/auth/csrf").json()["csrf_token"]
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(peer_clients, db_url: str) -> None:
    proxy = peer_clients(db_url, "10.0.0.1", LOGIN_MAX_FAILURES=1, TRUSTED_PROXIES=["10.0.0.1"])
    attacker = {"X-Forwarded-For": "198.51.100.66"}
    for n in range(4):  # the per-address cap: 4 failures, at four different accounts
        failed = proxy.post("/api/auth/login", headers=attacker, json={"email": f"v{n}@example.com",
                                                                      "password": "guess guess"})
        assert failed.status_code == 401
    blocked = proxy.post("/api/auth/login", headers=attacker, json={"email": "v9@example.com", "password": "x"})
    assert blocked.status_code == 429
    other = proxy.post("/api/auth/login", headers={"X-Forwarded-For": "203.0.113.5"},
                       json={"email": "v9@example.com", "password": "guess guess"})
    assert other.status_code == 401, "another client behind the same proxy is not blocked"
    with read_session(get_engine(db_url)) as session:
        assert set(session.scalars(select(LoginAttempt.ip))) == {"198.51.100.66", "203.0.113.5"}
    # Without TRUSTED_PROXIES, a client cannot pick its bucket by sending X-Forwarded-For.
    direct = peer_clients(db_url, "192.0.2.10", LOGIN_MAX_FAILURES=1)
    for n in range(4):
        direct.post("/api/auth/login", headers={"X-Forwarded-For": f"198.51.100.{n}"},
                    json={"email": f"w{n}@example.com", "password": "guess guess"})
    assert direct.post("/api/auth/login", headers={"X-Forwarded-For": "198.51.100.200"},
                       json={"email": "w9@example.com", "password": "guess guess"}).status_code == 429


# ---------------------------------------------------------------------------------------------
# Finding 3: a password change spends every reset token and sign-in link.


def test_password_change_spends_reset_tokens_and_signin_links(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("spent@example.com")
    client.post("/api/auth/password-reset", json={"email": "spent@example.com"})
    client.post("/api/auth/signin-link", json={"email": "spent@example.com"})
    reset_mail, link_mail = _emails(db_url, "spent@example.com")
    assert client.post("/api/auth/password", json={"current_password": PASSWORD,
                                                   "new_password": "a new password"}).status_code == 204
    old_reset = client.post("/api/auth/password-reset/confirm",
                            json={"token": _token(reset_mail, "token"), "new_password": "attacker pass"})
    assert old_reset.status_code == 422
    old_link = make_client(db_url).post("/api/auth/signin-link/confirm", json={"token": _token(link_mail, "link")})
    assert old_link.status_code == 422
    assert _login(make_client(db_url), "spent@example.com", "a new password").status_code == 200


def test_a_reset_spends_the_other_reset_tokens(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("twice@example.com")
    for _ in range(2):
        client.post("/api/auth/password-reset", json={"email": "twice@example.com"})
    first, second = (_token(body, "token") for body in _emails(db_url, "twice@example.com"))
    assert "/account/reset/#token=" in _emails(db_url, "twice@example.com")[0]
    assert client.post("/api/auth/password-reset/confirm",
                       json={"token": second, "new_password": "brand new one"}).status_code == 204
    stale = client.post("/api/auth/password-reset/confirm", json={"token": first, "new_password": "other one!"})
    assert stale.status_code == 422
    assert _login(client, "twice@example.com", "brand new one").status_code == 200


def test_an_admin_password_change_spends_tokens_links_and_sessions(make_client, db_url: str) -> None:
    client = make_client(db_url)
    user = client.signup("managed@example.com")
    client.post("/api/auth/password-reset", json={"email": "managed@example.com"})
    client.post("/api/auth/signin-link", json={"email": "managed@example.com"})
    engine = get_engine(db_url)
    with pytest.raises(InvalidInput):
        service.admin_set_password(engine=engine, user_id=user["id"], new_password="short")
    service.admin_set_password(engine=engine, user_id=user["id"], new_password="set by the admin")
    assert client.get("/api/me").status_code == 401, "every session ends"
    with read_session(engine) as session:
        assert all(t.used_at for t in session.scalars(select(PasswordResetToken)))
        assert all(link.used_at for link in session.scalars(select(SignInLink)))
    reset_mail, link_mail = _emails(db_url, "managed@example.com")
    assert client.post("/api/auth/password-reset/confirm", json={"token": _token(reset_mail, "token"),
                                                                 "new_password": "not this one"}).status_code == 422
    assert client.post("/api/auth/signin-link/confirm", json={"token": _token(link_mail, "link")}).status_code == 422


# ---------------------------------------------------------------------------------------------
# Finding 4: CSRF bound to the session; Origin and Sec-Fetch-Site.


def test_csrf_token_is_bound_to_the_session_and_rotates(make_client, db_url: str) -> None:
    client = make_client(db_url, SECRET_KEY="k" * 40)
    signed_out = client.cookies.get("drona_csrf")
    client.signup("bound@example.com")
    session_token = client.cookies.get("drona_session")
    bound = client.cookies.get("drona_csrf")
    assert bound != signed_out and bound == csrf_for_session("k" * 40, session_token), "rotated at sign-up"
    assert client.get("/api/auth/csrf").json()["csrf_token"] == bound
    assert client.patch("/api/me/settings", json={"timezone": "UTC"}).status_code == 200
    # A token and cookie planted together (cookie tossing from a sibling domain) no longer pass.
    planted = client.patch("/api/me/settings", json={"timezone": "UTC"},
                           headers={"X-CSRF-Token": "planted-token-value",
                                    "Cookie": f"drona_session={session_token}; drona_csrf=planted-token-value"})
    assert planted.status_code == 403 and "CSRF" in planted.json()["error"]["message"]
    other = make_client(db_url, SECRET_KEY="k" * 40)
    other.signup("other@example.com")
    stolen = client.patch("/api/me/settings", json={"timezone": "UTC"},
                          headers={"X-CSRF-Token": other.cookies.get("drona_csrf")})
    assert stolen.status_code == 403, "another session's token does not fit this one"
    assert client.post("/api/auth/logout").status_code == 204
    after = client.cookies.get("drona_csrf")
    assert after and after != bound, "rotated at sign-out"
    assert _login(client, "bound@example.com").status_code == 200, "the signed-out double submit still works"
    assert client.cookies.get("drona_csrf") not in (bound, after), "a new session, a new token"


def test_cross_site_requests_are_refused(make_client, db_url: str) -> None:
    client = make_client(db_url, APP_URL="https://learn.example.org")
    client.base_url = client.base_url.copy_with(scheme="https")  # Secure cookies only travel over https
    client.get("/api/auth/csrf")
    client.signup("origin@example.com")

    def patch(**headers: str) -> Any:
        return client.patch("/api/me/settings", json={"timezone": "UTC"}, headers=headers)

    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Origin": "https://learn.example.org.evil.example"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        refused = patch(**headers)
        assert refused.status_code == 403, headers
        assert set(refused.json()) == {"error"} and refused.json()["error"]["code"] == "forbidden"
    for headers in ({"Origin": "https://learn.example.org"}, {"Origin": "http://testserver"},
                    {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):
        assert patch(**headers).status_code == 200, headers
    assert client.get("/api/me", headers={"Origin": "https://evil.example"}).status_code == 200, "reads are safe"
    signin = make_client(db_url).post("/api/auth/login", headers={"Origin": "https://evil.example"},
                                      json={"email": "origin@example.com", "password": PASSWORD})
    assert signin.status_code == 403, "no signing in from another site (login CSRF)"


# ---------------------------------------------------------------------------------------------
# Finding 5: sign-up does not say that an address has an account.


def test_signup_of_a_taken_address(make_client, db_url: str) -> None:
    make_client(db_url).signup("taken@example.com", name="Owner")
    fresh = make_client(db_url).post("/api/auth/signup", json={"email": "new@example.com", "password": PASSWORD,
                                                               "display_name": "New"})
    same = make_client(db_url)
    answer = same.post("/api/auth/signup", json={"email": "taken@example.com", "password": PASSWORD,
                                                  "display_name": "Whoever"})
    assert answer.status_code == fresh.status_code == 201, "the owner's own password: answered as a sign-up"
    assert set(answer.json()) == set(fresh.json()) and answer.json()["display_name"] == "Owner"
    assert same.get("/api/me").json()["email"] == "taken@example.com"
    assert _emails(db_url, "taken@example.com") == []
    stranger = make_client(db_url)
    for _ in range(2):
        refused = stranger.post("/api/auth/signup", json={"email": "TAKEN@example.com", "password": "another one",
                                                          "display_name": "Mallory"})
        assert refused.status_code == 409 and refused.json()["error"]["message"] == service.TAKEN_MESSAGE
        assert "exist" not in refused.text
    assert stranger.get("/api/me").status_code == 401
    (notice,) = _emails(db_url, "taken@example.com")  # one notice per window, not one per try
    assert "tried to create" in notice and "/account/reset/" in notice
    with read_session(get_engine(db_url)) as session:
        assert session.scalar(select(User.display_name).where(User.email == "taken@example.com")) == "Owner"


def test_signing_up_a_taken_address_is_a_throttled_guess(make_client, db_url: str) -> None:
    make_client(db_url).signup("guessed@example.com")
    guesser = make_client(db_url, LOGIN_MAX_FAILURES=2)
    body = {"email": "guessed@example.com", "password": "guess guess", "display_name": "G"}
    assert [guesser.post("/api/auth/signup", json=body).status_code for _ in range(3)] == [409, 409, 429]
    assert _login(guesser, "guessed@example.com").status_code == 429, "sign-up and sign-in share the back-off"


# ---------------------------------------------------------------------------------------------
# Finding 6: display names.


@pytest.mark.parametrize("name", ["   ", "\t \n", "\u200b", "Ada\nLovelace"])
def test_blank_display_names_are_refused(make_client, sqlite_url: str, name: str) -> None:
    client = make_client(sqlite_url)
    response = client.post("/api/auth/signup", json={"email": "blank@example.com", "password": PASSWORD,
                                                     "display_name": name})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["loc"][-1] == "display_name"
    client.signup("named@example.com", name="Named")
    update_ = client.patch("/api/me/settings", json={"display_name": name})
    assert update_.status_code == 422 and update_.json()["error"]["details"][0]["loc"][-1] == "display_name"
    assert client.get("/api/me").json()["display_name"] == "Named"
    with pytest.raises(InvalidInput, match="display_name"):
        service.check_new_account(email="cli@example.com", password=PASSWORD, display_name=name)


def test_display_names_are_trimmed(make_client, db_url: str) -> None:
    client = make_client(db_url)
    assert client.signup("trim@example.com", name="  Ada  ")["display_name"] == "Ada"
    assert client.patch("/api/me/settings", json={"display_name": "  Grace Hopper "}).json()["display_name"] == \
        "Grace Hopper"
    assert client.patch("/api/me/settings", json={"display_name": "x" * 81}).status_code == 422


# ---------------------------------------------------------------------------------------------
# Migration 0004 and secrets.


def test_migration_0004_upgrades_and_downgrades(db_url: str) -> None:
    engine = get_engine(db_url)
    config = alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert current_revision(db_url) == "0003"
    tables = set(inspect(engine).get_table_names())
    assert not {"signin_links", "org_invitations"} & tables
    assert "email_verified_at" not in {c["name"] for c in inspect(engine).get_columns("users")}
    assert not {"kind", "device"} & {c["name"] for c in inspect(engine).get_columns("login_attempts")}
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO users (id, email, password_hash, display_name, role, is_active, "
                                "created_at, password_changed_at) VALUES ('u1', 'old@example.com', 'x', '   ', "
                                "'learner', :yes, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"yes": True})
        connection.execute(text("INSERT INTO login_attempts (email, ip, at, succeeded) VALUES "
                                "('old@example.com', '192.0.2.1', CURRENT_TIMESTAMP, :no)"), {"no": False})
    upgrade(db_url)
    assert current_revision(db_url) is not None and current_revision(db_url) != "0003"
    assert {"signin_links", "org_invitations"} <= set(inspect(engine).get_table_names())
    with read_session(engine) as session:
        assert session.scalar(select(User.display_name).where(User.id == "u1")) == "Learner", "blank names fixed"
        assert session.scalar(select(LoginAttempt.kind)) == "password", "old attempts were password attempts"


def test_tokens_never_reach_logs_or_responses(make_client, db_url: str, caplog) -> None:
    caplog.set_level("DEBUG")
    client = make_client(db_url, DRONA_ENV="local")
    client.signup("quiet@example.com")
    responses = [client.post("/api/auth/password-reset", json={"email": "quiet@example.com"}),
                 client.post("/api/auth/signin-link", json={"email": "quiet@example.com"})]
    reset_mail, link_mail = _emails(db_url, "quiet@example.com")
    secrets = [_token(reset_mail, "token"), _token(link_mail, "link")]
    responses.append(client.post("/api/auth/signin-link/confirm", json={"token": secrets[1]}))
    responses.append(client.get("/api/me"))
    assert "outbox" in caplog.text, "the log says where the email is"
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in r.text and secret not in str(r.headers) for r in responses)
