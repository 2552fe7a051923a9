"""The site's Content-Security-Policy (issue 18): inline-script hashes made at build time, the files the
build writes beside the site, and the headers `drona serve` sends on pages and on API answers.

The browser's side (no violation on the site's pages, an injected inline script refused, live reload
under the policy) is tests/e2e/test_csp_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from sidecar.compiler import csp
from sidecar.compiler.build import BuildFailed, BuildReport, build
from sidecar.settings import REPO_ROOT
from sidecar.web.csp import API_POLICY, PolicyFile
from sidecar.web.livereload import inject


def sha(text: str) -> str:
    """Computed here, apart from the compiler's own: base64 of the SHA-256 of the UTF-8 text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            assert words[0] not in parsed, f"{words[0]} twice in {policy}"
            parsed[words[0]] = words[1:]
    return parsed


PAGE = """<!doctype html><html><head>
<script>var a = 1;</script>
<script type="module">import "./x.js";</script>
<script type="text/javascript">window.b = "é";</script>
<script id="__config" type="application/json">{"base": ".."}</script>
<script type="application/ld+json">{"@type": "Course"}</script>
<script src="assets/app.js"></script>
<script src="assets/other.js">ignored = true;</script>
<script type="text/x-template"><p>not code</p></script>
</head><body><p>text with <code>&lt;script&gt;fake()&lt;/script&gt;</code></p>
<SCRIPT TYPE="Text/JavaScript; charset=utf-8">upper()</SCRIPT>
</body></html>"""


def test_only_the_inline_scripts_that_run_are_hashed() -> None:
    scan = csp.scan_page(PAGE)
    assert sorted(scan.scripts) == sorted([sha("var a = 1;"), sha('import "./x.js";'), sha('window.b = "é";'),
                                           sha("upper()")])
    assert scan.blocked == []


def test_the_hash_is_the_one_browsers_compute() -> None:
    # The example of CSP Level 3 §8.3 ("alert('Hello, world.');"), and a CRLF page: the HTML parser
    # gives the script "\n" line ends, and so must the hash.
    assert csp.csp_hash("alert('Hello, world.');") == "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
    assert csp.scan_page("<script>\r\nx()\r\n</script>").scripts == [sha("\nx()\n")]
    assert csp.scan_page("<script/>y()</script><p>z()</p>").scripts == [sha("y()")]  # no self-closing script
    assert csp.scan_page("<script> </script><script></script>").scripts == [sha(" ")]  # only empty ones never run


def test_event_handlers_and_script_urls_are_refused() -> None:
    blocked = csp.scan_page('<button onclick="go()">Go</button><a href=" JaVa\tscript:alert(1)">x</a>'
                            '<a href="javascript-notes/">fine</a><img src="a.png" alt="one">').blocked
    assert len(blocked) == 2, blocked
    assert "onclick" in blocked[0] and "javascript:" in blocked[1]


def test_the_policy_is_strict() -> None:
    parsed = directives(csp.policy([sha("a()"), sha("b()"), sha("a()")]))
    assert parsed["script-src"] == ["'self'", "'wasm-unsafe-eval'", *sorted([sha("a()"), sha("b()")])]
    assert parsed["default-src"] == ["'self'"]
    assert parsed["object-src"] == ["'none'"] and parsed["base-uri"] == ["'self'"]
    assert parsed["form-action"] == ["'self'"] and parsed["connect-src"] == ["'self'"]
    assert parsed["img-src"] == ["'self'", "data:"] and parsed["font-src"] == ["'self'"]
    assert parsed["style-src"] == ["'self'", "'unsafe-inline'"]  # CodeMirror's <style>: see csp.policy
    # LTI launches show the site inside an LMS's (HTTPS) iframe: framing stays open to HTTPS pages only.
    assert parsed["frame-ancestors"] == ["'self'", "https:"]
    for name, values in parsed.items():
        assert "'unsafe-eval'" not in values and "*" not in values, name
    assert "'unsafe-inline'" not in parsed["script-src"]


def test_write_policy_writes_beside_the_site_and_refuses_handlers(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "index.html").write_text("<script>one()</script>", encoding="utf-8")
    (site / "a" / "index.html").write_text("<script>two()</script><script>one()</script>", encoding="utf-8")
    found = csp.write_policy(site, tmp_path)
    assert found.pages == 2 and found.scripts == {sha("one()"), sha("two()")}
    policy = (tmp_path / "csp.txt").read_text(encoding="utf-8").strip()
    assert sha("one()") in policy and sha("two()") in policy
    assert (tmp_path / "nginx-csp.conf").read_text(encoding="utf-8") == (
        f'add_header Content-Security-Policy "{policy}" always;\n')
    (site / "a" / "index.html").write_text('<a href="#" onclick="two()">x</a>', encoding="utf-8")
    with pytest.raises(csp.InlineCodeError, match=r"a/index.html: <a onclick=…>"):
        csp.write_policy(site, tmp_path)


def test_a_lesson_with_an_inline_handler_does_not_build(content_tree: Path, tmp_path: Path) -> None:
    lesson = next(p for p in sorted((content_tree / "content").rglob("*.md")) if "tracks" in p.parts)
    lesson.write_text(lesson.read_text(encoding="utf-8") + '\n\n<button onclick="alert(1)">Press</button>\n',
                      encoding="utf-8")
    with pytest.raises(BuildFailed, match="onclick"):
        build(repo=content_tree, content_dir=content_tree / "content", build_dir=tmp_path / "build",
              check_code=False, log=lambda _: None, embedding_model="none")


