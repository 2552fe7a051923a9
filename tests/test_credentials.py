"""sidecar/credentials without a database: keys and multibase, eddsa-rdfc-2022 signing and verifying,
tampering of every kind, offline contexts, the Bitstring status list and offline bundles.

Credentials here have the shape the sidecar issues (certificates/service.py `_credential`); bundles
are built with the library itself the way `verification_bundle` builds them.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sidecar.credentials import badge, contexts, integrity, keys, merkle, status_list, tree_head
from sidecar.credentials.bundle import canonical_json, credential_digest, verify_bundle, verify_credential_only

BASE = "https://learn.example.test"
ISSUER = BASE + "/api/issuer"
METHOD = ISSUER + "#key-1"
LIST_URL = BASE + "/api/issuer/status/1"
ISSUED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
INDEX = 4242
CHECKS = ["signature", "issuer", "validity", "status", "log"]


def unsigned_credential(*, holder: str = "Ada Lovelace", certificate_id: str = "0e9b7f5e-3b8c-4c1e-9a55-5b6a0f0d8a11",
                        index: int = INDEX, valid_until: datetime | None = None) -> dict[str, Any]:
    """A Bronze credential as `certificates.service._credential` builds it."""
    narrative = "Every module complete and every quiz at 70 % or more."
    achievement = {"id": f"{BASE}/api/certifications/python-basics/bronze", "type": ["Achievement"],
                   "name": "Python Basics: Bronze certificate", "description": narrative,
                   "criteria": {"narrative": narrative}, "achievementType": "Certificate"}
    return badge.open_badge(
        credential_url=f"urn:uuid:{certificate_id}",
        issuer={"id": ISSUER, "type": ["Profile"], "name": "Dronacharya", "url": BASE},
        holder_name=holder, achievement=achievement, valid_from=ISSUED,
        results=[{"type": ["Result"], "value": "Variables quiz: 75 / 100"},
                 {"type": ["Result"], "value": "Loops quiz: 90 / 100"}],
        evidence=[{"id": f"{BASE}/verify/{certificate_id}", "type": ["Evidence"], "name": "Grading evidence",
                   "narrative": "content_commit: 0a1b2c3d; tests_sha256: " + "f" * 64}],
        status=status_list.status_entry(list_url=LIST_URL, index=index),
        name="Python Basics: Bronze certificate", valid_until=valid_until)


def sign(document: dict[str, Any], key: Ed25519PrivateKey, method: str = METHOD) -> dict[str, Any]:
    return integrity.sign(document, private_key=key, verification_method=method, created=ISSUED)


def method_doc(key: Ed25519PrivateKey, *, method: str = METHOD, controller: str = ISSUER) -> dict[str, Any]:
    return keys.multikey_document(key_id=method, controller=controller, public_key=key.public_key())


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return keys.generate_private_key()


@pytest.fixture(scope="module")
def other_key() -> Ed25519PrivateKey:
    return keys.generate_private_key()


@pytest.fixture(scope="module")
def signed(key: Ed25519PrivateKey) -> dict[str, Any]:
    return sign(unsigned_credential(), key)


def resolver(key: Ed25519PrivateKey, method: str = METHOD) -> integrity.KeyResolver:
    return {method: key.public_key()}.get


# ---- keys and multibase ---------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x01", b"\xff" * 40, bytes(range(256)), b"hello"])
def test_base58_and_multibase_round_trip(data: bytes) -> None:
    encoded = keys.multibase_encode(data)
    assert encoded.startswith("z")
    assert keys.multibase_decode(encoded) == data
    # Leading zero bytes are kept as '1's (base58-btc), not lost in the integer conversion.
    assert encoded[1:].startswith("1" * (len(data) - len(data.lstrip(b"\x00"))))


def test_base58_known_answers_and_bad_input() -> None:
    # Bitcoin's base58 alphabet: these are the draft-msporny-base58 test vectors.
    assert keys.base58_encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert keys.base58_encode(bytes.fromhex("0000287fb4cd")) == "11233QC4"
    with pytest.raises(ValueError, match="not base58"):
        keys.base58_decode("0OIl")
    with pytest.raises(ValueError, match="base58-btc"):
        keys.multibase_decode("uAAAA")


def test_multikey_round_trips(key: Ed25519PrivateKey) -> None:
    public = key.public_key()
    text = keys.public_multibase(public)
    # An Ed25519 Multikey is "z6Mk…": multicodec 0xed01 then the 32 key bytes.
    assert text.startswith("z6Mk") and keys.multibase_decode(text)[:2] == b"\xed\x01"
    assert keys.public_raw(keys.public_from_multibase(text)) == keys.public_raw(public)
    document = method_doc(key)
    assert document == {"@context": contexts.MULTIKEY_V1, "id": METHOD, "type": "Multikey", "controller": ISSUER,
                        "publicKeyMultibase": text}
    assert keys.public_raw(keys.public_from_method(document)) == keys.public_raw(public)
    with pytest.raises(ValueError):
        keys.public_from_method(dict(document, type="JsonWebKey"))
    with pytest.raises(ValueError):
        keys.public_from_multibase(keys.multibase_encode(b"\xe7\x01" + b"\x00" * 32))  # a secp256k1 prefix
    with pytest.raises(ValueError):
        keys.public_from_multibase(keys.multibase_encode(b"\xed\x01" + b"\x00" * 31))


def test_private_key_pem_is_encrypted_and_round_trips(key: Ed25519PrivateKey) -> None:
    pem = keys.private_to_pem(key, passphrase=b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    back = keys.private_from_pem(pem, passphrase=b"correct horse")
    assert back.sign(b"x") == key.sign(b"x")  # Ed25519 signatures are deterministic
    with pytest.raises(ValueError):
        keys.private_from_pem(pem, passphrase=b"wrong")


# ---- signing and verifying ------------------------------------------------------------------------


def test_sign_and_verify(signed: dict[str, Any], key: Ed25519PrivateKey) -> None:
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["verificationMethod"] == METHOD and proof["proofPurpose"] == "assertionMethod"
    assert proof["created"] == "2025-03-01T12:00:00Z" and signed["validFrom"] == "2025-03-01T12:00:00Z"
    assert len(keys.multibase_decode(proof["proofValue"])) == 64
    result = integrity.verify(signed, resolve_key=resolver(key))
    assert result.ok and result.reason == "" and result.verification_method == METHOD
    # Verifying is read-only: the document is unchanged and verifies again.
    assert integrity.verify(copy.deepcopy(signed), resolve_key=resolver(key)).ok


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return change


ALTERATIONS = {
    "holder name": _set("credentialSubject.name", "Mallory Lovelace"),
    "holder name by one character": _set("credentialSubject.name", "Ada Lovelacf"),
    "validFrom date": _set("validFrom", "2024-03-01T12:00:00Z"),
    "validFrom by one second": _set("validFrom", "2025-03-01T12:00:01Z"),
    "tier (achievement name)": _set("credentialSubject.achievement.name", "Python Basics: Gold certificate"),
    "tier (achievement id)": _set("credentialSubject.achievement.id", f"{BASE}/api/certifications/python-basics/gold"),
    "credential name": _set("name", "Python Basics: Gold certificate"),
    "evidence narrative": _set("evidence.0.narrative", "content_commit: ffffffff; tests_sha256: " + "0" * 64),
    "a result value": _set("credentialSubject.result.0.value", "Variables quiz: 100 / 100"),
    "the issuer's id": _set("issuer.id", "https://evil.example/api/issuer"),
    "the issuer's name": _set("issuer.name", "Harvard University"),
    "the status index": _set("credentialStatus.statusListIndex", "4243"),
    "the credential id": _set("id", "urn:uuid:11111111-2222-4333-8444-555555555555"),
    "an added result": lambda d: d["credentialSubject"]["result"].append({"type": ["Result"], "value": "Extra: 1"}),
    "a removed result": lambda d: d["credentialSubject"]["result"].pop(),
    "removed evidence": lambda d: d.pop("evidence"),
    "an added validUntil": _set("validUntil", "2030-01-01T00:00:00Z"),
}


@pytest.mark.parametrize("alteration", ALTERATIONS.values(), ids=ALTERATIONS.keys())
def test_every_alteration_fails_verification(signed: dict[str, Any], key: Ed25519PrivateKey,
                                             alteration: Callable[[dict[str, Any]], None]) -> None:
    altered = copy.deepcopy(signed)
    alteration(altered)
    assert altered != signed
    result = integrity.verify(altered, resolve_key=resolver(key))
    assert not result.ok
    assert "does not match the document" in result.reason


def test_a_proof_swapped_from_another_credential_of_the_same_issuer_fails(signed: dict[str, Any],
                                                                          key: Ed25519PrivateKey) -> None:
    grace = sign(unsigned_credential(holder="Grace Hopper", certificate_id="7d1a3a4e-5b1c-4f0e-8a4b-2c9d1e3f4a5b",
                                     index=17), key)
    assert integrity.verify(grace, resolve_key=resolver(key)).ok
    swapped = dict(copy.deepcopy(signed), proof=copy.deepcopy(grace["proof"]))
    result = integrity.verify(swapped, resolve_key=resolver(key))
    assert not result.ok and "does not match" in result.reason
    # Swapping both ways: Grace's credential with Ada's proof fails too.
    assert not integrity.verify(dict(grace, proof=signed["proof"]), resolve_key=resolver(key)).ok


def test_a_proof_by_a_key_the_issuer_does_not_control_fails(signed: dict[str, Any], key: Ed25519PrivateKey,
                                                            other_key: Ed25519PrivateKey) -> None:
    # The forger names the issuer's method but signs with their own key.
    forged = sign(unsigned_credential(), other_key)
    result = integrity.verify(forged, resolve_key=resolver(key))
    assert not result.ok and "does not match" in result.reason
    # Or names a method of their own: it is not one of the issuer's keys.
    forged = sign(unsigned_credential(), other_key, method="https://evil.example/api/issuer#key-1")
    result = integrity.verify(forged, resolve_key=resolver(key))
    assert not result.ok and "not one of the issuer's keys" in result.reason
    assert result.verification_method == "https://evil.example/api/issuer#key-1"


@pytest.mark.parametrize("bit", [0, 7, 100, 511])
def test_a_flipped_bit_in_the_proof_value_fails(signed: dict[str, Any], key: Ed25519PrivateKey, bit: int) -> None:
    signature = bytearray(keys.multibase_decode(signed["proof"]["proofValue"]))
    signature[bit // 8] ^= 1 << (bit % 8)
    altered = copy.deepcopy(signed)
    altered["proof"]["proofValue"] = keys.multibase_encode(bytes(signature))
    result = integrity.verify(altered, resolve_key=resolver(key))
    assert not result.ok and "does not match" in result.reason


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("created", "2025-03-01T12:00:01Z", "does not match"),  # proof options are signed too
    ("proofPurpose", "authentication", "purpose"),
    ("cryptosuite", "eddsa-jcs-2022", "unsupported proof"),
    ("type", "Ed25519Signature2020", "unsupported proof"),
    ("proofValue", None, "no proofValue"),
    ("verificationMethod", None, "no proofValue or verificationMethod"),
])
def test_altered_proof_options_fail(signed: dict[str, Any], key: Ed25519PrivateKey, field: str, value: Any,
                                    reason: str) -> None:
    altered = copy.deepcopy(signed)
    if value is None:
        del altered["proof"][field]
    else:
        altered["proof"][field] = value
    result = integrity.verify(altered, resolve_key=lambda _method: key.public_key())
    assert not result.ok and reason in result.reason


def test_a_document_without_a_single_proof_fails(signed: dict[str, Any], key: Ed25519PrivateKey) -> None:
    bare = {k: v for k, v in signed.items() if k != "proof"}
    assert not integrity.verify(bare, resolve_key=resolver(key)).ok
    doubled = dict(signed, proof=[signed["proof"], signed["proof"]])
    assert "no proof" in integrity.verify(doubled, resolve_key=resolver(key)).reason


def test_an_undefined_term_is_refused_at_signing(key: Ed25519PrivateKey) -> None:
    document = unsigned_credential()
    document["credentialSubject"]["nickname"] = "Countess"
    document["internalScore"] = 99
    with pytest.raises(integrity.SigningError, match="internalScore, nickname"):
        sign(document, key)


def test_an_undefined_term_is_refused_at_verification(signed: dict[str, Any], key: Ed25519PrivateKey) -> None:
    altered = copy.deepcopy(signed)
    altered["credentialSubject"]["grade"] = "A+"
    # Why it must be refused: the term drops out of the RDF dataset, so the signature alone still matches.
    assert integrity.canonicalize({k: v for k, v in altered.items() if k != "proof"}) == integrity.canonicalize(
        {k: v for k, v in signed.items() if k != "proof"})
    result = integrity.verify(altered, resolve_key=resolver(key))
    assert not result.ok and "terms not defined" in result.reason and "grade" in result.reason


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every outgoing connection raises (and is recorded): proves that nothing is fetched."""
    attempts: list[Any] = []

    def refuse(_sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


UNKNOWN_CONTEXT = "https://example.org/contexts/unknown-v1.jsonld"


def test_an_unknown_context_is_refused_without_network_access(no_network: list[Any], key: Ed25519PrivateKey,
                                                              signed: dict[str, Any]) -> None:
    with pytest.raises(OSError):  # the guard works: a real connection attempt raises
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    no_network.clear()
    document = unsigned_credential()
    document["@context"] = [*document["@context"], UNKNOWN_CONTEXT]
    with pytest.raises(integrity.SigningError, match="cannot be processed offline"):
        sign(document, key)
    altered = copy.deepcopy(signed)
    altered["@context"] = [*altered["@context"], UNKNOWN_CONTEXT]
    result = integrity.verify(altered, resolve_key=resolver(key))
    assert not result.ok and "could not be processed" in result.reason
    with pytest.raises(contexts.UnknownContext):
        contexts.document_loader(UNKNOWN_CONTEXT)
    assert no_network == []
    # The bundled ones work under the same guard: signing and verifying never need the network.
    assert integrity.verify(sign(unsigned_credential(), key), resolve_key=resolver(key)).ok
    assert no_network == []


def test_the_bundled_contexts() -> None:
    bundled = contexts.bundled()
    assert set(bundled) == {contexts.VC_V2, contexts.OB_V3, contexts.MULTIKEY_V1, contexts.DATA_INTEGRITY_V2}
    assert all("@context" in document for document in bundled.values())
    # A fragment is served from its document (verification method ids are fragments of documents).
    assert contexts.document_loader(contexts.VC_V2 + "#x")["document"] == bundled[contexts.VC_V2]


def test_the_issuer_profile_is_a_controller_document_with_defined_terms(key: Ed25519PrivateKey,
                                                                        other_key: Ed25519PrivateKey) -> None:
    retired = dict(method_doc(key), created="2025-01-01T00:00:00+00:00", retired="2025-02-01T00:00:00+00:00")
    current = method_doc(other_key, method=ISSUER + "#key-2")
    profile = badge.issuer_profile(issuer_id=ISSUER, name="Dronacharya", url=BASE, keys=[retired, current])
    assert profile["assertionMethod"] == [METHOD, ISSUER + "#key-2"]
    assert [m["publicKeyMultibase"] for m in profile["verificationMethod"]] == [
        keys.public_multibase(key.public_key()), keys.public_multibase(other_key.public_key())]
    # Verifiers process this document as JSON-LD (the controller's assertionMethod check): every term
    # must be defined, or a safe-mode processor rejects it.
    assert integrity.undefined_terms(profile) == []
    expanded = integrity.canonicalize(profile)
    assert f"<{ISSUER}> <https://w3id.org/security#assertionMethod> <{METHOD}>" in expanded


# ---- the Bitstring status list --------------------------------------------------------------------


def test_status_list_bit_order_and_round_trip() -> None:
    encoded = status_list.encode([0, 7, 8, INDEX, status_list.DEFAULT_SIZE - 1])
    assert encoded.startswith("u") and "=" not in encoded
    bits = status_list.decode(encoded)
    assert len(bits) == status_list.DEFAULT_SIZE // 8 == 16 * 1024
    # Bit 0 is the most significant bit of the first byte (Bitstring Status List v1.0 §3.1).
    assert bits[0] == 0b1000_0001 and bits[1] == 0b1000_0000 and bits[-1] == 0b0000_0001
    assert bits[INDEX // 8] == 0x80 >> (INDEX % 8)
    assert sum(bin(b).count("1") for b in bits) == 5
    for index in (0, 7, 8, INDEX, status_list.DEFAULT_SIZE - 1):
        assert status_list.is_set(encoded, index)
    for index in (1, 6, 9, INDEX - 1, INDEX + 1, status_list.DEFAULT_SIZE - 2):
        assert not status_list.is_set(encoded, index)
    # GZIP without a timestamp: the same revocations always give the same published list.
    assert status_list.encode([INDEX, 0, 8, 7, status_list.DEFAULT_SIZE - 1]) == encoded
    body = encoded[1:]
    assert gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) == bits


def test_status_list_reads_the_specification_example_and_refuses_bad_input() -> None:
    # The all-clear 16 KiB list of the Bitstring Status List v1.0 specification's example.
    spec = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
    assert status_list.decode(spec) == bytes(16 * 1024)
    assert not status_list.is_set(spec, INDEX)
    with pytest.raises(ValueError):
        status_list.encode([status_list.DEFAULT_SIZE])
    with pytest.raises(ValueError):
        status_list.encode([-1])
    with pytest.raises(ValueError):
        status_list.is_set(spec, status_list.DEFAULT_SIZE)
    with pytest.raises(ValueError, match="base64url"):
        status_list.decode("z" + spec[1:])


def test_status_entry_and_list_credential(key: Ed25519PrivateKey) -> None:
    entry = status_list.status_entry(list_url=LIST_URL, index=INDEX)
    assert entry == {"id": f"{LIST_URL}#{INDEX}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                     "statusListIndex": str(INDEX), "statusListCredential": LIST_URL}
    document = status_list.status_list_credential(list_url=LIST_URL, issuer_id=ISSUER,
                                                  encoded_list=status_list.encode([INDEX]), valid_from=ISSUED)
    signed_list = sign(document, key)  # signing refuses undefined terms: the list's are all defined
    assert integrity.verify(signed_list, resolve_key=resolver(key)).ok
    signed_list["credentialSubject"]["encodedList"] = status_list.encode([])
    assert not integrity.verify(signed_list, resolve_key=resolver(key)).ok


# ---- bundles ----------------------------------------------------------------------------------------


def signed_status_list(key: Ed25519PrivateKey, revoked: list[int], *, method: str = METHOD,
                       list_url: str = LIST_URL) -> dict[str, Any]:
    document = status_list.status_list_credential(list_url=list_url, issuer_id=ISSUER,
                                                  encoded_list=status_list.encode(revoked), valid_from=ISSUED)
    return sign(document, key, method)


def make_bundle(credential: dict[str, Any], key: Ed25519PrivateKey, *, revoked: list[int] | None = None,
                method: str = METHOD) -> dict[str, Any]:
    """A bundle as `certificates.service.verification_bundle` serves it, around a log of a few entries."""
    log = merkle.MerkleLog()
    for n in range(5):  # earlier issuances
        log.append(merkle.leaf_hash(canonical_json({"type": "issue", "credential_id": f"urn:uuid:earlier-{n}",
                                                    "credential_sha256": hashlib.sha256(bytes([n])).hexdigest(),
                                                    "at": "2025-02-01T00:00:00Z"})))
    leaf = {"type": "issue", "credential_id": credential["id"], "credential_sha256": credential_digest(credential),
            "at": "2025-03-01T12:00:00Z"}
    index = log.append(merkle.leaf_hash(canonical_json(leaf)))
    for n in range(3):  # later ones
        log.append(merkle.leaf_hash(canonical_json({"type": "revoke", "credential_id": f"urn:uuid:later-{n}",
                                                    "reason": "test", "at": "2025-04-01T00:00:00Z"})))
    head = tree_head.sign_tree_head(tree_size=log.size, root_hash=log.root(), timestamp=ISSUED + timedelta(days=30),
                                    private_key=key, key_id=method)
    return {"credential": credential,
            "verification_methods": [method_doc(key, method=method)],
            "status_list": signed_status_list(key, revoked or [], method=method),
            "log": {"leaf": leaf, "leaf_index": index, "tree_size": log.size, "root_hash": log.root().hex(),
                    "inclusion_proof": [p.hex() for p in log.inclusion_proof(index)], "tree_head": head}}


@pytest.fixture(scope="module")
def good_bundle(signed: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    return make_bundle(signed, key)


@pytest.fixture
def bundle(good_bundle: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(good_bundle)


def failed(report: Any) -> dict[str, str]:
    return {check.name: check.detail for check in report.checks if not check.ok}


def test_a_good_bundle_passes_every_check(bundle: dict[str, Any]) -> None:
    report = verify_bundle(bundle, now=NOW)
    assert [check.name for check in report.checks] == CHECKS
    assert report.ok, failed(report)
    details = {check.name: check.detail for check in report.checks}
    assert details["signature"] == f"signed by {METHOD}" and "not revoked" in details["status"]
    assert details["log"] == "entry 5 is included in the signed tree of 9 entries"


def test_a_revoked_credential_fails_status_only(signed: dict[str, Any], key: Ed25519PrivateKey) -> None:
    report = verify_bundle(make_bundle(signed, key, revoked=[3, INDEX, 9000]), now=NOW)
    assert failed(report) == {"status": "revoked by the issuer"}
    # Its neighbours' revocations do not touch it.
    assert verify_bundle(make_bundle(signed, key, revoked=[INDEX - 1, INDEX + 1]), now=NOW).ok


def test_an_altered_status_list_fails_status(bundle: dict[str, Any], key: Ed25519PrivateKey,
                                             other_key: Ed25519PrivateKey) -> None:
    unsigned_revocation = copy.deepcopy(bundle)
    unsigned_revocation["status_list"]["credentialSubject"]["encodedList"] = status_list.encode([INDEX])
    assert "signature" in failed(verify_bundle(unsigned_revocation, now=NOW))["status"]
    # A list signed by someone else, or another list of the issuer's, is not evidence either way.
    foreign = dict(bundle, status_list=signed_status_list(other_key, []))
    assert list(failed(verify_bundle(foreign, now=NOW))) == ["status"]
    elsewhere = dict(bundle, status_list=signed_status_list(key, [], list_url=BASE + "/api/issuer/status/2"))
    assert "not the one the credential names" in failed(verify_bundle(elsewhere, now=NOW))["status"]
    missing = dict(bundle, status_list=None)
    assert list(failed(verify_bundle(missing, now=NOW))) == ["status"]


@pytest.mark.parametrize(("change", "reason"), [
    (lambda log: log["leaf"].update(credential_sha256="0" * 64), "differs from the one logged"),
    (lambda log: log["leaf"].update(credential_id="urn:uuid:someone-else"), "another credential"),
    (lambda log: log["leaf"].update(at="2025-03-02T12:00:00Z"), "does not lead"),
    (lambda log: log.update(leaf_index=log["leaf_index"] + 1), "does not lead"),
    (lambda log: log["inclusion_proof"].__setitem__(0, "00" * 32), "does not lead"),
    (lambda log: log["inclusion_proof"].pop(), "does not lead"),
    (lambda log: log["inclusion_proof"].append("00" * 32), "does not lead"),
    (lambda log: log["tree_head"].update(tree_size=10), "signature does not verify"),
    (lambda log: log["tree_head"].update(root_hash="ab" * 32), "signature does not verify"),
    (lambda log: log["tree_head"].update(key_id=ISSUER + "#key-9"), "not one of the issuer's keys"),
    (lambda log: log.pop("inclusion_proof"), "malformed"),
])
def test_a_tampered_log_entry_or_proof_fails_log(bundle: dict[str, Any], change: Callable[[dict[str, Any]], Any],
                                                 reason: str) -> None:
    change(bundle["log"])
    problems = failed(verify_bundle(bundle, now=NOW))
    assert list(problems) == ["log"] and reason in problems["log"], problems


def test_a_missing_log_or_credential_fails(bundle: dict[str, Any]) -> None:
    assert failed(verify_bundle(dict(bundle, log=None), now=NOW)) == {"log": "the bundle has no transparency log proof"}
    report = verify_bundle({"verification_methods": bundle["verification_methods"]}, now=NOW)
    assert not report.ok and [c.name for c in report.checks] == ["bundle"]


def test_an_altered_credential_fails_signature_and_log(bundle: dict[str, Any]) -> None:
    bundle["credential"]["credentialSubject"]["name"] = "Mallory"
    assert set(failed(verify_bundle(bundle, now=NOW))) == {"signature", "log"}


def test_keys_from_another_controller_are_ignored(bundle: dict[str, Any], key: Ed25519PrivateKey) -> None:
    # The issuer's own key material, but published as controlled by someone else or under another id.
    for method in (method_doc(key, controller="https://evil.example/api/issuer"),
                   method_doc(key, method="https://evil.example/api/issuer#key-1"),
                   dict(method_doc(key), type="JsonWebKey2020")):
        report = verify_bundle(dict(bundle, verification_methods=[method]), now=NOW)
        problems = failed(report)
        assert {"signature", "issuer"} <= set(problems)
        assert "not one of the issuer's keys" in problems["signature"]
        assert "no key controlled by" in problems["issuer"]


def test_trusted_methods_override_the_bundles_keys(signed: dict[str, Any], key: Ed25519PrivateKey,
                                                   other_key: Ed25519PrivateKey) -> None:
    real = [method_doc(key)]
    # A forger's self-consistent bundle: their key, published under the issuer's name, signs everything.
    forged_credential = sign(unsigned_credential(holder="Mallory"), other_key, ISSUER + "#key-9")
    forged = make_bundle(forged_credential, other_key, method=ISSUER + "#key-9")
    assert verify_bundle(forged, now=NOW).ok, "the bundle alone only proves its own consistency"
    problems = failed(verify_bundle(forged, trusted_methods=real, now=NOW))
    assert {"signature", "status", "log"} <= set(problems)
    # The genuine bundle verifies against the keys fetched from the issuer, whatever keys it carries,
    # and the issuer's profile (GET /api/issuer) serves as those keys too.
    genuine = dict(make_bundle(signed, key), verification_methods=[method_doc(other_key)])
    assert not verify_bundle(genuine, now=NOW).ok
    assert verify_bundle(genuine, trusted_methods=real, now=NOW).ok
    profile = badge.issuer_profile(issuer_id=ISSUER, name="Dronacharya", url=BASE, keys=real)
    assert verify_bundle(genuine, trusted_methods=profile, now=NOW).ok


def test_a_rotated_key_keeps_old_credentials_verifiable(bundle: dict[str, Any], other_key: Ed25519PrivateKey) -> None:
    bundle["verification_methods"].append(method_doc(other_key, method=ISSUER + "#key-2"))
    assert verify_bundle(bundle, now=NOW).ok


def test_validity_dates(key: Ed25519PrivateKey) -> None:
    credential = sign(unsigned_credential(valid_until=datetime(2025, 5, 1, tzinfo=UTC)), key)
    bundle = make_bundle(credential, key)
    assert verify_bundle(bundle, now=datetime(2025, 4, 1, tzinfo=UTC)).ok
    assert "expired" in failed(verify_bundle(bundle, now=NOW))["validity"]
    assert "not valid before" in failed(verify_bundle(bundle, now=ISSUED - timedelta(seconds=1)))["validity"]


def test_verify_credential_only(signed: dict[str, Any], key: Ed25519PrivateKey, other_key: Ed25519PrivateKey) -> None:
    report = verify_credential_only(signed, [method_doc(key)], now=NOW)
    assert report.ok and [c.name for c in report.checks] == ["signature", "issuer", "validity"]
    profile = badge.issuer_profile(issuer_id=ISSUER, name="Dronacharya", url=BASE, keys=[method_doc(key)])
    assert verify_credential_only(signed, profile, now=NOW).ok
    altered = copy.deepcopy(signed)
    altered["credentialSubject"]["achievement"]["name"] = "Python Basics: Gold certificate"
    assert "signature" in failed(verify_credential_only(altered, [method_doc(key)], now=NOW))
    assert set(failed(verify_credential_only(signed, [method_doc(other_key)], now=NOW))) == {"signature"}
    assert set(failed(verify_credential_only(signed, [], now=NOW))) == {"signature", "issuer"}
    no_issuer = {k: v for k, v in signed.items() if k != "issuer"}
    assert "issuer" in failed(verify_credential_only(no_issuer, [method_doc(key)], now=NOW))
