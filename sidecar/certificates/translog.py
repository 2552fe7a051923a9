"""The transparency log: every issuance and revocation appended to an RFC 9162 Merkle tree.

Instead of a blockchain (§9.4's "anchoring optional for enterprise"): anyone holding an old signed
tree head can ask for a consistency proof and detect a rewritten history, and every credential
comes with an inclusion proof. Leaves are the canonical JSON of the event (`credentials.bundle`'s
`canonical_json`); the leaf hashes are stored beside them. After each append a tree head is
signed with the issuer's key and stored; `publish` writes the log as static files under
DRONA_DATA_DIR/transparency (served at /transparency/): `checkpoint.json` (the latest signed head),
`heads/<size>.json` and `entries/<index>.json`. With TIMESTAMP_AUTHORITY_URL set, `anchor` (after
the append's transaction) has the latest head time-stamped by an RFC 3161 authority: `heads/<size>.tsr`.

Appends are serialised: inside the caller's write transaction (BEGIN IMMEDIATE on SQLite, a
transaction-scoped advisory lock on PostgreSQL), so indexes are dense and heads are never forked.
The hashes are cached per process in a `MerkleLog`; the cache checks itself against the database
(size and last leaf hash) before use and is rebuilt when another process appended or a
transaction that appended to it rolled back.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import IO, Any

from sidecar.credentials import merkle, timestamp, tree_head
from sidecar.credentials.bundle import canonical_json
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx
from sidecar.settings import Settings

from . import issuer
from .tables import LogEntry

log = logging.getLogger(__name__)
_ENTRIES = LogEntry.__table__.c
_PG_LOCK = 1_400_014  # pg_advisory_xact_lock key of the log's appends
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Proof:
    leaf: dict[str, Any]
    leaf_index: int
    tree_size: int
    root_hash: str
    inclusion_proof: list[str]
    tree_head: dict[str, Any]
    verified: bool


@dataclass
class _Cached:
    tree: merkle.MerkleLog
    last: bytes | None = None  # the newest leaf hash, to notice a log that diverged from the database

    def append(self, leaf: bytes) -> None:
        self.tree.append(leaf)
        self.last = leaf


_caches: dict[str, _Cached] = {}


def _synced(tx: Tx, db_key: str) -> merkle.MerkleLog:
    """The process's MerkleLog, brought up to date with the database (rebuilt if it diverged)."""
    size = int(tx.row("SELECT count(*) FROM log_entries", {})[0])
    with _cache_lock:
        cached = _caches.get(db_key)
    if cached is not None and cached.tree.size <= size:
        ok = cached.tree.size == 0
        if not ok:
            last = tx.row("SELECT leaf_hash FROM log_entries WHERE idx = :idx", {"idx": cached.tree.size - 1})
            ok = last is not None and bytes.fromhex(str(last[0])) == cached.last
        if ok:
            for row in tx.rows("SELECT leaf_hash FROM log_entries WHERE idx >= :start ORDER BY idx",
                               {"start": cached.tree.size}):
                cached.append(bytes.fromhex(str(row[0])))
            return cached.tree
    fresh = _Cached(merkle.MerkleLog())
    for row in tx.rows("SELECT leaf_hash FROM log_entries ORDER BY idx", {}):
        fresh.append(bytes.fromhex(str(row[0])))
    with _cache_lock:
        _caches[db_key] = fresh
    return fresh.tree


def _remember(db_key: str, leaf: bytes) -> None:
    with _cache_lock:
        cached = _caches.get(db_key)
        if cached is not None:
            cached.last = leaf


def append(tx: Tx, *, settings: Settings, db_key: str, kind: str, credential_id: str, event: dict[str, Any],
           at: datetime) -> int:
    """Append one event (inside the caller's write transaction) and sign the new tree head; its index."""
    if tx.dialect.name == "postgresql":
        tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _PG_LOCK})
    tree = _synced(tx, db_key)
    data = canonical_json(event)
    leaf = merkle.leaf_hash(data)
    index = tree.size
    tx.execute("INSERT INTO log_entries (idx, kind, credential_id, leaf, leaf_hash, created_at) "
               "VALUES (:idx, :kind, :credential_id, :leaf, :leaf_hash, :at)",
               {"idx": index, "kind": kind, "credential_id": credential_id, "leaf": data.decode("utf-8"),
                "leaf_hash": leaf.hex(), "at": tx.to_db(_ENTRIES.created_at, at)})
    tree.append(leaf)  # checked against the database on the next use: a rollback is noticed there
    _remember(db_key, leaf)
    key = issuer.signing_key(tx, settings=settings)
    root = tree.root()
    head = tree_head.sign_tree_head(tree_size=tree.size, root_hash=root, timestamp=at,
                                    private_key=key.private_key, key_id=key.method_id)
    tx.execute("INSERT INTO tree_heads (tree_size, root_hash, head, created_at) "
               "VALUES (:size, :root, :head, :at)",
               {"size": tree.size, "root": root.hex(), "head": json.dumps(head),
                "at": tx.to_db(_ENTRIES.created_at, at)})
    return index


