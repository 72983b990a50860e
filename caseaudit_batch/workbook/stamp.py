"""Fast stamping: put values into an existing workbook's XML, without loading it into openpyxl.

A form is a copy of its template with a few dozen cells filled in. Rather than load and save the whole workbook
(openpyxl: ~20 forms a second), the parts that change are rewritten as text and every other part of the zip is
copied across still compressed. Only these are touched:

- the worksheet XML of the sheets holding the cells (each cell element is replaced whole, with an inline string,
  a number or a date serial; text never becomes a formula, because a stamped string is always ``inlineStr``);
- ``docProps/custom.xml``, the form's identity properties.

Cells are found by their ``r`` attribute; names are resolved through the workbook's own defined names
(``xl/workbook.xml``, parsed with defusedxml), so this works for any form the writer made.
"""

from __future__ import annotations

import functools
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from caseaudit_batch.workbook.cells import column_index, column_letter, range_bounds, split_coordinate

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CUSTOM_PART = "docProps/custom.xml"

EXCEL_EPOCH = date(1899, 12, 30)
MAX_CELL_TEXT = 32767
# Characters XML 1.0 forbids (openpyxl refuses them too); they are dropped from stamped text.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CELL = re.compile(r'<c r="([A-Z]{1,3}[0-9]+)"([^>]*?)(?:/>|>(.*?)</c>)', re.DOTALL)
_STYLE = re.compile(r'\ss="(\d+)"')


@dataclass(frozen=True)
class _Member:
    name: str
    raw: bytes  # compressed (or stored) data, as in the source archive
    crc: int
    size: int
    method: int


@dataclass(frozen=True)
class Deflated:
    """A part's content already deflated (raw deflate, as a zip member holds it), with its CRC-32 and size."""

    raw: bytes
    crc: int
    size: int


def _deflate(data: bytes, level: int, mode: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(mode)


class Package:
    """An xlsx's members, kept compressed; parts are inflated on demand and replaced parts re-deflated on save."""

    def __init__(self, data: bytes) -> None:
        self.members: list[_Member] = []
        with zipfile.ZipFile(_Reader(data)) as zf:
            for info in zf.infolist():
                offset = info.header_offset
                name_len, extra_len = struct.unpack("<HH", data[offset + 26 : offset + 30])
                start = offset + 30 + name_len + extra_len
                raw = data[start : start + info.compress_size]
                self.members.append(_Member(info.filename, raw, info.CRC, info.file_size, info.compress_type))
        self.index = {m.name: m for m in self.members}
        self._cells: dict[str, tuple[str, dict[str, tuple[int, int, str]]]] = {}
        self._stretches: dict[tuple[str, int, int, int], tuple[bytes, bytes, bytes, bytes]] = {}

    def cells(self, name: str) -> tuple[str, dict[str, tuple[int, int, str]]]:
        """A sheet part's text and where each cell element is in it (``ref -> (start, end, attributes)``), found
        once per package: a template stamps a thousand forms a month, each filling a few dozen of its cells."""
        found = self._cells.get(name)
        if found is None:
            xml = self.text(name)
            where: dict[str, tuple[int, int, str]] = {}
            for match in _CELL.finditer(xml):
                where.setdefault(match.group(1), (match.start(), match.end(), match.group(2)))
            found = self._cells[name] = (xml, where)
        return found

    def read(self, name: str) -> bytes:
        member = self.index[name]
        if member.method == zipfile.ZIP_STORED:
            return member.raw
        return zlib.decompress(member.raw, -15)

    def text(self, name: str) -> str:
        return self.read(name).decode("utf-8")

    def spliced(self, name: str, start: int, end: int, middle: str, level: int = 6) -> Deflated:
        """Part ``name`` (a sheet located by :meth:`cells`) with its text from ``start`` to ``end`` replaced by
        ``middle``, deflated: what comes before and after is deflated once per package (a template's stretches are
        the same in every form made from it) and only ``middle`` is compressed each time.

        Issue 25: compressing a form's whole main sheet (50 KB, of which the pre-filled cells are 2 KB) was most of
        the cost of making it. Each stretch is its own deflate stream's blocks, the first two ending on a full flush
        (byte-aligned, not final), so the three joined are one valid stream that refers back only within a stretch.
        """
        key = (name, start, end, level)
        found = self._stretches.get(key)
        if found is None:
            xml = self.cells(name)[0]
            head, tail = xml[:start].encode("utf-8"), xml[end:].encode("utf-8")
            found = (head, _deflate(head, level, zlib.Z_FULL_FLUSH), tail, _deflate(tail, level, zlib.Z_FINISH))
            self._stretches[key] = found
        head, head_raw, tail, tail_raw = found
        body = middle.encode("utf-8")
        crc = zlib.crc32(tail, zlib.crc32(body, zlib.crc32(head)))
        raw = b"".join([head_raw, _deflate(body, level, zlib.Z_FULL_FLUSH), tail_raw])
        return Deflated(raw, crc, len(head) + len(body) + len(tail))

    def build(self, replacements: Mapping[str, bytes | Deflated], level: int = 6) -> bytes:
        """A new archive: replaced parts re-compressed (or given already deflated), every other part copied byte
        for byte."""
        out: list[bytes] = []
        central: list[bytes] = []
        offset = 0
        dos_time, dos_date = 0, (1 << 5) | 1  # 1980-01-01: the same bytes for the same form
        for member in self.members:
            name = member.name.encode("utf-8")
            content = replacements.get(member.name)
            if isinstance(content, Deflated):
                raw, crc, size, method = content.raw, content.crc, content.size, zipfile.ZIP_DEFLATED
            elif content is not None:
                raw = _deflate(content, level, zlib.Z_FINISH)
                crc, size, method = zlib.crc32(content), len(content), zipfile.ZIP_DEFLATED
            else:
                raw, crc, size, method = member.raw, member.crc, member.size, member.method
            header = struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, dos_time, dos_date, crc, len(raw), size, len(name), 0
            )
            out += (header, name, raw)
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    20,
                    20,
                    0,
                    method,
                    dos_time,
                    dos_date,
                    crc,
                    len(raw),
                    size,
                    len(name),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + name
            )
            offset += len(header) + len(name) + len(raw)
        directory = b"".join(central)
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), offset, 0)
        return b"".join([*out, directory, end])


