"""The Word reports' building blocks: sub-documents in the template's styles, accessible tables (written as XML in
one go) and charts with alt text, cell text formatting, and loading and rendering the docxtpl template.

Accessibility (UK public sector): table header rows marked to repeat (``w:tblHeader``) and shaded, rows that never
break across pages, no merged cells, every picture with alt text (``docPr/@descr``) and the same numbers in a table
below it. The report sections that use these are in :mod:`caseaudit_batch.reports.word`.
"""

from __future__ import annotations

import copy
import io
import math
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import docx
import docx.document
import docx.table
import pandas as pd
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.shared import Cm
from docxtpl import DocxTemplate
from docxtpl.subdoc import Subdoc

from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.reports import charts
from caseaudit_batch.reports.frame import is_share_column
from caseaudit_batch.workbook.stamp import clean_text

TABLE_STYLE = "Table Grid"
HEADER_FILL = "DCE6F1"
PAGE_WIDTH_CM = 17.0  # A4 less the template's 2 cm margins
CM_PER_CHAR = 0.21  # Arial 11 pt, a typical character
CM_PER_BOLD_CHAR = 0.24  # bold header text
CELL_PADDING_CM = 0.45
BODY_POINTS = 11  # the template's table text, which the two widths above are for
#: Smaller sizes (points) for a table whose words do not fit the page at the body size: set smaller, the words stay
#: whole (at 11 pt, the month's "By case type" grades table broke "Good" as "Goo d").
SMALLER_POINTS = (10, 9, 8)
LIST_LIMIT = 25  # longer lists are in the Excel report


def pct(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0%}"


def _cell_text(column: str, value: Any) -> str:
    lowered = column.lower()
    share = is_share_column(column)  # the Excel report's rule too
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a" if share else ""
    if isinstance(value, float) and share:
        return pct(value)
    if isinstance(value, float) and lowered.startswith("mean difference"):
        return f"{value:+.2f}"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


# ------------------------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------------------------
_BLANK: Any = None  # the body of a blank python-docx document, parsed once per process
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _run_xml(text: str, *, bold: bool = False, size: int = BODY_POINTS) -> str:
    safe = escape(clean_text(text))  # characters XML cannot hold are dropped, as on the forms, not a failed report
    props = ("<w:b/>" if bold else "") + (
        f'<w:sz w:val="{2 * size}"/><w:szCs w:val="{2 * size}"/>' if size != BODY_POINTS else ""
    )
    return f'<w:r>{f"<w:rPr>{props}</w:rPr>" if props else ""}<w:t xml:space="preserve">{safe}</w:t></w:r>'


def _cell_xml(run: str, width: int, fill: str | None = None) -> str:
    shade = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
    return f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{width}"/>{shade}</w:tcPr><w:p>{run}</w:p></w:tc>'


