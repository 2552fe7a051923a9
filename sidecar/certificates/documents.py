"""What a certificate looks like to people: the public verification page, the printable certificate
in four formats, its PDF, and the "Add to LinkedIn profile" link.

Everything here renders one plain dict, the verification view (`VerificationPublic`, the JSON of
`GET /api/verify/{id}`), so the page, the print-out, the PDF and the API can never disagree. The
functions are pure: no database, no network, no clock.

- The pages are complete HTML documents served by the sidecar, without any script: they work with
  JavaScript off, for a crawler (LinkedIn's preview) and under a strict Content-Security-Policy. The
  only stylesheet is inline, and nothing is loaded from elsewhere (no web fonts, no CDN).
- The QR code is drawn from `segno`'s module matrix: as inline SVG on the pages, as filled squares
  in the PDF. It always encodes the view's `verify_url`, which the page also carries as
  `data-qr-url`, so a test can check the code against the address.
- The PDF embeds DejaVu Sans (vendored in fonts/, Bitstream Vera licence beside it) because the
  PDF core fonts are Latin-1 only and a holder's chosen name may be in any script.
- Formats follow §4.2's learner kinds: `academic` (students: a formal certificate with scores),
  `linkedin` (professionals: the fields LinkedIn's certification form asks for), `shareable`
  (self-learners: a compact card), `company` (an organisation's name and logo, from its branding).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import segno

FORMATS = ("academic", "linkedin", "shareable", "company")
FORMAT_NAMES = {"academic": "Academic", "linkedin": "LinkedIn-ready", "shareable": "Shareable",
                "company": "Company-branded"}
FONTS = Path(__file__).resolve().parent / "fonts"
TIER_COLOURS = {"bronze": "#a0662c", "silver": "#6b7480", "gold": "#a67c00"}
_STATUS_TEXT = {
    "valid": "Valid",
    "revoked": "Revoked",
    "invalid": "Not valid",
}

__all__ = ["FORMATS", "linkedin_url", "qr_matrix", "render_not_found_page", "render_pdf", "render_print_page",
           "render_verify_page"]


# ---- small helpers ----------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _get(view: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = view.get(key, default)
    return default if value is None else value


def _date(value: Any) -> str:
    """An ISO timestamp (or datetime) as '3 December 2026'; anything else as given."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value or "")
    return f"{moment.day} {moment.strftime('%B %Y')}"


def _tier_title(view: Mapping[str, Any]) -> str:
    return str(_get(view, "tier_title", str(_get(view, "tier", "")).title() + " certificate"))


def _safe_link(url: Any) -> str | None:
    """Only http(s) links or site-relative paths are ever put in an href or src (no javascript: URLs)."""
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("/") and not url.startswith("//"):
        return url
    parsed = urlparse(url)
    return url if parsed.scheme in ("http", "https") and parsed.netloc else None


_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|webp);base64,[A-Za-z0-9+/=]+")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def _safe_image(url: Any) -> str | None:
    """An image address for a src: an http(s) link, or a PNG, JPEG or WebP image inline (an
    organisation's logo is stored that way); never SVG or script."""
    if isinstance(url, str) and _DATA_IMAGE.fullmatch(url):
        return url
    return _safe_link(url)


def _org_colour(org: Mapping[str, Any] | None) -> str | None:
    colour = org.get("color") if org else None
    return colour if isinstance(colour, str) and _COLOUR.fullmatch(colour) else None


