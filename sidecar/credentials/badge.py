"""Open Badges 3.0 documents: the OpenBadgeCredential of a certificate and the issuer's Profile.

The credential is a W3C Verifiable Credential 2.0 with the OB 3.0.3 context. The holder is named
as chosen at issuance (`credentialSubject.name`); no account id or e-mail is in it, so a deleted
account leaves nothing personal beyond that chosen name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .contexts import MULTIKEY_V1, OB_V3, VC_V2


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_badge(*, credential_url: str, issuer: dict[str, Any], holder_name: str, achievement: dict[str, Any],
               valid_from: datetime, results: list[dict[str, Any]] | None = None,
               evidence: list[dict[str, Any]] | None = None, status: dict[str, Any] | None = None,
               name: str | None = None, valid_until: datetime | None = None) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential (sign it with `integrity.sign`)."""
    subject: dict[str, Any] = {"type": ["AchievementSubject"], "name": holder_name, "achievement": achievement}
    if results:
        subject["result"] = results
    document: dict[str, Any] = {
        "@context": [VC_V2, OB_V3], "id": credential_url, "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer, "validFrom": iso(valid_from), "name": name or achievement.get("name", "Certificate"),
        "credentialSubject": subject}
    if valid_until is not None:
        document["validUntil"] = iso(valid_until)
    if evidence:
        document["evidence"] = evidence
    if status:
        document["credentialStatus"] = status
    return document


# Neither the VC 2.0 nor the OB 3.0 context defines the controller-document terms at the top level, so
# a JSON-LD processor would drop them and verifiers in safe mode (Digital Bazaar's assertionMethod check
# frames this document) reject it. These are the W3C Controlled Identifiers 1.0 definitions.
_CONTROLLER_TERMS = {
    "verificationMethod": {"@id": "https://w3id.org/security#verificationMethod", "@type": "@id",
                           "@container": "@set"},
    "assertionMethod": {"@id": "https://w3id.org/security#assertionMethod", "@type": "@id", "@container": "@set"},
}
# What the Multikey context defines; anything else on a key (e.g. the dates /api/issuer/keys adds) would
# be an undefined term in the controller document.
_MULTIKEY_FIELDS = ("id", "type", "controller", "publicKeyMultibase", "expires", "revoked")


def issuer_profile(*, issuer_id: str, name: str, url: str, keys: list[dict[str, Any]]) -> dict[str, Any]:
    """The issuer's Profile, which is also the controller document of its keys (every key, retired ones
    too, stays an assertion method: old credentials keep verifying)."""
    methods = [{k: key[k] for k in _MULTIKEY_FIELDS if k in key} for key in keys]
    return {"@context": [VC_V2, OB_V3, MULTIKEY_V1, _CONTROLLER_TERMS], "id": issuer_id, "type": ["Profile"],
            "name": name, "url": url, "verificationMethod": methods, "assertionMethod": [m["id"] for m in methods]}
