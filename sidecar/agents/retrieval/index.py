"""Hybrid retrieval over the lesson chunks in catalog.db: FTS5 + dense vectors, fused by rank.

- Lexical, always: SQLite FTS5 (`lesson_chunks_fts`, porter stemming) with bm25 ranking. The
  learner's words become quoted terms joined by OR, so no input can be FTS5 syntax.
- Dense, when catalog.db has `chunk_vectors` (sidecar/compiler/vectors.py) and EMBEDDING_MODEL
  names the model that made them: Qdrant, in process (qdrant-client local mode) by default or
  the server at QDRANT_URL, in a collection named after the vectors' digest. Local mode is an
  exact scan with per-query overhead (~15 ms and ~2 s to load at 20,000 chunks, under 1 ms for
  the demo course); large catalogs want the server (bench/bench_retrieval.py measures both sizes).
- Reciprocal rank fusion (k = 60) merges the two rankings without comparing their scores.

Scope: `course_id` restricts results to that course (the tutor stays inside what the learner is
studying); `lesson_id` boosts the current lesson's passages (score ×1.5), so they win ties
without burying a clearly better passage elsewhere. Any failure of the dense side (model,
Qdrant) leaves lexical results, with a logged warning.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from sidecar.catalog import chunks, store
from sidecar.embeddings import MINILM, NONE, Embedder, EmbeddingError, get_embedder
from sidecar.settings import Settings, get_settings

T = TypeVar("T")

log = logging.getLogger(__name__)

RRF_K = 60
LESSON_BOOST = 1.5
DEPTH = 20  # candidates taken from each side before fusion
# MiniLM neighbours below this cosine are unrelated text (off-topic questions score < 0.2 against
# the demo course): better no citation than a wrong one. Other models' scales differ: no floor.
MIN_SIMILARITY = {MINILM: 0.25}
MAX_QUERY_CHARS = 2000
MAX_TERMS = 32
QDRANT_RETRY_SECONDS = 60  # after a failed load, the next search after this long tries again
# English function words, including the Python keywords that are mostly filler in questions (is,
# in, and, or, not, as, with). `for`, `if`, `while`... stay: learners ask about "for loops" and "if
# statements". Words in `backticks` are always kept ("what does `is` do?").
_STOPWORDS = """a an the this that these those i me my you your we our it its he she they them what which
    who whom how why when where do does did doing done am is are was were be been being have has had can
    could would should shall will may might must to of at by on in into onto about than then there here so
    and or not as with just very too also please thanks thank hi hello okay ok some any"""
STOPWORDS = frozenset(_STOPWORDS.split())
_CODE_RE = re.compile(r"`([^`]*)`")
_WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    lesson_id: str
    lesson_title: str
    heading: str
    url: str  # site-relative, with the section's #anchor when it has one
    text: str
    score: float  # fused RRF score (with the current-lesson boost)


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression from free text: quoted terms ORed; None when nothing is left."""
    text = text[:MAX_QUERY_CHARS].lower()
    code = {word for span in _CODE_RE.findall(text) for word in _WORD_RE.findall(span)}
    terms: list[str] = []
    for word in _WORD_RE.findall(text):
        if (word in code or word not in STOPWORDS) and word not in terms:
            terms.append(word)
    # \w+ never contains a double quote, so quoting makes every term a plain string.
    return " OR ".join(f'"{term}"' for term in terms[:MAX_TERMS]) or None


def fuse(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank) to the ids it ranks (rank from 1)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


