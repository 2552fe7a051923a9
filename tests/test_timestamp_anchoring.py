"""RFC 3161 anchoring of the transparency log's tree heads, against a real timestamp authority on
127.0.0.1: an HTTP server (a thread) that parses each TimeStampReq with asn1crypto and answers a
TimeStampResp whose token is a CMS SignedData signed with a test key and self-signed certificate.

The pure part (sidecar.credentials.timestamp): round trip, another digest, tampering, a rejection.
End to end on SQLite and PostgreSQL: earning Bronze anchors the new head (the token is stored and
published as heads/<size>.tsr); a TSA that is down never fails the issuance; off by default."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import text

from sidecar.certificates import translog
from sidecar.credentials.canonical import canonical_json
from sidecar.credentials.timestamp import timestamp_request, token_from_response, verify_token
from sidecar.db.engine import get_engine, read_tx, write_tx
from tests.test_certificates import _earn_bronze

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _certificate(key: PrivateKey, name: str = "Test TSA") -> bytes:
    """A self-signed certificate for time-stamping (critical id-kp-timeStamping, RFC 3161 §2.3)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


class Authority:
    """What the test TSA signs with and how it answers (mode: grant, reject, garbage)."""

    def __init__(self, key: PrivateKey) -> None:
        self.key = key
        self.cert_der = _certificate(key)
        self.mode = "grant"
        self.requests = 0
        self.serial = 0

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def token(self, request: Any) -> cms.ContentInfo:
        self.serial += 1
        info = tsp.TSTInfo({"version": "v1", "policy": "1.3.6.1.4.1.99999.1",
                            "message_imprint": request["message_imprint"], "serial_number": self.serial,
                            "gen_time": datetime.now(UTC).replace(microsecond=0), "nonce": request["nonce"]})
        info_der = info.dump()
        cert = ax509.Certificate.load(self.cert_der)
        attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(info_der).digest()]},
            {"type": "signing_certificate_v2",
             "values": [{"certs": [{"cert_hash": hashlib.sha256(self.cert_der).digest()}]}]},
        ])
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}},
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": "sha256_rsa" if isinstance(self.key, rsa.RSAPrivateKey)
                                    else "sha256_ecdsa"},
            "signature": self.sign(attrs.dump()),  # the SET OF form, as RFC 5652 §5.4 signs it
        })
        signed = cms.SignedData({
            "version": "v3", "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": cms.ParsableOctetString(info_der)},
            "certificates": [cert] if request["cert_req"].native else [], "signer_infos": [signer]})
        return cms.ContentInfo({"content_type": "signed_data", "content": signed})

    def answer(self, body: bytes) -> bytes:
        self.requests += 1
        if self.mode == "garbage":
            return b"\x30\x03\x02\x01"
        request = tsp.TimeStampReq.load(body, strict=True)
        if self.mode == "reject":
            status = tsp.PKIStatusInfo({"status": "rejection", "status_string": ["policy not accepted"],
                                        "fail_info": {"unaccepted_policy"}}).dump()
            return b"\x30" + bytes([len(status)]) + status  # SEQUENCE { status }: a rejection has no token
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": self.token(request)}).dump()


