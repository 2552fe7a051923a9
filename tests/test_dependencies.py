"""pyproject.toml declares exactly what the engine uses.

Every third-party module that sidecar/ imports is provided by a distribution that pyproject.toml
declares, and every declared run-time distribution is either imported somewhere in sidecar/ or
listed below with the reason it is needed without an import. (tests/test_locks.py then checks that
the hashed locks pin every declared distribution and everything it needs.)
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
SIDECAR = ROOT / "sidecar"

# Modules that only exist inside the Pyodide interpreter (the sandbox worker, in the browser or
# Node), never on the host, mapped to the only files allowed to import them.
#   pyodide: sidecar/sandbox/runner.py (isolate.mjs runs it inside each Pyodide interpreter; it
#            unregisters the `js` and `pyodide_js` bridges before learner code runs).
# sidecar/courseware/harness.py also runs inside Pyodide but imports only the standard library.
PYODIDE_ONLY = {
    "pyodide": {"sidecar/sandbox/runner.py"},
    # Standard library from Python 3.14 (Pyodide's Python); imported only there, guarded by ImportError.
    "annotationlib": {"sidecar/sandbox/runner.py"},
}


def _mkdocs_yml() -> str:
    return (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def _source_mentions(text: str) -> bool:
    return any(text in path.read_text(encoding="utf-8") for path in SIDECAR.rglob("*.py"))


def _mkdocs_theme() -> str:
    theme = yaml.load(_mkdocs_yml(), Loader=yaml.BaseLoader).get("theme", {})  # noqa: S506 (BaseLoader: strings only)
    return theme.get("name", "") if isinstance(theme, dict) else str(theme)


# Declared run-time distributions that sidecar/ needs without importing them: the reason, and a
# check that the reason still holds (so an entry can't outlive it).
USED_WITHOUT_IMPORT: dict[str, tuple[str, Callable[[], bool]]] = {
    "email-validator": ("pydantic's EmailStr validates with it (sidecar/auth/models.py, sidecar/orgs/models.py)",
                        lambda: _source_mentions("EmailStr")),
    "mkdocs-material": ("the site's MkDocs theme (`theme: name: material` in mkdocs.yml)",
                        lambda: _mkdocs_theme() == "material"),
    "psycopg": ("SQLAlchemy's driver for postgresql+psycopg:// URLs (sidecar/db/engine.py)",
                lambda: _source_mentions("postgresql+psycopg")),
    "pymdown-extensions": ("the pymdownx.* Markdown extensions that mkdocs.yml lists (loaded by name)",
                           lambda: "pymdownx." in _mkdocs_yml()),
    "python-multipart": ("FastAPI parses the Gold submission's multipart form with it (UploadFile and Form in "
                         "sidecar/projects/router.py)", lambda: _source_mentions("UploadFile")),
    "tzdata": ("zoneinfo's time-zone database where the OS has none (learners' time zones)",
               lambda: _source_mentions("ZoneInfo")),
}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@functools.cache
def sidecar_imports() -> dict[str, dict[str, list[tuple[str, int, bool]]]]:
    """Top-level module name → {file: [(file, line, guarded)]} for every absolute import in sidecar/,
    at any depth (functions, try/except, TYPE_CHECKING blocks). `guarded`: inside a `try` that
    catches ImportError (or ModuleNotFoundError), so the import may fail."""
    found: dict[str, dict[str, list[tuple[str, int, bool]]]] = {}
    for path in sorted(SIDECAR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        guarded_nodes: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
                for stmt in node.body:
                    guarded_nodes.update(id(n) for n in ast.walk(stmt))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                found.setdefault(top, {}).setdefault(_rel(path), []).append(
                    (_rel(path), node.lineno, id(node) in guarded_nodes))
    return found


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in {"ImportError", "ModuleNotFoundError", "Exception"} for t in types)


def third_party_imports() -> dict[str, dict[str, list[tuple[str, int, bool]]]]:
    return {name: files for name, files in sidecar_imports().items()
            if name not in sys.stdlib_module_names and name != "sidecar"}


def declared() -> dict[str, str]:
    """Canonical distribution name → where pyproject.toml declares it ("dependencies" or "extra NAME")."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    where: dict[str, str] = {}
    for text in project["dependencies"]:
        where[canonicalize_name(Requirement(text).name)] = "dependencies"
    for extra, reqs in project.get("optional-dependencies", {}).items():
        for text in reqs:
            where.setdefault(canonicalize_name(Requirement(text).name), f"extra {extra}")
    return where


