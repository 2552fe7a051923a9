"""Safe extraction of an uploaded project (.zip) into memory, and the zip we store instead of it.

An upload is untrusted, so nothing from it ever touches the filesystem and nothing in it is trusted:
- paths are normalised and refused when absolute (`/x`, `C:\\x`), when they climb (`..`), or when they
  hold control characters; a symlink entry, an encrypted entry or a duplicate path is refused;
- the entry count and the total unpacked size are bounded, counted on the bytes actually inflated
  (never the sizes the archive declares), so a zip bomb stops at the limit with a clear 422;
- folders that only carry tool state (`.git/`, `__pycache__/`, `__MACOSX/`) are left out.

A project packed inside one top-level folder (as hosting sites export them) is unwrapped. What is
stored is a zip we write ourselves from the extracted files (`pack`): the same shape whatever came
in, an upload or a git clone.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO

from sidecar.errors import InvalidInput

MIB = 1024 * 1024
MAX_FILES = 1000
UNPACKED_FACTOR = 5  # the unpacked project may be this many times the upload limit (settings' description)
MAX_RATIO = 200  # an entry that inflates more than this (and past 1 MiB) is a bomb, not a project
SKIPPED_PARTS = frozenset({".git", "__pycache__", "__MACOSX", ".venv", "node_modules", ".mypy_cache",
                           ".pytest_cache", ".ruff_cache"})
TEXT_SUFFIXES = (".py", ".md", ".rst", ".txt", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".json", ".html", ".css",
                 ".js", ".sh", ".in")
_FIXED_DATE = (2020, 1, 1, 0, 0, 0)  # stored zips are byte-for-byte reproducible from their files


@dataclass(frozen=True)
class Limits:
    archive_bytes: int
    unpacked_bytes: int
    files: int = MAX_FILES

    @classmethod
    def for_upload_mb(cls, megabytes: int) -> Limits:
        return cls(archive_bytes=megabytes * MIB, unpacked_bytes=UNPACKED_FACTOR * megabytes * MIB)


def normalise(name: str) -> str | None:
    """The entry's path inside the project, or None for something to leave out; InvalidInput if unsafe."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidInput("The archive holds a path with control characters.", {"path": name[:200]})
    path = name.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidInput("The archive holds an absolute path; only paths inside the project are allowed.",
                           {"path": name[:200]})
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidInput("The archive holds a path that climbs out of the project (`..`).", {"path": name[:200]})
    if not parts or SKIPPED_PARTS.intersection(parts) or parts[-1] == ".DS_Store" or parts[-1].endswith(".pyc"):
        return None
    return "/".join(parts)


def _unwrap(files: dict[str, bytes]) -> dict[str, bytes]:
    """A project inside a single top-level folder (`repo-main/...`) is the folder's contents."""
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) == 1 and all("/" in path for path in files):
        return {path.split("/", 1)[1]: data for path, data in files.items()}
    return files


def read_upload(stream: IO[bytes], limits: Limits) -> bytes:
    """The uploaded bytes, refusing anything over the archive limit without reading much past it."""
    data = stream.read(limits.archive_bytes + 1)
    if len(data) > limits.archive_bytes:
        raise InvalidInput(f"The archive is larger than {limits.archive_bytes // MIB} MB.",
                           {"limit_bytes": limits.archive_bytes})
    if not data:
        raise InvalidInput("The archive is empty.")
    return data


def extract_zip(data: bytes, limits: Limits) -> dict[str, bytes]:
    """The project's files by normalised path (see the module's doc for what is refused)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput("The upload is not a zip archive.") from None
    files: dict[str, bytes] = {}
    budget = limits.unpacked_bytes
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.files * 2:  # folders count too; checked before any work
            raise InvalidInput(f"The archive holds more than {limits.files} files.", {"limit_files": limits.files})
        for info in entries:
            path = normalise(info.filename)
            if info.is_dir() or path is None:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InvalidInput("The archive holds a symbolic link; upload the file itself.",
                                   {"path": path})
            if info.flag_bits & 0x1:
                raise InvalidInput("The archive holds an encrypted file.", {"path": path})
            if path in files:
                raise InvalidInput("The archive holds the same path twice.", {"path": path})
            if len(files) >= limits.files:
                raise InvalidInput(f"The archive holds more than {limits.files} files.",
                                   {"limit_files": limits.files})
            if info.file_size > MIB and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise _bomb(limits, f"{path} inflates {info.file_size // max(info.compress_size, 1)} times")
            files[path] = _inflate(archive, info, budget, limits)
            budget -= len(files[path])
    if not files:
        raise InvalidInput("The archive holds no files.")
    return _unwrap(files)


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limits: Limits) -> bytes:
    # The declared sizes are the uploader's word: count what actually comes out.
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(64 * 1024):
                size += len(chunk)
                if size > budget:
                    raise _bomb(limits, f"unpacking {info.filename[:200]} passes the limit")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise InvalidInput(f"The archive is damaged or uses an unsupported format ({exc}).",
                           {"path": info.filename[:200]}) from None
    return b"".join(chunks)


def _bomb(limits: Limits, why: str) -> InvalidInput:
    return InvalidInput(f"The archive unpacks to more than {limits.unpacked_bytes // MIB} MB ({why}); this looks "
                        "like a zip bomb, so it was refused.", {"limit_unpacked_bytes": limits.unpacked_bytes})


def check_tree(files: Mapping[str, bytes], limits: Limits) -> None:
    """The same bounds for a project that did not come as a zip (a git clone)."""
    if not files:
        raise InvalidInput("The project holds no files.")
    if len(files) > limits.files:
        raise InvalidInput(f"The project holds more than {limits.files} files.", {"limit_files": limits.files})
    if sum(len(data) for data in files.values()) > limits.unpacked_bytes:
        raise InvalidInput(f"The project is larger than {limits.unpacked_bytes // MIB} MB.",
                           {"limit_unpacked_bytes": limits.unpacked_bytes})


def pack(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=_FIXED_DATE)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, files[path])
    return buffer.getvalue()


def unpack_stored(data: bytes) -> dict[str, bytes]:
    """A zip that `pack` wrote (trusted: ours)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def manifest(files: Mapping[str, bytes]) -> list[dict[str, object]]:
    return [{"path": path, "size": len(files[path]), "sha256": hashlib.sha256(files[path]).hexdigest()}
            for path in sorted(files)]


def texts(files: Mapping[str, bytes], suffixes: Iterable[str] = TEXT_SUFFIXES) -> dict[str, str]:
    """The text files, decoded (undecodable bytes replaced: the checks read them, nothing runs them)."""
    wanted = tuple(suffixes)
    found: dict[str, str] = {}
    for path, data in files.items():
        if path.lower().endswith(wanted) or path.rsplit("/", 1)[-1].upper().startswith("README"):
            found[path] = data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return found
