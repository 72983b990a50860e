"""Tables are read where they now are, and nothing outside them is dropped unseen (issue 18, item 6).

An auditor who unprotects the Actions sheet and inserts rows, or types actions under the table, must never have
18 actions accepted as 15: the forms are made with openpyxl the way a user's edits would be, and checked by the real
``caseaudit ingest`` in a child process.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from formkit import good_answers
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet
from prepared import Templates
from relkit import caseaudit, fill, manifest, manifests, query, real_month

from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.workbook.layout import ACTIONS_SHEET, audit_layout

pytestmark = pytest.mark.slow

TABLE = audit_layout(load_framework()).tables["actions"]  # rows 4 to 18 of the Actions sheet, columns A to C
ROWS = TABLE.rows


def _action(n: int) -> tuple[str, str, date]:
    return (f"Action number {n} for the child's plan", f"Owner {n}", date(2026, 10, 1 + n % 28))


def _edit(data: bytes, change: object) -> bytes:
    """Open a filled form with openpyxl, unprotect the Actions sheet, change it as a user would, and save."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb[ACTIONS_SHEET]
    ws.protection.sheet = False
    change(wb, ws)  # type: ignore[operator]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _write(ws: Worksheet, row: int, action: tuple[str, str, date]) -> None:
    for col, value in enumerate(action, start=TABLE.first_col):
        ws.cell(row=row, column=col, value=value)


def _cells(rows: range) -> list[str]:
    return sorted(f"{c}{r}" for r in rows for c in "ABC")


def _inserted_inside(wb: object, ws: Worksheet) -> None:
    """Three rows inserted in the middle of the table (openpyxl, unlike Excel, leaves the defined name put)."""
    ws.insert_rows(TABLE.first_row + 6, 3)
    for i in range(3):
        _write(ws, TABLE.first_row + 6 + i, _action(ROWS + 1 + i))


def _inserted_and_name_grown(wb: object, ws: Worksheet) -> None:
    """As Excel and LibreOffice do it: the rows inserted inside the table, and the table's defined name grown."""
    _inserted_inside(wb, ws)
    ref = f"'{ACTIONS_SHEET}'!$A${TABLE.first_row}:$C${TABLE.last_row + 3}"
    wb.defined_names["actions"] = DefinedName("actions", attr_text=ref)  # type: ignore[attr-defined]


def _typed_below(wb: object, ws: Worksheet) -> None:
    """Three more actions typed in the rows just below the table."""
    for i in range(3):
        _write(ws, TABLE.last_row + 1 + i, _action(ROWS + 1 + i))


def _rows_above(wb: object, ws: Worksheet) -> None:
    """Two rows inserted above the header, the defined name left where it was: the header row finds the table."""
    ws.insert_rows(2, 2)


def _header_gone(wb: object, ws: Worksheet) -> None:
    for col in range(TABLE.first_col, TABLE.last_col + 1):
        ws.cell(row=TABLE.first_row - 1, column=col).value = None
    ws.insert_rows(2, 1)  # and the defined name no longer has the table under it


def _problems(config: Path, name: str) -> list[tuple[str, str, str]]:
    return query(
        config,
        "SELECT p.code, p.sheet, p.cell FROM problems p JOIN submissions s ON s.id = p.submission_id "
        "WHERE s.path LIKE :name ORDER BY p.id",
        name=f"%{name}",
    )


def _actions_held(config: Path, audit_id: str) -> int:
    return int(query(config, "SELECT COUNT(*) FROM actions WHERE audit_id = :a", a=audit_id)[0][0])


