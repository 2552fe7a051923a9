"""The issuer: its identity (a URL under APP_URL), its Ed25519 signing keys and their rotation.

Keys live in the learner database (`issuer_keys`), so every sidecar process signs with the same
key, encrypted at rest with ISSUER_KEY_PASSPHRASE (or a key derived from SECRET_KEY). Exactly one
key signs at a time (`retired_at IS NULL`); rotation retires it and adds the next. Retired keys stay
published at `/api/issuer/keys`, so a credential signed years ago still verifies. Their
verification method ids are `<issuer id>#key-<n>`.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sidecar.credentials import keys
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx
from sidecar.db.upsert import insert_ignore
from sidecar.settings import Settings

from .tables import IssuerKey

ISSUER_PATH = "/api/issuer"
_KEYS = IssuerKey.__table__.c
_decrypted: dict[tuple[str, str], Ed25519PrivateKey] = {}  # (key id, public key) -> key: decrypting is slow
_lock = threading.Lock()


@dataclass(frozen=True)
class SigningKey:
    key_id: str  # "key-1"
    method_id: str  # "<issuer id>#key-1"
    private_key: Ed25519PrivateKey


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    method_id: str
    public_multibase: str
    created_at: str
    retired_at: str | None


def base_url(settings: Settings) -> str:
    return settings.APP_URL.rstrip("/")


def issuer_id(settings: Settings) -> str:
    return base_url(settings) + ISSUER_PATH


def method_id(settings: Settings, key_id: str) -> str:
    return f"{issuer_id(settings)}#{key_id}"


def _passphrase(settings: Settings) -> bytes:
    if settings.ISSUER_KEY_PASSPHRASE:
        return settings.ISSUER_KEY_PASSPHRASE.encode()
    # A key of its own, derived from SECRET_KEY, so the session secret is not itself the passphrase.
    return hashlib.sha256(b"dronacharya issuer key\x00" + settings.SECRET_KEY.encode()).hexdigest().encode()


def _private(settings: Settings, key_id: str, public: str, pem: bytes) -> Ed25519PrivateKey:
    with _lock:
        found = _decrypted.get((key_id, public))
    if found is None:
        found = keys.private_from_pem(bytes(pem), passphrase=_passphrase(settings))
        with _lock:
            _decrypted[(key_id, public)] = found
    return found


def _insert_key(tx: Tx, settings: Settings, key_id: str) -> None:
    private = keys.generate_private_key()
    insert_ignore(tx, IssuerKey, {"id": key_id, "public_multibase": keys.public_multibase(private.public_key()),
                                  "private_pem": keys.private_to_pem(private, passphrase=_passphrase(settings)),
                                  "created_at": utcnow(), "retired_at": None}, ["id"])


def signing_key(tx: Tx, *, settings: Settings) -> SigningKey:
    """The key that signs now, created on first use (inside the caller's write transaction)."""
    row = tx.row("SELECT id, public_multibase, private_pem FROM issuer_keys WHERE retired_at IS NULL "
                 "ORDER BY created_at DESC LIMIT 1", {})
    if row is None:
        # Concurrent first issuances (several processes) insert the same id: one wins, all read it.
        _insert_key(tx, settings, "key-1")
        row = tx.row("SELECT id, public_multibase, private_pem FROM issuer_keys WHERE retired_at IS NULL "
                     "ORDER BY created_at DESC LIMIT 1", {})
    key_id, public, pem = str(row[0]), str(row[1]), row[2]
    return SigningKey(key_id=key_id, method_id=method_id(settings, key_id),
                      private_key=_private(settings, key_id, public, pem))


def rotate(tx: Tx, *, settings: Settings) -> str:
    """Retire the signing key and create the next one; returns the new key's id."""
    count = int(tx.row("SELECT count(*) FROM issuer_keys", {})[0])
    tx.execute("UPDATE issuer_keys SET retired_at = :now WHERE retired_at IS NULL",
               {"now": tx.to_db(_KEYS.retired_at, utcnow())})
    new_id = f"key-{count + 1}"
    _insert_key(tx, settings, new_id)
    return new_id


def published_keys(tx: Tx, *, settings: Settings) -> list[PublishedKey]:
    """Every key ever used, oldest first, with the public half only."""
    rows = tx.rows("SELECT id, public_multibase, created_at, retired_at FROM issuer_keys ORDER BY created_at", {})
    found: list[PublishedKey] = []
    for row in rows:
        created = tx.from_db(_KEYS.created_at, row[2])
        retired = tx.from_db(_KEYS.retired_at, row[3])
        found.append(PublishedKey(key_id=str(row[0]), method_id=method_id(settings, str(row[0])),
                                  public_multibase=str(row[1]), created_at=created.isoformat(),
                                  retired_at=retired.isoformat() if retired else None))
    return found


def verification_methods(published: list[PublishedKey], *, settings: Settings) -> list[dict[str, Any]]:
    """The Multikey documents of the published keys (what verifiers resolve a proof's method to)."""
    return [keys.multikey_document(key_id=key.method_id, controller=issuer_id(settings),
                                   public_key=keys.public_from_multibase(key.public_multibase))
            for key in published]


def resolver(published: list[PublishedKey]) -> Any:
    """A `resolve_key(method id) -> public key | None` over the published keys."""
    by_id: dict[str, Ed25519PublicKey] = {key.method_id: keys.public_from_multibase(key.public_multibase)
                                          for key in published}
    return by_id.get
