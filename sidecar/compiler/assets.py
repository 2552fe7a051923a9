"""Front-end assets: bundle our JS with esbuild, join our CSS into one stylesheet, copy Pyodide
under a versioned path, copy the camera-check model, precompress.

Pyodide comes from the pinned npm package and is served by the site itself (never a CDN). In a
source checkout the scripts are bundled with esbuild from node_modules/; an installed engine
carries them prebuilt (sidecar/engine.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from sidecar.courseware import harness, tracer
from sidecar.engine import EngineFiles

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
# The camera checks of ENABLE_AI_PROCTORING: face-api's ESM bundle (tfjs inside) and only the tiny
# face detector's weights, served by the site under assets/drona/proctoring/ and imported by the
# browser only when an attempt has camera checks on (site/src/proctoring.js).
FACE_API_PACKAGE = ("@vladmandic", "face-api")
PROCTORING_DIR = "proctoring"
PROCTORING_FILES = (
    "dist/face-api.esm.js",
    "model/tiny_face_detector_model-weights_manifest.json",
    "model/tiny_face_detector_model.bin",
    "LICENSE",  # MIT: its notice travels with the copy
)
BUNDLES = {"main.js": "drona.js", "worker.js": "worker.js"}
STYLESHEET = "drona.css"  # assets/drona/drona.css: mkdocs.yml's extra_css


class AssetError(Exception):
    """A missing tool or package, with the command that fixes it."""


def _fix(engine: EngineFiles) -> str:
    if engine.installed:
        return "the installed engine is incomplete: reinstall it"
    return "run `npm ci` in the engine's checkout"


def pyodide_version(engine: EngineFiles) -> str:
    version = engine.pyodide_version()
    if version is None:
        raise AssetError(f"the Pyodide runtime is missing at {engine.pyodide_dir}: {_fix(engine)}")
    return version


def _sources_digest(engine: EngineFiles) -> str:
    digest = hashlib.sha256()
    for path in sorted((engine.site_dir / "src").rglob("*.js")):
        digest.update(path.relative_to(engine.site_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def bundle_scripts(engine: EngineFiles, out_dir: Path) -> list[Path]:
    """The site's scripts into out_dir: esbuild over site/src, or the wheel's prebuilt bundles.

    esbuild output is cached by a digest of the sources, so a rebuild that changed only content
    (`drona serve --watch`) does not bundle again.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if engine.bundles is not None:
        written = []
        for target in BUNDLES.values():
            if not (engine.bundles / target).is_file():
                raise AssetError(f"the prebuilt {target} is missing from {engine.bundles}: {_fix(engine)}")
            shutil.copyfile(engine.bundles / target, out_dir / target)
            written.append(out_dir / target)
        return written
    cache = engine.cache_dir / f"bundles-{_sources_digest(engine)}"
    if not all((cache / target).is_file() for target in BUNDLES.values()):
        esbuild_bundle(engine, cache)
    return [Path(shutil.copyfile(cache / target, out_dir / target)) for target in BUNDLES.values()]


def esbuild_bundle(engine: EngineFiles, out_dir: Path) -> None:
    """Bundle site/src entry points with esbuild into out_dir (a checkout with node_modules)."""
    esbuild = engine.esbuild
    if esbuild is None or not esbuild.exists():
        raise AssetError(f"esbuild is not installed: {_fix(engine)}")
    staging = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for source, target in BUNDLES.items():
        entry = engine.site_dir / "src" / source
        if not entry.is_file():
            raise AssetError(f"site/src/{source} is missing")
        command = [str(esbuild), str(entry), "--bundle", "--format=iife", "--minify", "--target=es2020",
                   "--log-level=warning", f"--outfile={staging / target}"]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=engine.root)
        if proc.returncode != 0:
            raise AssetError(f"esbuild failed for site/src/{source}:\n{proc.stderr.strip()}")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.replace(out_dir)


def stylesheet_sources(folder: Path) -> list[Path]:
    """The stylesheets under folder (site/src) in cascade order, the order they are concatenated in.

    In each folder: its base.css first, then its other .css files by name, then its subfolders by
    name, each the same way. So site/src/base.css (colour tokens, buttons, focus ring, cards) comes
    first of all and account/base.css (the learner apps' forms) before the apps. Each widget's file
    sits beside its module (exercise.css beside exercise.js) and styles that widget alone; rules
    that another file's rules must be able to override belong in a base.css.
    """
    files = sorted(folder.glob("*.css"), key=lambda path: (path.name != "base.css", path.name))
    for sub in sorted(path for path in folder.iterdir() if path.is_dir()):
        files.extend(stylesheet_sources(sub))
    return files