class _Reader:
    """A minimal seekable file over bytes (``zipfile`` needs one; BytesIO would copy the data)."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def seek(self, pos: int, whence: int = 0) -> int:
        self._pos = pos if whence == 0 else self._pos + pos if whence == 1 else len(self._view) + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n < 0 else min(len(self._view), self._pos + n)
        chunk = bytes(self._view[self._pos : end])
        self._pos = end
        return chunk

    def seekable(self) -> bool:
        return True


# ---------------------------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------------------------


def excel_serial(value: date | datetime) -> float | int:
    if isinstance(value, datetime):
        delta = value - datetime(1899, 12, 30, tzinfo=value.tzinfo)
        return delta.days + delta.seconds / 86400
    return (value - EXCEL_EPOCH).days


def clean_text(text: str) -> str:
    return _ILLEGAL.sub("", text)


def cell_xml(ref: str, value: object, style: str | None, date_style: str | None) -> str:
    """One ``<c>`` element. Text is always an inline string: a value starting with '=' stays text."""
    s = f' s="{style}"' if style is not None else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (date, datetime)):
        ds = f' s="{date_style}"' if date_style is not None else s
        return f'<c r="{ref}"{ds}><v>{excel_serial(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    # Excel holds at most 32,767 characters in a cell (openpyxl cuts longer text the same way).
    text = escape(clean_text(str(value))[:MAX_CELL_TEXT])
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def stamp_located(
    sheet: tuple[str, Mapping[str, tuple[int, int, str]]], values: Mapping[str, object], date_styles: Iterable[str] = ()
) -> str:
    """:func:`stamp_cells` on a sheet whose cells are already located (:meth:`Package.cells`): the same text,
    made by joining the untouched stretches with the new cells instead of visiting every cell."""
    xml = sheet[0]
    start, end, middle = stamp_stretch(sheet, values, date_styles)
    return "".join([xml[:start], middle, xml[end:]])


def stamp_stretch(
    sheet: tuple[str, Mapping[str, tuple[int, int, str]]], values: Mapping[str, object], date_styles: Iterable[str] = ()
) -> tuple[int, int, str]:
    """What :func:`stamp_located` changes: the sheet's text from ``start`` (the first stamped cell) to ``end``
    (past the last) becomes ``middle``; before and after, it is the sheet's own."""
    xml, where = sheet
    missing = [ref for ref in values if ref not in where]
    if missing:
        raise KeyError(f"cells not found in the sheet: {', '.join(sorted(missing))}")
    dates = list(date_styles)
    pieces: list[str] = []
    first = position = None
    for start, end, attributes, ref in sorted((*where[ref], ref) for ref in values):
        found = _STYLE.search(attributes)
        style = found.group(1) if found else None
        date_style = style if style in dates else (dates[0] if dates else style)
        if position is not None:
            pieces.append(xml[position:start])
        else:
            first = start
        pieces.append(cell_xml(ref, values[ref], style, date_style))
        position = end
    if first is None or position is None:
        return 0, 0, ""
    return first, position, "".join(pieces)


