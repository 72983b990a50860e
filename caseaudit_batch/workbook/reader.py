"""Safe reading of returned forms: sniff the bytes, check the archive, then read values at known positions.

Order matters (field notes, "Hostile workbooks"): nothing parses a file until it has been named for what it is and
its archive has been checked against hard limits, because a zip bomb aborts python-calamine's whole process and
cannot be caught. Only then does python-calamine read the values, at the positions ``workbook/layout.py`` gives for
the form's kind (no openpyxl per file: it is 30 times slower).

Every refusal is a :class:`Refused` carrying a catalogue code (``IN0xx``), so the caller can record one outcome.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

import python_calamine

from caseaudit_batch.workbook.archive import (
    MAX_CELLS,
    MAX_COLS,
    MAX_FILE_BYTES,
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_RATIO,
    MAX_ROWS,
    MAX_TOTAL_BYTES,
    Refused,
    SafeArchive,
    refuse_dtd,
    size_text,
)
from caseaudit_batch.workbook.layout import ACTIONS_SHEET, MAIN_SHEET, META_KEYS, META_SHEET, FormLayout, TableSpec

# The archive's limits are in workbook/archive.py.
# python-calamine panics (an uncatchable-by-Exception Rust panic, with a backtrace on screen) on a number below about
# -1.07e11 in a date-formatted cell; no real answer is anywhere near it, so such numbers are refused before reading.
MIN_NUMBER = -1e11

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MACRO_TYPES = ("macroEnabled", "vbaProject", "vbaData")
TEMP_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# Strict Open XML (an Excel save type) names the same elements in other namespaces: every guard must find both.
NS_MAIN_STRICT = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"
NS_REL_STRICT = "{http://purl.oclc.org/ooxml/officeDocument/relationships}"
NS_MAINS = (NS_MAIN, NS_MAIN_STRICT)
NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
NS_CUSTOM = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"

_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})([0-9]{1,7})\"")
_PLAIN_CELL_REF = re.compile(rb"<c\b[^>]*?\br=\"([A-Z]{1,3})([0-9]{1,7})\"")
_ODD_TAGS = re.compile(rb"<(?:c|row)[>/\t\r\n]|<\w+:(?:c|row)[\s>/]")
_ANY_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")
_ANY_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_NEGATIVE_GUARD = re.compile(rb"v>\s*-")
_NEGATIVE = re.compile(rb"<(?:\w+:)?v>\s*(-[0-9.eE+\-]+)\s*</")


@dataclass
class FormRead:
    """What was read from one form: its identity, its raw cell values by field name, and its table rows."""

    meta: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    #: per table, the sheet row its body was read from (where the file has it now; rows may have been inserted)
    first_rows: dict[str, int] = field(default_factory=dict)
    #: per table, the cells with something in them in the table's columns, under its header, that were not read
    strays: dict[str, list[str]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.meta.get("form_kind", "")

    @property
    def audit_id(self) -> str:
        return self.meta.get("audit_id", "")


def ignorable(name: str) -> str | None:
    """The code for a file to list as ``ignored`` (Excel lock files, temporary and system files), else ``None``."""
    lower = name.lower()
    if name.startswith("~$"):
        return "IN001"
    if lower.startswith(".~lock.") or lower in TEMP_NAMES or lower.endswith((".tmp", ".crdownload", ".part")):
        return "IN002"
    if name.startswith("~") and "." not in name:  # Excel's own temporary save files, e.g. ~ABCD1234
        return "IN002"
    return None


def sniff(data: bytes) -> None:
    """Name what a file really is from its first bytes; refuse anything that is not a zip archive."""
    if not data:
        raise Refused("IN005")
    if data.startswith(OLE_MAGIC):
        raise Refused("IN003")
    if not data.startswith(ZIP_MAGIC):
        raise Refused("IN004", found=_looks_like(data[:512]))
    if len(data) > MAX_FILE_BYTES:
        raise Refused("IN006", found=size_text(len(data)), limit=size_text(MAX_FILE_BYTES))


def _looks_like(head: bytes) -> str:
    signatures = (
        (b"\x89PNG", "a PNG picture"),
        (b"\xff\xd8\xff", "a JPEG picture"),
        (b"GIF8", "a GIF picture"),
        (b"%PDF", "a PDF document"),
        (b"{\\rtf", "a Word RTF document"),
    )
    for magic, name in signatures:
        if head.startswith(magic):
            return name
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "some other kind of file"
    stripped = text.lstrip("\ufeff").lstrip()
    if stripped.startswith("<"):
        return "a web page or XML file"
    first = stripped.splitlines()[0] if stripped else ""
    if first.count(",") >= 2 or first.count(";") >= 2 or first.count("\t") >= 2:
        return "a CSV file renamed as a workbook"
    return "a text file"


READ_SHEETS = frozenset({MAIN_SHEET, ACTIONS_SHEET, META_SHEET})


@dataclass
class Package:
    """The parts of a checked archive that matter: sheet names to their parts, and the custom properties."""

    archive: SafeArchive
    sheets: dict[str, str]
    custom: dict[str, str]
    #: workbook-level defined names to their references (``'Actions'!$A$4:$C$18``)
    names: dict[str, str] = field(default_factory=dict)
    #: the same number for two packages of one process exactly when their sheets and names are the same (0: unknown)
    layout_key: int = 0


def open_package(data: bytes) -> Package:
    """Sniff and check a file, refusing macros, external links and entity declarations; map its sheets."""
    sniff(data)
    archive = SafeArchive(data)
    if "[Content_Types].xml" not in archive.names or "xl/workbook.xml" not in archive.names:
        raise Refused("IN004", found="a zip archive or another Office document, not an Excel workbook")
    types = archive.read("[Content_Types].xml")
    if any(t.encode() in types for t in MACRO_TYPES) or any(
        n.lower().endswith(("vbaproject.bin", "vbadata.xml")) for n in archive.names
    ):
        raise Refused("IN012")
    links = sorted(n for n in archive.names if n.startswith("xl/externalLinks/") and n.endswith(".xml"))
    if links or b"externalLink+xml" in types:
        raise Refused("IN013", found=f"{max(1, len(links))} external link(s)")
    refuse_dtd(types)  # its content is only searched for macro and link types, never parsed
    rels_name = "xl/_rels/workbook.xml.rels"
    key = (archive.read("xl/workbook.xml"), archive.read(rels_name) if rels_name in archive.names else None)
    mapped = _MAPPED.get(key)
    if mapped is None:
        mapped = _map_workbook(archive, rels_name)
        if len(_MAPPED) >= _MAPPED_KEPT:
            _MAPPED.pop(next(iter(_MAPPED)))
        _MAPPED[key] = mapped
    sheets, names, layout_key = mapped
    custom: dict[str, str] = {}
    if "docProps/custom.xml" in archive.names:
        for prop in archive.xml("docProps/custom.xml").iter(f"{NS_CUSTOM}property"):
            name = prop.get("name", "")
            if name.startswith("caseaudit.") and len(prop):
                custom[name.removeprefix("caseaudit.")] = (prop[0].text or "").strip()
    # Every other part: its prolog screened for entity declarations (the sheets a reader will read, whole).
    archive.refuse_entities({part for name, part in sheets.items() if name in READ_SHEETS})
    return Package(archive, sheets, custom, names, layout_key)


# The forms one version of caseaudit made, saved by one program, have the same workbook part byte for byte (its
# sheets and defined names), so each of a run's few kinds is mapped once (issue 25: "where forms from one framework
# version share a layout"). Keyed by the parts' bytes themselves, so a form that differs in any way is mapped anew;
# a few kinds are kept, the oldest let go first. What is kept is never changed by its users.
_MAPPED: dict[tuple[bytes, bytes | None], tuple[dict[str, str], dict[str, str], int]] = {}
_MAPPED_KEPT = 8


def _map_workbook(archive: SafeArchive, rels_name: str) -> tuple[dict[str, str], dict[str, str], int]:
    """The workbook part's sheets (name to part) and workbook-level defined names, and a number that is the same
    for two workbooks exactly when their mapped parts are (``Package.layout_key``); external references refused."""
    workbook = archive.xml("xl/workbook.xml", screened=True)
    if any(workbook.find(f"{ns}externalReferences") is not None for ns in NS_MAINS):
        raise Refused("IN013", found="external references")
    targets: dict[str, str] = {}
    if rels_name in archive.names:
        for rel in archive.xml(rels_name, screened=True).iter(f"{NS_PKG_REL}Relationship"):
            if rel.get("TargetMode") == "External":
                raise Refused("IN013", found="a link to an outside file")
            targets[rel.get("Id", "")] = _resolve(rel.get("Target", ""))
    sheets: dict[str, str] = {}
    for ns in NS_MAINS:
        for sheet in workbook.iter(f"{ns}sheet"):
            rel_id = sheet.get(f"{NS_REL}id") or sheet.get(f"{NS_REL_STRICT}id") or ""
            target = targets.get(rel_id, "")
            if target:
                sheets[sheet.get("name", "")] = target
    names: dict[str, str] = {}
    for ns in NS_MAINS:
        for dn in workbook.iter(f"{ns}definedName"):
            if dn.get("localSheetId") is None and dn.text:
                names.setdefault(dn.get("name", ""), dn.text.strip())
    return sheets, names, next(_KINDS)


_KINDS = itertools.count(1)  # Package.layout_key: 0 is "unknown"


def _resolve(target: str) -> str:
    """A relationship target relative to ``xl/`` (or absolute from the package root) as a member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for part in PurePosixPath("xl", target).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _check_numbers(data: bytes, sheet: str) -> None:
    if not _NEGATIVE_GUARD.search(data):
        return  # no value starts with a minus sign (the common case): one quick pass instead of the full expression
    for text in _NEGATIVE.findall(data):
        try:
            value = float(text)
        except ValueError:
            continue
        if value < MIN_NUMBER:
            raise Refused("IN016", sheet=sheet, found=text.decode("ascii", "replace")[:30])


