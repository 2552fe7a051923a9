"""Accounts and sessions on SQLite and PostgreSQL: sign-up, sign-in, throttling, passwords, CSRF."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from sidecar.auth.security import verify_password
from sidecar.auth.tables import User
from sidecar.db.engine import get_engine, read_session
from sidecar.mail.tables import OutboxEmail


def test_signup_me_logout_login(make_client, db_url: str) -> None:
    client = make_client(db_url)
    user = client.signup("Ada@Example.com", name="Ada")
    assert user["email"] == "ada@example.com" and user["role"] == "learner" and user["onboarded"] is False
    cookie = client.cookies.get("drona_session")
    assert cookie and len(cookie) >= 40
    assert client.get("/api/me").json()["id"] == user["id"]
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/me").status_code == 401
    bad = client.post("/api/auth/login", json={"email": "ada@example.com", "password": "wrong password"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    good = client.post("/api/auth/login", json={"email": "ADA@example.com", "password": "correct horse battery"})
    assert good.status_code == 200 and client.get("/api/me").json()["email"] == "ada@example.com"


def test_session_cookie_flags(make_client, db_url: str) -> None:
    client = make_client(db_url)
    response = client.post("/api/auth/signup", json={"email": "c@example.com", "password": "long enough pw",
                                                     "display_name": "C"})
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("drona_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" not in session
    csrf = next(c for c in cookies if c.startswith("drona_csrf="))
    assert "HttpOnly" not in csrf


def test_secure_cookie_outside_localhost(make_client, db_url: str) -> None:
    client = make_client(db_url, APP_URL="https://learn.example.org")
    client.base_url = client.base_url.copy_with(scheme="https")  # Secure cookies only travel over https
    client.get("/api/auth/csrf")
    response = client.post("/api/auth/signup", json={"email": "s@example.com", "password": "long enough pw",
                                                     "display_name": "S"})
    assert any("Secure" in c for c in response.headers.get_list("set-cookie") if c.startswith("drona_session="))


def test_duplicate_email_and_bad_input(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("dup@example.com")
    again = client.post("/api/auth/signup", json={"email": "DUP@example.com", "password": "another password",
                                                  "display_name": "X"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    short = client.post("/api/auth/signup", json={"email": "x@example.com", "password": "short", "display_name": "X"})
    assert short.status_code == 422 and short.json()["error"]["details"][0]["loc"][-1] == "password"
    assert client.post("/api/auth/signup", json={"email": "not-an-email", "password": "long enough",
                                                 "display_name": "X"}).status_code == 422


def test_passwords_are_argon2id(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("hash@example.com", password="my secret phrase")
    with read_session(get_engine(db_url)) as session:
        user = session.scalar(select(User).where(User.email == "hash@example.com"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert "my secret phrase" not in user.password_hash
        assert verify_password(user.password_hash, "my secret phrase")


def test_login_is_throttled(make_client, db_url: str) -> None:
    client = make_client(db_url, LOGIN_MAX_FAILURES=3)
    client.signup("t@example.com")
    client.post("/api/auth/logout")
    for _ in range(3):
        failed = client.post("/api/auth/login", json={"email": "t@example.com", "password": "nope nope"})
        assert failed.status_code == 401
    blocked = client.post("/api/auth/login", json={"email": "t@example.com", "password": "correct horse battery"})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited" and int(blocked.headers["retry-after"]) > 0


def test_sign_out_everywhere_and_password_change(make_client, db_url: str) -> None:
    laptop, phone = make_client(db_url), make_client(db_url)
    laptop.signup("multi@example.com")
    login = phone.post("/api/auth/login", json={"email": "multi@example.com", "password": "correct horse battery"})
    assert login.status_code == 200
    wrong = laptop.post("/api/auth/password", json={"current_password": "nope nope", "new_password": "new password 1"})
    assert wrong.status_code == 422
    assert laptop.post("/api/auth/password", json={"current_password": "correct horse battery",
                                                   "new_password": "new password 1"}).status_code == 204
    assert laptop.get("/api/me").status_code == 200, "the browser that changed it stays signed in"
    assert phone.get("/api/me").status_code == 401, "other browsers are signed out"
    phone.post("/api/auth/login", json={"email": "multi@example.com", "password": "new password 1"})
    assert phone.get("/api/me").status_code == 200
    revoked = laptop.post("/api/auth/logout-all").json()["revoked_sessions"]
    assert revoked == 2
    assert phone.get("/api/me").status_code == 401 and laptop.get("/api/me").status_code == 401


def test_password_reset_by_emailed_token(make_client, db_url: str, minimal_build) -> None:
    client = make_client(db_url)
    client.signup("reset@example.com")
    assert client.post("/api/auth/password-reset", json={"email": "reset@example.com"}).status_code == 202
    assert client.post("/api/auth/password-reset", json={"email": "nobody@example.com"}).status_code == 202
    with read_session(get_engine(db_url)) as session:
        mails = session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == "reset@example.com")).all()
        assert len(mails) == 1
        assert session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "nobody@example.com")) is None
    token = re.search(r"token=([\w-]+)", mails[0].body).group(1)  # type: ignore[union-attr]
    outbox = Path(minimal_build.site_dir.parent / "data" / "outbox")
    bodies = [message_from_bytes(p.read_bytes(), policy=default).get_content() for p in outbox.glob("*.eml")]
    assert any(token in body for body in bodies), "the local outbox keeps the email"
    bad = client.post("/api/auth/password-reset/confirm", json={"token": "x" * 20, "new_password": "whatever 123"})
    assert bad.status_code == 422
    assert client.post("/api/auth/password-reset/confirm",
                       json={"token": token, "new_password": "brand new pass"}).status_code == 204
    assert client.get("/api/me").status_code == 401, "a reset signs out every browser"
    reused = client.post("/api/auth/password-reset/confirm", json={"token": token, "new_password": "again again"})
    assert reused.status_code == 422
    assert client.post("/api/auth/login", json={"email": "reset@example.com",
                                                "password": "brand new pass"}).status_code == 200


def test_settings_validation(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("tz@example.com")
    assert client.patch("/api/me/settings", json={"timezone": "Mars/Olympus"}).status_code == 422
    body = client.patch("/api/me/settings", json={"timezone": "Asia/Kolkata", "leaderboard_opt_in": True}).json()
    assert body["timezone"] == "Asia/Kolkata" and body["leaderboard_opt_in"] is True
    assert client.get("/api/me").json()["timezone"] == "Asia/Kolkata"


@pytest.mark.parametrize("path", ["/api/me", "/api/progress", "/api/gamification/profile"])
def test_endpoints_need_a_session(make_client, sqlite_url: str, path: str) -> None:
    response = make_client(sqlite_url).get(path)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_secrets_never_reach_responses_or_logs(make_client, db_url: str, caplog) -> None:
    client = make_client(db_url)
    client.signup("quiet@example.com", password="do not log me")
    client.post("/api/auth/logout")
    client.post("/api/auth/login", json={"email": "quiet@example.com", "password": "do not log me"})
    assert "do not log me" not in caplog.text
    assert "password_hash" not in client.get("/api/me").text


def test_session_endpoint_never_401(make_client, db_url: str) -> None:
    client = make_client(db_url)
    assert client.get("/api/auth/session").json() == {"user": None}
    client.signup("sess@example.com")
    assert client.get("/api/auth/session").json()["user"]["email"] == "sess@example.com"