@pytest.fixture(scope="module")
def rsa_authority() -> Authority:
    return Authority(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def tsa(rsa_authority: Authority) -> Iterator[tuple[str, Authority]]:
    """The authority served over HTTP on 127.0.0.1 (a thread): (its URL, the authority)."""
    authority = rsa_authority
    authority.mode, authority.requests = "grant", 0

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            if authority.mode == "redirect":  # elsewhere: a redirect is never followed
                authority.requests += 1
                self.send_response(307)
                self.send_header("Location", "http://127.0.0.2:9/tsr")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            ok = self.headers.get("Content-Type") == "application/timestamp-query"
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = authority.answer(body) if ok else b""
            self.send_response(200 if ok else 415)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tsr", authority
    server.shutdown()
    server.server_close()


def _stamp(authority: Authority, digest: bytes) -> bytes:
    request, nonce = timestamp_request(digest)
    return token_from_response(authority.answer(request), digest=digest, nonce=nonce)


# ---- the pure part ----------------------------------------------------------------------------------

DIGEST = hashlib.sha256(b"a signed tree head").digest()


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_token_round_trips(kind: str, rsa_authority: Authority) -> None:
    authority = rsa_authority if kind == "rsa" else Authority(ec.generate_private_key(ec.SECP256R1()))
    token = _stamp(authority, DIGEST)
    check = verify_token(token, digest=DIGEST, trusted_certs=[authority.cert_der])
    assert check.ok, check.reason
    assert check.gen_time is not None and abs(check.gen_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert verify_token(token, digest=DIGEST).ok  # integrity alone, without pinning the TSA


def test_a_token_for_another_digest_or_another_tsa_fails(rsa_authority: Authority) -> None:
    token = _stamp(rsa_authority, DIGEST)
    other = verify_token(token, digest=hashlib.sha256(b"another head").digest())
    assert not other.ok and other.reason == "the token stamps another digest"
    stranger = Authority(ec.generate_private_key(ec.SECP256R1()))
    pinned = verify_token(token, digest=DIGEST, trusted_certs=[stranger.cert_der])
    assert not pinned.ok and pinned.reason is not None and "not trusted" in pinned.reason


def test_the_answer_must_match_the_request(rsa_authority: Authority) -> None:
    request, nonce = timestamp_request(DIGEST)
    answer = rsa_authority.answer(request)
    with pytest.raises(ValueError, match="nonce"):
        token_from_response(answer, digest=DIGEST, nonce=nonce + 1)
    with pytest.raises(ValueError, match="another digest"):
        token_from_response(answer, digest=bytes(32), nonce=nonce)
    parsed = tsp.TimeStampReq.load(request)
    assert parsed["cert_req"].native is True and parsed["nonce"].native == nonce
    assert parsed["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"


def _resign_with_info(token: bytes, mutate: Any) -> bytes:
    """The token with its TSTInfo changed (the signature and signed attributes left as they were)."""
    info_token = cms.ContentInfo.load(token)
    encap = info_token["content"]["encap_content_info"]
    info = tsp.TSTInfo.load(bytes(encap["content"].contents))
    mutate(info)
    encap["content"] = cms.ParsableOctetString(info.dump(force=True))
    return bytes(info_token.dump(force=True))


def test_a_tampered_token_fails(rsa_authority: Authority) -> None:
    token = _stamp(rsa_authority, DIGEST)
    # The TSTInfo re-dated: the signed message-digest no longer matches it.
    later = _resign_with_info(token, lambda info: info.__setitem__(
        "gen_time", datetime(2099, 1, 1, tzinfo=UTC)))
    check = verify_token(later, digest=DIGEST)
    assert not check.ok and check.reason == "the signed message-digest is not the hash of the TSTInfo"
    # A flipped bit in the signature (the last bytes of the DER).
    flipped = token[:-5] + bytes([token[-5] ^ 0x01]) + token[-4:]
    check = verify_token(flipped, digest=DIGEST)
    assert not check.ok and check.reason == "the timestamp token's signature does not verify"
    # A signed attribute changed (its message-digest recomputed for another TSTInfo): signature fails.
    parsed = cms.ContentInfo.load(token)
    signer = parsed["content"]["signer_infos"][0]
    for attr in signer["signed_attrs"]:
        if attr["type"].native == "message_digest":
            attr["values"] = [hashlib.sha256(b"forged").digest()]
    forged = verify_token(parsed.dump(force=True), digest=DIGEST)
    assert not forged.ok
    # Not a token at all.
    assert not verify_token(b"\x30\x00", digest=DIGEST).ok
    assert not verify_token(b"not DER", digest=DIGEST).ok


def test_a_rejection_gives_the_tsas_reason(rsa_authority: Authority) -> None:
    rsa_authority.mode = "reject"
    try:
        request, nonce = timestamp_request(DIGEST)
        with pytest.raises(ValueError, match=r"answered rejection: policy not accepted — unaccepted_policy"):
            token_from_response(rsa_authority.answer(request), digest=DIGEST, nonce=nonce)
        rsa_authority.mode = "garbage"
        with pytest.raises(ValueError, match="not a TimeStampResp"):
            token_from_response(rsa_authority.answer(request), digest=DIGEST, nonce=nonce)
    finally:
        rsa_authority.mode = "grant"
    with pytest.raises(ValueError, match="32 bytes"):
        timestamp_request(b"short")


_OPENSSL_TSA = """[ tsa ]
default_tsa = here
[ here ]
serial = {dir}/serial
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
ess_cert_id_alg = sha256
"""


@pytest.mark.skipif(shutil.which("openssl") is None, reason="an interoperability check with the openssl CLI")
def test_openssl_agrees_both_ways(rsa_authority: Authority, tmp_path: Path) -> None:
    """Another implementation: OpenSSL's TSA answers our request and its token verifies here; our test
    TSA's token verifies with `openssl ts -verify`, as docs/certificates.md tells a reader to check."""
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "tsa.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    cert_der = _certificate(key, "OpenSSL TSA")
    (tmp_path / "tsa.pem").write_bytes(x509.load_der_x509_certificate(cert_der).public_bytes(
        serialization.Encoding.PEM))
    (tmp_path / "serial").write_text("01\n")
    (tmp_path / "ts.cnf").write_text(_OPENSSL_TSA.format(dir=tmp_path))
    request, nonce = timestamp_request(DIGEST)
    (tmp_path / "request.tsq").write_bytes(request)
    subprocess.run(["openssl", "ts", "-reply", "-config", str(tmp_path / "ts.cnf"), "-queryfile",
                    str(tmp_path / "request.tsq"), "-out", str(tmp_path / "reply.tsr")], check=True,
                   capture_output=True)
    token = token_from_response((tmp_path / "reply.tsr").read_bytes(), digest=DIGEST, nonce=nonce)
    check = verify_token(token, digest=DIGEST, trusted_certs=[cert_der])
    assert check.ok, check.reason
    assert not verify_token(token, digest=bytes(32)).ok
    data = b'{"tree_size":1}'
    (tmp_path / "head.json").write_bytes(data)
    (tmp_path / "head.tsr").write_bytes(_stamp(rsa_authority, hashlib.sha256(data).digest()))
    (tmp_path / "ours.pem").write_bytes(x509.load_der_x509_certificate(rsa_authority.cert_der).public_bytes(
        serialization.Encoding.PEM))
    verified = subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / "head.json"), "-in",
                               str(tmp_path / "head.tsr"), "-token_in", "-CAfile", str(tmp_path / "ours.pem")],
                              capture_output=True, text=True)
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stderr