class _Builder:
    """Sub-documents in the template's styles, with accessible tables and pictures."""

    def __init__(self, tpl: DocxTemplate) -> None:
        self.tpl = tpl

    def new(self) -> Any:
        """A blank sub-document, as ``DocxTemplate.new_subdoc()`` makes one, without reading python-docx's default
        document from disk each time (about 12 ms; a month's reports make about ninety sub-documents)."""
        global _BLANK
        if _BLANK is None:
            _BLANK = docx.Document().element
        sub = Subdoc.__new__(Subdoc)
        sub.tpl = self.tpl
        sub.docx = self.tpl.get_docx()
        # Its pictures and relationships go to the main document's part, as in Subdoc.__init__ without a docpath.
        sub.subdocx = docx.document.Document(copy.deepcopy(_BLANK), sub.docx._part)
        return sub

    @staticmethod
    def para(sd: Any, text: str, style: str | None = None) -> None:
        paragraph = sd.add_paragraph(text)
        if style:
            # The style ID directly: python-docx's lookup by name scans every style on each call (slow).
            paragraph._p.style = style.replace(" ", "")

    @staticmethod
    def heading(sd: Any, text: str, level: int = 2) -> None:
        _Builder.para(sd, text, f"Heading {level}")

    @staticmethod
    def table(
        sd: Any,
        df: pd.DataFrame,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
        fill: Callable[[str, Any], str | None] | None = None,
    ) -> Any:
        """An accessible table: the header row marked to repeat on every page (``w:tblHeader``) and shaded, rows
        that never break across pages, columns sized to their content, no merged cells.

        The table's XML is written out and parsed once: python-docx builds a table one element at a time, which
        took a sixth of a month's reports (about 140 tables a month across the report and the service packs).
        ``fill(column, value)`` gives a cell's shading (hex colour) or None (the heatmap); returns the table element."""
        columns = list(columns or df.columns)
        rows = df[columns].itertuples(index=False, name=None) if len(df) else iter(())
        records = list(rows)
        if limit is not None and len(records) > limit:
            records = records[:limit]
        measured = _Builder.measure(columns, records)
        size = _Builder.text_size(measured)
        widths = _Builder.widths(measured, size)
        parts = [
            f'<w:tbl xmlns:w="{_W}"><w:tblPr><w:tblStyle w:val="{TABLE_STYLE.replace(" ", "")}"/>'
            '<w:tblW w:type="auto" w:w="0"/><w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" w:noHBand="0" '
            'w:noVBand="1" w:val="04A0"/></w:tblPr><w:tblGrid>',
            *(f'<w:gridCol w:w="{w}"/>' for w in widths),
            '</w:tblGrid><w:tr><w:trPr><w:tblHeader w:val="true"/></w:trPr>',  # repeat the header on every page
            *(
                f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{w}"/><w:shd w:val="clear" w:color="auto" '
                f'w:fill="{HEADER_FILL}"/></w:tcPr><w:p>{_run_xml(name, bold=True, size=size)}</w:p></w:tc>'
                for name, w in zip(columns, widths, strict=True)
            ),
            "</w:tr>",
        ]
        if not records:
            cells = [_run_xml("None.", size=size)] + [""] * (len(columns) - 1)
            parts.append("<w:tr>" + "".join(_cell_xml(run, w) for run, w in zip(cells, widths, strict=True)))
            parts.append("</w:tr>")
        for record in records:
            parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")  # a row never breaks across pages
            for column, value, w in zip(columns, record, widths, strict=True):
                text = _cell_text(column, value)
                shade = fill(column, value) if fill is not None else None
                parts.append(_cell_xml(_run_xml(text, size=size) if text else "", w, shade))
            parts.append("</w:tr>")
        parts.append("</w:tbl>")
        tbl = parse_xml("".join(parts))
        sd.subdocx.element.body._insert_tbl(tbl)
        return tbl

    @staticmethod
    def listing(sd: Any, df: pd.DataFrame, columns: Sequence[str], which: str) -> None:
        """A list of at most ``LIST_LIMIT`` rows (``df`` already sorted), saying so when it is longer: the Excel
        report lists them all."""
        if len(df) > LIST_LIMIT:
            _Builder.para(sd, f"The {LIST_LIMIT} {which} of {len(df)}; the Excel report lists them all.")
        _Builder.table(sd, df, columns, LIST_LIMIT)

    @staticmethod
    def measure(columns: Sequence[str], records: Sequence[Sequence[Any]]) -> list[tuple[int, int, int]]:
        """Each column's longest header word, longest word in a cell and typical cell length, in characters (the
        first 200 rows): read once, whatever size the table's text is then set at."""
        measured = []
        for index, column in enumerate(columns):
            header_word = max((len(word) for word in column.split()), default=4)
            texts = [_cell_text(column, record[index]) for record in records[:200]]
            lengths = sorted(len(text) for text in texts)
            typical = lengths[len(lengths) // 2] if lengths else 0
            content_word = max((len(word) for text in texts for word in text.split()), default=0)
            measured.append((header_word, content_word, typical))
        return measured

    @staticmethod
    def _needs(measured: Sequence[tuple[int, int, int]], size: int = BODY_POINTS) -> tuple[list[float], list[float]]:
        """Each column's least width (cm: no header word or word in a cell breaks across lines) and wanted width
        (room for a typical cell on one line, capped), with text of ``size`` points."""
        scale = size / BODY_POINTS
        minimum: list[float] = []
        wanted: list[float] = []
        for header_word, content_word, typical in measured:
            least = max(header_word * CM_PER_BOLD_CHAR, content_word * CM_PER_CHAR) * scale + CELL_PADDING_CM
            minimum.append(least)
            wanted.append(max(least, min(typical, 40) * CM_PER_CHAR * scale + CELL_PADDING_CM))
        return minimum, wanted

    @staticmethod
    def text_size(measured: Sequence[tuple[int, int, int]]) -> int:
        """The table's text size in points: the body size, else the largest smaller size at which every word fits
        whole (the smallest if none does)."""
        for size in (BODY_POINTS, *SMALLER_POINTS):
            if sum(_Builder._needs(measured, size)[0]) <= PAGE_WIDTH_CM:
                return size
        return SMALLER_POINTS[-1]

    @staticmethod
    def widths(measured: Sequence[tuple[int, int, int]], size: int = BODY_POINTS) -> list[int]:
        """Spread the columns over the page width by content, so no word is broken mid-way (twentieths of a
        point, as Word measures table widths), for text of ``size`` points."""
        minimum, wanted = _Builder._needs(measured, size)
        if sum(wanted) <= PAGE_WIDTH_CM:
            sizes = [w * PAGE_WIDTH_CM / sum(wanted) for w in wanted]
        elif sum(minimum) <= PAGE_WIDTH_CM:
            spare = (PAGE_WIDTH_CM - sum(minimum)) / (sum(wanted) - sum(minimum))
            sizes = [m + (w - m) * spare for m, w in zip(minimum, wanted, strict=True)]
        else:
            sizes = [m * PAGE_WIDTH_CM / sum(minimum) for m in minimum]
        return [Cm(size).twips for size in sizes]

    @staticmethod
    def picture_in_cell(sd: Any, tbl: Any, row: int, col: int, chart: charts.Chart, width_cm: float) -> None:
        """A small picture (a sparkline) in a table cell, with its alt text, before the cell's text."""
        table = docx.table.Table(tbl, sd.subdocx)
        paragraph = table.rows[row].cells[col].paragraphs[0]
        run = paragraph.add_run()
        run.add_picture(io.BytesIO(chart.png), width=Cm(width_cm))
        paragraph._p.remove(run._r)
        at = 0 if paragraph._p.pPr is None else 1
        paragraph._p.insert(at, run._r)
        paragraph._p.insert(at + 1, parse_xml(f'<w:r xmlns:w="{_W}"><w:br/></w:r>'))  # the cell's text below it
        doc_pr = run._r.xpath(".//wp:docPr")[0]
        doc_pr.set("descr", chart.alt)
        doc_pr.set("title", chart.title)

    @staticmethod
    def page_break(sd: Any) -> None:
        sd.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    @staticmethod
    def chart(sd: Any, chart: charts.Chart, table_columns: Sequence[str] | None = None) -> None:
        _Builder.para(sd, chart.title, "Heading 2")
        sd.add_picture(io.BytesIO(chart.png), width=Cm(16))
        # docxtpl and python-docx set no alt text (field notes): set it on the picture's docPr.
        doc_pr = sd.paragraphs[-1].runs[-1]._r.xpath(".//wp:docPr")[0]
        doc_pr.set("descr", chart.alt)
        doc_pr.set("title", chart.title)
        sd.add_paragraph("The same figures as a table:")
        _Builder.table(sd, chart.table, table_columns)


def _load_template(path: Path) -> DocxTemplate:
    if not path.is_file():
        raise ConfigError("REP002", path=str(path), what="the file does not exist")
    try:
        tpl = DocxTemplate(str(path))
        tpl.init_docx()  # docxtpl reads the file lazily: read it now, so a bad file is reported here
        return tpl
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same problem for the user
        raise ConfigError("REP002", path=str(path), what=f"it is not a Word document ({type(exc).__name__})") from None


def _render(tpl: DocxTemplate, context: dict[str, Any], path: Path) -> bytes:
    try:
        tpl.render(context, autoescape=True)  # findings with <, > and & survive (field notes)
    except Exception as exc:  # noqa: BLE001 - a broken {{ field }} after restyling is a template problem
        raise ConfigError(
            "REP002", path=str(path), what=f"a field could not be filled ({type(exc).__name__})"
        ) from None
    # Each picture a unique drawing ID (sub-documents number their own), and none without alt text.
    # The document's title (read out by screen readers and shown in the title bar).
    title = f"{context['title']}, {context['month_label']}" + (f" ({context['service']})" if context["service"] else "")
    tpl.docx.core_properties.title = title
    tpl.docx.core_properties.author = context["organisation"]
    body = tpl.docx.element.body
    for number, doc_pr in enumerate(body.iter(qn("wp:docPr")), start=1):
        doc_pr.set("id", str(number))
        if not doc_pr.get("descr"):
            raise AssertionError("a picture without alt text")
    buffer = io.BytesIO()
    tpl.save(buffer)
    return buffer.getvalue()
