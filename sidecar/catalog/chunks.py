"""The retrieval queries over catalog.db's lesson chunks: FTS5 (bm25) and the stored vectors.

The retriever (sidecar/agents/retrieval/index.py) keeps one connection from
store.open_readonly() for the life of a catalog version and runs these on it, under its own lock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .schema import CHUNK_VECTORS_TABLE, FTS_TABLE

# Headings weigh double in bm25: a term in a section title says what the section is about.
# Without a course, rank inside FTS5 first and join only the top rows (half the time at 20k chunks,
# where common words match most rows); with one, the join must come before the LIMIT.
_LEXICAL_SQL = """
SELECT c.id FROM (SELECT rowid, bm25(lesson_chunks_fts, 2.0, 1.0) AS score FROM lesson_chunks_fts
                  WHERE lesson_chunks_fts MATCH ?1 ORDER BY score LIMIT ?2) AS f
JOIN lesson_chunks c ON c.rowid = f.rowid ORDER BY f.score"""
_LEXICAL_COURSE_SQL = """
SELECT c.id FROM lesson_chunks_fts
JOIN lesson_chunks c ON c.rowid = lesson_chunks_fts.rowid JOIN lessons l ON l.id = c.lesson_id
WHERE lesson_chunks_fts MATCH ?1 AND l.course_id = ?3
ORDER BY bm25(lesson_chunks_fts, 2.0, 1.0) LIMIT ?2"""


@dataclass(frozen=True)
class ChunkRow:
    id: str
    lesson_id: str
    lesson_title: str
    heading: str
    url: str  # the lesson page's url
    anchor: str | None  # the section's id on that page
    text: str


def tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def has_fts(conn: sqlite3.Connection) -> bool:
    return FTS_TABLE in tables(conn)


def has_vectors(conn: sqlite3.Connection) -> bool:
    return CHUNK_VECTORS_TABLE in tables(conn)


def vectors_info(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """meta `vectors`: the model, version, dim, count and digest of the stored vectors (None: none)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'vectors'").fetchone()
    return json.loads(row[0]) if row else None


def vectors(conn: sqlite3.Connection) -> list[tuple[str, bytes, str]]:
    """(chunk id, float32 vector bytes, course id) for every stored vector, by chunk id."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT v.chunk_id, v.vector, l.course_id FROM chunk_vectors v "
        "JOIN lesson_chunks c ON c.id = v.chunk_id JOIN lessons l ON l.id = c.lesson_id ORDER BY v.chunk_id")]


def lexical(conn: sqlite3.Connection, match: str, depth: int, course_id: str | None = None) -> list[str]:
    """Chunk ids, best first, for an FTS5 MATCH expression (at most `depth`; in one course if given)."""
    if course_id:
        return [row[0] for row in conn.execute(_LEXICAL_COURSE_SQL, [match, depth, course_id])]
    return [row[0] for row in conn.execute(_LEXICAL_SQL, [match, depth])]


def passages(conn: sqlite3.Connection, chunk_ids: Sequence[str]) -> dict[str, ChunkRow]:
    """The chunks with these ids (and their lessons' titles and urls), by id."""
    if not chunk_ids:
        return {}
    marks = ",".join("?" * len(chunk_ids))
    rows = conn.execute(
        "SELECT c.id, c.lesson_id, l.title, c.heading, l.url, c.anchor, c.text "  # noqa: S608
        f"FROM lesson_chunks c JOIN lessons l ON l.id = c.lesson_id WHERE c.id IN ({marks})", list(chunk_ids))
    return {r[0]: ChunkRow(*r) for r in rows}