# ---- anchoring end to end ---------------------------------------------------------------------------


def _latest(db_url: str) -> tuple[int, dict[str, Any], bytes | None]:
    with get_engine(db_url).connect() as conn:
        row = conn.execute(text("SELECT tree_size, head, timestamp_token FROM tree_heads "
                                "ORDER BY tree_size DESC LIMIT 1")).one()
    head = json.loads(row[1]) if isinstance(row[1], str) else row[1]
    return int(row[0]), dict(head), None if row[2] is None else bytes(row[2])


def _client(make_client: Any, db_url: str, email: str = "ada@example.com", *, admin: bool = False,
            **settings: Any) -> Any:
    client = make_client(db_url, **settings)
    client.signup(email, name=email.split("@")[0].title())
    if admin:
        with get_engine(db_url).begin() as conn:
            conn.execute(text("UPDATE users SET role = 'super_admin' WHERE email = :e"), {"e": email})
    return client


@pytest.fixture
def heads(make_client: Any, minimal_build: Any) -> Path:
    """The published heads folder, emptied: the minimal build's data folder is shared by the session."""
    folder = minimal_build.site_dir.parent / "data" / "transparency"
    shutil.rmtree(folder, ignore_errors=True)
    return folder / "heads"


def _revoke(admin: Any, credential_id: str) -> None:
    response = admin.post(f"/api/certificates/{credential_id}/revoke", json={"reason": "test"})
    assert response.status_code == 200, response.text


def _anchored(db_url: str, authority: Authority) -> tuple[int, bytes]:
    """The latest head's size and token, checked against the head's canonical JSON and the TSA's certificate."""
    size, head, token = _latest(db_url)
    assert token is not None
    check = verify_token(token, digest=hashlib.sha256(canonical_json(head)).digest(),
                         trusted_certs=[authority.cert_der])
    assert check.ok, check.reason
    return size, token


