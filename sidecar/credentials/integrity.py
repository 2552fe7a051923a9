"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C VC Data Integrity EdDSA 1.0).

Signing: both the document without its proof and the proof's options are canonicalised with
RDFC-1.0 (URDNA2015, pyld), each is hashed with SHA-256, and the proof options' hash followed by
the document's hash is signed with Ed25519. The signature goes in `proofValue` as multibase
base58-btc. Because the RDF dataset is signed, not the JSON text, a term that the contexts do not
define would silently drop out of what is signed: `sign` and `verify` refuse such documents
(the "safe mode" of other implementations).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from . import keys
from .contexts import UnknownContext, document_loader

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
KeyResolver = Callable[[str], Ed25519PublicKey | None]


class SigningError(ValueError):
    """The document cannot be signed as it stands (undefined terms, unknown contexts)."""


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    reason: str  # why not (empty when ok)
    verification_method: str | None = None


def _options() -> dict[str, Any]:
    return {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader}


def canonicalize(document: dict[str, Any]) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document (bundled contexts only)."""
    return str(jsonld.normalize(document, _options()))


def _leaf_keys(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "@context":
                continue
            found.add(key)
            _leaf_keys(child, found)
    elif isinstance(value, list):
        for child in value:
            _leaf_keys(child, found)


def undefined_terms(document: dict[str, Any]) -> list[str]:
    """Properties of the document that its contexts do not define (they would not be signed)."""
    expanded = jsonld.expand(document, {"documentLoader": document_loader})
    used: set[str] = set()
    _leaf_keys(document, used)
    kept: set[str] = set()
    compacted = jsonld.compact(expanded, {"@context": document.get("@context")},
                               {"documentLoader": document_loader})
    _leaf_keys(compacted, kept)
    return sorted(key for key in used - kept if not key.startswith("@"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(document: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = dict(proof_options)
    config["@context"] = unsecured.get("@context")
    return (hashlib.sha256(canonicalize(config).encode("utf-8")).digest()
            + hashlib.sha256(canonicalize(unsecured).encode("utf-8")).digest())


def sign(document: dict[str, Any], *, private_key: Ed25519PrivateKey, verification_method: str,
         created: datetime, proof_purpose: str = "assertionMethod") -> dict[str, Any]:
    """A copy of `document` with an eddsa-rdfc-2022 proof (SigningError if a term would go unsigned)."""
    unsecured = copy.deepcopy({k: v for k, v in document.items() if k != "proof"})
    try:
        missing = undefined_terms(unsecured)
    except (UnknownContext, jsonld.JsonLdError) as exc:
        raise SigningError(f"the document's contexts cannot be processed offline: {str(exc)[:300]}") from exc
    if missing:
        raise SigningError(f"terms not defined by the document's contexts: {', '.join(missing)}")
    proof = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": _iso(created),
             "verificationMethod": verification_method, "proofPurpose": proof_purpose}
    signature = private_key.sign(_hash_data(unsecured, proof))
    unsecured["proof"] = {**proof, "proofValue": keys.multibase_encode(signature)}
    return unsecured


def verify(document: dict[str, Any], *, resolve_key: KeyResolver,
           proof_purpose: str = "assertionMethod") -> VerifyResult:
    """Check the document's single eddsa-rdfc-2022 proof against the key its method resolves to."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        return VerifyResult(False, "the document has no proof (or more than one)")
    method = proof.get("verificationMethod")
    method = method if isinstance(method, str) else None
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return VerifyResult(False, f"unsupported proof: {proof.get('type')} / {proof.get('cryptosuite')}", method)
    if proof.get("proofPurpose") != proof_purpose:
        return VerifyResult(False, f"the proof's purpose is not {proof_purpose}", method)
    value = proof.get("proofValue")
    if not isinstance(value, str) or method is None:
        return VerifyResult(False, "the proof has no proofValue or verificationMethod", method)
    if "@context" in proof and proof["@context"] != document.get("@context"):
        return VerifyResult(False, "the proof's @context differs from the document's", method)
    public_key = resolve_key(method)
    if public_key is None:
        return VerifyResult(False, f"the verification method {method} is not one of the issuer's keys", method)
    options = {k: v for k, v in proof.items() if k not in ("proofValue", "@context")}
    try:
        missing = undefined_terms({k: v for k, v in document.items() if k != "proof"})
        if missing:
            return VerifyResult(False, f"terms not defined by the document's contexts: {', '.join(missing)}", method)
        signature = keys.multibase_decode(value)
        public_key.verify(signature, _hash_data(document, options))
    except InvalidSignature:
        return VerifyResult(False, "the signature does not match the document (it was altered or signed by "
                                   "another key)", method)
    except (ValueError, TypeError, jsonld.JsonLdError) as exc:
        return VerifyResult(False, f"the document could not be processed: {str(exc)[:200]}", method)
    return VerifyResult(True, "", method)
