"""How reports look: CSV safe to open in a spreadsheet, plain-text email tables, and PDFs.

PDFs are drawn with fpdf2, the way certificates are (sidecar/certificates/documents.py): DejaVu Sans
from the certificates' vendored fonts (names may be in any script), no web fonts, nothing fetched.
Everything here is pure: no database, no clock.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from sidecar.certificates.documents import FONTS

# A cell starting with one of these runs as a formula in a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class Table:
    """Columns as (key, label); rows as dicts of those keys. A report's CSV, email table and PDF table."""

    columns: Sequence[tuple[str, str]]
    rows: Sequence[dict[str, object]]
    title: str = ""
    note: str | None = None


def csv_text(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(label) for _key, label in table.columns])
    for row in table.rows:
        writer.writerow([safe_cell(row.get(key)) for key, _label in table.columns])
    return out.getvalue()


def text_table(table: Table, *, limit: int = 50) -> str:
    """A fixed-width table for a plain-text email (at most `limit` rows, then how many more)."""
    cells = [[label for _key, label in table.columns]]
    cells += [["" if row.get(key) is None else str(row.get(key)) for key, _label in table.columns]
              for row in table.rows[:limit]]
    widths = [min(40, max(len(r[i]) for r in cells)) for i in range(len(table.columns))]
    lines = ["  ".join(c[:40].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if len(table.rows) > limit:
        lines.append(f"... and {len(table.rows) - limit} more")
    return "\n".join(lines)


@dataclass
class Document:
    """A report for the PDF: a title, lines of text (figures), then tables."""

    title: str
    subtitle: str = ""
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def pdf_bytes(document: Document) -> bytes:
    """An A4 landscape PDF of the document (fonts embedded; the tables break across pages)."""
    from fpdf import FPDF  # imported here: only the PDF reports need it
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_creator("Dronacharya")
    pdf.set_title(document.title)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(0, 9, document.title, new_x="LMARGIN", new_y="NEXT")
    if document.subtitle:
        pdf.set_font("DejaVu", "", 10)
        pdf.set_text_color(91, 95, 106)
        pdf.multi_cell(0, 6, document.subtitle, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(28, 29, 33)
    pdf.ln(3)
    pdf.set_font("DejaVu", "", 11)
    for line in document.lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    for table in document.tables:
        pdf.ln(4)
        if table.title:
            pdf.set_font("DejaVu", "B", 13)
            pdf.multi_cell(0, 7, table.title, new_x="LMARGIN", new_y="NEXT")
        if table.note:
            pdf.set_font("DejaVu", "", 9)
            pdf.multi_cell(0, 5, table.note, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8)
        if not table.rows:
            pdf.multi_cell(0, 5, "(none)", new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(first_row_as_headings=True, headings_style=FontFace(emphasis="BOLD"),
                       line_height=4.6) as grid:
            heading = grid.row()
            for _key, label in table.columns:
                heading.cell(label)
            for row in table.rows:
                cells = grid.row()
                for key, _label in table.columns:
                    cells.cell("" if row.get(key) is None else str(row.get(key)))
    return bytes(pdf.output())
