"""The certificate's documents: the public verification page, the printable formats, the PDF, the
LinkedIn link. They render one verification view (the JSON of GET /api/verify/{id}); these tests
check what a holder, an employer and an attacker who picked their own display name would see."""

from __future__ import annotations

import re
import zlib
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import zxingcpp

from sidecar.certificates import documents

VERIFY_URL = "https://learn.example.test/verify/1b4e28ba-2fa1-41d2-883f-0016d3cca427"


def _view(**changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "credential_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "status": "valid", "holder_name": "Zoë Ångström",
        "holder_removed": False, "course_id": "c1", "course_title": "Python Basics", "track_title": "Python Developer",
        "tier": "silver", "tier_title": "Silver certificate", "issued_at": "2026-12-03T22:00:00+00:00",
        "scores": [{"key": "conceptual", "label": "Conceptual", "points": 34.5, "max_points": 40, "percent": 86.25},
                   {"key": "coding", "label": "Coding challenges", "points": 30, "max_points": 30, "percent": 100}],
        "percent_overall": 91.5, "evidence": {"content_commit": "0a1b2c3d", "tests_sha256": "f" * 64},
        "demo_url": "https://demo.example.test/app", "verify_url": VERIFY_URL,
        "credential_url": "/api/certificates/1b4e28ba-2fa1-41d2-883f-0016d3cca427/credential.json",
        "pdf_url": "/api/certificates/1b4e28ba-2fa1-41d2-883f-0016d3cca427/certificate.pdf",
        "signature": {"ok": True, "reason": "", "verification_method": "https://learn.example.test/api/issuer/keys/k1",
                      "cryptosuite": "eddsa-rdfc-2022"},
        "log": {"leaf_index": 3, "tree_size": 9, "root_hash": "ab" * 32, "inclusion_proof": ["cd" * 32, "ef" * 32],
                "verified": True, "tree_head": {"timestamp": 1}},
        "issuer": {"id": "https://learn.example.test/api/issuer", "name": "Dronacharya",
                   "url": "https://learn.example.test"},
        "org": None,
    }
    view.update(changes)
    return view


def _qr_modules(page: str) -> list[list[bool]]:
    """The dark modules of the page's QR SVG, read back from its path (one 1×1 square per module)."""
    svg = re.search(r'<svg class="qr"[^>]*viewBox="0 0 (\d+) \1"[^>]*>.*?<path d="([^"]*)"', page)
    assert svg, "the page has a QR code"
    total, quiet = int(svg.group(1)), 4
    size = total - 2 * quiet
    grid = [[False] * size for _ in range(size)]
    for x, y in re.findall(r"M(\d+),(\d+)h1v1h-1z", svg.group(2)):
        grid[int(y) - quiet][int(x) - quiet] = True
    return grid


def decode_qr(modules: list[list[bool]]) -> str:
    """Decode a QR module grid with an independent decoder (ZXing), as a phone's camera app would."""
    size, scale, quiet = len(modules), 4, 4
    image = np.full(((size + 2 * quiet) * scale, (size + 2 * quiet) * scale), 255, np.uint8)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                image[(y + quiet) * scale:(y + quiet + 1) * scale, (x + quiet) * scale:(x + quiet + 1) * scale] = 0
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, "exactly one QR code"
    return str(found[0].text)


def test_verification_page_shows_the_credential_and_its_proofs() -> None:
    page = documents.render_verify_page(_view())
    for text in ("Zoë Ångström", "Python Basics", "Silver certificate", "3 December 2026",
                 "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "0a1b2c3d", "f" * 64, "https://demo.example.test/app",
                 "cd" * 32, "86.3 %", "91.5 %", "Add to LinkedIn profile"):
        assert text in page, text
    assert 'data-status="valid"' in page
    assert 'data-check="signature" data-ok="true"' in page and 'data-check="log" data-ok="true"' in page
    assert "<script" not in page, "the page works without JavaScript (and under a strict CSP)"
    assert "holder removed" not in page.lower()