def check_cells(package: Package, sheet_names: list[str]) -> None:
    """Before python-calamine reads the sheets: count their cells and where they reach (never trust ``<dimension>``)."""
    cells = 0
    for sheet in sheet_names:
        part = package.sheets.get(sheet)
        if part is None:
            continue
        if part not in package.archive.names:
            raise Refused("IN015", found="a sheet named in the workbook is missing")
        data = package.archive.read(part)
        _check_numbers(data, sheet)
        # Counting with bytes.count is faster than a regular expression; tags spelt any other way (a namespace
        # prefix, no attributes: never by Excel, LibreOffice or openpyxl) switch to an exact count. Likewise, with no
        # ":c" in the sheet no tag has a prefix, and _CELL_REF without one finds the same references twice as fast.
        count = data.count(b"<c ")
        rows_written = data.count(b"<row ")
        if _ODD_TAGS.search(data):  # rare spellings: counted exactly, with a regular expression
            count = len(_ANY_CELL.findall(data))
            rows_written = len(_ANY_ROW.findall(data))
        cells += count
        if cells > MAX_CELLS:
            raise Refused("IN011", found=f"more than {MAX_CELLS:,} cells", limit=f"{MAX_CELLS:,}")
        refs = (_CELL_REF if b":c" in data else _PLAIN_CELL_REF).findall(data)
        columns, rows = zip(*refs, strict=True) if refs else ((), ())  # in C: a form has a few hundred cells
        max_row = max(rows_written, max(map(int, rows), default=0))
        max_col = max(map(_col_number, set(columns)), default=0)
        if len(refs) < count:
            max_col = max(max_col, count)  # cells without a reference are placed one after another
        if max_row > MAX_ROWS or max_col > MAX_COLS:
            raise Refused(
                "IN011",
                found=f"cells as far as row {max_row:,}, column {max_col:,}",
                limit=f"{MAX_ROWS:,} rows by {MAX_COLS} columns",
            )


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def read_meta(package: Package, calamine: Any) -> dict[str, str]:
    """Identity from the ``_meta`` sheet (very hidden, or merely hidden after a LibreOffice round trip), merged
    with the custom document properties; ``IN020`` when it is not a caseaudit form, ``IN025`` when they disagree."""
    meta: dict[str, str] = {}
    if META_SHEET in package.sheets:
        grid = _grid(calamine, META_SHEET)
        for r in range(1, grid.height() + 1):
            key = grid.get(r, 1)
            if isinstance(key, str) and key.strip() in META_KEYS:
                meta[key.strip()] = _meta_text(grid.get(r, 2))
    if not meta.get("form_kind") and not package.custom.get("form_kind"):
        raise Refused("IN020")
    for key, value in package.custom.items():
        if key not in META_KEYS:
            continue
        if meta.get(key) and value and meta[key] != value and key in ("audit_id", "form_kind"):
            raise Refused("IN025", found=f"{meta[key]} / {value}")
        meta.setdefault(key, value)
        if not meta[key]:
            meta[key] = value
    return meta


