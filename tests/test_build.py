"""`drona build`: the static site, catalog.db, and private material that never reaches the site."""

from __future__ import annotations

import gzip
import html
import json
import re
import sqlite3
from pathlib import Path

import pytest

from sidecar.compiler.build import BuildFailed, BuildReport, build, is_up_to_date
from sidecar.compiler.inputs import build_modules
from sidecar.settings import REPO_ROOT

CONFIG_RE = re.compile(r'class="(drona-[a-z-]+)"[^>]*?data-config="([^"]*)"'
                       r'|data-config="([^"]*)"[^>]*?class="(drona-[a-z-]+)"')
ALLOWED_CONFIG_KEYS = {
    "drona-exercise": {"starter", "tests", "time_limit_seconds", "randomized"},
    "drona-playground": {"starter", "time_limit_seconds"},
    "drona-quiz-item": {"choices", "code"},
}


def _variants(secret: str) -> set[str]:
    """The forms a string takes in HTML, JSON or JSON inside an HTML attribute."""
    secret = secret.strip()
    as_json = json.dumps(secret)[1:-1]
    return {secret, html.escape(secret), html.escape(secret, quote=False), as_json, html.escape(as_json)}


def _private_strings(catalog_db: Path) -> dict[str, str]:
    conn = sqlite3.connect(catalog_db)
    secrets: dict[str, str] = {}
    for ex_id, solution, hidden in conn.execute("SELECT id, solution, hidden_tests FROM exercises"):
        secrets[f"solution of {ex_id}"] = solution
        for test in json.loads(hidden):
            secrets[f"hidden test {test['name']!r} of {ex_id}"] = test["code"]
    for item_id, kind, answer, explanation in conn.execute("SELECT id, kind, answer, explanation FROM quiz_items"):
        secrets[f"explanation of {item_id}"] = explanation
        value = str(json.loads(answer))
        if kind in ("predict-output", "code-completion") and len(value.strip()) >= 8:
            secrets[f"answer of {item_id}"] = value
    conn.close()
    return {k: v for k, v in secrets.items() if v.strip()}


def _site_texts(site: Path):
    for path in site.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        yield path, data.decode("utf-8", errors="ignore")


def _assert_private_material_absent(report: BuildReport) -> int:
    secrets = _private_strings(report.catalog_db)
    assert secrets, "the catalog holds private material to look for"
    needles = {variant: name for name, secret in secrets.items() for variant in _variants(secret)}
    files = 0
    for path, text in _site_texts(report.site_dir):
        files += 1
        for needle, name in needles.items():
            assert needle not in text, f"{name} leaked into {path.relative_to(report.site_dir)}"
        for match in CONFIG_RE.finditer(text):
            css = match.group(1) or match.group(4)
            config = json.loads(html.unescape(match.group(2) or match.group(3)))
            assert set(config) <= ALLOWED_CONFIG_KEYS[css], f"{css} in {path} carries {set(config)}"
    return files


def test_minimal_build_writes_site_and_catalog(minimal_build: BuildReport) -> None:
    site = minimal_build.site_dir
    lesson = site / "demo-track" / "demo-course" / "first-steps" / "printing" / "index.html"
    assert lesson.is_file()
    page = lesson.read_text()
    assert 'data-exercise-id="00000000-0000-4000-8000-000000000015"' in page
    assert "drona-playground" in page and "drona-hint" in page
    assert (site / "assets" / "drona" / "drona.js").is_file()
    assert (site / "assets" / "drona" / "worker.js").is_file()
    assert (site / "assets" / "drona" / "harness.py").is_file()
    pyodide = json.loads((REPO_ROOT / "node_modules" / "pyodide" / "package.json").read_text())["version"]
    assert (site / "pyodide" / pyodide / "pyodide.asm.wasm").is_file()
    assert (site / "pyodide" / pyodide / "pyodide.asm.wasm.gz").is_file()
    conn = sqlite3.connect(minimal_build.catalog_db)
    assert conn.execute("SELECT xp, type, url FROM lessons WHERE slug = 'printing'").fetchone() == (
        50, "code-along", "demo-track/demo-course/first-steps/printing/")
    assert conn.execute("SELECT count(*) FROM quiz_items").fetchone() == (4,)
    hits = conn.execute("SELECT lesson_id FROM lesson_chunks_fts JOIN lesson_chunks ON "
                        "lesson_chunks.rowid = lesson_chunks_fts.rowid WHERE lesson_chunks_fts MATCH 'talk'").fetchall()
    assert hits == [("00000000-0000-4000-8000-000000000013",)]


def test_up_to_date_until_content_changes(content_tree: Path, tmp_path: Path) -> None:
    content, out = content_tree / "content", tmp_path / "out"
    assert not is_up_to_date(content, out)
    build(content_dir=content, build_dir=out, check_code=False, log=lambda _: None)
    assert is_up_to_date(content, out)
    lesson = content / "tracks/demo-track/demo-course/first-steps/printing.md"
    lesson.write_text(lesson.read_text() + "\nOne more sentence.\n")
    assert not is_up_to_date(content, out)
    build(content_dir=content, build_dir=out, check_code=False, log=lambda _: None)
    assert is_up_to_date(content, out)
    (content_tree / "mkdocs.yml").write_text("site_name: Another name\n")  # the project's own settings
    assert not is_up_to_date(content, out)


