"""Offline verification of a certificate: a credential alone, or a bundle with everything around it.

A bundle (GET /api/certificates/{id}/bundle.json) holds the credential, the issuer's verification
methods, the signed status list and the credential's log entry with its inclusion proof and signed
tree head. `verify_bundle` checks, without any network:

- signature: the credential's eddsa-rdfc-2022 proof, by one of the issuer's keys;
- issuer: that key is controlled by the credential's issuer;
- validity: validFrom has passed and validUntil (if any) has not;
- status: the status list is the one the credential names, signed by the issuer, and the
  credential's bit is not set (not revoked);
- log: the log entry names this credential and its digest, its inclusion proof leads to the root
  of the tree head, and the head is signed by the issuer.

A bundle carries the issuer's keys itself; whoever needs to trust the issuer, not only the
bundle's consistency, passes the keys fetched from the issuer (`trusted_methods`, `--keys`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import integrity, keys, merkle, status_list, tree_head
from .canonical import canonical_json

__all__ = ["BundleReport", "Check", "canonical_json", "credential_digest", "verify_bundle", "verify_credential_only"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class BundleReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))


def credential_digest(credential: dict[str, Any]) -> str:
    """SHA-256 (hex) of the signed credential's canonical JSON: what the log records at issuance."""
    return hashlib.sha256(canonical_json(credential)).hexdigest()


def _issuer_id(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    value = issuer.get("id") if isinstance(issuer, dict) else issuer
    return value if isinstance(value, str) else None


def _methods(methods: Any, issuer_id: str | None) -> dict[str, Ed25519PublicKey]:
    """The keys controlled by the issuer, by method id (others are ignored)."""
    found: dict[str, Ed25519PublicKey] = {}
    if isinstance(methods, dict):
        methods = methods.get("verificationMethod", [])
    for method in methods if isinstance(methods, list) else []:
        if not isinstance(method, dict) or not isinstance(method.get("id"), str):
            continue
        if issuer_id is None or method.get("controller") != issuer_id or not method["id"].startswith(issuer_id + "#"):
            continue
        try:
            found[method["id"]] = keys.public_from_method(method)
        except ValueError:
            continue
    return found


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _signature_checks(report: BundleReport, credential: dict[str, Any], methods: Any, now: datetime) -> dict[
        str, Ed25519PublicKey]:
    issuer_id = _issuer_id(credential)
    usable = _methods(methods, issuer_id)
    result = integrity.verify(credential, resolve_key=usable.get)
    report.add("signature", result.ok, f"signed by {result.verification_method}" if result.ok else result.reason)
    if issuer_id is None:
        report.add("issuer", False, "the credential names no issuer")
    else:
        report.add("issuer", bool(usable) and (not result.ok or result.verification_method in usable),
                   f"the key is controlled by {issuer_id}" if usable
                   else f"no key controlled by {issuer_id} was given")
    start, end = _parse_time(credential.get("validFrom")), _parse_time(credential.get("validUntil"))
    if start is None:
        report.add("validity", False, "the credential has no valid validFrom date")
    elif start > now:
        report.add("validity", False, f"not valid before {credential.get('validFrom')}")
    elif end is not None and end < now:
        report.add("validity", False, f"expired at {credential.get('validUntil')}")
    else:
        report.add("validity", True, f"valid from {credential.get('validFrom')}")
    return usable


def verify_credential_only(credential: dict[str, Any], methods: Any, *,
                           now: datetime | None = None) -> BundleReport:
    """Signature, issuer and validity of a bare credential against the issuer's published keys."""
    report = BundleReport()
    _signature_checks(report, credential, methods, now or datetime.now(UTC))
    return report


def _status_check(report: BundleReport, credential: dict[str, Any], status_doc: Any,
                  usable: dict[str, Ed25519PublicKey]) -> None:
    entry = credential.get("credentialStatus")
    if entry is None:
        report.add("status", True, "the credential has no status entry (it cannot be revoked)")
        return
    if not isinstance(entry, dict) or not isinstance(status_doc, dict):
        report.add("status", False, "the bundle has no status list for the credential's status entry")
        return
    if status_doc.get("id") != entry.get("statusListCredential"):
        report.add("status", False, "the status list is not the one the credential names")
        return
    if status_doc.get("issuer") != _issuer_id(credential):
        report.add("status", False, "the status list is not issued by the credential's issuer")
        return
    signed = integrity.verify(status_doc, resolve_key=usable.get)
    if not signed.ok:
        report.add("status", False, f"the status list's signature: {signed.reason}")
        return
    subject = status_doc.get("credentialSubject") or {}
    try:
        revoked = status_list.is_set(str(subject.get("encodedList")), int(str(entry.get("statusListIndex"))))
    except (ValueError, OSError, EOFError) as exc:
        report.add("status", False, f"the status list cannot be read: {exc}")
        return
    report.add("status", not revoked, "revoked by the issuer" if revoked
               else f"not revoked (status list of {status_doc.get('validFrom')})")


def _log_check(report: BundleReport, credential: dict[str, Any], entry: Any,
               usable: dict[str, Ed25519PublicKey]) -> None:
    if not isinstance(entry, dict):
        report.add("log", False, "the bundle has no transparency log proof")
        return
    try:
        leaf = entry["leaf"]
        if leaf.get("credential_id") != credential.get("id"):
            report.add("log", False, "the log entry is for another credential")
            return
        if leaf.get("credential_sha256") != credential_digest(credential):
            report.add("log", False, "the credential differs from the one logged at issuance")
            return
        head = entry["tree_head"]
        problem = tree_head.verify_tree_head(head, usable.get)
        if problem:
            report.add("log", False, problem)
            return
        size, root = int(head["tree_size"]), bytes.fromhex(str(head["root_hash"]))
        proof = [bytes.fromhex(str(p)) for p in entry["inclusion_proof"]]
        index = int(entry["leaf_index"])
        included = merkle.verify_inclusion(leaf=merkle.leaf_hash(canonical_json(leaf)), index=index,
                                           tree_size=size, proof=proof, root=root)
    except (KeyError, TypeError, ValueError, AttributeError):
        report.add("log", False, "the log proof is malformed")
        return
    report.add("log", included, f"entry {index} is included in the signed tree of {size} entries" if included
               else "the inclusion proof does not lead to the signed tree head's root")


def verify_bundle(document: dict[str, Any], *, trusted_methods: Any = None,
                  now: datetime | None = None) -> BundleReport:
    """Every check of the module's doc; keys from `trusted_methods` if given, else from the bundle."""
    report = BundleReport()
    credential = document.get("credential")
    if not isinstance(credential, dict):
        report.add("bundle", False, "the bundle holds no credential")
        return report
    methods = trusted_methods if trusted_methods is not None else document.get("verification_methods")
    usable = _signature_checks(report, credential, methods, now or datetime.now(UTC))
    _status_check(report, credential, document.get("status_list"), usable)
    _log_check(report, credential, document.get("log"), usable)
    return report
