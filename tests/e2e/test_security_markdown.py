"""Hostile tutor Markdown rendered in headless Chromium: no live javascript:, data: or vbscript: link.

The site's markdown module (site/src/markdown.js) is bundled with esbuild, as the build does, and
run in a page; the browser itself then says what each rendered link would open (`a.protocol`),
so the C0-control and tab/newline variants are judged by the real URL parser, not by our idea of
it. The Code Reviewer's reply to hostile code is rendered the same way.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents.review.reviewer import review_code
from sidecar.settings import REPO_ROOT

pytestmark = pytest.mark.e2e

ORIGIN = "http://drona.test"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="drona-root" content="/"></head>
<body><div id="out"></div></body></html>"""
ESBUILD = REPO_ROOT / "node_modules" / ".bin" / "esbuild"

# What browsers strip or ignore when they read a URL: C0 controls and spaces at either end, and
# tabs and newlines anywhere. Each of these is a script (or data) URL to the browser.
TARGETS = [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", "\x01javascript:alert(1)", "\x00javascript:alert(1)",
    "\x1f\x1ejavascript:alert(1)", " \x0bjavascript:alert(1)", "java\tscript:alert(1)", "java\nscript:alert(1)",
    "j\ra\tv\na:alert(1)", "javascript:alert(1)\x01", "data:text/html,<script>alert(1)</script>",
    "\x02data:text/html,x", "vbscript:msgbox(1)", "\x10vbscript:msgbox(1)",
]
# The renderer never decodes entities (it escapes "&"), so this one stays a harmless relative path.
ENTITY = "&#106;avascript:alert(1)"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not ESBUILD.exists():
        pytest.skip("esbuild is not installed (scripts/setup installs it)")
    out = Path(tmp_path_factory.mktemp("markdown")) / "markdown.js"
    subprocess.run([str(ESBUILD), str(REPO_ROOT / "site" / "src" / "markdown.js"), "--bundle", "--format=iife",
                    "--global-name=DronaMarkdown", "--target=es2020", f"--outfile={out}"],
                   check=True, capture_output=True, timeout=60)
    return out.read_text(encoding="utf-8")


def render(page: Any, bundle: str, sources: list[str]) -> list[dict[str, Any]]:
    """Render each source into the page; per source, every link's href and what the browser makes of it."""
    page.route(f"{ORIGIN}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=PAGE))
    page.goto(f"{ORIGIN}/lesson/")
    page.add_script_tag(content=bundle)
    return list(page.evaluate("""(sources) => sources.map((source) => {
        const out = document.getElementById("out");
        out.innerHTML = DronaMarkdown.renderMarkdown(source);
        return {html: out.innerHTML,
                links: [...out.querySelectorAll("a")].map((a) => ({href: a.getAttribute("href"),
                                                                  protocol: a.protocol}))};
    })""", sources))


def test_hostile_tutor_links_are_never_live(page: Any, bundle: str) -> None:
    sources = [f"Try [this link]({t}) now." for t in TARGETS] + [f"- **x** — [a]({t}) *b*" for t in TARGETS]
    sources += [f"[entity]({ENTITY})",
                "A [lesson](/demo/lesson/), [docs](https://docs.python.org/3/) and [mail](mailto:a@b.org)."]
    rendered = render(page, bundle, sources)
    for source, result in zip(sources[:-1], rendered[:-1], strict=True):
        assert all(link["protocol"] in ("http:", "https:", "mailto:") for link in result["links"]), (source, result)
        assert not any(link["protocol"] in ("javascript:", "data:", "vbscript:") for link in result["links"])
    # The scheme-smuggling targets render as text, no link at all.
    assert all(not result["links"] for result in rendered[:-2]), [r for r in rendered[:-2] if r["links"]]
    assert [link["protocol"] for link in rendered[-2]["links"]] == ["http:"]  # a relative path on our site
    # Ordinary links still work, and a site path resolves under the site's root.
    links = rendered[-1]["links"]
    assert [link["protocol"] for link in links] == ["http:", "https:", "mailto:"]
    assert links[0]["href"] == f"{ORIGIN}/demo/lesson/"


def test_a_review_of_hostile_code_shows_the_code_not_a_link(page: Any, bundle: str) -> None:
    codes = ["x = 1 `[x](\x01javascript:alert(1))` y\n", "data = {}\ndata['``[x](javascript:alert(1))`']\n"]
    replies = []
    for code in codes:
        review = review_code(code)
        replies.append("\n\n".join([review.summary] + [f"- **{f.category}** — {f.message} *{f.question}*"
                                                        for f in review.findings]))
    for result in render(page, bundle, replies):
        assert result["links"] == [], result
        assert "[x](" in result["html"] and "<code>" in result["html"]