def stylesheet(engine: EngineFiles) -> str:
    """The site's one stylesheet (assets/drona/drona.css): site/src's .css files, concatenated."""
    parts = []
    for path in stylesheet_sources(engine.site_dir / "src"):
        name = path.relative_to(engine.site_dir).as_posix()
        parts.append(f"/* ---- site/{name} */\n\n{path.read_text(encoding='utf-8').strip()}\n")
    return "\n".join(parts)


def copy_static(engine: EngineFiles, out_dir: Path) -> None:
    """Our stylesheet (STYLESHEET, from site/src), the shared test harness, which the Pyodide worker imports, the
    step tracer of the Visualization canvas, and the camera-check model (copy_proctoring)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STYLESHEET).write_text(stylesheet(engine), encoding="utf-8")
    shutil.copyfile(Path(harness.__file__), out_dir / "harness.py")
    shutil.copyfile(Path(tracer.__file__), out_dir / "tracer.py")  # the Visualization canvas, fetched on first use
    copy_wheels(engine, out_dir)
    copy_proctoring(engine, out_dir)


WHEELS_DIR = "wheels"  # under assets/drona/: the vendored pure-Python wheels and their index.json


def wheel_modules(wheel: Path) -> list[str]:
    """The top-level names a wheel makes importable (its packages and modules, not its .dist-info)."""
    with zipfile.ZipFile(wheel) as archive:
        names = {entry.split("/", 1)[0] for entry in archive.namelist()}
    return sorted(name.removesuffix(".py") for name in names
                  if not name.endswith((".dist-info", ".data")) and (name.endswith(".py") or "." not in name))


def copy_wheels(engine: EngineFiles, out_dir: Path) -> None:
    """site/wheels/*.whl (pytest and what it needs, vendored and hash-pinned in requirements/pyodide-wheels.txt)
    into assets/drona/wheels/, with index.json: the worker installs them into Pyodide the first time a
    program imports one of their modules, so other lessons pay nothing."""
    wheels = sorted((engine.site_dir / "wheels").glob("*.whl"))
    if not wheels:
        return
    target = out_dir / WHEELS_DIR
    target.mkdir(parents=True, exist_ok=True)
    modules: set[str] = set()
    for wheel in wheels:
        shutil.copyfile(wheel, target / wheel.name)
        modules.update(wheel_modules(wheel))
    index = {"wheels": [wheel.name for wheel in wheels], "modules": sorted(modules)}
    (target / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")


def face_api_dir(engine: EngineFiles) -> Path:
    """Beside Pyodide: node_modules/@vladmandic/face-api in a checkout, _engine/@vladmandic/face-api in a wheel."""
    return engine.pyodide_dir.parent.joinpath(*FACE_API_PACKAGE)


def copy_proctoring(engine: EngineFiles, out_dir: Path) -> Path | None:
    """The camera-check model into out_dir/proctoring/ (flat: the manifest names its .bin beside it).

    Optional, unlike Pyodide: a site without it still builds and works, and a browser asked to run
    camera checks reports the camera as unavailable, which the reviewer sees. Returns None then.
    """
    source = face_api_dir(engine)
    if not all((source / name).is_file() for name in PROCTORING_FILES):
        return None
    target = out_dir / PROCTORING_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name in PROCTORING_FILES:
        shutil.copyfile(source / name, target / Path(name).name)
    return target


def copy_pyodide(engine: EngineFiles, site_dir: Path) -> Path:
    version = pyodide_version(engine)
    target = site_dir / "pyodide" / version
    target.mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        if not (engine.pyodide_dir / name).is_file():
            raise AssetError(f"{engine.pyodide_dir / name} is missing: {_fix(engine)}")
        shutil.copyfile(engine.pyodide_dir / name, target / name)
    return target


def make_snapshot(engine: EngineFiles, pyodide_dir: Path) -> Path | None:
    """A Pyodide memory snapshot, so browsers skip CPython's start-up (about 3x faster boot).

    Made with node from the versioned Pyodide copy and cached by everything it depends on; on
    failure the site still works (the worker boots Python normally), so this only warns.
    """
    script = engine.site_dir / "tools" / "make-snapshot.mjs"
    key = hashlib.sha256(script.read_bytes() + (pyodide_dir / "pyodide.asm.wasm").read_bytes()[:1 << 20]
                         + (pyodide_dir / "package.json").read_bytes()).hexdigest()[:16]
    cache = engine.cache_dir / f"snapshot-{key}.bin"
    target = pyodide_dir / SNAPSHOT
    if not cache.is_file():
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            proc = subprocess.run(["node", str(script), str(pyodide_dir) + "/", str(partial)],
                                  capture_output=True, text=True, cwd=engine.root, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
        partial.replace(cache)
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
