"""Where the engine's own files are: a source checkout, or an installed wheel.

The engine (this package) ships more than Python: the JSON Schemas, the site's theme overrides,
scripts and styles, the base MkDocs configuration, the sandbox's Node worker and the Pyodide
runtime. In a source checkout they sit beside `sidecar/` (Pyodide, CodeMirror and esbuild in
node_modules/ from package-lock.json). A wheel carries them in `sidecar/_engine/` (see setup.py),
with the scripts already bundled and the Pyodide runtime files copied in, so an installed engine
needs Python and Node.js only, and works in any content repository.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sidecar import __version__

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED = PACKAGE_DIR / "_engine"
BUNDLED_INFO = "engine.json"


@dataclass(frozen=True)
class EngineFiles:
    root: Path  # holds schemas/, site/ and the base mkdocs.yml
    pyodide_dir: Path  # the Pyodide runtime files (pyodide.mjs, pyodide.asm.wasm, ...)
    esbuild: Path | None  # bundles site/src at build time (checkout); None: use `bundles`
    bundles: Path | None  # prebuilt drona.js and worker.js (wheel)
    cache_dir: Path  # derived files worth keeping between builds (the Pyodide snapshot)
    installed: bool  # True for a wheel, False for a source checkout
    info: dict[str, str]  # version and, when known, the git commit and repository it was built from

    @property
    def schemas_dir(self) -> Path:
        return self.root / "schemas"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def mkdocs_yml(self) -> Path:
        return self.root / "mkdocs.yml"

    def describe(self) -> str:
        """One line for `drona --version`."""
        parts = [f"drona {self.info.get('version', __version__)}"]
        if self.info.get("commit"):
            parts.append(f"commit {self.info['commit'][:12]}")
        pyodide = self.pyodide_version()
        parts.append(f"Pyodide {pyodide}" if pyodide else "Pyodide not installed")
        parts.append("installed" if self.installed else f"source checkout {self.root}")
        return ", ".join(parts)

    def pyodide_version(self) -> str | None:
        package = self.pyodide_dir / "package.json"
        try:
            return str(json.loads(package.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError):
            return None


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drona"


def _git_info(root: Path) -> dict[str, str]:
    """The commit a checkout is at, read from .git without running git (cheap, and git may be absent)."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if head.startswith("ref: "):
            ref = head[5:]
            ref_file = git / ref
            if ref_file.is_file():
                return {"commit": ref_file.read_text(encoding="utf-8").strip()}
            packed = (git / "packed-refs").read_text(encoding="utf-8")
            for line in packed.splitlines():
                if line.endswith(" " + ref):
                    return {"commit": line.split(" ", 1)[0]}
            return {}
        return {"commit": head}
    except OSError:
        return {}


@cache
def engine_files() -> EngineFiles:
    info_file = BUNDLED / BUNDLED_INFO
    if info_file.is_file():
        info = {str(k): str(v) for k, v in json.loads(info_file.read_text(encoding="utf-8")).items()}
        return EngineFiles(root=BUNDLED, pyodide_dir=BUNDLED / "pyodide", esbuild=None, bundles=BUNDLED / "bundles",
                           cache_dir=_user_cache(), installed=True, info=info)
    checkout = PACKAGE_DIR.parent
    node_modules = checkout / "node_modules"
    return EngineFiles(root=checkout, pyodide_dir=node_modules / "pyodide", esbuild=node_modules / ".bin" / "esbuild",
                       bundles=None, cache_dir=node_modules / ".cache" / "drona", installed=False,
                       info={"version": __version__, **_git_info(checkout)})