@pytest.mark.parametrize("status", ["revoked", "invalid"])
def test_a_revoked_or_invalid_credential_says_so_everywhere(status: str) -> None:
    view = _view(status=status, revoked_at="2026-12-04T10:00:00+00:00", revocation_reason="Issued in error",
                 signature={"ok": status != "invalid", "reason": "the proof does not match the credential"})
    page = documents.render_verify_page(view)
    assert f'data-status="{status}"' in page and 'data-status="valid"' not in page
    if status == "revoked":
        assert "Revoked on 4 December 2026: Issued in error" in page
    else:
        assert "the proof does not match the credential" in page and "Do not rely on it" in page
    for fmt in documents.FORMATS:
        assert "see the verification page" in documents.render_print_page(view, fmt)


def test_a_deleted_holder_is_named_as_issued_and_marked_removed() -> None:
    page = documents.render_verify_page(_view(holder_removed=True))
    assert "data-holder-removed" in page and "Holder removed" in page
    assert "Zoë Ångström" in page and 'data-status="valid"' in page


def test_holder_chosen_text_is_escaped_and_unsafe_links_are_dropped() -> None:
    view = _view(holder_name='<script>alert(1)</script>"><img src=x onerror=alert(2)>',
                 course_title="<b>Basics</b>", demo_url="javascript:alert(3)",
                 org={"name": "Acme <i>", "logo_url": "javascript:alert(4)"})
    pages = [documents.render_verify_page(view)] + [documents.render_print_page(view, f) for f in documents.FORMATS]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>Basics" not in page
        assert "javascript:" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_every_printable_format_carries_a_qr_code_of_the_verification_url() -> None:
    seen = set()
    for fmt in documents.FORMATS:
        page = documents.render_print_page(_view(org={"name": "Acme Corp", "logo_url": "/media/acme.png"}), fmt)
        assert f'data-format="{fmt}"' in page
        assert f'data-qr-url="{VERIFY_URL}"' in page
        assert decode_qr(_qr_modules(page)) == VERIFY_URL, fmt
        seen.add(fmt)
    assert seen == set(documents.FORMATS)
    company = documents.render_print_page(_view(org={"name": "Acme Corp", "logo_url": "/media/acme.png"}), "company")
    assert "Acme Corp" in company and 'src="/media/acme.png"' in company


def test_an_unknown_format_falls_back_to_academic() -> None:
    page = documents.render_print_page(_view(), "<svg onload=alert(1)>")
    assert 'data-format="academic"' in page and "onload" not in page


def test_linkedin_link_fills_in_the_certification_form() -> None:
    url = documents.linkedin_url(_view())
    parsed = urlparse(url)
    assert (parsed.scheme, parsed.netloc, parsed.path) == ("https", "www.linkedin.com", "/profile/add")
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    assert query == {"startTask": "CERTIFICATION_NAME", "name": "Silver certificate: Python Basics",
                     "organizationName": "Dronacharya", "certUrl": VERIFY_URL,
                     "certId": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "issueYear": "2026", "issueMonth": "12"}


def _pdf_text(pdf: bytes) -> str:
    """Every stream of the PDF inflated, plus the file itself: enough to find its link and its text runs."""
    parts = [pdf.decode("latin-1")]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(parts)


@pytest.mark.parametrize("fmt", documents.FORMATS)
def test_the_pdf_links_its_qr_code_to_the_verification_page(fmt: str) -> None:
    pdf = documents.render_pdf(_view(org={"name": "Acme Corp"}), fmt)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = _pdf_text(pdf)
    assert f"/URI ({VERIFY_URL})" in text
    # One filled square per dark module of the QR code, in the page's content stream.
    dark = sum(sum(row) for row in documents.qr_matrix(VERIFY_URL))
    assert len(re.findall(r"re f", text)) >= dark


def test_the_pdf_renders_names_beyond_latin_1() -> None:
    pdf = documents.render_pdf(_view(holder_name="Ðorđe Σωκράτης Иван"), "academic")
    assert b"/FontFile2" in pdf, "a TrueType font is embedded (the core fonts are Latin-1 only)"


def test_the_company_format_takes_only_inline_images_and_checked_colours() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    page = documents.render_print_page(_view(org={"name": "Acme", "logo_url": png, "color": "#0a7d4f"}), "company")
    assert f'src="{png}"' in page and ".sheet.company{--accent:#0a7d4f}" in page
    hostile = documents.render_print_page(_view(org={"name": "Acme", "logo_url": "data:image/svg+xml;base64,PHN2Zz4=",
                                                      "color": "red}body{display:none"}), "company")
    assert "PHN2Zz4" not in hostile and "body{display:none" not in hostile and ".sheet.company{" not in hostile
