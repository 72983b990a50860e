"""A one-sheet plain table workbook (ingest's feedback workbooks), written as xlsxwriter writes it, much faster.

Ingest writes one feedback workbook per flagged audit (hundreds a run), and xlsxwriter spends ~4 ms on each
building the same theme, styles and package parts again. Here xlsxwriter makes the workbook's shell once per process
(:func:`_shell`: every part but the sheet, its shared strings, the filter's range and the creation time), and each
workbook fills in only those, following xlsxwriter's own rules (shared strings in order of first use, ``spans`` per
block of 16 rows, row heights, control characters as ``_xHHHH_``). ``tests/test_plain_workbook.py`` compares every
part with xlsxwriter's for varied text. Anything outside the plain case (numbers, empty rows, very long text, a
string xlsxwriter would treat as rich text) returns ``None``: the caller writes it with xlsxwriter instead.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

#: Longer text is left to xlsxwriter (it truncates at 32,767 UTF-16 units; this stays well under in any case).
LONGEST = 16_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
_FILTER = re.compile(rb'<autoFilter ref="[^"]*"/>')
_FILTER_NAME = re.compile(rb"(_xlnm\._FilterDatabase[^>]*>[^<]*?)\$[A-Z]+\$[0-9]+:\$([A-Z]+)\$[0-9]+<")
_CREATED = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@dataclass
class _Shell:
    names: list[str]
    parts: dict[str, bytes]
    packed: dict[str, tuple[bytes, int, int]]  # the parts that never change, deflated once: (data, CRC, size)
    sheet_head: bytes  # the sheet part up to and including <sheetData>
    sheet_tail: bytes  # from </sheetData>
    last_col: str


_SHELLS: dict[tuple[object, ...], _Shell] = {}


def _col(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _shell(key: tuple[object, ...], make: Callable[[], bytes]) -> _Shell:
    shell = _SHELLS.get(key)
    if shell is None:
        archive = zipfile.ZipFile(io.BytesIO(make()))
        names = archive.namelist()
        parts = {name: archive.read(name) for name in names}
        sheet = parts["xl/worksheets/sheet1.xml"]
        head, _, rest = sheet.partition(b"<sheetData>")
        _, _, tail = rest.partition(b"</sheetData>")
        columns = len(key[1])  # type: ignore[arg-type]
        packed = {name: _deflate(data) for name, data in parts.items() if name not in _PER_WORKBOOK}
        shell = _Shell(names, parts, packed, head + b"<sheetData>", b"</sheetData>" + tail, _col(columns - 1))
        _SHELLS[key] = shell
    return shell


def _plain_text(value: str) -> bool:
    return len(value) <= LONGEST and not (value.startswith("<r>") and value.endswith("</r>"))


def _si(text: str) -> str:
    if "_x" in text:
        text = _ESCAPED.sub(r"_x005F\1", text)
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace()) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<si><t{space}>{text}</t></si>"


def one_sheet(
    key: tuple[object, ...],
    make_shell: Callable[[], bytes],
    intro: Sequence[str],
    headers: Sequence[str],
    rows: Sequence[tuple[Sequence[tuple[int, str]], float]],
    header_height: float,
) -> bytes | None:
    """The workbook, or ``None`` when it is not the plain case.

    ``key`` names the shell (title, headers, widths, number of intro lines) and ``make_shell`` makes it with
    xlsxwriter, with one row of text in every column; ``rows`` are each row's (column, text) cells with its height
    (as given to ``set_row``)."""
    if not rows or any(not line or not _plain_text(line) for line in intro):
        return None
    if any(not cells or any(not _plain_text(text) for _, text in cells) for cells, _ in rows):
        return None
    shell = _shell(key, make_shell)
    strings: dict[str, int] = {}
    count = 0
    # The sheet's rows: (row number from 0, [(col, style, string index)], height or None).
    sheet_rows: list[tuple[int, list[tuple[int, int, int]], float | None]] = []
    styles: dict[str, int] = {}

    def style(name: str) -> int:
        return styles.setdefault(name, len(styles) + 1)  # xlsxwriter numbers formats in the order first used

    def index(text: str) -> int:
        nonlocal count
        count += 1
        return strings.setdefault(text, len(strings))

    for i, line in enumerate(intro):
        sheet_rows.append((i, [(0, style("title" if i == 0 else "plain"), index(line))], None))
    header_row = len(intro) + 1 if intro else 0
    sheet_rows.append((header_row, [(c, style("head"), index(h)) for c, h in enumerate(headers)], header_height))
    for offset, (texts, row_height) in enumerate(rows, start=1):
        sheet_rows.append((header_row + offset, [(c, style("wrap"), index(text)) for c, text in texts], row_height))
    last_row = header_row + len(rows)
    spans = _spans(sheet_rows, last_row)
    body = []
    for r, cells, height in sheet_rows:
        attributes = f' spans="{spans[r // 16]}"'
        pixels = 20 if height is None else int(height * 4.0 / 3.0 + 0.5)  # as set_row turns points to pixels
        if pixels != 20:  # the default row height, 15 points
            attributes += f' ht="{pixels * 0.75:.16g}" customHeight="1"'
        body.append(f'<row r="{r + 1}"{attributes}>')
        body.extend(f'<c r="{_col(c)}{r + 1}" s="{s}" t="s"><v>{v}</v></c>' for c, s, v in cells)
        body.append("</row>")
    last = f"{shell.last_col}{last_row + 1}".encode()
    first = f"A{header_row + 1}".encode()
    head = _DIMENSION.sub(b'<dimension ref="A1:' + last + b'"/>', shell.sheet_head, count=1)
    tail = _FILTER.sub(b'<autoFilter ref="' + first + b":" + last + b'"/>', shell.sheet_tail, count=1)
    parts = dict(shell.parts)
    parts["xl/worksheets/sheet1.xml"] = head + "".join(body).encode("utf-8") + tail
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{count}" uniqueCount="{len(strings)}">' + "".join(_si(s) for s in strings) + "</sst>"
    ).encode("utf-8")
    dollar = f"$A${header_row + 1}:$".encode()
    parts["xl/workbook.xml"] = _FILTER_NAME.sub(
        lambda m: m.group(1) + dollar + m.group(2) + b"$" + str(last_row + 1).encode() + b"<",
        shell.parts["xl/workbook.xml"],
        count=1,
    )
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    parts["docProps/core.xml"] = _CREATED.sub(now, shell.parts["docProps/core.xml"])
    return _zip([(name, shell.packed.get(name) or _deflate(parts[name])) for name in shell.names])


_PER_WORKBOOK = frozenset({"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "docProps/core.xml"})
_DOS_DATE = (1 << 5) | 1  # 1 January 1980, xlsxwriter's time stamp for every part (the time is 00:00:00)


def _deflate(data: bytes) -> tuple[bytes, int, int]:
    # Raw deflate, as zip stores it, with a window no larger than the part and the hash table to match: the same
    # compression, and zlib prepares far less memory for each of a workbook's small parts (a feedback sheet is a
    # few KB), which was most of the cost of deflating them.
    bits = min(15, max(9, len(data).bit_length()))
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits, max(1, min(8, bits - 7)))
    return packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)


def _zip(members: Sequence[tuple[str, tuple[bytes, int, int]]]) -> bytes:
    """A zip archive of already deflated members (what ``zipfile`` writes, without its per-member machinery)."""
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, (data, crc, size) in members:
        encoded = name.encode("ascii")
        fields = (20, 0, zipfile.ZIP_DEFLATED, 0, _DOS_DATE, crc, len(data), size, len(encoded))
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, 0) + encoded
        central.append(struct.pack("<4sH5H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, offset) + encoded)
        out += (local, data)
        offset += len(local) + len(data)
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(out) + directory + end


def _spans(sheet_rows: Sequence[tuple[int, list[tuple[int, int, int]], float | None]], last_row: int) -> dict[int, str]:
    """xlsxwriter's ``spans``: the first and last column with a cell, for each block of 16 rows."""
    found: dict[int, tuple[int, int]] = {}
    for r, cells, _ in sheet_rows:
        block = r // 16
        low, high = min(c for c, _, _ in cells), max(c for c, _, _ in cells)
        if block in found:
            low, high = min(low, found[block][0]), max(high, found[block][1])
        found[block] = (low, high)
    return {block: f"{low + 1}:{high + 1}" for block, (low, high) in found.items()}


__all__ = ["one_sheet"]
