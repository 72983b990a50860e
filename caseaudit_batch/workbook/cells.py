"""Cell references: column letters and ``A1``-style coordinates and ranges.

These few conversions are all the reading and stamping code needs from a spreadsheet library. They live here so that
commands which never build a workbook with openpyxl (``ingest``, ``check``, ``report``) do not import it: importing
openpyxl costs about 0.25 s, a third of every command's start. ``tests/test_cells.py`` checks them against
openpyxl's own functions.
"""

from __future__ import annotations

import re

MAX_COLUMN = 18278  # ZZZ, as openpyxl allows (Excel itself stops at XFD, 16,384)
_COORDINATE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_RANGE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)(?::\$?([A-Za-z]{1,3})\$?(\d+))?$")


def column_letter(index: int) -> str:
    """1 -> ``A``, 27 -> ``AA``."""
    if not 1 <= index <= MAX_COLUMN:
        raise ValueError(f"Invalid column index {index}")
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_index(letters: str) -> int:
    """``A`` -> 1, ``aa`` -> 27."""
    if not 1 <= len(letters) <= 3 or not letters.isascii() or not letters.isalpha():
        raise ValueError(f"'{letters}' is not a valid column name. Column names are from A to ZZZ")
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index


def split_coordinate(ref: str) -> tuple[str, int]:
    """``B12`` -> (``B``, 12)."""
    match = _COORDINATE.match(ref)
    if not match or int(match.group(2)) == 0:
        raise ValueError(f"Invalid cell coordinates ({ref})")
    return match.group(1).upper(), int(match.group(2))


def range_bounds(ref: str) -> tuple[int, int, int, int]:
    """``A4:C18`` -> (min column, min row, max column, max row); a single cell is a range of one."""
    match = _RANGE.match(ref)
    if not match:
        raise ValueError(f"{ref} is not a valid coordinate or range")
    first_col, first_row, last_col, last_row = match.groups()
    last_col, last_row = last_col or first_col, last_row or first_row
    if int(first_row) == 0 or int(last_row) == 0:
        raise ValueError(f"{ref}: there is no row 0")
    return column_index(first_col), int(first_row), column_index(last_col), int(last_row)


def literal_text(text: str) -> str:
    """``text`` made safe to hand to xlsxwriter as text. xlsxwriter copies a string that starts with ``<r>`` and
    ends with ``</r>`` into the workbook's XML as it stands (it takes it for its own rich-text markup), so an answer
    typed in that shape would become markup in a workbook we write, or break it. A zero-width space in front keeps
    it text, and what a reader sees is unchanged. Every other text is returned as it is."""
    if text.startswith("<r>") and text.endswith("</r>"):
        return "\u200b" + text
    return text
