"""Wheel build: the engine's files travel inside the package, as sidecar/_engine/.

`python -m build --no-isolation --wheel` (from a checkout where `npm ci` has run) adds the JSON
Schemas, the site's theme overrides, stylesheets (site/src/**/*.css) and tools, the base
mkdocs.yml, the scripts bundled with esbuild, the Pyodide runtime files, and engine.json
(version, commit, repository). An installed engine then needs Python and Node.js only
(sidecar/engine.py finds these files).
Editable installs skip this: a checkout uses its own files in place.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
COPIED = ("schemas", "site/overrides", "site/tools", "site/wheels", "mkdocs.yml", "package.json", "package-lock.json",
          "LICENSE")
# Files of these folders that travel too (the scripts travel bundled): the stylesheets beside the
# widgets, which `drona build` joins into assets/drona/drona.css (sidecar/compiler/assets.py).
COPIED_FILES = {"site/src": "*.css"}


def _git(*args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def stage_engine_files(target: Path) -> None:
    sys.path.insert(0, str(HERE))
    from sidecar import __version__
    from sidecar.compiler import assets
    from sidecar.engine import engine_files

    checkout = engine_files()
    if checkout.installed:
        raise SystemExit("build the wheel from a source checkout, not from an installed engine")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in COPIED:
        source = HERE / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / name)
    for folder, pattern in COPIED_FILES.items():
        for source in (HERE / folder).rglob(pattern):
            copy = target / source.relative_to(HERE)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
    try:
        assets.esbuild_bundle(checkout, target / "bundles")
        (target / "pyodide").mkdir()
        for name in assets.PYODIDE_FILES:
            shutil.copyfile(checkout.pyodide_dir / name, target / "pyodide" / name)
        # The camera-check model (ENABLE_AI_PROCTORING), where assets.face_api_dir looks in a wheel.
        for name in assets.PROCTORING_FILES:
            copy = target.joinpath(*assets.FACE_API_PACKAGE, name)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(assets.face_api_dir(checkout) / name, copy)
    except (assets.AssetError, OSError) as exc:
        raise SystemExit(f"cannot build the engine's wheel: {exc} (run `npm ci` first)") from None
    (target / "pyodide" / "NOTICE").write_text(
        "Pyodide (https://pyodide.org), the npm package 'pyodide' version "
        f"{checkout.pyodide_version()}, unmodified; licensed under the Mozilla Public License 2.0 "
        "(https://mozilla.org/MPL/2.0/). Source: https://github.com/pyodide/pyodide\n", encoding="utf-8")
    info = {"version": __version__, "commit": _git("rev-parse", "HEAD"),
            "repository": _git("remote", "get-url", "origin"), "pyodide": checkout.pyodide_version() or ""}
    (target / "engine.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


class BuildWithEngineFiles(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            # A fresh copy of the package every time: files deleted from the source must not linger
            # in .wheel-build from an earlier build and end up in the wheel.
            shutil.rmtree(Path(self.build_lib) / "sidecar", ignore_errors=True)
        super().run()
        if not getattr(self, "editable_mode", False):
            stage_engine_files(Path(self.build_lib) / "sidecar" / "_engine")


# Not build/: that is where `drona build` writes the demo site.
setup(cmdclass={"build_py": BuildWithEngineFiles}, options={"build": {"build_base": ".wheel-build"}})
