"""Read-only access to catalog.db, the compiler's output (git owns content; we never write it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sidecar.errors import Unavailable


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    if not path.is_file():
        raise Unavailable("The course catalog has not been built yet: run `drona build`.")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()