def stamp_cells(sheet_xml: str, values: Mapping[str, object], date_styles: Iterable[str] = ()) -> str:
    """Replace the cells named in ``values`` (``{"B7": "text", ...}``); every cell must already exist.

    ``date_styles``: style indexes that show a date; a date written into a cell without one takes the first.
    """
    dates = list(date_styles)
    pending = dict(values)

    def replace(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref not in pending:
            return match.group(0)
        value = pending.pop(ref)
        found = _STYLE.search(match.group(2))
        style = found.group(1) if found else None
        date_style = style if style in dates else (dates[0] if dates else style)
        return cell_xml(ref, value, style, date_style)

    result = _CELL.sub(replace, sheet_xml)
    if pending:
        raise KeyError(f"cells not found in the sheet: {', '.join(sorted(pending))}")
    return result


# ---------------------------------------------------------------------------------------------------------------
# Workbook structure: sheets, defined names, date styles
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Structure:
    sheet_parts: dict[str, str]  # sheet name -> part name (xl/worksheets/sheet1.xml)
    names: dict[str, tuple[str, str]]  # defined name -> (sheet name, "B7" or "A4:C18")
    date_styles: tuple[str, ...]


def read_structure(package: Package) -> Structure:
    """The workbook's sheets, defined names and date styles. Every form made from one template has the same three
    parts, so the parsed result is kept by their bytes (filling a thousand forms parses them once). The result is
    shared: treat it as read-only."""
    return _structure(
        package.read("xl/workbook.xml"), package.read("xl/_rels/workbook.xml.rels"), package.read("xl/styles.xml")
    )


@functools.lru_cache(maxsize=32)
def _structure(workbook_xml: bytes, rels_xml: bytes, styles_xml: bytes) -> Structure:
    workbook = ElementTree.fromstring(workbook_xml)
    rels = ElementTree.fromstring(rels_xml)
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall(f"{{{PKG_REL_NS}}}Relationship")}
    sheet_parts: dict[str, str] = {}
    for sheet_el in workbook.iter(f"{{{MAIN_NS}}}sheet"):
        target = targets.get(sheet_el.get(f"{{{REL_NS}}}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        sheet_parts[sheet_el.get("name", "")] = part
    names: dict[str, tuple[str, str]] = {}
    for dn in workbook.iter(f"{{{MAIN_NS}}}definedName"):
        if dn.get("localSheetId") is not None or not dn.text or "!" not in dn.text:
            continue
        quoted, _, ref = dn.text.rpartition("!")
        names[dn.get("name", "")] = (quoted.strip("'").replace("''", "'"), ref.replace("$", ""))
    return Structure(sheet_parts, names, _date_styles(styles_xml))


_DATE_CODES = {14, 15, 16, 17, 22}


def _date_styles(styles_xml: bytes) -> tuple[str, ...]:
    """Indexes of the cell formats that show dates, unlocked ones (answer cells) first."""
    styles = ElementTree.fromstring(styles_xml)
    custom: set[int] = set()
    for fmt in styles.iter(f"{{{MAIN_NS}}}numFmt"):
        code = (fmt.get("formatCode") or "").lower()
        if "d" in code and "y" in code:
            custom.add(int(fmt.get("numFmtId", "0")))
    cell_xfs = styles.find(f"{{{MAIN_NS}}}cellXfs")
    unlocked: list[str] = []
    locked: list[str] = []
    for index, xf in enumerate(cell_xfs if cell_xfs is not None else []):
        fmt_id = int(xf.get("numFmtId", "0"))
        if fmt_id in _DATE_CODES or fmt_id in custom:
            protection = xf.find(f"{{{MAIN_NS}}}protection")
            is_unlocked = protection is not None and protection.get("locked") in ("0", "false")
            (unlocked if is_unlocked else locked).append(str(index))
    return tuple(unlocked + locked)


def cells_of(ref: str) -> list[list[str]]:
    """The rows of cell references in a range such as ``A4:C18`` (or a single cell)."""
    if ":" not in ref:
        split_coordinate(ref)
        return [[ref]]
    min_col, min_row, max_col, max_row = range_bounds(ref)
    return [[f"{column_letter(c)}{r}" for c in range(min_col, max_col + 1)] for r in range(min_row, max_row + 1)]


# ---------------------------------------------------------------------------------------------------------------
#: The document's core properties (title, creator and, from openpyxl, the wall-clock created and modified times).
CORE_PART = "docProps/core.xml"
_TIMES_RE = re.compile(rb"<dcterms:(created|modified)\b[^>]*>[^<]*</dcterms:\1>")


def without_times(data: bytes) -> bytes:
    """The workbook with no created or modified time in its core properties (both are optional).

    openpyxl stamps the wall-clock time into every workbook it saves. A form or input table we make carries none,
    so the same inputs give the same bytes (and the same sha256 in the register) whenever they are made.
    """
    package = Package(data)
    if CORE_PART not in package.index:
        return data
    return package.build({CORE_PART: _TIMES_RE.sub(b"", package.read(CORE_PART))})


# ----------------------------------------------------------------------------------------------------------------
# Custom document properties
# ---------------------------------------------------------------------------------------------------------------


def custom_properties_xml(properties: Mapping[str, str]) -> bytes:
    """``docProps/custom.xml`` with these string properties (in this order)."""
    fmtid = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
    items = "".join(
        f'<property fmtid="{fmtid}" pid="{pid}" name="{escape(name, {chr(34): "&quot;"})}">'
        f"<vt:lpwstr>{escape(clean_text(value))}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(properties.items(), start=2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"{items}</Properties>"
    ).encode()


# ---------------------------------------------------------------------------------------------------------------
# Row heights: a long answer makes its row taller, so that it can be read on screen and in print
# ---------------------------------------------------------------------------------------------------------------

_COL = re.compile(r"<col\s([^>]*)/?>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_ROW = re.compile(r'<row r="(\d+)"([^>]*?)(/?)>')
_HT = re.compile(r'\sht="([0-9.]+)"')
MAX_ROW_HEIGHT = 409.0  # Excel's limit, in points
LINE_POINTS = 14.5  # one wrapped line of 11 pt text


def column_widths(sheet_xml: str) -> dict[int, float]:
    widths: dict[int, float] = {}
    for attrs in _COL.findall(sheet_xml):
        found = dict(_ATTR.findall(attrs))
        if {"min", "max", "width"} <= found.keys():
            for col in range(int(found["min"]), int(found["max"]) + 1):
                widths[col] = float(found["width"])
    return widths


def text_height(text: str, width: float) -> float:
    """Points a wrapped text needs in a column ``width`` characters wide (estimated generously)."""
    per_line = max(8, int(width * 1.1))
    lines = sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))
    return min(MAX_ROW_HEIGHT, lines * LINE_POINTS + 6)


def grow_rows(sheet_xml: str, heights: Mapping[int, float]) -> str:
    """Make rows at least this tall (points); rows already taller are left alone."""
    if not heights:
        return sheet_xml

    def replace(match: re.Match[str]) -> str:
        row = int(match.group(1))
        want = heights.get(row)
        if want is None:
            return match.group(0)
        attrs = match.group(2)
        found = _HT.search(attrs)
        if found and float(found.group(1)) >= want:
            return match.group(0)
        attrs = _HT.sub("", attrs).replace(' customHeight="1"', "")
        return f'<row r="{row}"{attrs} ht="{want:.1f}" customHeight="1"{match.group(3)}>'

    return _ROW.sub(replace, sheet_xml)


def heights_for(sheet_xml: str, values: Mapping[str, object]) -> dict[int, float]:
    """The row heights the text values need, given the sheet's column widths."""
    if not any(isinstance(value, str) and len(value) >= 40 for value in values.values()):
        return {}  # no text long enough to need a taller row: the widths need not be read
    widths = column_widths(sheet_xml)
    needed: dict[int, float] = {}
    for ref, value in values.items():
        if not isinstance(value, str) or len(value) < 40:
            continue
        letters, row = split_coordinate(ref)
        col = column_index(letters)
        height = text_height(value, widths.get(col, 9.0))
        needed[row] = max(needed.get(row, 0.0), height)
    return needed