# ---------------------------------------------------------------------------------------------
# The demo site, as built.

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
JS_TYPE = re.compile(r"""\btype\s*=\s*["']?\s*(?:module|(?:text|application)/(?:x-)?(?:java|ecma)script)\b""", re.I)


def test_every_inline_script_of_the_demo_site_is_in_the_policy(demo_build: BuildReport) -> None:
    """The demo course's site as `drona build` writes it: the session's build (tests/conftest.py), which
    this test only reads; a build of its own would cost a whole demo build more in the suite."""
    build_dir = demo_build.site_dir.parent
    policy = (build_dir / "csp.txt").read_text(encoding="utf-8").strip()
    allowed = set(directives(policy)["script-src"])
    needed: set[str] = set()
    data_blocks = pages = 0
    for page in demo_build.site_dir.rglob("*.html"):
        pages += 1
        text = page.read_text(encoding="utf-8")
        for attrs, body in SCRIPT.findall(text):
            if re.search(r"\bsrc\s*=", attrs):
                continue
            if "type" in attrs.lower() and not JS_TYPE.search(attrs):
                data_blocks += 1  # Material's __config JSON: never run, no hash
                continue
            needed.add(sha(body))
        # Nothing the policy would refuse: no handler attributes.
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text, re.I), page
    assert pages == demo_build.pages + 1  # the 404 page too
    assert data_blocks >= pages, "every page has Material's configuration block"
    assert needed, "Material's and our inline scripts were found"
    missing = needed - allowed
    assert not missing, f"inline scripts not in the policy: {missing}"
    assert allowed - needed == {"'self'", "'wasm-unsafe-eval'"}, "no hash for a script that is not there"
    assert demo_build.inline_scripts == len(needed)
    nginx = (build_dir / "nginx-csp.conf").read_text(encoding="utf-8")
    assert nginx == f'add_header Content-Security-Policy "{policy}" always;\n'
    assert nginx.count("\n") == 1
    assert not list(demo_build.site_dir.rglob("csp.txt")) and not list(demo_build.site_dir.rglob("*.conf")), (
        "the policy files are never published with the site")


# ---------------------------------------------------------------------------------------------
# `drona serve`'s headers.


def test_pages_get_the_site_policy_and_the_api_gets_none(make_client: Any, sqlite_url: str,
                                                         minimal_build: BuildReport) -> None:
    policy = (minimal_build.site_dir.parent / "csp.txt").read_text(encoding="utf-8").strip()
    assert "'wasm-unsafe-eval'" in policy
    client = make_client(sqlite_url)
    lesson = client.get("/api/catalog").json()["tracks"][0]["courses"][0]["modules"][0]["lessons"][0]["url"]
    for path in ("/", "/" + lesson, "/no/such/page/", "/assets/drona/worker.js", "/assets/drona/drona.js"):
        response = client.get(path)
        assert response.headers["content-security-policy"] == policy, path
    assert client.get("/no/such/page/").status_code == 404
    for path in ("/api/health", "/api/catalog", "/api/no-such-endpoint", "/openapi.json", "/api/me/export"):
        response = client.get(path)
        assert response.headers["content-type"].startswith(("application/json", "application/problem+json")), path
        assert response.headers["content-security-policy"] == API_POLICY, path
    assert API_POLICY == "default-src 'none'; frame-ancestors 'none'"
    signup = client.post("/api/auth/signup", json={"email": "x"})  # a refused body: still the API policy
    assert signup.status_code == 422 and signup.headers["content-security-policy"] == API_POLICY


def test_a_response_with_its_own_policy_keeps_it(make_client: Any, sqlite_url: str) -> None:
    # The certificate verification page (sidecar/certificates/router.py) says its own, stricter policy.
    response = make_client(sqlite_url).get("/verify/no-such-credential")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert len(response.headers.get_list("content-security-policy")) == 1
    assert response.headers["content-security-policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")


def test_the_policy_file_is_read_again_after_a_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "csp.txt"
    reader = PolicyFile(path)
    assert reader.policy() is None
    path.write_text("default-src 'self'\n", encoding="utf-8")
    assert reader.policy() == "default-src 'self'"
    path.write_text("default-src 'self'; script-src 'self' 'sha256-x'\n", encoding="utf-8")
    assert reader.policy() == "default-src 'self'; script-src 'self' 'sha256-x'"


def test_live_reload_adds_no_inline_script(minimal_build: BuildReport) -> None:
    page = next(minimal_build.site_dir.rglob("index.html"))
    html = page.read_text(encoding="utf-8")
    before = csp.scan_page(html).scripts
    after = inject(html.encode()).decode()
    assert csp.scan_page(after).scripts == before, "the live-reload script is a file of the sidecar, not inline"
    assert '<script src="/__drona/livereload.js"' in after


def test_an_old_build_without_a_policy_is_rebuilt(minimal_build: BuildReport, tmp_path: Path) -> None:
    from sidecar.compiler.build import is_up_to_date
    from tests.conftest import MINIMAL

    copy = tmp_path / "build"
    shutil.copytree(minimal_build.site_dir.parent, copy, ignore=shutil.ignore_patterns("site"))
    (copy / "site").mkdir()
    assert is_up_to_date(MINIMAL / "content", copy, project=REPO_ROOT)
    (copy / "csp.txt").unlink()
    assert not is_up_to_date(MINIMAL / "content", copy, project=REPO_ROOT)