def test_build_inputs_follow_the_code_it_imports() -> None:
    """The build's engine inputs are derived from its imports, so `drona serve` rebuilds when any
    code the build runs changes, and not for unrelated sidecar code."""
    files = {p.relative_to(REPO_ROOT).as_posix() for p in build_modules()}
    for used in ("sidecar/compiler/build.py", "sidecar/compiler/pages.py", "sidecar/courseware/harness.py",
                 "sidecar/courseware/validate.py", "sidecar/agents/retrieval/embedder.py", "sidecar/engine.py"):
        assert used in files, used
    for unrelated in ("sidecar/auth/router.py", "sidecar/grading/router.py", "sidecar/app.py"):
        assert unrelated not in files, unrelated


def test_a_content_repositorys_mkdocs_yml_is_merged_over_the_engines(content_tree: Path, tmp_path: Path) -> None:
    (content_tree / "mkdocs.yml").write_text(
        "site_name: Atlas Academy\ncopyright: Atlas authors\nmarkdown_extensions:\n  - abbr\n"
        "extra_css:\n  - assets/drona/drona.css\n")
    lesson = content_tree / "content/tracks/demo-track/demo-course/first-steps/printing.md"
    lesson.write_text(lesson.read_text() + "\nThe HTML spec.\n\n*[HTML]: Hyper Text Markup Language\n")
    report = build(content_dir=content_tree / "content", build_dir=tmp_path / "out", check_code=False,
                   log=lambda _: None)
    page = (report.site_dir / "demo-track/demo-course/first-steps/printing/index.html").read_text()
    assert "Atlas Academy" in page and "Atlas authors" in page
    assert '<abbr title="Hyper Text Markup Language">HTML</abbr>' in page  # the project's extension
    assert 'class="headerlink"' in page  # the engine's extensions (toc permalinks) are kept
    assert page.count("assets/drona/drona.css") == 1 and "assets/drona/drona.js" in page


def test_minimal_build_keeps_private_material_out_of_the_site(minimal_build: BuildReport) -> None:
    assert _assert_private_material_absent(minimal_build) > 10


def test_demo_build_keeps_private_material_out_of_the_site(demo_build: BuildReport) -> None:
    assert demo_build.exercises >= 15 and demo_build.quizzes >= 3
    assert _assert_private_material_absent(demo_build) > 50


def test_site_makes_no_third_party_requests(demo_build: BuildReport) -> None:
    # Everything a page loads (src, srcset, <link rel=stylesheet|preload|icon…>, CSS url() and
    # @import) is same-origin: no CDN, no Google Fonts. Plain <a href> links and rel=canonical
    # name other addresses but load nothing.
    loading = r"(?:stylesheet|preload|modulepreload|prefetch|icon|shortcut icon|apple-touch-icon|manifest)"
    external = re.compile(r'''(?:src|srcset)=["'](?:https?:)?//'''
                          rf'''|<link\b(?=[^>]*\brel=["']{loading}["'])[^>]*\bhref=["'](?:https?:)?//'''
                          r'''|url\(["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//''')
    for path, text in _site_texts(demo_build.site_dir):
        if path.suffix in (".html", ".css"):
            found = external.findall(text)
            assert not found, f"{path.relative_to(demo_build.site_dir)} references another origin: {found[:3]}"
    assert "fonts.googleapis" not in "".join(t for _, t in _site_texts(demo_build.site_dir / "assets"))


def test_planned_courses_have_no_pages(demo_build: BuildReport) -> None:
    conn = sqlite3.connect(demo_build.catalog_db)
    planned = conn.execute("SELECT t.slug, c.slug FROM courses c JOIN tracks t ON t.id = c.track_id "
                           "WHERE c.status = 'planned'").fetchall()
    assert len(planned) >= 30
    for track, course in planned:
        assert not (demo_build.site_dir / track / course).exists()
        assert (demo_build.site_dir / track / "index.html").is_file()
    assert conn.execute("SELECT count(*) FROM tracks").fetchone()[0] == 9


def test_build_refuses_bad_content(content_tree: Path, tmp_path: Path) -> None:
    module = content_tree / "content/tracks/demo-track/demo-course/first-steps/module.yaml"
    module.write_text(module.read_text().replace("par_minutes: 30", "par_minutes: lots"))
    with pytest.raises(BuildFailed) as failure:
        build(repo=REPO_ROOT, content_dir=content_tree / "content", build_dir=tmp_path / "out", log=lambda _: None)
    assert failure.value.problems and "par_minutes" in str(failure.value.problems.items[0])
    assert not (tmp_path / "out" / "catalog.db").exists()
