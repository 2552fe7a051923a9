"""RFC 3161 time-stamps of the transparency log's signed tree heads: the request, the response, the check.

Anchoring a tree head with a timestamp authority (TSA) proves the head existed at the TSA's time,
so even the issuer cannot later sign a different history dated in the past. What is stamped is the
SHA-256 of the signed head's canonical JSON (`canonical.canonical_json(head)`, signature included).

Pure functions over bytes, like the rest of this package: the HTTP exchange lives in
`certificates.translog.anchor`. A token is a CMS SignedData (RFC 5652) whose encapsulated content
is the TSTInfo; `verify_token` checks it as RFC 3161 §2.4.2 and RFC 5652 §5.4 say: the signed
attributes' message-digest is the hash of the TSTInfo, and the signature over the DER of the signed
attributes (as a SET OF) verifies with the signer certificate's key (RSA PKCS#1 v1.5 or ECDSA).
Without `trusted_certs` that proves integrity only (any key could have signed); pass the TSA's
certificate to check that it was this TSA.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import cms, core, tsp, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

# SHA-1 and MD5 are refused: a collision would let one signature cover two different TSTInfos.
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
_TIME_STAMPING = "1.3.6.1.5.5.7.3.8"  # id-kp-timeStamping, required of a TSA's certificate (RFC 3161 §2.3)
_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class _TimeStampResp(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    """RFC 3161 §2.4.2 TimeStampResp. asn1crypto 1.5.1's own makes the token mandatory, so it cannot
    read the answer that matters most when anchoring fails: a rejection, which carries no token."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


class TimestampError(ValueError):
    """The TSA's answer is not a token for this request (refused, malformed, or for another digest)."""


@dataclass(frozen=True)
class TimestampCheck:
    ok: bool
    reason: str | None = None  # why not, when not ok
    gen_time: datetime | None = None  # the TSA's time (TSTInfo genTime), when ok


def timestamp_request(digest: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq for a SHA-256 digest, asking for the TSA's certificate; (request, nonce)."""
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    # The nonce binds the answer to this request: a replayed older response fails token_from_response.
    nonce = secrets.randbits(64)
    request = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    })
    return request.dump(), nonce


def _tst_info(token: Any) -> tuple[Any, bytes]:
    """The TSTInfo of a TimeStampToken ContentInfo and its DER (the bytes the message-digest covers)."""
    if token["content_type"].native != "signed_data":
        raise TimestampError("the token is not a CMS SignedData")
    encap = token["content"]["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampError("the token does not hold a TSTInfo")
    content = encap["content"]
    raw = bytes(content.contents)
    return tsp.TSTInfo.load(raw, strict=True), raw


def _imprint_matches(info: Any, digest: bytes) -> bool:
    imprint = info["message_imprint"]
    return bool(imprint["hash_algorithm"]["algorithm"].native == "sha256"
                and bytes(imprint["hashed_message"].native) == digest)


def token_from_response(der: bytes, *, digest: bytes, nonce: int) -> bytes:
    """The TimeStampToken (ContentInfo DER) of a TSA's TimeStampResp for this request; ValueError if
    the TSA did not grant it or it is not for this digest and nonce. Does not check the signature."""
    try:
        response = _TimeStampResp.load(der, strict=True)
        status = response["status"]
        state = status["status"].native
        if state not in ("granted", "granted_with_mods"):
            text = "; ".join(status["status_string"].native or [])
            detail = ", ".join(sorted(status["fail_info"].native or []))
            said = " — ".join(part for part in (text, detail) if part)
            raise TimestampError(f"the timestamp authority answered {state}" + (f": {said}" if said else ""))
        token = response["time_stamp_token"]
        if isinstance(token, core.Void):
            raise TimestampError("the timestamp authority granted the request but sent no token")
        info, _ = _tst_info(token)
        if not _imprint_matches(info, digest):
            raise TimestampError("the token stamps another digest than the one sent")
        if info["nonce"].native != nonce:
            raise TimestampError("the token's nonce is not the request's (a replayed or mixed-up answer)")
        return bytes(token.dump())
    except TimestampError:
        raise
    except _PARSE_ERRORS as exc:  # asn1crypto parses lazily: a malformed part fails where it is read
        raise TimestampError(f"the timestamp authority's answer is not a TimeStampResp: {exc}") from exc


def _attribute(signed_attrs: Any, name: str) -> Any | None:
    """The one value of a signed attribute, None when absent; ValueError when repeated (RFC 5652 §11)."""
    found = [attr["values"] for attr in signed_attrs if attr["type"].native == name]
    if not found:
        return None
    if len(found) != 1 or len(found[0]) != 1:
        raise ValueError(f"the {name} attribute must appear once with one value")
    return found[0][0]


def _signer_certificate(signed_data: Any, signer: Any, extra: list[bytes]) -> x509.Certificate | None:
    """The certificate the SignerInfo names (by issuer and serial, or by subject key identifier)."""
    candidates = [c.chosen for c in signed_data["certificates"] if c.name == "certificate"] \
        if signed_data["certificates"].native is not None else []
    candidates += [x509.Certificate.load(der) for der in extra]
    sid = signer["sid"]
    for cert in candidates:
        if sid.name == "issuer_and_serial_number":
            if (cert.issuer == sid.chosen["issuer"]
                    and cert.serial_number == sid.chosen["serial_number"].native):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


def _certificate_pinned(signing: Any, cert_der: bytes, info: Any) -> str | None:
    """ESS signing-certificate(-v2) (RFC 5035), when present, must name the signer certificate."""
    first = signing["certs"][0]
    if info == "signing_certificate_v2":
        algorithm = first["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            return f"the signing-certificate-v2 hash {algorithm} is not accepted"
        expected = hashlib.new(algorithm, cert_der).digest()
    else:
        expected = hashlib.sha1(cert_der, usedforsecurity=False).digest()
    if bytes(first["cert_hash"].native) != expected:
        return "the signing-certificate attribute names another certificate than the signer's"
    return None


def _verify_signature(cert_der: bytes, signature: bytes, data: bytes, hash_name: str, algorithm: str) -> str | None:
    public = cx509.load_der_x509_certificate(cert_der).public_key()
    chosen = _HASHES[hash_name]()
    try:
        if algorithm == "rsassa_pkcs1v15" and isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), chosen)
        elif algorithm == "ecdsa" and isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(chosen))
        else:
            return f"the signature algorithm {algorithm} is not supported for this key"
    except InvalidSignature:
        return "the timestamp token's signature does not verify"
    return None


