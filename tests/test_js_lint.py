"""ESLint covers the JavaScript we own, and scripts/test runs it (eslint.config.js, package-lock.json)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sidecar.settings import REPO_ROOT

ESLINT = REPO_ROOT / "node_modules" / ".bin" / "eslint"


def _print_config(path: str) -> dict[str, Any]:
    if not ESLINT.exists() or shutil.which("node") is None:
        if os.environ.get("DRONA_REQUIRE_NODE") == "1":
            pytest.fail("ESLint is required (DRONA_REQUIRE_NODE=1): run scripts/setup (npm ci)")
        pytest.skip("ESLint is not installed here (scripts/setup runs npm ci)")
    proc = subprocess.run([str(ESLINT), "--print-config", path], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.parametrize(("path", "has", "lacks"), [
    ("site/src/main.js", "document", "process"),
    ("site/src/account/dashboard.js", "document", "process"),
    ("site/src/worker.js", "importScripts", "document"),
    ("site/tools/make-snapshot.mjs", "process", "document"),
    ("sidecar/sandbox/host.mjs", "process", "document"),
])
def test_eslint_lints_our_javascript_with_its_environment(path: str, has: str, lacks: str) -> None:
    config = _print_config(path)
    options = config["languageOptions"]
    assert options["sourceType"] == "module"
    assert has in options["globals"] and lacks not in options["globals"]
    rules = config["rules"]
    assert rules["no-undef"][0] == 2 and rules["no-unused-vars"][0] == 2  # the recommended rules, as errors


def test_scripts_test_runs_eslint_before_pytest() -> None:
    script = (REPO_ROOT / "scripts" / "test").read_text(encoding="utf-8")
    lint = re.search(r"^\s*npx --no-install eslint .*site/src.*$", script, re.M)
    assert lint, "scripts/test does not run ESLint over site/src"
    assert "--max-warnings 0" in lint.group(0) and "|| return" in lint.group(0), "a finding fails the checks"
    assert lint.start() < script.index(".venv/bin/pytest")


def test_npm_packages_are_pinned_exactly_with_integrity_hashes() -> None:
    package = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    wanted = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    assert {"eslint", "@eslint/js", "globals"} <= set(wanted)
    for name, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"package.json: {name} {version} is not an exact version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    missing = [key for key, entry in lock["packages"].items() if key and not entry.get("link")
               and not entry.get("integrity", "").startswith("sha512-")]
    assert not missing, f"package-lock.json entries without an integrity hash: {missing[:5]}"


def test_scripts_test_lints_every_script_we_own() -> None:
    _print_config("site/src/main.js")  # skips (or fails) without ESLint
    script = (REPO_ROOT / "scripts" / "test").read_text(encoding="utf-8")
    found = re.search(r"^\s*npx --no-install eslint ([^|]*)", script, re.M)
    assert found
    targets = [arg for arg in found.group(1).split() if not arg.startswith("-") and not arg.isdigit()]
    proc = subprocess.run([str(ESLINT), "--format", "json", *targets], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)
    linted = {Path(result["filePath"]).relative_to(REPO_ROOT).as_posix() for result in json.loads(proc.stdout)}
    ours = {path.relative_to(REPO_ROOT).as_posix() for folder in ("site", "sidecar")
            for pattern in ("*.js", "*.mjs", "*.cjs") for path in (REPO_ROOT / folder).rglob(pattern)
            if "_engine" not in path.parts and "node_modules" not in path.parts}
    assert ours and ours <= linted, f"scripts/test does not lint {sorted(ours - linted)}"
