"""Read-only access to catalog.db, the compiler's output (git owns content; we never write it).

Every module outside sidecar/catalog (and the compiler, which writes the file) reads the catalog
through this package: the readers in sidecar/catalog/readers.py, the catalog tree in
service.py, and the retrieval queries in chunks.py. Three things live here:

- connect() / open_readonly(): read-only connections to a catalog.db whose schema version is the
  one this code reads (sidecar/catalog/schema.py); any other gives Unavailable (503), saying to
  run `drona build`. The check runs once per file version, not per query.
- cached(): the one cache of things loaded from catalog.db, keyed by the file's identity
  (path, st_mtime_ns, st_size, st_ino). A rebuild replaces the file with os.replace, which
  changes the inode, so the next call loads again and older versions are dropped.
"""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar, cast

from sidecar.errors import Unavailable

from .schema import SCHEMA_VERSION

T = TypeVar("T")
FileVersion = tuple[int, int, int]  # st_mtime_ns, st_size, st_ino

NOT_BUILT = "The course catalog has not been built yet: run `drona build`."
MAX_FILES = 8  # catalog files whose loaded values are kept (a server has one; test runs have many)


def file_version(catalog_db: Path) -> FileVersion:
    """The file's identity; Unavailable when there is no catalog.db."""
    try:
        found = catalog_db.stat()
    except OSError:
        raise Unavailable(NOT_BUILT) from None
    if not stat.S_ISREG(found.st_mode):
        raise Unavailable(NOT_BUILT)
    return found.st_mtime_ns, found.st_size, found.st_ino


# ---- the cache ----------------------------------------------------------------------------------

_lock = threading.Lock()
_entries: dict[tuple[str, str], tuple[FileVersion, object]] = {}
_gates: dict[tuple[str, str], threading.RLock] = {}
_files: OrderedDict[str, None] = OrderedDict()  # least recently loaded first


def _forget(path: str, keep: FileVersion | None = None) -> None:
    """Drop the path's entries of other versions than `keep` (all of them when None). Under _lock."""
    for slot in [s for s, (version, _) in _entries.items() if s[0] == path and version != keep]:
        del _entries[slot]
    if keep is None:
        for slot in [s for s in _gates if s[0] == path]:
            del _gates[slot]


def cached(catalog_db: Path, key: str, load: Callable[[Path], T]) -> T:
    """`load(catalog_db)`, once per version of the file and key; thread-safe.

    key names what is loaded (e.g. "readers.exercises"); values for other keys of the same file
    are independent. When the file has changed, every value loaded from its older versions is
    dropped. One thread loads a key while others asking for it wait; a load that raises caches
    nothing. A value being used by a caller is never closed or changed, only forgotten.
    """
    path = str(catalog_db.resolve())
    version = file_version(catalog_db)
    slot = (path, key)
    with _lock:
        entry = _entries.get(slot)
        if entry is not None and entry[0] == version:
            return cast(T, entry[1])
        gate = _gates.setdefault(slot, threading.RLock())
    with gate:
        with _lock:  # loaded by another thread while this one waited?
            entry = _entries.get(slot)
            if entry is not None and entry[0] == version:
                return cast(T, entry[1])
        value = load(catalog_db)
        with _lock:
            _forget(path, keep=version)
            _entries[slot] = (version, value)
            _files[path] = None
            _files.move_to_end(path)
            while len(_files) > MAX_FILES:
                _forget(_files.popitem(last=False)[0])
    return value


def clear_cache() -> None:
    """Forget everything loaded (tests)."""
    with _lock:
        _entries.clear()
        _files.clear()


# ---- connections --------------------------------------------------------------------------------


def _open(catalog_db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{catalog_db.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def schema_version(conn: sqlite3.Connection) -> int | None:
    """meta.schema_version of an open catalog; None when it has none (or no meta table)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:  # no meta table
        return None
    try:
        value = json.loads(row[0]) if row is not None else None
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_schema(conn: sqlite3.Connection) -> None:
    """Unavailable unless the open catalog was built with this code's SCHEMA_VERSION."""
    try:
        found = schema_version(conn)
    except sqlite3.DatabaseError:  # not an SQLite database at all
        raise Unavailable("catalog.db is not a catalog database: run `drona build`.") from None
    if found != SCHEMA_VERSION:
        built = "no schema version" if found is None else f"schema {found}"
        raise Unavailable(f"catalog.db was built by a different version of drona ({built}, this server reads "
                          f"{SCHEMA_VERSION}): run `drona build`.", {"schema_version": found,
                                                                     "expected": SCHEMA_VERSION})


def _checked(catalog_db: Path) -> bool:
    with closing(_open(catalog_db)) as conn:
        check_schema(conn)
    return True


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived read-only connection (rows as sqlite3.Row) to a catalog of this schema version."""
    cached(path, "store.schema_checked", _checked)  # raises Unavailable; once per file version
    conn = _open(path)
    try:
        yield conn
    finally:
        conn.close()


def open_readonly(path: Path) -> sqlite3.Connection:
    """A long-lived read-only connection (the caller closes it), schema version checked on it.

    It keeps reading the file it was opened on even after a rebuild replaces catalog.db.
    """
    file_version(path)  # Unavailable when there is no catalog
    conn = _open(path)
    try:
        check_schema(conn)
    except BaseException:
        conn.close()
        raise
    return conn