def latest_head(tx: Tx) -> dict[str, Any] | None:
    row = tx.row("SELECT head FROM tree_heads ORDER BY tree_size DESC LIMIT 1", {})
    if row is None:
        return None
    value = row[0]
    return dict(json.loads(value) if isinstance(value, str) else value)


def head_at(tx: Tx, size: int) -> dict[str, Any] | None:
    row = tx.row("SELECT head FROM tree_heads WHERE tree_size = :size", {"size": size})
    if row is None:
        return None
    value = row[0]
    return dict(json.loads(value) if isinstance(value, str) else value)


def inclusion(tx: Tx, *, db_key: str, index: int) -> Proof | None:
    """The inclusion proof of entry `index` against the latest signed head, checked before it is shown."""
    entry = tx.row("SELECT leaf, leaf_hash FROM log_entries WHERE idx = :idx", {"idx": index})
    head = latest_head(tx)
    if entry is None or head is None:
        return None
    tree = _synced(tx, db_key)
    size = int(head["tree_size"])
    size = min(size, tree.size)
    proof = tree.inclusion_proof(index, size)
    root = tree.root(size)
    leaf_hash = bytes.fromhex(str(entry[1]))
    verified = (leaf_hash == merkle.leaf_hash(str(entry[0]).encode("utf-8"))
                and merkle.verify_inclusion(leaf=leaf_hash, index=index, tree_size=size, proof=proof, root=root)
                and root.hex() == head.get("root_hash"))
    return Proof(leaf=json.loads(str(entry[0])), leaf_index=index, tree_size=size, root_hash=root.hex(),
                 inclusion_proof=[p.hex() for p in proof], tree_head=head, verified=verified)


def consistency(tx: Tx, *, db_key: str, first: int, second: int) -> list[str]:
    tree = _synced(tx, db_key)
    return [p.hex() for p in tree.consistency_proof(first, second)]


def size(tx: Tx) -> int:
    return int(tx.row("SELECT count(*) FROM log_entries", {})[0])


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True)
        temp = Path(out.name)
    os.replace(temp, path)


def publish(tx: Tx, *, folder: Path) -> int:
    """Write the entries and heads not yet published, then the checkpoint; returns entries written.

    Idempotent and safe to run from several processes (atomic replaces of identical content).
    """
    entries = folder / "entries"
    head = latest_head(tx)
    if head is None:
        return 0
    checkpoint = folder / "checkpoint.json"
    try:
        if checkpoint.exists() and json.loads(checkpoint.read_text("utf-8")).get("tree_size") == head["tree_size"]:
            return 0
    except (OSError, ValueError):
        pass
    written = 0
    for row in tx.rows("SELECT idx, kind, credential_id, leaf, leaf_hash FROM log_entries ORDER BY idx", {}):
        target = entries / f"{int(row[0])}.json"
        if not target.exists():
            _write(target, {"index": int(row[0]), "kind": row[1], "credential_id": row[2],
                            "leaf": json.loads(str(row[3])), "leaf_hash": row[4]})
            written += 1
    for row in tx.rows("SELECT tree_size, head FROM tree_heads ORDER BY tree_size", {}):
        target = folder / "heads" / f"{int(row[0])}.json"
        if not target.exists():
            value = row[1]
            _write(target, dict(json.loads(value) if isinstance(value, str) else value))
    _write(checkpoint, head)
    return written


def published_folder(settings: Settings) -> Path:
    return settings.DRONA_DATA_DIR / "transparency"


def now() -> datetime:
    return utcnow()


# ---- anchoring to an RFC 3161 timestamp authority (TIMESTAMP_AUTHORITY_URL; off by default) -------------

_ANCHOR_TIMEOUT_S = 10
_ANCHOR_MAX_REPLY = 1 << 20  # a token with its certificate chain is a few KiB; more is not a TSA's answer
_ANCHOR_RETRY_S = 60.0  # a failed head is retried by a later publish, but not by every transparency file read
_anchor_lock = threading.Lock()
_anchor_failed: dict[tuple[str, int, str], float] = {}  # (db_key, size, root) -> monotonic time of the failure


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A TSA answers the POST itself: a redirect (another host, or a POST turned into a GET) is refused."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Message, newurl: str) -> urllib.request.Request | None:
        raise urllib.error.HTTPError(req.full_url, code, "the timestamp authority redirected; not followed",
                                     headers, fp)