def _meta_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return "" if value is None else str(value).strip()


class Grid:
    """A sheet's values as python-calamine returns them, looked up by 1-based row and column (blank is None)."""

    def __init__(self, rows: list[list[Any]], first_row: int = 1, first_col: int = 1) -> None:
        self.rows = rows
        self.first_row = first_row
        self.first_col = first_col

    def get(self, row: int, col: int) -> Any:
        r, c = row - self.first_row, col - self.first_col
        if r < 0 or c < 0 or r >= len(self.rows):
            return None
        values = self.rows[r]
        if c >= len(values):
            return None
        value = values[c]
        return None if value == "" else value

    def height(self) -> int:
        return self.first_row + len(self.rows) - 1


@contextlib.contextmanager
def _panic_text_silenced() -> Iterator[None]:
    """While python-calamine reads: standard error (file descriptor 2) goes nowhere. A Rust panic prints its message
    and backtrace straight to the process's standard error, before Python can catch it; a QA officer must never see
    that, and it may quote a cell. Python's own messages are not written during a read."""
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _grid(calamine: Any, sheet: str) -> Grid:
    """A sheet's cells, placed by the sheet's real start."""
    try:
        ws = calamine.get_sheet_by_name(sheet)
    except python_calamine.WorksheetNotFound:
        return Grid([])
    start = ws.start
    if start is None:
        return Grid([])
    try:
        with _panic_text_silenced():
            rows = ws.to_python()
    except BaseException as exc:  # a Rust panic is a BaseException; anything else is re-raised
        if type(exc).__name__ != "PanicException":
            raise
        raise Refused("IN016", sheet=sheet, found="a value python-calamine cannot convert") from None
    return Grid(rows, start[0] + 1, start[1] + 1)


