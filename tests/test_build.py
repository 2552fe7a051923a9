"""`drona build`: the static site, catalog.db, and private material that never reaches the site."""

from __future__ import annotations

import gzip
import html
import json
import re
import sqlite3
from pathlib import Path

import pytest

from sidecar.compiler.assets import stylesheet_sources
from sidecar.compiler.build import BuildFailed, BuildReport, build, is_up_to_date
from sidecar.compiler.catalogdb import markdown_renderer
from sidecar.compiler.inputs import build_modules
from sidecar.compiler.pages import APP_PAGES, app_urls
from sidecar.settings import REPO_ROOT

CONFIG_RE = re.compile(r'class="(drona-[a-z-]+)"[^>]*?data-config="([^"]*)"'
                       r'|data-config="([^"]*)"[^>]*?class="(drona-[a-z-]+)"')
ALLOWED_CONFIG_KEYS = {
    # simulation: the Simulate button's scenario (engine + authored model, public like the starter; the
    # judge replays the program's record through its own copy, so knowing the model gives nothing away).
    "drona-exercise": {"starter", "tests", "time_limit_seconds", "randomized", "simulation"},
    "drona-playground": {"starter", "time_limit_seconds"},
    "drona-quiz-item": {"choices", "code"},
}


def _variants(secret: str) -> set[str]:
    """The forms a string takes in HTML, JSON or JSON inside an HTML attribute."""
    secret = secret.strip()
    as_json = json.dumps(secret)[1:-1]
    return {secret, html.escape(secret), html.escape(secret, quote=False), as_json, html.escape(as_json)}


def _later_rungs(catalog_db: Path) -> dict[str, str]:
    """Every hint rung after the first, of every exercise: only the server hands these out."""
    conn = sqlite3.connect(catalog_db)
    rungs = {f"hint rung {n} of {ex_id}": hint["text"]
             for ex_id, hints in conn.execute("SELECT id, hints FROM exercises")
             for n, hint in enumerate(json.loads(hints)[1:], 2)}
    conn.close()
    return rungs


_TAG_RE = re.compile(r"<[^<>]*>")


def _plain(text: str) -> str:
    """Text as a reader or the search index has it: no tags, no entities, and no whitespace at all
    (pages and the search index space words differently around inline code)."""
    return "".join(html.unescape(_TAG_RE.sub("", text)).split())


