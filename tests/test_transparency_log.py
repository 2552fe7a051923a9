"""The RFC 9162 Merkle log (sidecar/credentials/merkle.py) and signed tree heads (tree_head.py).

Roots, inclusion and consistency proofs are checked exhaustively on small trees against `root_of`
(the RFC's definition, computed directly) and against known answers: hashes computed here with
hashlib, and the Certificate Transparency reference test vectors (RFC 6962 uses the same hashing).
A rewritten history must never pass a consistency check against a head signed before the rewrite.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sidecar.credentials import keys, merkle, tree_head
from sidecar.credentials.canonical import canonical_json

MAX = 40


def leaves(count: int, tag: str = "") -> list[bytes]:
    return [merkle.leaf_hash(canonical_json({"type": "issue", "n": n, "tag": tag})) for n in range(count)]


def log_of(hashes: list[bytes]) -> merkle.MerkleLog:
    log = merkle.MerkleLog()
    for position, leaf in enumerate(hashes):
        assert log.append(leaf) == position
    return log


@pytest.fixture(scope="module")
def hashes() -> list[bytes]:
    return leaves(70)


@pytest.fixture(scope="module")
def log(hashes: list[bytes]) -> merkle.MerkleLog:
    return log_of(hashes)


# ---- roots --------------------------------------------------------------------------------------------


def test_root_of_every_prefix_matches_the_direct_computation(hashes: list[bytes], log: merkle.MerkleLog) -> None:
    assert log.size == 70
    roots = set()
    for n in range(71):
        assert log.root(n) == merkle.root_of(hashes[:n]), n
        roots.add(log.root(n))
    assert len(roots) == 71  # every size has its own root
    assert log.root() == log.root(70)
    assert log.root(0) == merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()
    # Growing the log one leaf at a time gives the same roots as building it at once.
    growing = merkle.MerkleLog()
    for n, leaf in enumerate(hashes[:MAX], start=1):
        growing.append(leaf)
        assert growing.root() == log.root(n)


def test_sizes_outside_the_log_and_bad_leaves_are_refused(log: merkle.MerkleLog) -> None:
    for call in (lambda: log.root(71), lambda: log.root(-1), lambda: log.inclusion_proof(0, 71),
                 lambda: log.inclusion_proof(5, 5), lambda: log.inclusion_proof(-1, 5),
                 lambda: log.consistency_proof(0, 5), lambda: log.consistency_proof(6, 5),
                 lambda: log.consistency_proof(5, 71), lambda: merkle.MerkleLog().append(b"short")):
        with pytest.raises(ValueError):
            call()


# ---- known answers ------------------------------------------------------------------------------------


def test_three_leaf_tree_by_hand() -> None:
    data = [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    l0, l1, l2 = (hashlib.sha256(b"\x00" + d).digest() for d in data)
    h01 = hashlib.sha256(b"\x01" + l0 + l1).digest()
    root = hashlib.sha256(b"\x01" + h01 + l2).digest()  # the split is at 2: ((l0, l1), l2)
    assert [merkle.leaf_hash(d) for d in data] == [l0, l1, l2]
    assert merkle.node_hash(l0, l1) == h01
    log = log_of([l0, l1, l2])
    assert log.root() == merkle.root_of([l0, l1, l2]) == root
    assert log.root(2) == h01 and log.root(1) == l0
    assert log.inclusion_proof(0) == [l1, l2]
    assert log.inclusion_proof(1) == [l0, l2]
    assert log.inclusion_proof(2) == [h01]
    assert log.consistency_proof(1) == [l1, l2]
    assert log.consistency_proof(2) == [l2]
    assert log.consistency_proof(3) == []
    for index, leaf in enumerate([l0, l1, l2]):
        assert merkle.verify_inclusion(leaf=leaf, index=index, tree_size=3, proof=log.inclusion_proof(index),
                                       root=root)
    assert merkle.verify_consistency(old_size=2, new_size=3, old_root=h01, new_root=root, proof=[l2])
    # The domain separation matters: a leaf and a node over the same bytes hash differently.
    assert merkle.leaf_hash(l0 + l1) != h01


# The Certificate Transparency reference vectors (certificate-transparency's and Trillian's merkle
# tests): leaf inputs, the tree head of every size 1..8, and proofs (leaf indexes here 0-based).
CT_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CT_CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def test_certificate_transparency_reference_vectors() -> None:
    log = log_of([merkle.leaf_hash(bytes.fromhex(data)) for data in CT_INPUTS])
    assert [log.root(n).hex() for n in range(1, 9)] == CT_ROOTS
    for index, size, expected in CT_INCLUSION:
        proof = log.inclusion_proof(index, size)
        assert [p.hex() for p in proof] == expected, (index, size)
        assert merkle.verify_inclusion(leaf=merkle.leaf_hash(bytes.fromhex(CT_INPUTS[index])), index=index,
                                       tree_size=size, proof=proof, root=bytes.fromhex(CT_ROOTS[size - 1]))
    for first, second, expected in CT_CONSISTENCY:
        proof = log.consistency_proof(first, second)
        assert [p.hex() for p in proof] == expected, (first, second)
        assert merkle.verify_consistency(old_size=first, new_size=second, old_root=bytes.fromhex(CT_ROOTS[first - 1]),
                                         new_root=bytes.fromhex(CT_ROOTS[second - 1]), proof=proof)


# ---- inclusion proofs ---------------------------------------------------------------------------------


def test_every_inclusion_proof_verifies_and_every_wrong_one_fails(hashes: list[bytes], log: merkle.MerkleLog) -> None:
    wrong_leaf = merkle.leaf_hash(b"not in the log")
    checked = 0
    for n in range(1, MAX + 1):
        root = log.root(n)
        for i in range(n):
            proof = log.inclusion_proof(i, n)
            assert len(proof) <= (n - 1).bit_length()

            def ok(*, leaf: bytes = hashes[i], index: int = i, size: int = n, path: list[bytes] = proof,
                   against: bytes = root) -> bool:
                return merkle.verify_inclusion(leaf=leaf, index=index, tree_size=size, proof=path, root=against)

            assert ok(), (i, n)
            assert not ok(leaf=wrong_leaf)
            assert not ok(leaf=merkle.node_hash(hashes[i], hashes[i]))
            for other in {i - 1, i + 1, i ^ 1, i ^ 2, n, -1} - {i}:
                assert not ok(index=other), (i, n, other)
            # A wrong size fails when it changes the path's shape (the reference tests' 2n and n/2). A
            # size with the same shape may pass (size 4 with leaf 2's hash standing in for the subtree
            # of leaves 2-3): a proof holds for the (size, root) pair, and the signed head binds both.
            for size in {2 * n, n // 2} - {n}:
                assert not ok(size=size), (i, n, size)
            assert not ok(path=[*proof, proof[-1] if proof else root])  # extended
            assert not ok(path=[root, *proof])
            if proof:
                assert not ok(path=proof[:-1])  # truncated
                assert not ok(path=proof[1:])
                for k in range(len(proof)):
                    flipped = bytearray(proof[k])
                    flipped[0] ^= 1
                    assert not ok(path=[*proof[:k], bytes(flipped), *proof[k + 1:]])
            assert not ok(against=merkle.EMPTY_ROOT)
            checked += 1
    assert checked == MAX * (MAX + 1) // 2


# ---- consistency proofs -------------------------------------------------------------------------------


def test_every_consistency_proof_verifies(log: merkle.MerkleLog) -> None:
    for n in range(1, MAX + 1):
        for m in range(1, n + 1):
            proof = log.consistency_proof(m, n)
            old, new = log.root(m), log.root(n)

            def ok(*, first: int = m, second: int = n, path: list[bytes] = proof, old_root: bytes = old,
                   new_root: bytes = new) -> bool:
                return merkle.verify_consistency(old_size=first, new_size=second, old_root=old_root,
                                                 new_root=new_root, proof=path)

            assert ok(), (m, n)
            if m == n:
                assert proof == [] and not ok(path=[old])
                continue
            assert not ok(old_root=merkle.EMPTY_ROOT) and not ok(new_root=merkle.EMPTY_ROOT)
            assert not ok(old_root=new, new_root=old)
            assert not ok(path=proof[:-1]) and not ok(path=[*proof, old]) and not ok(path=[])
            for other in {m - 1, m + 1, m ^ 2} - {m} - {0}:
                if other <= n and log.root(other) != old:
                    assert not ok(first=other), (m, n, other)
            for size in {2 * n, n // 2} - {n}:  # as for inclusion proofs: sizes that change the shape
                if size >= m:
                    assert not ok(second=size), (m, n, size)


def _detected(old_head_size: int, old_root: bytes, rewritten: merkle.MerkleLog) -> bool:
    """Can the rewritten log convince someone holding the old signed (size, root) that it only grew?"""
    for new_size in range(old_head_size, rewritten.size + 1):
        proof = rewritten.consistency_proof(old_head_size, new_size)
        if merkle.verify_consistency(old_size=old_head_size, new_size=new_size, old_root=old_root,
                                     new_root=rewritten.root(new_size), proof=proof):
            return False
    return True


def test_a_rewritten_history_is_detected(hashes: list[bytes], log: merkle.MerkleLog) -> None:
    for m in range(1, 24):
        old_root = log.root(m)  # what a monitor saw in a signed head of size m
        for changed in range(m):
            # Same size, one earlier leaf changed, then grown as usual.
            rewritten = list(hashes[:32])
            rewritten[changed] = merkle.leaf_hash(b"rewritten %d" % changed)
            assert _detected(m, old_root, log_of(rewritten)), (m, changed)
        # Rebuilt with one leaf removed and another appended: the same size as before.
        for removed in range(m):
            rebuilt = hashes[:removed] + hashes[removed + 1:m] + [merkle.leaf_hash(b"appended")] + hashes[m:32]
            assert _detected(m, old_root, log_of(rebuilt)), (m, removed)
        # The honest log grown from it passes the same check.
        assert not _detected(m, old_root, log_of(hashes[:32]))


def test_a_forged_proof_for_a_rewritten_log_fails(hashes: list[bytes], log: merkle.MerkleLog) -> None:
    # The forger rewrites leaf 3 and presents the honest proof (old 10 -> new 20) with the new root.
    rewritten = list(hashes[:20])
    rewritten[3] = merkle.leaf_hash(b"forged")
    forged_root = log_of(rewritten).root()
    honest_proof = log.consistency_proof(10, 20)
    assert merkle.verify_consistency(old_size=10, new_size=20, old_root=log.root(10), new_root=log.root(20),
                                     proof=honest_proof)
    assert not merkle.verify_consistency(old_size=10, new_size=20, old_root=log.root(10), new_root=forged_root,
                                         proof=honest_proof)


# ---- signed tree heads --------------------------------------------------------------------------------

KEY_ID = "https://learn.example.test/api/issuer#key-1"
AT = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return keys.generate_private_key()


def test_a_signed_tree_head_verifies(key: Ed25519PrivateKey, log: merkle.MerkleLog) -> None:
    head = tree_head.sign_tree_head(tree_size=70, root_hash=log.root(), timestamp=AT, private_key=key, key_id=KEY_ID)
    assert head["tree_size"] == 70 and head["root_hash"] == log.root().hex()
    assert head["timestamp"] == "2025-03-01T12:00:05Z" and head["key_id"] == KEY_ID
    assert tree_head.verify_tree_head(head, {KEY_ID: key.public_key()}.get) is None
    # Exactly these bytes are signed: a fixed prefix and the canonical JSON of the four fields.
    message = b"dronacharya-tree-head-v1\n" + canonical_json({k: head[k] for k in
                                                              ("tree_size", "root_hash", "timestamp", "key_id")})
    key.public_key().verify(keys.multibase_decode(head["signature"]), message)


@pytest.mark.parametrize(("field", "value"), [
    ("tree_size", 71), ("tree_size", 69), ("root_hash", "00" * 32), ("timestamp", "2025-03-01T12:00:06Z"),
    ("key_id", "https://learn.example.test/api/issuer#key-2"),
])
def test_an_altered_tree_head_fails(key: Ed25519PrivateKey, log: merkle.MerkleLog, field: str, value: object) -> None:
    head = tree_head.sign_tree_head(tree_size=70, root_hash=log.root(), timestamp=AT, private_key=key, key_id=KEY_ID)
    head[field] = value
    problem = tree_head.verify_tree_head(head, lambda _key_id: key.public_key())
    assert problem == "the tree head's signature does not verify"


def test_a_tree_head_by_an_unknown_key_fails(key: Ed25519PrivateKey, log: merkle.MerkleLog) -> None:
    stranger = keys.generate_private_key()
    head = tree_head.sign_tree_head(tree_size=70, root_hash=log.root(), timestamp=AT, private_key=stranger,
                                    key_id=KEY_ID)
    assert tree_head.verify_tree_head(head, {KEY_ID: key.public_key()}.get) == \
        "the tree head's signature does not verify"
    elsewhere = dict(head, key_id="https://evil.example/api/issuer#key-1")
    assert "not one of the issuer's keys" in str(tree_head.verify_tree_head(elsewhere, {KEY_ID: key.public_key()}.get))


@pytest.mark.parametrize("head", [
    {}, {"tree_size": "70", "signature": "z1"}, {"tree_size": 70}, {"tree_size": 70, "signature": "z1"},
    {"tree_size": 70, "signature": "not multibase", "root_hash": "00", "timestamp": "t", "key_id": KEY_ID},
])
def test_a_malformed_tree_head_fails(key: Ed25519PrivateKey, head: dict[str, object]) -> None:
    assert tree_head.verify_tree_head(head, lambda _key_id: key.public_key()) is not None
