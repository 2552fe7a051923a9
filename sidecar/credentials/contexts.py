"""The JSON-LD contexts credentials use, bundled, and a pyld document loader that serves only them.

Any other URL is refused with an error instead of fetched: a credential whose context we do not
hold cannot be verified offline, and the signer must never make a network request.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"

_FILES = {
    VC_V2: "credentials-v2.json",
    OB_V3: "ob-v3p0-3.0.3.json",
    MULTIKEY_V1: "multikey-v1.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.json",
}
_FOLDER = Path(__file__).with_name("contexts")


class UnknownContext(ValueError):
    """A context URL that is not bundled (never fetched)."""


@cache
def context(url: str) -> dict[str, Any]:
    """The bundled context document for `url`."""
    name = _FILES.get(url)
    if name is None:
        raise UnknownContext(f"the JSON-LD context {url} is not bundled (contexts are never fetched)")
    return dict(json.loads((_FOLDER / name).read_text(encoding="utf-8")))


def bundled() -> dict[str, dict[str, Any]]:
    """Every bundled context by URL (for other verifiers' document loaders)."""
    return {url: context(url) for url in _FILES}


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld's loader interface over the bundled contexts only."""
    return {"contextUrl": None, "documentUrl": url, "document": context(url.split("#", 1)[0])}
