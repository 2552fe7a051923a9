"""Password hashing (Argon2id) and opaque tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id with RFC 9106's low-memory profile
# A real hash to verify against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _mac(secret: str, purpose: str, value: str) -> str:
    # One key, separate purposes: a value made for one use can never be replayed as another.
    return hmac.new(secret.encode(), f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


def csrf_for_session(secret: str, session_token: str) -> str:
    """The CSRF token of one signed-in session: only someone holding the session cookie (HttpOnly)
    and the server's key can compute it, so a token planted or read elsewhere does not fit."""
    return _mac(secret, "csrf", token_hash(session_token))


def device_cookie(secret: str, user_id: str) -> str:
    """A device cookie for a browser the owner signed in with: 'nonce.mac' bound to the account."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_mac(secret, 'device', f'{user_id}|{nonce}')}"


def device_id(secret: str, cookie: str | None, user_id: str) -> str | None:
    """The stored form (SHA-256) of a device cookie that is valid for this account, else None."""
    if not cookie or "." not in cookie or len(cookie) > 200:
        return None
    nonce, mac = cookie.rsplit(".", 1)
    if not same(mac, _mac(secret, "device", f"{user_id}|{nonce}")):
        return None
    return token_hash(cookie)