class _Dense:
    """Chunk vectors in Qdrant; point ids are row numbers in chunk-id order (same in every process)."""

    def __init__(self, settings: Settings, info: dict[str, Any], chunk_ids: list[str], courses: list[str],
                 matrix: np.ndarray) -> None:
        from qdrant_client import QdrantClient, models

        self.models = models
        self.min_similarity = MIN_SIMILARITY.get(info["model"])
        self.chunk_ids = chunk_ids
        self.courses = courses
        self.server = bool(settings.QDRANT_URL)
        self.collection = f"drona_chunks_{info['digest'][:16]}"
        if self.server:
            self.client = QdrantClient(url=settings.QDRANT_URL, api_key=settings.QDRANT_API_KEY, timeout=10)
        else:
            self.client = QdrantClient(location=":memory:")
        self._load(matrix)

    def _load(self, matrix: np.ndarray) -> None:
        models = self.models
        count = len(self.chunk_ids)
        exists = self.server and self.client.collection_exists(self.collection)
        if exists and self.client.count(self.collection, exact=True).count == count:
            return  # another sidecar process (or an earlier run) already uploaded these vectors
        if not exists:
            try:
                # DOT on unit vectors is cosine; qdrant's local COSINE re-normalises every vector per query.
                self.client.create_collection(self.collection, vectors_config=models.VectorParams(
                    size=matrix.shape[1], distance=models.Distance.DOT))
            except Exception:
                # Another process may have created it a moment ago; the upload below is idempotent.
                if not (self.server and self.client.collection_exists(self.collection)):
                    raise
        # Payloads only on a server (for its indexed course filter); local mode filters in search().
        payload = None
        if self.server:
            payload = [{"chunk_id": cid, "course_id": course}
                       for cid, course in zip(self.chunk_ids, self.courses, strict=True)]
        self.client.upload_collection(self.collection, vectors=matrix, payload=payload, ids=list(range(count)),
                                      batch_size=256, wait=True)
        if self.server:
            self.client.create_payload_index(self.collection, "course_id", models.PayloadSchemaType.KEYWORD)

    def search(self, vector: np.ndarray, depth: int, course_id: str | None) -> list[str]:
        models = self.models
        query_filter = None
        limit = depth
        if course_id and self.server:
            query_filter = models.Filter(must=[models.FieldCondition(
                key="course_id", match=models.MatchValue(value=course_id))])
        elif course_id:
            # Local mode evaluates payload filters in Python, point by point (~250 ms at 20k chunks);
            # over-fetch and filter here instead. The nearest chunks mostly share the query's course.
            limit = depth * 5
        points = self.client.query_points(self.collection, query=vector, limit=limit, query_filter=query_filter,
                                          with_payload=False, score_threshold=self.min_similarity).points
        rows = [int(point.id) for point in points]
        if course_id and not self.server:
            rows = [row for row in rows if self.courses[row] == course_id]
        return [self.chunk_ids[row] for row in rows[:depth]]


