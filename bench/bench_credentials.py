"""Credentials: signing, verifying and issuing, and the transparency log at a million entries (§9.4).

Measures, on this machine:
  - sign and verify p50 of a realistic Open Badges 3.0 credential (eddsa-rdfc-2022: RDF
    canonicalisation with pyld, SHA-256, Ed25519), and the p50 of a whole offline bundle check
    (`drona verify`: signature, issuer, validity, status list, log inclusion);
  - issue-and-sign p50 through the real service: `certificates.service.issue_in_tx` in its own write
    transaction on a fresh SQLite database over the demo catalog (sign, status index, log append
    with a signed tree head, the certificate row, XP and achievements), one new learner each time;
  - for a log of --entries generated entries (default 1,000,000): the time to hash the leaves and
    to build the MerkleLog, then an inclusion proof's size (hashes and bytes) with its p50 time to
    build and to verify, and the same for a consistency proof from a random earlier size.
The issuer's key is decrypted once per process (cached), so the first issuance is left out.

Run: .venv/bin/python bench/bench_credentials.py [--entries 1000000] [-n 50] [--proofs 1000] [--catalog demo|minimal]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sidecar.catalog.service import get_index  # noqa: E402
from sidecar.certificates import service  # noqa: E402
from sidecar.compiler.build import build  # noqa: E402
from sidecar.credentials import badge, integrity, keys, merkle, status_list, tree_head  # noqa: E402
from sidecar.credentials.bundle import canonical_json, credential_digest, verify_bundle  # noqa: E402
from sidecar.db.engine import get_engine, write_tx  # noqa: E402
from sidecar.db.migrate import upgrade  # noqa: E402
from sidecar.settings import Settings  # noqa: E402

BASE = "https://learn.example.test"
ISSUER = BASE + "/api/issuer"
METHOD = ISSUER + "#key-1"
LIST_URL = BASE + "/api/issuer/status/1"
ISSUED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<44}{value:>16}  {note}")


# ---- sign / verify -----------------------------------------------------------------------------------


def realistic_credential(index: int) -> dict[str, Any]:
    """A Silver credential as the sidecar issues it: four section results, two evidence items, a status entry."""
    certificate_id = str(uuid.UUID(int=index + 1))
    narrative = "Pass the proctored assessment with 80 % overall and no section below 60 %."
    achievement = {"id": f"{BASE}/api/certifications/python-basics/silver", "type": ["Achievement"],
                   "name": "Python Basics: Silver certificate", "description": narrative,
                   "criteria": {"narrative": narrative}, "achievementType": "Certificate"}
    results = [{"type": ["Result"], "value": f"{label}: {points} / {maximum}"} for label, points, maximum in
               (("Conceptual", 34.5, 40), ("Code analysis", 18, 20), ("Coding challenges", 27, 30),
                ("System design", 8, 10))]
    return badge.open_badge(
        credential_url=f"urn:uuid:{certificate_id}",
        issuer={"id": ISSUER, "type": ["Profile"], "name": "Dronacharya", "url": BASE},
        holder_name="Zoë Ångström", achievement=achievement, valid_from=ISSUED, results=results,
        evidence=[{"id": f"{BASE}/verify/{certificate_id}", "type": ["Evidence"], "name": "Grading evidence",
                   "narrative": "assessment_attempt_id: 42; content_commit: 0a1b2c3d; tests_sha256: " + "f" * 64},
                  {"id": "https://demo.example.test/app", "type": ["Evidence"], "name": "Live project demo"}],
        status=status_list.status_entry(list_url=LIST_URL, index=1000 + index),  # the bench's list revokes bit 7
        name="Python Basics: Silver certificate")


def sample_bundle(key: Any, credential: dict[str, Any]) -> dict[str, Any]:
    """What `drona verify FILE` checks: the credential, the keys, a signed status list and a log proof."""
    log = merkle.MerkleLog()
    for i in range(100):
        log.append(merkle.leaf_hash(b"earlier %d" % i))
    leaf = {"type": "issue", "credential_id": credential["id"], "credential_sha256": credential_digest(credential),
            "at": "2025-03-01T12:00:00Z"}
    index = log.append(merkle.leaf_hash(canonical_json(leaf)))
    status = integrity.sign(status_list.status_list_credential(list_url=LIST_URL, issuer_id=ISSUER,
                                                               encoded_list=status_list.encode([7]), valid_from=ISSUED),
                            private_key=key, verification_method=METHOD, created=ISSUED)
    head = tree_head.sign_tree_head(tree_size=log.size, root_hash=log.root(), timestamp=ISSUED, private_key=key,
                                    key_id=METHOD)
    return {"credential": credential,
            "verification_methods": [keys.multikey_document(key_id=METHOD, controller=ISSUER,
                                                            public_key=key.public_key())],
            "status_list": status,
            "log": {"leaf": leaf, "leaf_index": index, "tree_size": log.size, "root_hash": log.root().hex(),
                    "inclusion_proof": [p.hex() for p in log.inclusion_proof(index)], "tree_head": head}}


def bench_sign_verify(n: int) -> None:
    key = keys.generate_private_key()
    resolve = {METHOD: key.public_key()}.get
    now = ISSUED + timedelta(days=1)
    for _ in range(3):  # warm up: pyld's context cache, the first use of the key
        integrity.verify(integrity.sign(realistic_credential(0), private_key=key, verification_method=METHOD,
                                        created=ISSUED), resolve_key=resolve)
    samples: dict[str, list[float]] = {"sign": [], "verify": [], "bundle": []}
    size = 0
    # The three take turns on each credential, so a change in the machine's load hits all of them alike.
    for i in range(n):
        document = realistic_credential(i)
        start = time.perf_counter()
        signed = integrity.sign(document, private_key=key, verification_method=METHOD, created=ISSUED)
        samples["sign"].append(time.perf_counter() - start)
        start = time.perf_counter()
        assert integrity.verify(signed, resolve_key=resolve).ok
        samples["verify"].append(time.perf_counter() - start)
        bundle = sample_bundle(key, signed)
        start = time.perf_counter()
        assert verify_bundle(bundle, now=now).ok
        samples["bundle"].append(time.perf_counter() - start)
        size = len(canonical_json(signed))
    print(f"Sign and verify (a Silver credential, {size:,} bytes as JSON, N={n}):")
    for key_name, label, note in (("sign", "sign p50 (integrity.sign)", ""),
                                  ("verify", "verify p50 (integrity.verify)", ""),
                                  ("bundle", "verify bundle p50 (drona verify's checks)",
                                   "2 signatures (credential, status list) + head + inclusion")):
        values = samples[key_name]
        row(label, f"{p50_ms(values):.1f} ms", f"max {max(values) * 1000:.1f} ms" + (f"; {note}" if note else ""))


# ---- issue and sign through the service ------------------------------------------------------------------


def add_learner(engine: Any, n: int) -> str:
    from sidecar.auth.tables import User, UserProfile
    from sidecar.db.engine import write_session

    user_id = str(uuid.uuid4())
    with write_session(engine) as session:
        # No password hashing: the learner only needs to exist for issuing.
        session.add(User(id=user_id, email=f"bench-{n}@example.test", password_hash="-", display_name=f"Learner {n}"))
        session.add(UserProfile(user_id=user_id, timezone="UTC", onboarding={}))
    return user_id


def bench_issue(n: int, catalog: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        content = REPO / "content" if catalog == "demo" else REPO / "tests" / "fixtures" / "minimal" / "content"
        start = time.perf_counter()
        report = build(repo=REPO, content_dir=content, build_dir=Path(tmp) / "build", log=lambda _: None)
        built = time.perf_counter() - start
        catalog_db = report.site_dir.parent / "catalog.db"
        course_id = sorted(get_index(catalog_db=catalog_db).courses)[0]
        url = f"sqlite:///{tmp}/learners.db"
        upgrade(url)
        engine = get_engine(url)
        settings = Settings(DATABASE_URL=url, DRONA_BUILD_DIR=report.site_dir.parent,
                            DRONA_DATA_DIR=Path(tmp) / "data", APP_URL=BASE)
        scores = [service.Score(key=f"quiz:{q}", label=f"Quiz {q}", points=80 + q, max_points=100) for q in range(4)]
        evidence = {"content_commit": "0a1b2c3d", "tests_sha256": "f" * 64}

        def issue(user_id: str) -> None:
            with write_tx(engine) as tx:
                issued = service.issue_in_tx(tx, settings=settings, catalog_db=catalog_db, db_key=url, user_id=user_id,
                                             course_id=course_id, tier="bronze", scores=scores, evidence=evidence,
                                             gamification_enabled=settings.ENABLE_GAMIFICATION)
            assert issued.created

        issue(add_learner(engine, 0))  # creates and decrypts the issuer key: not a typical issuance
        learners = [add_learner(engine, i + 1) for i in range(n)]
        samples = []
        for user_id in learners:
            start = time.perf_counter()
            issue(user_id)
            samples.append(time.perf_counter() - start)
        engine.dispose()
    print(f"Issue and sign through the service ({catalog} catalog, built in {built:.1f} s; SQLite; N={n}):")
    row("issue-and-sign p50 (issue_in_tx + commit)", f"{p50_ms(samples):.1f} ms",
        f"max {max(samples) * 1000:.1f} ms; sign, log append + signed head, row, XP")


# ---- the log at scale ------------------------------------------------------------------------------------


def bench_log(entries: int, proofs: int) -> None:
    rng = random.Random(9162)
    start = time.perf_counter()
    leaves = [merkle.leaf_hash(canonical_json({"type": "issue", "credential_id": f"urn:uuid:{uuid.UUID(int=i)}",
                                               "credential_sha256": f"{i:064x}", "at": "2025-03-01T12:00:00Z"}))
              for i in range(entries)]
    hashed = time.perf_counter() - start
    start = time.perf_counter()
    log = merkle.MerkleLog()
    for leaf in leaves:
        log.append(leaf)
    built = time.perf_counter() - start
    start = time.perf_counter()
    root = log.root()
    root_time = time.perf_counter() - start
    head = log.size

    lengths, make, check = [], [], []
    for index in (rng.randrange(head) for _ in range(proofs)):
        start = time.perf_counter()
        proof = log.inclusion_proof(index)
        make.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert merkle.verify_inclusion(leaf=leaves[index], index=index, tree_size=head, proof=proof, root=root)
        check.append(time.perf_counter() - start)
        lengths.append(len(proof))
    c_lengths, c_make, c_check = [], [], []
    for old in (rng.randrange(1, head) for _ in range(proofs)):
        old_root = log.root(old)
        start = time.perf_counter()
        proof = log.consistency_proof(old, head)
        c_make.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert merkle.verify_consistency(old_size=old, new_size=head, old_root=old_root, new_root=root, proof=proof)
        c_check.append(time.perf_counter() - start)
        c_lengths.append(len(proof))

    def size(hashes: list[int]) -> str:
        typical = int(statistics.median(hashes))
        # As served in a bundle: hex strings in a JSON list ('"…",' per hash).
        return f"{typical} hashes, {typical * merkle.HASH_SIZE} B ({typical * 67} B as JSON hex)"

    print(f"Transparency log of {entries:,} generated entries ({proofs:,} random proofs of each kind):")
    row("generate and hash the leaves (JSON, SHA-256)", f"{hashed:.2f} s", f"{hashed / entries * 1e6:.2f} µs/entry")
    row("build the MerkleLog (append all)", f"{built:.2f} s", f"{built / entries * 1e6:.2f} µs/entry")
    row("root of the whole log", f"{root_time * 1e6:.0f} µs")
    row("inclusion proof size (median)", "", size(lengths) + f"; max {max(lengths)} hashes")
    row("inclusion proof build p50", f"{p50_ms(make) * 1000:.0f} µs", f"max {max(make) * 1e6:.0f} µs")
    row("inclusion proof verify p50", f"{p50_ms(check) * 1000:.0f} µs")
    row("consistency proof size (median)", "", size(c_lengths) + f"; max {max(c_lengths)} hashes")
    row("consistency proof build p50", f"{p50_ms(c_make) * 1000:.0f} µs", f"max {max(c_make) * 1e6:.0f} µs")
    row("consistency proof verify p50", f"{p50_ms(c_check) * 1000:.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000, help="generated log entries")
    parser.add_argument("-n", type=int, default=50, help="credentials signed, verified and issued")
    parser.add_argument("--proofs", type=int, default=1000, help="random proofs of each kind on the big log")
    parser.add_argument("--catalog", choices=("demo", "minimal"), default="demo", help="the catalog issued from")
    args = parser.parse_args()
    if args.entries < 2 or args.n < 1 or args.proofs < 1:
        parser.error("--entries must be at least 2, -n and --proofs at least 1")
    bench_sign_verify(args.n)
    bench_issue(args.n, args.catalog)
    bench_log(args.entries, args.proofs)


if __name__ == "__main__":
    main()