def test_actions_outside_the_table_are_never_dropped(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    assert len(forms) >= 5, forms
    answers = good_answers(load_framework())
    full = [_action(n) for n in range(1, ROWS + 1)]
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    cases = {
        "inserted": _inserted_inside,
        "grown": _inserted_and_name_grown,
        "below": _typed_below,
        "moved": _rows_above,
        "no-header": _header_gone,
    }
    names = {}
    for (case, change), form in zip(cases.items(), forms, strict=False):
        names[case] = f"{case}-{form.name}"
        (inbox / names[case]).write_bytes(_edit(fill(form, answers, full if case != "moved" else full[:4]), change))

    done = caseaudit(config, "ingest", "--month", "2026-09")
    assert done.returncode == 65, done.stderr  # some files were returned or rejected
    rows = {r["file"]: r for r in manifest(manifests(config)[-1])}

    # Rows inserted inside the table, the name not grown: the last three actions are pushed out of it and named.
    inserted = rows[names["inserted"]]
    assert inserted["outcome"] == "returned", inserted
    assert "V040" in inserted["codes"].split(";")
    pushed_out = range(TABLE.last_row + 1, TABLE.last_row + 4)
    assert sorted(_problems(config, names["inserted"])) == [("V040", ACTIONS_SHEET, c) for c in _cells(pushed_out)]

    # Typed under the table: the same, at the cells they were typed in.
    below = rows[names["below"]]
    assert below["outcome"] == "returned", below
    assert sorted(_problems(config, names["below"])) == [("V040", ACTIONS_SHEET, c) for c in _cells(pushed_out)]

    # Inserted inside the table as Excel does it (the defined name grows): all 18 actions are read and kept.
    grown = rows[names["grown"]]
    assert grown["outcome"] == "accepted", grown
    assert _actions_held(config, grown["audit_id"]) == ROWS + 3

    # Rows inserted above the header, the name stale: the header row finds the table where it now is.
    moved = rows[names["moved"]]
    assert moved["outcome"] == "accepted", moved
    assert _actions_held(config, moved["audit_id"]) == 4

    # No header row and no defined name over the table: refused with its own code, never read at the old rows.
    gone = rows[names["no-header"]]
    assert (gone["outcome"], gone["codes"].split(";")[0]) == ("rejected", "IN026"), gone


def _libreoffice_python() -> str | None:
    """The system python3 with LibreOffice's ``uno`` module, when LibreOffice is installed."""
    import shutil
    import subprocess

    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if shutil.which("soffice") is None or python is None:
        return None
    probe = subprocess.run([python, "-c", "import uno"], capture_output=True, check=False, timeout=60)
    return python if probe.returncode == 0 else None


def test_rows_inserted_in_libreoffice_are_all_read(tmp_path: Path, templates: Templates) -> None:
    """LibreOffice, like Excel, grows the table's defined name when rows are inserted inside the table: all 18
    actions are read and kept."""
    import json
    import subprocess

    python = _libreoffice_python()
    if python is None:
        pytest.skip("LibreOffice (soffice and its python3 uno module) is not installed")
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    filled = tmp_path / "filled.xlsx"
    filled.write_bytes(fill(forms[0], good_answers(load_framework()), [_action(n) for n in range(1, ROWS + 1)]))
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    at = TABLE.first_row + 6
    cells = [
        [at + i, col, text]
        for i, n in enumerate(range(ROWS + 1, ROWS + 4))
        for col, text in ((1, _action(n)[0]), (2, _action(n)[1]), (3, "30/10/2026"))
    ]
    target = inbox / f"libreoffice-{forms[0].name}"
    script = Path(__file__).with_name("lo_insert_rows.py")
    args = [python, str(script), str(filled), str(target), ACTIONS_SHEET, str(at), "3", json.dumps(cells)]
    subprocess.run(args, check=True, timeout=240, capture_output=True, cwd=tmp_path)

    done = caseaudit(config, "ingest", "--month", "2026-09")
    assert done.returncode == 0, done.stderr
    [line] = manifest(manifests(config)[-1])
    assert line["file"] == target.name
    assert line["outcome"] == "accepted", line
    assert _actions_held(config, line["audit_id"]) == ROWS + 3
