"""An append-only Merkle tree as in RFC 9162 (Certificate Transparency 2.0), §2.1.

Leaf hash: SHA-256(0x00 ‖ data); interior node: SHA-256(0x01 ‖ left ‖ right); the root of a
tree of n leaves splits at the largest power of two below n. `MerkleLog` keeps every complete
subtree's hash (one bytearray per level, 32 bytes a node), so roots of any earlier size, inclusion
proofs and consistency proofs cost O(log² n) hashes at most, even at millions of entries. The
verification functions are the RFC's algorithms (§2.1.3.2, §2.1.4.2), independent of the tree.
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleLog:
    """Leaf hashes appended in order; roots and proofs for any tree size up to the current one."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]

    @property
    def size(self) -> int:
        return len(self._levels[0]) // HASH_SIZE

    def append(self, leaf: bytes) -> int:
        """Append a leaf hash (see `leaf_hash`); returns its index."""
        if len(leaf) != HASH_SIZE:
            raise ValueError("a leaf is its 32-byte hash")
        index = self.size
        self._levels[0] += leaf
        level, position, current = 0, index, bytes(leaf)
        while position & 1:  # a right child completes its parent
            left = self._node(level, position - 1)
            current = node_hash(left, current)
            level += 1
            position >>= 1
            if len(self._levels) == level:
                self._levels.append(bytearray())
            self._levels[level] += current
        return index

    def _node(self, level: int, position: int) -> bytes:
        start = position * HASH_SIZE
        return bytes(self._levels[level][start:start + HASH_SIZE])

    def _root(self, low: int, high: int) -> bytes:
        n = high - low
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and low % n == 0:
            level = n.bit_length() - 1
            return self._node(level, low >> level)
        k = _split(n)
        return node_hash(self._root(low, low + k), self._root(low + k, high))

    def _check(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is outside the log (size {self.size})")

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first `size` leaves (default: all)."""
        size = self.size if size is None else size
        self._check(size)
        return self._root(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1)."""
        size = self.size if size is None else size
        self._check(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of size {size}")
        return self._path(index, 0, size)

    def _path(self, index: int, low: int, high: int) -> list[bytes]:
        n = high - low
        if n == 1:
            return []
        k = _split(n)
        if index < k:
            return [*self._path(index, low, low + k), self._root(low + k, high)]
        return [*self._path(index - k, low + k, high), self._root(low, low + k)]

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """The proof that the tree of `first` leaves is a prefix of the tree of `second` (§2.1.4.1)."""
        second = self.size if second is None else second
        self._check(second)
        if not 0 < first <= second:
            raise ValueError(f"a consistency proof needs 0 < first ≤ second (got {first}, {second})")
        return self._subproof(first, 0, second, True)

    def _subproof(self, m: int, low: int, high: int, whole: bool) -> list[bytes]:
        n = high - low
        if m == n:
            return [] if whole else [self._root(low, high)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, low, low + k, whole), self._root(low + k, high)]
        return [*self._subproof(m - k, low + k, high, False), self._root(low, low + k)]


def root_of(leaves: list[bytes]) -> bytes:
    """The root over leaf hashes, computed directly (for checks independent of `MerkleLog`)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def verify_inclusion(*, leaf: bytes, index: int, tree_size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: is `leaf` at `index` of the tree of `tree_size` leaves with this root?"""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(*, old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of `old_size` leaves a prefix of the one of `new_size`?"""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