@functools.cache
def _packages_distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def providers(module: str) -> list[str]:
    return sorted({canonicalize_name(d) for d in _packages_distributions().get(module, [])})


def _where(files: dict[str, list[tuple[str, int, bool]]]) -> str:
    sites = [f"{f}:{line}" for hits in files.values() for f, line, _ in hits]
    return ", ".join(sites[:3]) + (f" (+{len(sites) - 3} more)" if len(sites) > 3 else "")


# ---------------------------------------------------------------------------------------------


def test_every_imported_distribution_is_declared() -> None:
    declared_in = declared()
    problems: list[str] = []
    for module, files in sorted(third_party_imports().items()):
        if module in PYODIDE_ONLY:
            continue
        dists = providers(module)
        if not dists:
            problems.append(f"`import {module}` ({_where(files)}): no installed distribution provides it "
                            "(declare it in pyproject.toml and re-lock, or add it to PYODIDE_ONLY if it only "
                            "exists inside the sandbox)")
            continue
        places = {d: declared_in[d] for d in dists if d in declared_in}
        if not places:
            problems.append(f"`import {module}` ({_where(files)}) comes from {', '.join(dists)}, which "
                            "pyproject.toml does not declare")
        elif "dependencies" not in places.values():
            # Only an optional extra provides it: the code must run without it.
            extras = ", ".join(f"{d} ({p})" for d, p in places.items())
            if any(p == "extra test" for p in places.values()):
                problems.append(f"`import {module}` ({_where(files)}): {extras} is a test tool, "
                                "not installed by `scripts/setup runtime`")
                continue
            unguarded = [f"{f}:{line}" for hits in files.values() for f, line, guarded in hits if not guarded]
            if unguarded:
                problems.append(f"`import {module}` at {', '.join(unguarded)}: {extras} is optional, so the "
                                "import must sit in a try/except ImportError")
    assert not problems, "\n".join(problems)


def test_pyodide_only_modules_are_imported_only_where_listed() -> None:
    imports = sidecar_imports()
    problems = []
    for module, allowed in PYODIDE_ONLY.items():
        actual = set(imports.get(module, {}))
        if actual != allowed:
            problems.append(f"`{module}` is imported from {sorted(actual) or 'nowhere'}, PYODIDE_ONLY lists "
                            f"{sorted(allowed)}: update the list (and its comment) or move the import")
        if providers(module):
            problems.append(f"`{module}` is installed on the host ({', '.join(providers(module))}): "
                            "it is not a sandbox-only module")
    assert not problems, "\n".join(problems)


def test_every_declared_runtime_distribution_is_used() -> None:
    """[project].dependencies and the non-test extras: imported, or used without import for a reason."""
    imported = {d for module in third_party_imports() for d in providers(module)}
    problems = []
    for dist, place in sorted(declared().items()):
        if place == "extra test":
            continue  # test tools, run by scripts/test and the tests (locked by tests/test_locks.py)
        if dist in USED_WITHOUT_IMPORT:
            reason, still_true = USED_WITHOUT_IMPORT[dist]
            if dist in imported:
                problems.append(f"{dist} is imported by sidecar/ now: drop it from USED_WITHOUT_IMPORT")
            elif not still_true():
                problems.append(f"{dist} ({place}) is listed as used without import because {reason}, "
                                "which no longer holds: remove it from pyproject.toml or fix the reason")
        elif dist not in imported:
            problems.append(f"{dist} ({place}) is declared in pyproject.toml but nothing in sidecar/ imports it: "
                            "remove it, or add it to USED_WITHOUT_IMPORT with the reason")
    stale = sorted(set(USED_WITHOUT_IMPORT) - set(declared()))
    if stale:
        problems.append(f"USED_WITHOUT_IMPORT lists {stale}, which pyproject.toml does not declare")
    assert not problems, "\n".join(problems)
