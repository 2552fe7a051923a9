"""Lesson-chunk vectors for dense retrieval, written into catalog.db by `drona build`.

catalog.db gets `chunk_vectors(chunk_id TEXT PRIMARY KEY, vector BLOB)` (float32, little-endian,
L2-normalised; declared in sidecar/catalog/schema.py as CHUNK_VECTORS, and created here only when
there are vectors to store) and a meta entry `vectors` naming the model, its dimension and a digest (the
sidecar names its Qdrant collection after the digest). The sidecar reads the vectors; it never
embeds lessons itself.

Embedding is the slow part of a build (all-MiniLM-L6-v2 in numpy: ~15-20 chunks of 1,200 chars a
second on the 2-core reference machine; the demo's 99 chunks take ~5 s cold), so vectors come
from a persistent cache keyed by (model version, sha256 of the text): a rebuild embeds only new
or changed chunks, and identical texts are embedded once. The cache
lives outside the build output by default (`embeddings.db` in the engine's cache folder, see
sidecar/engine.py, or the file named by the `DRONA_EMBED_CACHE` setting; `off` disables it), so builds into
fresh folders (tests, CI previews) share it. A build never fails for want of vectors: the catalog is then searched
lexically only.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from sidecar.catalog.schema import CHUNK_VECTORS
from sidecar.embeddings import NONE, EmbeddingError, get_embedder, model_version
from sidecar.engine import engine_files
from sidecar.settings import Settings

# The build takes these as arguments (`drona build` passes the settings): the compiler reads no
# global settings, so a build into any folder behaves the same whatever the environment says.
DEFAULT_MODEL: str = Settings.model_fields["EMBEDDING_MODEL"].default
# Texts embedded per call: large enough for efficient batches, small enough that an interrupted
# cold build keeps most of its work in the cache.
BATCH = 256


def chunk_text(heading: str, text: str) -> str:
    """What is embedded for a chunk: the heading gives short passages their context."""
    return f"{heading}\n\n{text}"


def cache_path(setting: str = "") -> Path | None:
    """The DRONA_EMBED_CACHE setting's file (`off` disables the cache; empty: the engine's cache folder)."""
    value = setting.strip()
    if value.lower() in ("off", "none", "0"):
        return None
    return Path(value) if value else engine_files().cache_dir / "embeddings.db"


class EmbeddingCache:
    """(version, sha256) -> vector bytes in SQLite; every failure degrades to "not cached"."""

    def __init__(self, path: Path | None, log: Callable[[str], None]) -> None:
        self.log = log
        self.conn: sqlite3.Connection | None = None
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, timeout=30)  # builds in parallel share the file
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("CREATE TABLE IF NOT EXISTS embeddings (version TEXT NOT NULL, sha TEXT NOT NULL, "
                              "vector BLOB NOT NULL, PRIMARY KEY (version, sha)) WITHOUT ROWID")
        except (OSError, sqlite3.Error) as exc:
            self._fail(f"cannot open the embedding cache {path}: {exc}")

    def _fail(self, message: str) -> None:
        self.log(f"warning: {message}; embedding without a cache")
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def get(self, version: str, shas: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        if self.conn is None:
            return found
        try:
            for start in range(0, len(shas), 500):  # stay under SQLite's bound-parameter limit
                part = shas[start:start + 500]
                marks = ",".join("?" * len(part))
                found.update(self.conn.execute(
                    f"SELECT sha, vector FROM embeddings WHERE version = ? AND sha IN ({marks})",  # noqa: S608
                    [version, *part]).fetchall())
        except sqlite3.Error as exc:
            self._fail(f"embedding cache read failed: {exc}")
        return found

    def put(self, version: str, items: dict[str, bytes]) -> None:
        if self.conn is None:
            return
        try:
            with self.conn:
                self.conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                                      [(version, sha, blob) for sha, blob in items.items()])
        except sqlite3.Error as exc:
            self._fail(f"embedding cache write failed: {exc}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _embed_missing(model: str, api_base: str | None, texts: dict[str, str], version: str, cache: EmbeddingCache,
                   log: Callable[[str], None]) -> dict[str, bytes] | None:
    """Embed the texts (sha -> text) not found in the cache; None when the model is unusable."""
    embedder = get_embedder(model, api_base)
    if embedder is None:
        return None
    shas = list(texts)
    done: dict[str, bytes] = {}
    started = last_report = time.perf_counter()
    for start in range(0, len(shas), BATCH):
        part = shas[start:start + BATCH]
        try:
            vectors = embedder.embed([texts[sha] for sha in part])
        except EmbeddingError as exc:
            log(f"warning: {exc}; catalog.db gets no lesson vectors (lexical search only)")
            return None
        batch = {sha: np.ascontiguousarray(vector, dtype="<f4").tobytes()
                 for sha, vector in zip(part, vectors, strict=True)}
        cache.put(version, batch)
        done.update(batch)
        if time.perf_counter() - last_report > 10:
            last_report = time.perf_counter()
            rate = len(done) / (last_report - started)
            log(f"      embedded {len(done)}/{len(shas)} chunks ({rate:.0f}/s)")
    return done


def vector_writer(model: str = DEFAULT_MODEL, api_base: str | None = None, log: Callable[[str], None] = print,
                  cache: str = "") -> Callable[[sqlite_utils.Database, list[dict[str, Any]]], None]:
    """A write_catalog_db hook adding chunk_vectors with `model` (EMBEDDING_MODEL; `none`: no vectors).

    cache: the DRONA_EMBED_CACHE setting (see cache_path).
    """

    def add_vectors(db: sqlite_utils.Database, chunks: list[dict[str, Any]]) -> None:
        if model == NONE:
            return
        started = time.perf_counter()
        version = model_version(model)
        texts: dict[str, str] = {}
        sha_of: dict[str, str] = {}
        for chunk in chunks:
            text = chunk_text(chunk["heading"], chunk["text"])
            sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
            texts[sha] = text
            sha_of[chunk["id"]] = sha
        store = EmbeddingCache(cache_path(cache), log)
        try:
            blobs = store.get(version, list(texts))
            missing = {sha: text for sha, text in texts.items() if sha not in blobs}
            if missing:
                embedded = _embed_missing(model, api_base, missing, version, store, log)
                if embedded is None:
                    return
                blobs.update(embedded)
        finally:
            store.close()
        sizes = {len(blob) for blob in blobs.values()}
        if len(sizes) != 1:
            log("warning: lesson vectors of different sizes (a changed remote model?); none written")
            return
        digest = hashlib.sha256(version.encode())
        rows = []
        for chunk_id in sorted(sha_of):
            blob = blobs[sha_of[chunk_id]]
            digest.update(chunk_id.encode() + b"\0" + blob)
            rows.append((chunk_id, blob))
        db.execute(CHUNK_VECTORS)
        db.conn.executemany("INSERT INTO chunk_vectors VALUES (?, ?)", rows)
        info = {"model": model, "version": version, "dim": sizes.pop() // 4, "count": len(rows),
                "digest": digest.hexdigest()}
        db.table("meta").insert({"key": "vectors", "value": json.dumps(info)}, pk="key", replace=True)
        log(f"      lesson vectors: {len(rows)} chunks with {model}, {len(missing)} texts embedded, "
            f"{len(texts) - len(missing)} from the cache, in {time.perf_counter() - started:.1f} s")

    return add_vectors