def _where(url: str) -> str:
    """The TSA's scheme and host for log lines: never user:password@ or a query that may hold a token."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a malformed port: the warning is still logged, never an error of the caller's
        port = None
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{port}" if port else "")


def _ask_tsa(url: str, digest: bytes) -> bytes:
    """POST a TimeStampReq for `digest`; the checked TimeStampToken (ValueError / OSError on failure)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("TIMESTAMP_AUTHORITY_URL must be an http(s) URL")
    request_der, nonce = timestamp.timestamp_request(digest)
    request = urllib.request.Request(url, data=request_der, method="POST",  # noqa: S310 - http(s) checked above
                                     headers={"Content-Type": "application/timestamp-query",
                                              "Accept": "application/timestamp-reply"})
    opener = urllib.request.build_opener(_NoRedirects)
    with opener.open(request, timeout=_ANCHOR_TIMEOUT_S) as reply:
        body = bytes(reply.read(_ANCHOR_MAX_REPLY + 1))
    if len(body) > _ANCHOR_MAX_REPLY:
        raise ValueError("the timestamp authority's answer is too large")
    token = timestamp.token_from_response(body, digest=digest, nonce=nonce)
    check = timestamp.verify_token(token, digest=digest)
    if not check.ok:
        raise ValueError(check.reason or "the timestamp token does not verify")
    return token


def _write_token(folder: Path, size: int, token: bytes) -> None:
    target = folder / "heads" / f"{size}.tsr"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=target.parent, delete=False, suffix=".tmp") as out:
        out.write(token)
        temp = Path(out.name)
    os.replace(temp, target)


def anchor(*, read: Callable[[], AbstractContextManager[Tx]], write: Callable[[], AbstractContextManager[Tx]],
           settings: Settings, db_key: str, folder: Path) -> bytes | None:
    """Time-stamp the latest signed tree head with the TSA, if it has no token yet; its token or None.

    Runs after the append's transaction committed (`read`/`write` open transactions of their own), so
    no database transaction waits on the network. The token is stored in tree_heads.timestamp_token
    and published as heads/<size>.tsr (DER) beside heads/<size>.json. Anchoring the latest head
    covers every earlier entry (consistency proofs link them). A failure (TSA unreachable, an answer
    that does not check) logs a warning and never reaches the caller; the head is tried again by a
    publish after _ANCHOR_RETRY_S, and a newer head at once. Off (no request at all) while
    TIMESTAMP_AUTHORITY_URL is unset.
    """
    url = settings.TIMESTAMP_AUTHORITY_URL
    if not url:
        return None
    if not _anchor_lock.acquire(blocking=False):
        return None  # another thread of this process is anchoring now; the next publish looks again
    try:
        with read() as tx:
            row = tx.row("SELECT tree_size, head, timestamp_token FROM tree_heads "
                         "ORDER BY tree_size DESC LIMIT 1", {})
        if row is None:
            return None
        size = int(row[0])
        target = folder / "heads" / f"{size}.tsr"
        if row[2] is not None:
            stored = bytes(row[2])
            if not target.exists():
                _write_token(folder, size, stored)
            return stored
        head = dict(json.loads(row[1]) if isinstance(row[1], str) else row[1])
        key = (db_key, size, str(head.get("root_hash")))
        failed = _anchor_failed.get(key)
        if failed is not None and time.monotonic() - failed < _ANCHOR_RETRY_S:
            return None
        digest = hashlib.sha256(canonical_json(head)).digest()
        try:
            token = _ask_tsa(url, digest)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
            now_s = time.monotonic()
            for stale in [k for k, at in _anchor_failed.items() if now_s - at >= _ANCHOR_RETRY_S]:
                del _anchor_failed[stale]  # kept small: only heads inside their retry wait
            _anchor_failed[key] = now_s
            log.warning("could not anchor tree head %d with the timestamp authority %s: %s",
                        size, _where(url), _reason(exc))
            return None
        _anchor_failed.pop(key, None)
        with write() as tx:
            # Another process may have anchored it meanwhile: the first token stored is kept.
            tx.execute("UPDATE tree_heads SET timestamp_token = :token WHERE tree_size = :size "
                       "AND timestamp_token IS NULL", {"token": token, "size": size})
            stored_row = tx.row("SELECT timestamp_token FROM tree_heads WHERE tree_size = :size", {"size": size})
        stored = bytes(stored_row[0]) if stored_row is not None and stored_row[0] is not None else token
        try:
            _write_token(folder, size, stored)
        except OSError as exc:
            log.warning("could not publish the timestamp token of tree head %d to %s: %s", size, folder, exc)
        return stored
    finally:
        _anchor_lock.release()


def _reason(exc: BaseException) -> str:
    """Why, without the URL (urllib's messages may repeat it, credentials included)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}: {exc.msg}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__