def _trusted(cert_der: bytes, trusted_certs: list[bytes]) -> str | None:
    """The signer certificate is one of `trusted_certs` or directly issued by one of them."""
    if cert_der in trusted_certs:
        return None
    signer = cx509.load_der_x509_certificate(cert_der)
    for der in trusted_certs:
        try:
            signer.verify_directly_issued_by(cx509.load_der_x509_certificate(der))
            return None
        except (ValueError, TypeError, InvalidSignature):
            continue
    return "the token is signed by a certificate that is not trusted"


def _check(token_der: bytes, digest: bytes, trusted_certs: list[bytes] | None) -> TimestampCheck:
    token = cms.ContentInfo.load(token_der, strict=True)
    info, tst_der = _tst_info(token)
    signed_data = token["content"]
    signers = list(signed_data["signer_infos"])
    if len(signers) != 1:
        return TimestampCheck(False, "a timestamp token has exactly one signer")
    signer = signers[0]
    hash_name = signer["digest_algorithm"]["algorithm"].native
    if hash_name not in _HASHES:
        return TimestampCheck(False, f"the digest algorithm {hash_name} is not accepted")
    signed_attrs = signer["signed_attrs"]
    if signed_attrs.native is None:
        return TimestampCheck(False, "the token has no signed attributes")
    content_type = _attribute(signed_attrs, "content_type")
    if content_type is None or content_type.native != "tst_info":
        return TimestampCheck(False, "the signed content-type attribute is not TSTInfo")
    message_digest = _attribute(signed_attrs, "message_digest")
    if message_digest is None or bytes(message_digest.native) != hashlib.new(hash_name, tst_der).digest():
        return TimestampCheck(False, "the signed message-digest is not the hash of the TSTInfo")
    cert = _signer_certificate(signed_data, signer, trusted_certs or [])
    if cert is None:
        return TimestampCheck(False, "the signer's certificate is not in the token")
    cert_der = bytes(cert.dump())
    for name in ("signing_certificate_v2", "signing_certificate"):
        pinned = _attribute(signed_attrs, name)
        if pinned is not None and (why := _certificate_pinned(pinned, cert_der, name)):
            return TimestampCheck(False, why)
    usages = cert.extended_key_usage_value.native if cert.extended_key_usage_value is not None else []
    if _TIME_STAMPING not in usages and "time_stamping" not in usages:
        return TimestampCheck(False, "the signer's certificate is not for time-stamping")
    # RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF (tag 0x31), not the
    # [0] IMPLICIT form they are carried in; the original bytes are kept, so re-tag them only.
    attrs_der = b"\x31" + bytes(signed_attrs.dump())[1:]
    algorithm = signer["signature_algorithm"].signature_algo
    try:
        named_hash = signer["signature_algorithm"].hash_algo  # e.g. sha256_rsa carries its own hash
    except ValueError:
        named_hash = hash_name  # rsaEncryption / plain ecdsa: the SignerInfo's digest algorithm
    if named_hash != hash_name:
        return TimestampCheck(False, "the signature and digest algorithms disagree")
    why = _verify_signature(cert_der, bytes(signer["signature"].native), attrs_der, hash_name, algorithm)
    if why:
        return TimestampCheck(False, why)
    if trusted_certs is not None and (why := _trusted(cert_der, trusted_certs)):
        return TimestampCheck(False, why)
    if not _imprint_matches(info, digest):
        return TimestampCheck(False, "the token stamps another digest")
    return TimestampCheck(True, None, info["gen_time"].native)


def verify_token(token: bytes, *, digest: bytes, trusted_certs: list[bytes] | None = None) -> TimestampCheck:
    """Whether `token` (a TimeStampToken, ContentInfo DER) is a validly signed time-stamp of `digest`."""
    try:
        return _check(token, digest, trusted_certs)
    except _PARSE_ERRORS as exc:
        return TimestampCheck(False, f"the timestamp token is malformed: {exc}")
