"""Canonical JSON bytes (sorted keys, no spaces, UTF-8): what log leaves, digests and tree heads hash.

For the documents hashed here (strings, integers, booleans, nested objects and lists; no floats)
this is the JSON Canonicalization Scheme (RFC 8785).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()