def _strings_of(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_of(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings_of(v)]
    return []


def _reader_text(path: Path, text: str) -> str | None:
    """The plain text of a page or of a JSON file (the search index); None for other files."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".json"):
        try:
            return _plain(" ".join(_strings_of(json.loads(text))))
        except ValueError:
            return _plain(text)
    return _plain(text) if name.endswith((".html", ".xml")) else None


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
    secrets.update(_later_rungs(catalog_db))
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
    assert _later_rungs(report.catalog_db), "the catalog holds hint rungs after the first to look for"
    needles = {variant: name for name, secret in secrets.items() for variant in _variants(secret)}
    # A rung is Markdown: in a page it is HTML, in the search index text. Compare what a reader sees.
    render = markdown_renderer(REPO_ROOT / "mkdocs.yml")
    rungs = {}
    for name, text in _later_rungs(report.catalog_db).items():
        render.reset()
        rungs[_plain(render.convert(text))] = name
    files = 0
    for path, text in _site_texts(report.site_dir):
        files += 1
        for needle, name in needles.items():
            assert needle not in text, f"{name} leaked into {path.relative_to(report.site_dir)}"
        reader = _reader_text(path, text)
        if reader is not None:
            for needle, name in rungs.items():
                assert needle not in reader, f"{name} leaked into {path.relative_to(report.site_dir)}"
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
    tracer = site / "assets" / "drona" / "tracer.py"
    assert tracer.read_bytes() == (REPO_ROOT / "sidecar/courseware/tracer.py").read_bytes(), "the Visualize tracer"
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
                 "sidecar/courseware/tracer.py",
                 "sidecar/courseware/validate.py", "sidecar/embeddings.py", "sidecar/engine.py"):
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


def test_only_the_first_hint_rung_is_public(demo_build: BuildReport) -> None:
    conn = sqlite3.connect(demo_build.catalog_db)
    ladders = {ex_id: json.loads(hints) for ex_id, hints in conn.execute("SELECT id, hints FROM exercises")}
    conn.close()
    assert len(ladders) >= 15 and all(len(ladder) >= 3 for ladder in ladders.values())
    pages = [path.read_text(encoding="utf-8") for path in demo_build.site_dir.rglob("index.html")]
    for ex_id, ladder in ladders.items():
        page = next(p for p in pages if f'data-exercise-id="{ex_id}"' in p)
        # One rung per exercise on the page: the first, for signed-out learners.
        assert page.count('class="drona-hint"') == page.count('class="drona-exercise"') >= 1
        assert f'data-count="{len(ladder)}"' in page
    index = (demo_build.site_dir / "search" / "search_index.json").read_text(encoding="utf-8")
    assert len(json.loads(index)["docs"]) > 10


@pytest.mark.parametrize("where", ["page", "search index"])
def test_the_private_material_check_finds_a_later_rung(minimal_build: BuildReport, tmp_path: Path,
                                                       where: str) -> None:
    """The check itself: a later rung in a page (as HTML) or in the search index (as text) fails it."""
    (tmp_path / "search").mkdir()
    if where == "page":
        (tmp_path / "index.html").write_text(
            '<div class="drona-hint"><p>A function hands back its result with <code>return</code>.</p></div>')
    else:
        (tmp_path / "search" / "search_index.json").write_text(json.dumps(
            {"docs": [{"location": "x/", "text": "Hints: A function hands back its result with return. More"}]}))
    report = BuildReport(site_dir=tmp_path, catalog_db=minimal_build.catalog_db)
    with pytest.raises(AssertionError, match="hint rung 2 of 00000000-0000-4000-8000-000000000015"):
        _assert_private_material_absent(report)


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


def test_a_planned_course_has_one_page_its_outline(demo_build: BuildReport) -> None:
    conn = sqlite3.connect(demo_build.catalog_db)
    planned = conn.execute("SELECT t.slug, c.slug, c.url, c.planned_modules FROM courses c "
                           "JOIN tracks t ON t.id = c.track_id WHERE c.status = 'planned'").fetchall()
    assert len(planned) >= 30
    for track, course, url, count in planned:
        folder = demo_build.site_dir / track / course
        assert url == f"{track}/{course}/"
        # One page, the outline: no module or lesson pages under it.
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == ["index.html"]
        page = (folder / "index.html").read_text(encoding="utf-8")
        assert "Coming soon" in page
        if count:
            assert len(re.findall(r"<h2 id=", page)) == count, f"{track}/{course}: one heading per planned module"
        assert f'href="{course}/"' in (demo_build.site_dir / track / "index.html").read_text(encoding="utf-8")
    assert conn.execute("SELECT count(*) FROM tracks").fetchone()[0] == 9


def test_the_stylesheet_joins_the_widgets_css_in_cascade_order(demo_build: BuildReport) -> None:
    """assets/drona/drona.css is every site/src/**/*.css, each whole, in the documented order: in each
    folder its base.css first, then its other files by name, then its subfolders (assets.stylesheet_sources)."""
    src = REPO_ROOT / "site" / "src"
    order = [path.relative_to(src).as_posix() for path in stylesheet_sources(src)]
    assert sorted(order) == sorted(path.relative_to(src).as_posix() for path in src.rglob("*.css"))
    assert order[0] == "base.css" and "exercise.css" in order and "tutor.css" in order
    top = [name for name in order if "/" not in name]
    account = [name for name in order if name.startswith("account/")]
    assert order == top + account and top[1:] == sorted(top[1:])
    assert account[0] == "account/base.css" and account[1:] == sorted(account[1:])
    built = (demo_build.site_dir / "assets" / "drona" / "drona.css").read_text(encoding="utf-8")
    starts = [built.index(f"/* ---- site/src/{name} */") for name in order]
    assert starts == sorted(starts)
    for name, start in zip(order, starts, strict=True):
        assert built.startswith((src / name).read_text(encoding="utf-8").strip(), built.index("*/", start) + 4)
    assert (demo_build.site_dir / "assets" / "drona" / "drona.css.gz").is_file()


META_CONFIG_RE = re.compile(r'<meta name="drona-config" content="([^"]*)"')


def test_the_compiler_publishes_the_app_pages(demo_build: BuildReport) -> None:
    """The learner app pages have one list, the compiler's (pages.APP_PAGES): every page carries it in its
    drona-config meta tag (for site/src/config.js and format.js), each address is a built page that mounts
    its app, site/src/account/index.js has a mount function for each, and the front end asks for no
    page that is not published (`pages.NAME()` in site/src)."""
    site = demo_build.site_dir
    published = app_urls()
    assert set(published) == {app for _, _, app in APP_PAGES} and len(published) == len(APP_PAGES)
    lesson = next(p for p in site.glob("python-developer/*/*/*/index.html"))
    for page in (site / "index.html", lesson, site / "dashboard" / "index.html"):
        found = META_CONFIG_RE.search(page.read_text(encoding="utf-8"))
        assert found, f"{page} has no drona-config meta tag"
        assert json.loads(html.unescape(found.group(1)))["pages"] == published
    for app, url in published.items():
        assert f'data-drona-app="{app}"' in (site / url / "index.html").read_text(encoding="utf-8"), app
    index_js = (REPO_ROOT / "site/src/account/index.js").read_text(encoding="utf-8")
    apps = re.search(r"const APPS = \{(.*?)\};", index_js, re.S)
    assert apps, "site/src/account/index.js: no APPS table"
    assert set(re.findall(r'^\s*"?([a-z-]+)"?:', apps.group(1), re.M)) == set(published)
    names = {re.sub(r"-([a-z])", lambda m: m.group(1).upper(), app) for app in published} | {"home"}
    used = {name for path in (REPO_ROOT / "site/src").rglob("*.js")
            for name in re.findall(r"\bpages\.([A-Za-z]+)\(", path.read_text(encoding="utf-8"))}
    assert used and used <= names, f"pages the compiler does not publish: {used - names}"


def test_build_refuses_bad_content(content_tree: Path, tmp_path: Path) -> None:
    module = content_tree / "content/tracks/demo-track/demo-course/first-steps/module.yaml"
    module.write_text(module.read_text().replace("par_minutes: 30", "par_minutes: lots"))
    with pytest.raises(BuildFailed) as failure:
        build(repo=REPO_ROOT, content_dir=content_tree / "content", build_dir=tmp_path / "out", log=lambda _: None)
    assert failure.value.problems and "par_minutes" in str(failure.value.problems.items[0])
    assert not (tmp_path / "out" / "catalog.db").exists()
