"""Bitstring Status List v1.0: revocation bits, published as a signed credential.

The list is a bitstring of DEFAULT_SIZE bits (16 KiB, the minimum the specification sets for
herd privacy), GZIP-compressed and multibase base64url-encoded ("u…"). Bit 0 is the most
significant bit of the first byte.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .badge import iso
from .contexts import VC_V2

DEFAULT_SIZE = 131_072
PURPOSE = "revocation"


def encode(indexes: Iterable[int], *, size: int = DEFAULT_SIZE) -> str:
    bits = bytearray(size // 8)
    for index in indexes:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside the list (size {size})")
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("the encoded list is not multibase base64url ('u…')")
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def is_set(encoded: str, index: int) -> bool:
    bits = decode(encoded)
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_entry(*, list_url: str, index: int) -> dict[str, Any]:
    """The `credentialStatus` of a credential at `index` of the list."""
    return {"id": f"{list_url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": PURPOSE,
            "statusListIndex": str(index), "statusListCredential": list_url}


def status_list_credential(*, list_url: str, issuer_id: str, encoded_list: str,
                           valid_from: datetime) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential (sign it with `integrity.sign`)."""
    return {"@context": [VC_V2], "id": list_url, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer_id, "validFrom": iso(valid_from),
            "credentialSubject": {"id": f"{list_url}#list", "type": "BitstringStatusList",
                                  "statusPurpose": PURPOSE, "encodedList": encoded_list}}
