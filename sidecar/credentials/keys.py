"""Ed25519 keys: generation, encrypted PEM at rest, and the Multikey / multibase forms verifiers read.

A Multikey public key is multibase base58-btc ("z…") of the multicodec prefix 0xed01 followed by
the 32 raw key bytes (W3C Controlled Identifiers, §2.2.2).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .contexts import MULTIKEY_V1

_ED25519_PUB = b"\xed\x01"
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rest = divmod(number, 58)
        out.append(_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(out))


def base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise ValueError(f"not base58: {char!r}")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * zeros + body


def multibase_encode(data: bytes) -> str:
    return "z" + base58_encode(data)


def multibase_decode(text: str) -> bytes:
    if not text.startswith("z"):
        raise ValueError("only multibase base58-btc ('z…') is supported")
    return base58_decode(text[1:])


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_multibase(public_key: Ed25519PublicKey) -> str:
    return multibase_encode(_ED25519_PUB + public_raw(public_key))


def public_from_multibase(text: str) -> Ed25519PublicKey:
    data = multibase_decode(text)
    if len(data) != 34 or not data.startswith(_ED25519_PUB):
        raise ValueError("not an Ed25519 Multikey public key")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def private_to_pem(private_key: Ed25519PrivateKey, *, passphrase: bytes) -> bytes:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.BestAvailableEncryption(passphrase))


def private_from_pem(pem: bytes, *, passphrase: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the stored issuer key is not an Ed25519 key")
    return key


def multikey_document(*, key_id: str, controller: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The verification method document a proof's `verificationMethod` resolves to."""
    return {"@context": MULTIKEY_V1, "id": key_id, "type": "Multikey", "controller": controller,
            "publicKeyMultibase": public_multibase(public_key)}


def public_from_method(method: dict[str, Any]) -> Ed25519PublicKey:
    """The public key of a Multikey verification method document (ValueError if it is not one)."""
    if method.get("type") != "Multikey" or not isinstance(method.get("publicKeyMultibase"), str):
        raise ValueError("not a Multikey verification method")
    return public_from_multibase(method["publicKeyMultibase"])