class Retriever:
    """Search one catalog.db. Thread-safe.

    One read-only connection (store.open_readonly: schema version checked), opened once and shared
    under a lock (each statement takes well under a millisecond): it keeps reading the file it was
    opened on even after a new build replaces catalog.db, so the lexical side always matches the
    vectors loaded from that same file. The queries are sidecar/catalog/chunks.py's.
    """

    def __init__(self, catalog_db: Path, settings: Settings | None = None) -> None:
        self.path = catalog_db
        self.settings = settings or get_settings()
        self._db = store.open_readonly(catalog_db)
        self._db_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._warned: set[str] = set()
        self._retry_at: float | None = None
        self.lexical = self._sql(chunks.has_fts)
        self.embedder: Embedder | None = None
        self.dense: _Dense | None = None
        if self._sql(chunks.has_vectors):
            self._load_dense()

    def _sql(self, query: Callable[..., T], *args: Any) -> T:
        """Run one of sidecar/catalog/chunks.py's queries on the shared connection."""
        with self._db_lock:
            return query(self._db, *args)

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def _load_dense(self) -> None:
        found = self._sql(chunks.vectors_info)
        model = self.settings.EMBEDDING_MODEL
        if not found or model == NONE:
            return
        info = found
        if info.get("model") != model:
            self._warn_once("model", "catalog vectors were made with %r but EMBEDDING_MODEL is %r: lexical "
                            "search only until the catalog is rebuilt", info.get("model"), model)
            return
        self.embedder = get_embedder(model, self.settings.AI_API_BASE, min(self.settings.AI_TIMEOUT_SECONDS, 10.0))
        if self.embedder is None:
            return
        rows = self._sql(chunks.vectors)
        if not rows:
            return
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
        try:
            self.dense = _Dense(self.settings, info, [r[0] for r in rows], [r[2] for r in rows], matrix)
        except Exception as exc:  # noqa: BLE001 - an unreachable Qdrant server must not take the tutor down
            self._warn_once("qdrant", "Qdrant unavailable (%s), lexical search only; retrying every %d s",
                            type(exc).__name__, QDRANT_RETRY_SECONDS)
            self._retry_at = time.monotonic() + QDRANT_RETRY_SECONDS

    # -------------------------------------------------------------------------------------------

    def search(self, query: str, *, k: int = 5, lesson_id: str | None = None,
               course_id: str | None = None) -> list[Passage]:
        """The k best passages for the query; course_id restricts, lesson_id boosts (see module doc)."""
        query = query[:MAX_QUERY_CHARS]
        if k <= 0 or not _WORD_RE.search(query):
            return []
        depth = max(DEPTH, 2 * k)
        rankings = [self._lexical(query, depth, course_id)]
        dense = self._dense(query, depth, course_id)
        if dense:
            rankings.append(dense)
        scores = fuse(rankings)
        if lesson_id:
            for chunk_id in scores:
                if chunk_id.rpartition(":")[0] == lesson_id:
                    scores[chunk_id] *= LESSON_BOOST
        best = sorted(scores, key=lambda chunk_id: -scores[chunk_id])[:k]  # stable: lexical order breaks ties
        return self._passages(best, scores)

    def _lexical(self, query: str, depth: int, course_id: str | None) -> list[str]:
        match = fts_query(query)
        if not self.lexical or match is None:
            return []
        try:
            return self._sql(chunks.lexical, match, depth, course_id)
        except sqlite3.Error as exc:  # quoting should make this unreachable; never fail a tutor turn on it
            log.warning("lexical search failed (%s)", exc)
            return []

    def _dense(self, query: str, depth: int, course_id: str | None) -> list[str]:
        if self.dense is None and self._retry_at is not None and time.monotonic() >= self._retry_at:
            with self._load_lock:
                if self.dense is None and self._retry_at is not None and time.monotonic() >= self._retry_at:
                    self._retry_at = None
                    self._load_dense()
        if self.dense is None or self.embedder is None:
            return []
        try:
            vector = self.embedder.embed([query])[0]
            return self.dense.search(vector, depth, course_id)
        except EmbeddingError as exc:
            self._warn_once("embed", "%s: lexical search only", exc)
        except Exception as exc:  # noqa: BLE001 - Qdrant server errors: keep the lexical results
            self._warn_once("qdrant-search", "dense search failed (%s), lexical search only", type(exc).__name__)
        return []

    def _passages(self, chunk_ids: list[str], scores: dict[str, float]) -> list[Passage]:
        if not chunk_ids:
            return []
        by_id = self._sql(chunks.passages, chunk_ids)
        passages = []
        for chunk_id in chunk_ids:
            row = by_id[chunk_id]
            passages.append(Passage(chunk_id, row.lesson_id, row.lesson_title, row.heading,
                                    row.url + (f"#{row.anchor}" if row.anchor else ""), row.text,
                                    round(scores[chunk_id], 6)))
        return passages


def get_retriever(catalog_db: Path, settings: Settings | None = None) -> Retriever:
    """The Retriever for this catalog file, rebuilt when the file is replaced (a new build).

    settings: the app's Settings (default get_settings()); its embedding and Qdrant choices are
    part of the cache key. Cached by sidecar.catalog.store.cached: a previous Retriever is dropped,
    not closed, since a search may still be using it.
    """
    settings = settings or get_settings()
    key = (f"retrieval.retriever:{settings.EMBEDDING_MODEL}|{settings.QDRANT_URL or ''}|"
           f"{settings.AI_API_BASE or ''}")
    return store.cached(catalog_db, key, lambda path: Retriever(path.resolve(), settings))
