"""Front-end assets: bundle our JS with esbuild, copy Pyodide under a versioned path, precompress.

Pyodide comes from the pinned npm package and is served by the site itself (never a CDN).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from sidecar.courseware import harness

# Only the runtime files; source maps, typings and demo consoles stay out of the site.
PYODIDE_FILES = (
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
    "package.json",
)
PRECOMPRESS_SUFFIXES = (".js", ".mjs", ".wasm", ".css", ".json", ".py", ".bin")
SNAPSHOT = "snapshot.bin"
BUNDLES = {"main.js": "drona.js", "worker.js": "worker.js"}


class AssetError(Exception):
    """A missing tool or package, with the command that fixes it."""


def node_modules(repo: Path) -> Path:
    return repo / "node_modules"


def pyodide_version(repo: Path) -> str:
    package = node_modules(repo) / "pyodide" / "package.json"
    if not package.is_file():
        raise AssetError("the npm package 'pyodide' is not installed: run `npm ci` in the repository root")
    return str(json.loads(package.read_text(encoding="utf-8"))["version"])


def bundle_scripts(repo: Path, out_dir: Path) -> list[Path]:
    """Bundle site/src entry points with esbuild into out_dir."""
    esbuild = node_modules(repo) / ".bin" / "esbuild"
    if not esbuild.exists():
        raise AssetError("esbuild is not installed: run `npm ci` in the repository root")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source, target in BUNDLES.items():
        entry = repo / "site" / "src" / source
        if not entry.is_file():
            raise AssetError(f"site/src/{source} is missing")
        command = [str(esbuild), str(entry), "--bundle", "--format=iife", "--minify", "--target=es2020",
                   "--log-level=warning", f"--outfile={out_dir / target}"]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=repo)
        if proc.returncode != 0:
            raise AssetError(f"esbuild failed for site/src/{source}:\n{proc.stderr.strip()}")
        written.append(out_dir / target)
    return written


def copy_static(repo: Path, out_dir: Path) -> None:
    """Our stylesheet and the shared test harness, which the Pyodide worker imports."""
    out_dir.mkdir(parents=True, exist_ok=True)
    css = repo / "site" / "stylesheets" / "drona.css"
    if css.is_file():
        shutil.copyfile(css, out_dir / "drona.css")
    shutil.copyfile(Path(harness.__file__), out_dir / "harness.py")


def copy_pyodide(repo: Path, site_dir: Path) -> Path:
    version = pyodide_version(repo)
    source = node_modules(repo) / "pyodide"
    target = site_dir / "pyodide" / version
    target.mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        if not (source / name).is_file():
            raise AssetError(f"node_modules/pyodide/{name} is missing: run `npm ci`")
        shutil.copyfile(source / name, target / name)
    return target


def make_snapshot(repo: Path, pyodide_dir: Path) -> Path | None:
    """A Pyodide memory snapshot, so browsers skip CPython's start-up (about 3x faster boot).

    Made with node from the versioned Pyodide copy and cached by everything it depends on; on
    failure the site still works (the worker boots Python normally), so this only warns.
    """
    script = repo / "site" / "tools" / "make-snapshot.mjs"
    key = hashlib.sha256(script.read_bytes() + (pyodide_dir / "pyodide.asm.wasm").read_bytes()[:1 << 20]
                         + (pyodide_dir / "package.json").read_bytes()).hexdigest()[:16]
    cache = node_modules(repo) / ".cache" / "drona" / f"snapshot-{key}.bin"
    target = pyodide_dir / SNAPSHOT
    if not cache.is_file():
        cache.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["node", str(script), str(pyodide_dir) + "/", str(cache) + ".tmp"],
                              capture_output=True, text=True, cwd=repo, timeout=300)
        if proc.returncode != 0:
            return None
        Path(str(cache) + ".tmp").replace(cache)
    shutil.copyfile(cache, target)
    return target


def precompress(directory: Path) -> int:
    """Write .gz siblings so the server sends compressed wasm/JS without compressing per request."""
    count = 0
    for path in directory.rglob("*"):
        if path.is_file() and path.suffix in PRECOMPRESS_SUFFIXES:
            data = path.read_bytes()
            # Level 6 for our small files; the large runtime files change only with a Pyodide
            # upgrade, so a cached copy saves rebuilding them on every build.
            (path.with_name(path.name + ".gz")).write_bytes(_gzip_cached(data))
            count += 1
    return count


_GZ_CACHE: dict[str, bytes] = {}


def _gzip_cached(data: bytes) -> bytes:
    key = hashlib.sha256(data).hexdigest()
    if key not in _GZ_CACHE:
        _GZ_CACHE[key] = gzip.compress(data, compresslevel=6, mtime=0)
    return _GZ_CACHE[key]