def test_bronze_and_revocation_heads_are_anchored(make_client: Any, db_url: str, tsa: tuple[str, Authority],
                                                  heads: Path) -> None:
    url, authority = tsa
    client = _client(make_client, db_url, TIMESTAMP_AUTHORITY_URL=url)
    credential_id = _earn_bronze(client, db_url)["reward"]["new_certificates"][0]["credential_id"]
    # Bronze is issued inside the completion's transaction; once the response is sent, the app
    # publishes the log and anchors the new head (nothing else has to read the log first).
    size, token = _anchored(db_url, authority)
    assert size == 1 and authority.requests == 1
    assert (heads / "1.tsr").read_bytes() == token
    served = client.get("/transparency/heads/1.tsr")
    assert served.status_code == 200 and served.content == token
    assert served.headers["content-type"] == "application/timestamp-reply"
    # Anchored once: later publishes ask the TSA nothing more.
    assert client.get("/transparency/heads/1.json").status_code == 200
    assert authority.requests == 1
    # A revocation publishes (and so anchors) in its own request.
    admin = _client(make_client, db_url, "root@example.com", admin=True, TIMESTAMP_AUTHORITY_URL=url)
    _revoke(admin, credential_id)
    size, token = _anchored(db_url, authority)
    assert size == 2 and authority.requests == 2
    assert (heads / "2.tsr").read_bytes() == token


def test_a_tsa_that_is_down_or_refuses_never_fails_the_log(make_client: Any, db_url: str, heads: Path,
                                                           tsa: tuple[str, Authority],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connections are refused at once
        probe.bind(("127.0.0.1", 0))
        down = f"http://user:secret@127.0.0.1:{probe.getsockname()[1]}/tsr"
    client = _client(make_client, db_url, TIMESTAMP_AUTHORITY_URL=down)
    credential_id = _earn_bronze(client, db_url)["reward"]["new_certificates"][0]["credential_id"]
    assert client.get("/transparency/checkpoint.json").status_code == 200
    admin = _client(make_client, db_url, "root@example.com", admin=True, TIMESTAMP_AUTHORITY_URL=down)
    _revoke(admin, credential_id)
    assert _latest(db_url)[2] is None and not list(heads.glob("*.tsr"))
    warnings = [r.getMessage() for r in caplog.records if "timestamp authority" in r.getMessage()]
    assert len(warnings) == 2 and all("secret" not in w and "user" not in w for w in warnings)
    # A TSA that refuses: the log goes on and the TSA's reason is logged.
    url, authority = tsa
    authority.mode = "reject"
    other = _client(make_client, db_url, "grace@example.com", TIMESTAMP_AUTHORITY_URL=url)
    second = _earn_bronze(other, db_url)["reward"]["new_certificates"][0]["credential_id"]
    assert other.get("/transparency/checkpoint.json").status_code == 200
    assert _latest(db_url)[2] is None and authority.requests == 1
    assert any("rejection: policy not accepted" in r.getMessage() for r in caplog.records)
    # A TSA that redirects, and a URL that is not http(s): refused, nothing stored.
    authority.mode = "redirect"
    engine, settings = get_engine(db_url), other.app.state.settings
    for where in (url, "file:///etc/passwd"):
        assert translog.anchor(read=lambda: read_tx(engine), write=lambda: write_tx(engine),
                               settings=settings.model_copy(update={"TIMESTAMP_AUTHORITY_URL": where}),
                               db_key=f"direct:{where}", folder=heads.parent) is None
    assert authority.requests == 2 and _latest(db_url)[2] is None
    assert any("HTTP 307: the timestamp authority redirected" in r.getMessage() for r in caplog.records)
    assert any("must be an http(s) URL" in r.getMessage() for r in caplog.records)
    # The TSA back: the next head is anchored.
    authority.mode = "grant"
    admin = _client(make_client, db_url, "alan@example.com", admin=True, TIMESTAMP_AUTHORITY_URL=url)
    _revoke(admin, second)
    size, token = _anchored(db_url, authority)
    assert size == 4 and (heads / "4.tsr").read_bytes() == token


def test_anchoring_is_off_by_default(make_client: Any, db_url: str, tsa: tuple[str, Authority],
                                     heads: Path) -> None:
    _, authority = tsa
    client = _client(make_client, db_url)
    assert client.app.state.settings.TIMESTAMP_AUTHORITY_URL is None
    assert _earn_bronze(client, db_url)["reward"]["new_certificates"]
    assert client.get("/transparency/checkpoint.json").status_code == 200
    assert authority.requests == 0 and _latest(db_url)[2] is None and not list(heads.glob("*.tsr"))
