"""What a build depends on, so `drona serve` rebuilds exactly when an input changed.

Inputs are the content folder, the project's mkdocs.yml, and the engine: for an installed engine
its version and commit; for a source checkout its site assets, schemas, base configuration, npm
lock, and every module of this package that the build imports (found by reading the imports, so
the list follows the code instead of being kept by hand).
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

from sidecar.engine import PACKAGE_DIR, EngineFiles

BUILD_ENTRY = "sidecar.compiler.build"
ENGINE_INPUTS = ("site", "schemas", "mkdocs.yml", "package-lock.json")


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] != PACKAGE_DIR.name:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            # `from package import module` names a submodule as often as an attribute.
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


@cache
def build_modules(entry: str = BUILD_ENTRY) -> tuple[Path, ...]:
    """Source files of every module of this package reachable by imports from `entry`."""
    seen: dict[str, Path] = {}
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen[name] = path
        parts = name.split(".")
        # Importing a.b.c runs a/__init__.py and a/b/__init__.py too.
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imports(path, name))
    return tuple(sorted(set(seen.values())))


def _hash_tree(digest: hashlib._Hash, root: Path, label: Path) -> None:
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        if "__pycache__" in path.parts:
            continue
        name = path.relative_to(label).as_posix() if path.is_relative_to(label) else path.as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")


def engine_digest(engine: EngineFiles) -> str:
    digest = hashlib.sha256()
    if engine.installed:
        digest.update(repr(sorted(engine.info.items())).encode())
        return digest.hexdigest()
    for name in ENGINE_INPUTS:
        if (engine.root / name).exists():
            _hash_tree(digest, engine.root / name, engine.root)
    for path in build_modules():
        _hash_tree(digest, path, engine.root)
    return digest.hexdigest()


def inputs_digest(content_dir: Path, *, project_config: Path | None, engine: EngineFiles) -> str:
    digest = hashlib.sha256(engine_digest(engine).encode())
    if content_dir.is_dir():
        _hash_tree(digest, content_dir, content_dir.parent)
    if project_config is not None and project_config.is_file():
        _hash_tree(digest, project_config, project_config.parent)
    return digest.hexdigest()
