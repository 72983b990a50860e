"""Cell references (``workbook/cells.py``) agree with openpyxl's own conversions, which they stand in for so that
reading and stamping commands start without importing openpyxl."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter, range_boundaries

from caseaudit_batch.workbook.cells import MAX_COLUMN, column_index, column_letter, range_bounds, split_coordinate


@given(st.integers(min_value=1, max_value=MAX_COLUMN))
def test_column_letters_and_indexes_match_openpyxl(index: int) -> None:
    letters = column_letter(index)
    assert letters == get_column_letter(index)
    assert column_index(letters) == column_index_from_string(letters) == index
    assert column_index(letters.lower()) == index


@given(st.integers(min_value=1, max_value=MAX_COLUMN), st.integers(min_value=1, max_value=1_048_576))
def test_coordinates_and_ranges_match_openpyxl(col: int, row: int) -> None:
    ref = f"{get_column_letter(col)}{row}"
    assert split_coordinate(ref) == coordinate_from_string(ref)
    assert split_coordinate(f"${get_column_letter(col)}${row}") == (get_column_letter(col), row)
    assert range_bounds(ref) == range_boundaries(ref)
    wide = f"A1:{ref}"
    assert range_bounds(wide) == range_boundaries(wide)


@pytest.mark.parametrize("bad", ["", "A0", "1A", "AAAA1", "A-1", "B", "Ä1"])
def test_bad_coordinates_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        split_coordinate(bad)
    with pytest.raises(ValueError):
        range_bounds(bad + ":B2" if bad else ":")


@pytest.mark.parametrize("bad", [0, -1, MAX_COLUMN + 1])
def test_bad_column_indexes_are_refused(bad: int) -> None:
    with pytest.raises(ValueError):
        column_letter(bad)


def test_the_command_line_starts_without_pandas_or_openpyxl() -> None:
    """Every command imports the CLI; pandas and openpyxl (about 0.3 s each) are loaded only by the steps that use
    them (reports; building forms and QA workbooks), so that ``ingest`` and ``check`` start quickly."""
    heavy = "{'pandas', 'openpyxl', 'matplotlib', 'docx'}"
    code = f"import sys, caseaudit_batch.cli; print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