def open_calamine(data: bytes) -> Any:
    try:
        with _panic_text_silenced():
            return python_calamine.load_workbook(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise Refused("IN003") from None
    except python_calamine.XmlError:
        raise Refused("IN015", found="a part is not well-formed XML") from None
    except (python_calamine.CalamineError, python_calamine.ZipError, ValueError) as exc:
        raise Refused("IN015", found=f"it cannot be read ({type(exc).__name__})") from None


def identify(data: bytes) -> tuple[Package, Any, dict[str, str]]:
    """Every safety check, then the form's identity: ``(package, calamine workbook, meta)``."""
    package = open_package(data)
    check_cells(package, [META_SHEET])
    calamine = open_calamine(data)
    return package, calamine, read_meta(package, calamine)


def read_values(package: Package, calamine: Any, layout: FormLayout, meta: dict[str, str]) -> FormRead:
    """The raw values of every field and table row of ``layout`` (empty cells are ``None``)."""
    sheets = sorted({f.sheet for f in layout.fields.values()} | {t.sheet for t in layout.tables.values()})
    check_cells(package, sheets)
    grids = {name: _grid(calamine, name) for name in sheets}
    form = FormRead(meta=meta)
    for name, spec in layout.fields.items():
        form.values[name] = _no_nul(grids[spec.sheet].get(spec.row, spec.col), spec.sheet, spec.row, spec.col)
    for name, table in layout.tables.items():
        grid = grids[table.sheet]
        first_row, last_row, first_col = locate_table(grid, table, package.names.get(name, ""))
        columns = range(first_col, first_col + len(table.headers))
        form.tables[name] = [
            tuple(_no_nul(grid.get(r, c), table.sheet, r, c) for c in columns) for r in range(first_row, last_row + 1)
        ]
        form.first_rows[name] = first_row
        form.strays[name] = [
            f"{_col_letters(c)}{r}"
            for r in range(first_row, grid.height() + 1)
            if not first_row <= r <= last_row
            for c in columns
            if _filled(grid.get(r, c))
        ]
    return form


def _no_nul(value: Any, sheet: str, row: int, col: int) -> Any:
    """A NUL character (``_x0000_`` in the file's XML, which python-calamine decodes) is refused at input, IN140:
    PostgreSQL cannot store it, and no typed answer holds one, so both backends refuse it alike (issue 23). Every
    other character, control characters included, is kept as typed."""
    if isinstance(value, str) and "\x00" in value:
        raise Refused("IN140", sheet=sheet, cell=f"{_col_letters(col)}{row}")
    return value


_AREA = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?([0-9]{1,7}):\$?([A-Z]{1,3})\$?([0-9]{1,7})$")


def locate_table(grid: Grid, table: TableSpec, ref: str) -> tuple[int, int, int]:
    """Where a table's body is now: ``(first row, last row, first column)``.

    From the table's defined name, when it names the table's sheet, is as wide as the table and has the table's
    header row directly above it (Excel and LibreOffice move the name, and grow it, when rows are inserted inside
    the table; rows added just below it are not inside it). Else from the header row, wherever it now is on the
    sheet, with the layout's number of rows. ``IN026`` when neither is found.
    """
    match = _AREA.match(ref)
    if match:
        sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
        col_a, row_a = _col_number(match.group(3).encode()), int(match.group(4))
        col_b, row_b = _col_number(match.group(5).encode()), int(match.group(6))
        if (
            sheet == table.sheet
            and col_b - col_a + 1 == len(table.headers)
            and 1 < row_a <= row_b <= MAX_ROWS
            and _is_header(grid, table, row_a - 1, col_a)
        ):
            return row_a, row_b, col_a
    header = _find_header(grid, table)
    if header is None:
        raise Refused("IN026", sheet=table.sheet, headers=", ".join(table.headers))
    row, col = header
    return row + 1, row + table.rows, col


def _is_header(grid: Grid, table: TableSpec, row: int, col: int) -> bool:
    return all(
        isinstance(value := grid.get(row, col + i), str) and " ".join(value.split()).casefold() == header.casefold()
        for i, header in enumerate(table.headers)
    )


def _find_header(grid: Grid, table: TableSpec) -> tuple[int, int] | None:
    """The header row: where the layout puts it, else the first row of the sheet that has it (in any column)."""
    if _is_header(grid, table, table.first_row - 1, table.first_col):
        return table.first_row - 1, table.first_col
    for offset, values in enumerate(grid.rows):
        row = grid.first_row + offset
        for c, value in enumerate(values):
            first = isinstance(value, str) and value.strip().casefold() == table.headers[0].casefold()
            if first and _is_header(grid, table, row, grid.first_col + c):
                return row, grid.first_col + c
    return None


def _filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _col_letters(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_form(data: bytes, layout: FormLayout) -> FormRead:
    """Convenience for one file: every check, the identity, then the values."""
    package, calamine, meta = identify(data)
    return read_values(package, calamine, layout, meta)


__all__ = [
    "ACTIONS_SHEET",
    "MAIN_SHEET",
    "MAX_CELLS",
    "MAX_COLS",
    "MAX_FILE_BYTES",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_ROWS",
    "MAX_TOTAL_BYTES",
    "FormRead",
    "Package",
    "Refused",
    "identify",
    "ignorable",
    "locate_table",
    "open_package",
    "read_form",
    "read_values",
    "sniff",
]