def _percent(value: Any) -> str:
    """A score to one decimal, rounded half up (86.25 → 86.3 %), as the pass marks are read."""
    try:
        number = Decimal(str(float(value)))
    except (TypeError, ValueError, InvalidOperation):
        return ""
    text = str(number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)).rstrip("0").rstrip(".")
    return f"{text} %"


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR code for `url` as rows of dark (True) / light modules, without the quiet zone."""
    code = segno.make(url, error="m")
    return [[bool(cell) for cell in row] for row in code.matrix]


def _qr_svg(url: str, *, size_px: int = 132) -> str:
    matrix = qr_matrix(url)
    n = len(matrix)
    quiet = 4
    total = n + 2 * quiet
    path = "".join(f"M{x + quiet},{y + quiet}h1v1h-1z" for y, row in enumerate(matrix)
                   for x, dark in enumerate(row) if dark)
    return (f'<svg class="qr" role="img" aria-label="QR code linking to the verification page" '
            f'data-qr-url="{_e(url)}" xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}" '
            f'viewBox="0 0 {total} {total}" shape-rendering="crispEdges">'
            f'<rect width="{total}" height="{total}" fill="#fff"/><path d="{path}" fill="#000"/></svg>')


def linkedin_url(view: Mapping[str, Any]) -> str:
    """LinkedIn's "Add licence or certification" form, filled in (its documented add-to-profile URL)."""
    issued = str(_get(view, "issued_at", ""))
    params: dict[str, str] = {
        "startTask": "CERTIFICATION_NAME",
        "name": f"{_tier_title(view)}: {_get(view, 'course_title', '')}".strip(),
        "organizationName": str(_get(_get(view, "issuer", {}), "name", "Dronacharya")),
        "certUrl": str(_get(view, "verify_url", "")),
        "certId": str(_get(view, "credential_id", "")),
    }
    try:
        moment = datetime.fromisoformat(issued.replace("Z", "+00:00"))
        params["issueYear"], params["issueMonth"] = str(moment.year), str(moment.month)
    except ValueError:
        pass
    return "https://www.linkedin.com/profile/add?" + urlencode(params)


# ---- the pages ---------------------------------------------------------------------------------
_BASE_CSS = """
:root{color-scheme:light dark;--fg:#1c1d21;--muted:#5b5f6a;--bg:#fff;--card:#f6f7f9;--line:#d9dce1;
--ok:#1b7a3a;--bad:#b3261e;--accent:#3f51b5}
@media (prefers-color-scheme:dark){:root{--fg:#e8e9ec;--muted:#a6aab3;--bg:#16171b;--card:#202228;--line:#3a3d45;
--ok:#5bd17f;--bad:#ff8a80;--accent:#9fa8ff}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}main{max-width:52rem;margin:0 auto;padding:1.5rem 1rem 3rem}
a{color:var(--accent)}h1{font-size:1.6rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.8rem 0 .6rem}
.status{display:inline-block;padding:.25rem .7rem;border-radius:1rem;font-weight:600;border:2px solid currentColor}
.status--valid{color:var(--ok)}.status--revoked,.status--invalid{color:var(--bad)}
.card{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1rem 1.2rem;margin:1rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}dt{color:var(--muted)}dd{margin:0;
overflow-wrap:anywhere}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid var(--line)}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em;overflow-wrap:anywhere}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}.actions a{padding:.45rem .8rem;border:1px solid
var(--line);border-radius:.4rem;text-decoration:none}.notice{border-left:4px solid var(--bad);padding:.6rem .9rem;
background:var(--card)}.muted{color:var(--muted)}details{margin:.5rem 0}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem}
"""


def _document(title: str, body: str, *, css: str = "") -> str:
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"robots\" content=\"noindex\">"
            f"<title>{_e(title)}</title><style>{_BASE_CSS}{css}</style></head>"
            "<body><a class=\"skip\" href=\"#main\">Skip to content</a>"
            f"<main id=\"main\">{body}</main></body></html>\n")


def render_not_found_page() -> str:
    """The verification page of an id that no certificate has (it may be mistyped, or never existed)."""
    return _document("Certificate not found", "<h1>Certificate not found</h1><p>No certificate has this id. "
                     "Check the address, or scan the certificate's QR code again.</p>")


def _scores_table(view: Mapping[str, Any]) -> str:
    rows = []
    for line in _get(view, "scores", []):
        rows.append(f"<tr><td>{_e(line.get('label') or line.get('key'))}</td>"
                    f"<td class=\"num\">{_e(_points(line.get('points')))} / {_e(_points(line.get('max_points')))}</td>"
                    f"<td class=\"num\">{_e(_percent(line.get('percent')))}</td></tr>")
    if not rows:
        return "<p class=\"muted\">This tier has no scored parts: it is earned by completing the course.</p>"
    overall = view.get("percent_overall")
    foot = (f"<tfoot><tr><th>Overall</th><td></td><td class=\"num\"><strong>{_e(_percent(overall))}</strong></td>"
            "</tr></tfoot>") if overall is not None else ""
    return ("<table><thead><tr><th>Part</th><th class=\"num\">Points</th><th class=\"num\">Score</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody>{foot}</table>")


