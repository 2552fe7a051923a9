"""Signed tree heads: the issuer's Ed25519 signature over (size, root hash, time) of the log.

The signed bytes are a fixed prefix and the canonical JSON of the four fields, so a head signed
here can be checked by anyone holding the issuer's published keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import keys
from .canonical import canonical_json

_PREFIX = b"dronacharya-tree-head-v1\n"
_FIELDS = ("tree_size", "root_hash", "timestamp", "key_id")


def _message(head: dict[str, Any]) -> bytes:
    return _PREFIX + canonical_json({field: head[field] for field in _FIELDS})


def sign_tree_head(*, tree_size: int, root_hash: bytes, timestamp: datetime, private_key: Ed25519PrivateKey,
                   key_id: str) -> dict[str, Any]:
    head: dict[str, Any] = {"tree_size": tree_size, "root_hash": root_hash.hex(),
                            "timestamp": timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "key_id": key_id}
    head["signature"] = keys.multibase_encode(private_key.sign(_message(head)))
    return head


def verify_tree_head(head: dict[str, Any], resolve_key: Callable[[str], Ed25519PublicKey | None]) -> str | None:
    """None when the head is signed by one of the issuer's keys; otherwise why not."""
    try:
        if not isinstance(head.get("tree_size"), int) or not isinstance(head.get("signature"), str):
            return "the tree head is malformed"
        key = resolve_key(str(head.get("key_id")))
        if key is None:
            return f"the tree head's key {head.get('key_id')} is not one of the issuer's keys"
        key.verify(keys.multibase_decode(head["signature"]), _message(head))
    except KeyError:
        return "the tree head is malformed"
    except (InvalidSignature, ValueError):
        return "the tree head's signature does not verify"
    return None
