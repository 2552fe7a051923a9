"""The site's Content-Security-Policy, computed from the pages the build wrote (docs/security.md).

No inline script runs unless the policy names its hash. After MkDocs has written the site, every
HTML page is read; each inline `<script>` a browser would execute (no `src`, and no `type` or a
JavaScript one, or `module`) is hashed with SHA-256 exactly as the browser hashes it (its text,
newlines normalised, as UTF-8), and the policy lists each distinct hash once. Data blocks such as
Material's `<script id="__config" type="application/json">` are never executed and need none.

Inline event handlers (`onclick="…"`) and `javascript:` links cannot be allowed by a hash without
allowing every inline script: the build refuses pages that carry one.

The policy goes beside the site, never inside it: `csp.txt` (read by `drona serve`) and
`nginx-csp.conf` (one `add_header` line for an nginx in front of the published site).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from sidecar.web.csp import NGINX_POLICY_FILE as NGINX_POLICY_FILE
from sidecar.web.csp import SITE_POLICY_FILE as SITE_POLICY_FILE

# The MIME type essences that make a <script> classic JavaScript (HTML Living Standard,
# "JavaScript MIME type"), plus the types a browser also runs or checks against script-src.
JAVASCRIPT_TYPES = frozenset({
    "application/ecmascript", "application/javascript", "application/x-ecmascript", "application/x-javascript",
    "text/ecmascript", "text/javascript", "text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
    "text/javascript1.3", "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
    "text/x-ecmascript", "text/x-javascript",
})
EXECUTED_TYPES = JAVASCRIPT_TYPES | {"module", "importmap", "speculationrules"}

# Framing: the site is shown inside LMS iframes by LTI 1.3 launches (docs/lti.md); platforms are
# HTTPS, and which ones are registered is only known at run time, so any HTTPS page may frame it
# (as before this policy, when nothing restricted framing), and no plain-HTTP one.
DEFAULT_FRAME_ANCESTORS = "'self' https:"


def csp_hash(text: str) -> str:
    """The CSP source expression of an inline script's or style's text: 'sha256-<base64>'."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")  # what the HTML parser hands the browser
    digest = hashlib.sha256(normalised.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def executes(attrs: dict[str, str | None]) -> bool:
    """Whether a <script> with these attributes runs inline code (so needs a hash)."""
    if "src" in attrs:
        return False
    kind = attrs.get("type")
    if kind is None or not kind.strip():
        return True
    return kind.split(";", 1)[0].strip().lower() in EXECUTED_TYPES


@dataclass
class PageScan:
    """What one page needs from the policy, and what it cannot be given."""

    scripts: list[str] = field(default_factory=list)  # hashes of the inline scripts that run
    blocked: list[str] = field(default_factory=list)  # inline handlers and javascript: URLs, described


URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href"})


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = PageScan()
        self._script: list[str] | None = None
        self._script_runs = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.scan.blocked.append(f"<{tag} {name}=…>: inline event handler")
            elif name in URL_ATTRIBUTES and value and _is_javascript_url(value):
                self.scan.blocked.append(f"<{tag} {name}=\"javascript:…\">: script URL")
        if tag == "script":
            self._script = []
            self._script_runs = executes(values)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            # `<script/>` is no empty element to a browser: its text runs up to `</script>`, like any other.
            self.set_cdata_mode(tag)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            text = "".join(self._script)
            if self._script_runs and text:
                self.scan.scripts.append(csp_hash(text))
            self._script = None


def _is_javascript_url(value: str) -> bool:
    # Browsers strip leading C0 controls and spaces, and tabs and newlines anywhere, before the scheme.
    cleaned = "".join(c for c in value.lstrip("".join(map(chr, range(0x21)))) if c not in "\t\n\r")
    return cleaned[:11].lower() == "javascript:"


def scan_page(html: str) -> PageScan:
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.scan


@dataclass
class SiteScan:
    pages: int = 0
    scripts: set[str] = field(default_factory=set)
    blocked: list[str] = field(default_factory=list)  # "page: what"


def scan_site(site_dir: Path) -> SiteScan:
    """Every HTML page of a built site, scanned."""
    found = SiteScan()
    for path in sorted(site_dir.rglob("*.html")):
        page = scan_page(path.read_text(encoding="utf-8", errors="replace"))
        found.pages += 1
        found.scripts.update(page.scripts)
        found.blocked.extend(f"{path.relative_to(site_dir).as_posix()}: {what}" for what in page.blocked)
    return found


def policy(scripts: Iterable[str], *, frame_ancestors: str = DEFAULT_FRAME_ANCESTORS) -> str:
    """The site's one policy for these inline-script hashes.

    'wasm-unsafe-eval': Pyodide compiles WebAssembly (WebAssembly.instantiate); no eval, no new Function.
    style-src 'unsafe-inline': CodeMirror 6 (style-mod) writes its editor theme into a <style> element
    whose text depends on the editors on the page, so no hash can name it (and a static site has no
    nonce); and Chromium's own contenteditable editing, which CodeMirror builds on, writes style
    attributes when typed text replaces a selection. CSS runs no script, and img-src, font-src and
    connect-src keep a style from reaching any other host.
    """
    script_hashes = " ".join(sorted(set(scripts)))
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'wasm-unsafe-eval' {script_hashes}".rstrip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ]
    return "; ".join(directives)


def nginx_line(value: str) -> str:
    """The nginx directive that sends the policy on every response of the location that includes it."""
    if '"' in value or "\\" in value or "\n" in value:
        raise ValueError("a policy with a quote, backslash or newline cannot go into an nginx string")
    return f'add_header Content-Security-Policy "{value}" always;\n'


def _write(path: Path, text: str) -> None:
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)  # a running `drona serve --watch` never reads half a file


class InlineCodeError(Exception):
    """Pages carry inline code no hash can allow (event handler attributes, javascript: URLs)."""

    def __init__(self, blocked: list[str]) -> None:
        shown = "\n".join(f"  {line}" for line in blocked[:20])
        more = f"\n  … and {len(blocked) - 20} more" if len(blocked) > 20 else ""
        super().__init__("the Content-Security-Policy would block inline code in these pages; use a script "
                         f"file and addEventListener instead:\n{shown}{more}")
        self.blocked = blocked


def write_policy(site_dir: Path, build_dir: Path, *, frame_ancestors: str = DEFAULT_FRAME_ANCESTORS) -> SiteScan:
    """Scan the built site and write csp.txt and nginx-csp.conf into build_dir (beside the site)."""
    found = scan_site(site_dir)
    if found.blocked:
        raise InlineCodeError(found.blocked)
    value = policy(found.scripts, frame_ancestors=frame_ancestors)
    _write(build_dir / SITE_POLICY_FILE, value + "\n")
    _write(build_dir / NGINX_POLICY_FILE, nginx_line(value))
    return found