def _points(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    return str(int(number)) if number == int(number) else f"{number:.1f}"


def _status_block(view: Mapping[str, Any]) -> str:
    status = str(_get(view, "status", "invalid"))
    parts = [f"<p><span class=\"status status--{_e(status)}\" data-status=\"{_e(status)}\">"
             f"{_e(_STATUS_TEXT.get(status, status))}</span></p>"]
    if status == "revoked":
        parts.append(f"<p class=\"notice\">Revoked on {_e(_date(view.get('revoked_at')))}"
                     + (f": {_e(view.get('revocation_reason'))}" if view.get("revocation_reason") else "")
                     + ". It no longer certifies anything.</p>")
    elif status == "invalid":
        reason = _get(_get(view, "signature", {}), "reason", "")
        parts.append(f"<p class=\"notice\">This credential failed verification{': ' + _e(reason) if reason else ''}."
                     " Do not rely on it.</p>")
    if view.get("holder_removed"):
        parts.append("<p class=\"notice\" data-holder-removed>Holder removed: the account that earned this "
                     "certificate has been deleted. The credential stays verifiable exactly as issued.</p>")
    return "".join(parts)


def _evidence_block(view: Mapping[str, Any]) -> str:
    evidence = _get(view, "evidence", {})
    rows = [("Content commit", evidence.get("content_commit") or "not recorded (built outside git)"),
            ("Grader's tests (SHA-256)", evidence.get("tests_sha256") or "none: this tier has no graded tests")]
    if evidence.get("assessment_attempt_id"):
        rows.append(("Assessment attempt", evidence["assessment_attempt_id"]))
    if evidence.get("project_submission_id"):
        rows.append(("Project submission", evidence["project_submission_id"]))
    items = "".join(f"<dt>{_e(k)}</dt><dd class=\"mono\">{_e(v)}</dd>" for k, v in rows)
    demo = _safe_link(view.get("demo_url"))
    if demo:
        items += f"<dt>Live project demo</dt><dd><a href=\"{_e(demo)}\" rel=\"noopener nofollow\">{_e(demo)}</a></dd>"
    return f"<dl>{items}</dl>"


def _proof_block(view: Mapping[str, Any]) -> str:
    signature = _get(view, "signature", {})
    log = _get(view, "log", {})
    sig_ok = bool(signature.get("ok"))
    log_ok = bool(log.get("verified"))
    proof = log.get("inclusion_proof") or []
    hashes = "".join(f"<li><code>{_e(h)}</code></li>" for h in proof) or "<li class=\"muted\">none (a log of one)</li>"
    tree_head = log.get("tree_head") or {}
    return (
        "<dl>"
        f"<dt>Signature</dt><dd data-check=\"signature\" data-ok=\"{str(sig_ok).lower()}\">"
        f"{'✓ verified' if sig_ok else '✗ ' + _e(signature.get('reason') or 'not verified')}"
        f" <span class=\"muted\">({_e(signature.get('cryptosuite') or 'eddsa-rdfc-2022')})</span></dd>"
        f"<dt>Signing key</dt><dd class=\"mono\">{_e(signature.get('verification_method'))}</dd>"
        f"<dt>Transparency log</dt><dd data-check=\"log\" data-ok=\"{str(log_ok).lower()}\">"
        f"{'✓ included' if log_ok else '✗ not proven'}: entry {_e(log.get('leaf_index'))} of a log of "
        f"{_e(log.get('tree_size'))}</dd>"
        f"<dt>Tree root</dt><dd class=\"mono\">{_e(log.get('root_hash'))}</dd>"
        f"<dt>Tree head signed</dt><dd>{_e(tree_head.get('timestamp_iso') or tree_head.get('timestamp') or '')}</dd>"
        "</dl>"
        f"<details><summary>Inclusion proof ({len(proof)} hashes)</summary><ol class=\"proof\">{hashes}</ol>"
        "<p class=\"muted\">Recompute the root from this entry and these hashes (RFC 9162, §2.1.3), or run "
        "<code>drona verify</code> on the downloaded bundle.</p></details>"
    )


def render_verify_page(view: Mapping[str, Any]) -> str:
    """The public verification page of one credential: who, what, when, scores, evidence, proofs, status."""
    holder = str(_get(view, "holder_name", ""))
    course = str(_get(view, "course_title", ""))
    tier = _tier_title(view)
    issuer = _get(view, "issuer", {})
    title = f"{tier}, {course}: verification"
    links = []
    for label, key in (("Signed credential (JSON)", "credential_url"), ("PDF", "pdf_url")):
        url = _safe_link(view.get(key))
        if url:
            links.append(f"<a href=\"{_e(url)}\">{_e(label)}</a>")
    bundle = _safe_link(view.get("bundle_url"))
    if bundle:
        links.append(f"<a href=\"{_e(bundle)}\">Verification bundle (for <code>drona verify</code>)</a>")
    print_base = f"/certificates/{_e(view.get('credential_id'))}/print"
    links.append(f"<a href=\"{print_base}\">Printable certificate</a>")
    linkedin = view.get("linkedin_url") or linkedin_url(view)
    links.append(f"<a href=\"{_e(linkedin)}\" rel=\"noopener\">Add to LinkedIn profile</a>")
    org = view.get("org") or None
    org_line = f"<p class=\"muted\">Issued for {_e(org.get('name'))}</p>" if isinstance(org, Mapping) and org.get(
        "name") else ""
    body = (
        f"<p class=\"muted\">Certificate verification · {_e(issuer.get('name') or 'Dronacharya')}</p>"
        f"<h1>{_e(tier)}: {_e(course)}</h1>"
        f"{_status_block(view)}"
        "<section class=\"card\" aria-labelledby=\"who\"><h2 id=\"who\">Credential</h2><dl>"
        f"<dt>Holder</dt><dd data-field=\"holder\">{_e(holder)}</dd>"
        f"<dt>Course</dt><dd data-field=\"course\">{_e(course)}"
        f"{' · ' + _e(view.get('track_title')) if view.get('track_title') else ''}</dd>"
        f"<dt>Tier</dt><dd data-field=\"tier\">{_e(tier)}</dd>"
        f"<dt>Issued</dt><dd data-field=\"issued\"><time datetime=\"{_e(view.get('issued_at'))}\">"
        f"{_e(_date(view.get('issued_at')))}</time></dd>"
        f"<dt>Credential ID</dt><dd class=\"mono\" data-field=\"credential-id\">{_e(view.get('credential_id'))}</dd>"
        f"<dt>Issuer</dt><dd>{_e(issuer.get('name'))} <span class=\"mono muted\">{_e(issuer.get('id'))}</span></dd>"
        f"</dl>{org_line}</section>"
        "<section class=\"card\" aria-labelledby=\"scores\"><h2 id=\"scores\">Scores</h2>"
        f"{_scores_table(view)}</section>"
        f"<section class=\"card\" aria-labelledby=\"evidence\"><h2 id=\"evidence\">Evidence</h2>"
        f"{_evidence_block(view)}</section>"
        "<section class=\"card\" aria-labelledby=\"proofs\"><h2 id=\"proofs\">Proofs</h2>"
        f"{_proof_block(view)}</section>"
        f"<nav class=\"actions\" aria-label=\"Downloads and sharing\">{''.join(links)}</nav>"
        "<p class=\"muted\">This page needs no account. The credential is an Open Badges 3.0 Verifiable Credential "
        "signed with eddsa-rdfc-2022; any conforming verifier can check it.</p>"
    )
    return _document(title, body)


_PRINT_CSS = """
.sheet{--tier:#3f51b5;border:6px double var(--tier);padding:2rem 2.2rem;margin:1rem auto;max-width:60rem;
background:#fff;color:#1c1d21;position:relative}.sheet h1{font-size:2rem;margin:.3rem 0}
.sheet.tier-bronze{--tier:#a0662c}.sheet.tier-silver{--tier:#6b7480}.sheet.tier-gold{--tier:#a67c00}
.sheet .holder{font-size:1.9rem;font-weight:700;margin:.6rem 0}
.sheet .tier{color:var(--tier);font-weight:700;letter-spacing:.06em;text-transform:uppercase}
.sheet .row{display:flex;justify-content:space-between;align-items:flex-end;gap:1.5rem;flex-wrap:wrap;margin-top:1.5rem}
.sheet table{max-width:30rem}.sheet .qr{display:block}.sheet .small{font-size:.8rem;color:#5b5f6a}
.sheet.shareable{max-width:34rem;text-align:center}.sheet.shareable .row{justify-content:center}
.sheet.linkedin{max-width:48rem;aspect-ratio:1200/627}.org{display:flex;align-items:center;gap:.8rem}
.org img{max-height:3rem;max-width:10rem}.no-print{margin:1rem auto;max-width:60rem}
.formats a{margin-right:.8rem}
@media print{.no-print{display:none}.sheet{margin:0;border-width:4px}body{background:#fff}}
"""


def render_print_page(view: Mapping[str, Any], fmt: str = "academic") -> str:
    """The printable certificate in one of FORMATS (unknown formats fall back to academic)."""
    fmt = fmt if fmt in FORMATS else "academic"
    tier_key = str(_get(view, "tier", "bronze"))
    holder = str(_get(view, "holder_name", ""))
    course = str(_get(view, "course_title", ""))
    tier = _tier_title(view)
    verify = str(_get(view, "verify_url", ""))
    issuer = _get(view, "issuer", {})
    issued = _date(view.get("issued_at"))
    status = str(_get(view, "status", "valid"))
    warning = "" if status == "valid" else (
        f"<p class=\"notice\">This credential is {_e(_STATUS_TEXT.get(status, status).lower())}: "
        "see the verification page.</p>")
    org = view.get("org") if isinstance(view.get("org"), Mapping) else None
    org_html = ""
    if fmt == "company" and org:
        logo = _safe_image(org.get("logo_url"))
        colour = _org_colour(org)
        org_html = ("<div class=\"org\">" + (f"<img src=\"{_e(logo)}\" alt=\"{_e(org.get('name'))} logo\">" if logo
                                             else "") + f"<strong>{_e(org.get('name'))}</strong></div>")
        if colour:  # the organisation's colour for the sheet's accents (a checked #RRGGBB, nothing else)
            org_html = f"<style>.sheet.company{{--accent:{colour}}}</style>" + org_html
    qr = _qr_svg(verify, size_px=120 if fmt != "shareable" else 160)
    fields = (f"<p class=\"small\">Credential ID <span class=\"mono\">{_e(view.get('credential_id'))}</span><br>"
              f"Verify at <a href=\"{_e(_safe_link(verify) or '#')}\">{_e(verify)}</a></p>")
    if fmt == "linkedin":
        inner = (f"<p class=\"tier\">{_e(tier)}</p><h1>{_e(course)}</h1><p class=\"holder\">{_e(holder)}</p>"
                 "<dl>"
                 f"<dt>Name</dt><dd>{_e(tier)}: {_e(course)}</dd>"
                 f"<dt>Issuing organisation</dt><dd>{_e(issuer.get('name') or 'Dronacharya')}</dd>"
                 f"<dt>Issue date</dt><dd>{_e(issued)}</dd>"
                 f"<dt>Credential ID</dt><dd class=\"mono\">{_e(view.get('credential_id'))}</dd>"
                 f"<dt>Credential URL</dt><dd class=\"mono\">{_e(verify)}</dd></dl>"
                 f"<div class=\"row\"><a href=\"{_e(view.get('linkedin_url') or linkedin_url(view))}\" "
                 f"rel=\"noopener\">Add to LinkedIn profile</a>{qr}</div>")
    elif fmt == "shareable":
        inner = (f"<p class=\"tier\">{_e(tier)}</p><p class=\"holder\">{_e(holder)}</p><p>{_e(course)}</p>"
                 f"<p>{_e(issued)}</p><div class=\"row\">{qr}</div>{fields}")
    else:
        inner = (f"{org_html}<p class=\"tier\">{_e(tier)}</p><h1>Certificate of achievement</h1>"
                 f"<p>This certifies that</p><p class=\"holder\">{_e(holder)}</p>"
                 f"<p>has earned the {_e(tier)} of the course <strong>{_e(course)}</strong>"
                 f"{' in the ' + _e(view.get('track_title')) + ' track' if view.get('track_title') else ''}"
                 f" on {_e(issued)}.</p>"
                 f"<div class=\"row\"><div>{_scores_table(view)}</div><div>{qr}</div></div>"
                 f"<div class=\"row\"><p>{_e(issuer.get('name') or 'Dronacharya')}</p>{fields}</div>")
    current = ' aria-current="page"'
    formats = " ".join(f"<a href=\"?format={f}\"{current if f == fmt else ''}>{FORMAT_NAMES[f]}</a>"
                       for f in FORMATS if f != "company" or org)
    body = (f"<div class=\"no-print formats\"><a href=\"/verify/{_e(view.get('credential_id'))}\">"
            f"Verification page</a> · Formats: {formats} · <a href=\"{_e(view.get('pdf_url') or '')}\">PDF</a></div>"
            f"{warning}<article class=\"sheet {fmt} tier-{_e(tier_key)}\" data-format=\"{fmt}\">{inner}</article>")
    return _document(f"{tier}: {course} — {holder}", body, css=_PRINT_CSS)


# ---- the PDF -----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _font_files() -> tuple[Path, Path]:
    regular, bold = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
    if not regular.is_file() or not bold.is_file():
        raise FileNotFoundError(f"the certificate fonts are missing from {FONTS}")
    return regular, bold


# Scripts DejaVu lacks (Chinese, Japanese, Korean, Indic, ...) come from fonts the system has, when it has
# them; the HTML print page covers every script through the browser's own fonts either way.
_FALLBACK_GLOBS = ("/usr/share/fonts/**/NotoSansCJK*-Regular.tt[cf]", "/usr/share/fonts/**/NotoSans*-Regular.ttf",
                   "/usr/share/fonts/**/DroidSansFallback*.ttf", "/usr/share/fonts/**/wqy-*.tt[cf]")


@lru_cache(maxsize=1)
def _fallback_fonts() -> tuple[Path, ...]:
    import glob

    found: list[Path] = []
    for pattern in _FALLBACK_GLOBS:
        found.extend(Path(p) for p in sorted(glob.glob(pattern, recursive=True)) if p.endswith((".ttf", ".otf")))
    return tuple(found[:4])


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _pdf_logo(pdf: Any, url: Any, *, x: float, y: float) -> None:
    """An inline PNG or JPEG logo at the top right (a linked one is not fetched: the server stays
    offline); an image the PDF library cannot read is left out rather than failing the document."""
    match = _DATA_IMAGE.fullmatch(url) if isinstance(url, str) else None
    if match is None or match.group(1) == "webp":
        return
    try:
        pdf.image(io.BytesIO(base64.b64decode(url.split(",", 1)[1])), x=x, y=y, h=14, keep_aspect_ratio=True, w=50)
    except Exception:  # noqa: BLE001 - a logo that does not decode must not cost the learner their PDF
        return


def render_pdf(view: Mapping[str, Any], fmt: str = "academic") -> bytes:
    """An A4 landscape PDF of the certificate with its QR code (vector squares) and the verification URL."""
    from fpdf import FPDF  # imported here: only the PDF route needs it

    fmt = fmt if fmt in FORMATS else "academic"
    regular, bold = _font_files()
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_creator("Dronacharya")
    pdf.set_title(f"{_tier_title(view)}: {_get(view, 'course_title', '')}")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    fallbacks = []
    for number, path in enumerate(_fallback_fonts()):
        pdf.add_font(f"Fallback{number}", "", str(path))
        pdf.add_font(f"Fallback{number}", "B", str(path))
        fallbacks.append(f"Fallback{number}")
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks)
    pdf.add_page()
    width, height = pdf.w, pdf.h
    tier_colour = _hex_rgb(TIER_COLOURS.get(str(_get(view, "tier", "")), "#3f51b5"))
    pdf.set_draw_color(*tier_colour)
    pdf.set_line_width(2.0)
    pdf.rect(8, 8, width - 16, height - 16)
    pdf.set_line_width(0.4)
    pdf.rect(12, 12, width - 24, height - 24)

    def line(text: str, *, size: float, style: str = "", colour: tuple[int, int, int] = (28, 29, 33),
             gap: float = 4.0) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.set_text_color(*colour)
        pdf.set_x(24)
        pdf.multi_cell(width - 48 - 60, size * 0.5, text, align="L")
        pdf.ln(gap)

    pdf.set_y(26)
    org = view.get("org") if isinstance(view.get("org"), Mapping) else None
    if fmt == "company" and org and org.get("name"):
        _pdf_logo(pdf, org.get("logo_url"), x=width - 24 - 50, y=20)
        colour = _org_colour(org)
        line(str(org["name"]), size=14, style="B", colour=_hex_rgb(colour) if colour else (28, 29, 33), gap=2)
    line(_tier_title(view).upper(), size=13, style="B", colour=tier_colour, gap=2)
    line("Certificate of achievement", size=26, style="B", gap=6)
    line("This certifies that", size=12, colour=(91, 95, 106), gap=1)
    line(str(_get(view, "holder_name", "")), size=24, style="B", gap=4)
    track = view.get("track_title")
    line(f"has earned the {_tier_title(view)} of the course {_get(view, 'course_title', '')}"
         + (f" in the {track} track" if track else "") + f" on {_date(view.get('issued_at'))}.", size=12, gap=6)
    scores: Sequence[Mapping[str, Any]] = _get(view, "scores", [])
    if scores and fmt != "shareable":
        pdf.set_font("DejaVu", "", 10)
        pdf.set_text_color(28, 29, 33)
        for score in scores:
            pdf.set_x(24)
            pdf.cell(80, 6, str(score.get("label") or score.get("key")))
            pdf.cell(30, 6, f"{_points(score.get('points'))} / {_points(score.get('max_points'))}", align="R")
            pdf.cell(25, 6, _percent(score.get("percent")), align="R", new_x="LMARGIN", new_y="NEXT")
        if view.get("percent_overall") is not None:
            pdf.set_font("DejaVu", "B", 10)
            pdf.set_x(24)
            pdf.cell(110, 6, "Overall")
            pdf.cell(25, 6, _percent(view.get("percent_overall")), align="R", new_x="LMARGIN", new_y="NEXT")
    status = str(_get(view, "status", "valid"))
    if status != "valid":
        pdf.ln(3)
        line(f"This credential is {_STATUS_TEXT.get(status, status).lower()}: see the verification page.", size=11,
             style="B", colour=(179, 38, 30))
    # The QR code, bottom right, drawn as filled squares so it stays sharp at any zoom.
    verify = str(_get(view, "verify_url", ""))
    matrix = qr_matrix(verify)
    side = 44.0
    cell = side / len(matrix)
    left, top = width - 24 - side, height - 30 - side
    pdf.set_fill_color(0, 0, 0)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                pdf.rect(left + x * cell, top + y * cell, cell, cell, style="F")
    pdf.set_font("DejaVu", "", 8)
    pdf.set_text_color(91, 95, 106)
    pdf.set_xy(24, height - 36)
    pdf.multi_cell(width - 48 - side - 8, 4.2,
                   f"Credential ID {_get(view, 'credential_id', '')}\nVerify at {verify}\n"
                   f"Issued by {_get(_get(view, 'issuer', {}), 'name', 'Dronacharya')} as an Open Badges 3.0 "
                   "credential signed with eddsa-rdfc-2022.")
    pdf.link(left, top, side, side, verify)
    return bytes(pdf.output())
