"""Every table the readers read is found where it now is, and what lies outside it is named (issue 18, item 6):
the moderation form's additional actions and the action tracker, as the audit form's actions
(``tests/reliability/test_tables.py``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from actions_kit import AUDIT_ACTIONS, seed
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName

from caseaudit_batch import session
from caseaudit_batch.actions import rules as tracker_rules
from caseaudit_batch.actions import stage as actions_stage
from caseaudit_batch.actions import sync as act_sync
from caseaudit_batch.core.clock import Clock
from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.ingest import rules
from caseaudit_batch.moderation.ingest import moderation_rules
from caseaudit_batch.workbook import forms, reader
from caseaudit_batch.workbook.layout import TRACKER_HEADERS, moderation_layout, tracker_layout

FW = load_framework()
MOD_LAYOUT = moderation_layout(FW)
M_ACTIONS = MOD_LAYOUT.tables["m_actions"]


def _edit(data: bytes, sheet: str, change: Callable[[Any, Any], None]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb[sheet]
    ws.protection.sheet = False
    change(wb, ws)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _moderation_form(actions: list[tuple[Any, ...]]) -> bytes:
    blank = forms.render_moderation_form(FW, "Testshire Council", {}, {"audit_id": "2026-09-0001"})
    return forms.fill_form(blank, {}, actions, table="m_actions")


def _action(n: int) -> tuple[str, str, date]:
    return (f"Additional action {n}", f"Owner {n}", date(2026, 11, n))


def test_an_additional_action_typed_under_the_moderation_table_is_named() -> None:
    full = [_action(n) for n in range(1, M_ACTIONS.rows + 1)]
    below = M_ACTIONS.last_row + 1

    def type_below(wb: Any, ws: Any) -> None:
        ws.cell(row=below, column=2).value = "Someone"

    data = _edit(_moderation_form(full), M_ACTIONS.sheet, type_below)
    form = reader.read_form(data, MOD_LAYOUT)
    assert len(form.tables["m_actions"]) == M_ACTIONS.rows
    assert form.strays["m_actions"] == [f"B{below}"]
    view = rules.FormView(
        values=form.values,
        actions_table=form.tables["m_actions"],
        layout=MOD_LAYOUT,
        framework=FW,
        strays=form.strays,
        first_rows=form.first_rows,
    )
    found = [p for p in rules.validate(view, moderation_rules()) if p.code == "MOD115"]
    assert [(p.sheet, p.cell, p.severity) for p in found] == [(M_ACTIONS.sheet, f"B{below}", "error")]
    assert f"Cell B{below}" in found[0].message and "additional actions" in found[0].message


def test_rows_inserted_in_the_moderation_table_are_read_when_its_name_grew() -> None:
    first = M_ACTIONS.first_row

    def insert(wb: Any, ws: Any) -> None:
        ws.insert_rows(first + 1, 2)
        for i, n in enumerate((8, 9)):
            for col, value in enumerate(_action(n), start=1):
                ws.cell(row=first + 1 + i, column=col).value = value
        ref = f"'{M_ACTIONS.sheet}'!$A${first}:$C${M_ACTIONS.last_row + 2}"
        wb.defined_names["m_actions"] = DefinedName("m_actions", attr_text=ref)

    data = _edit(_moderation_form([_action(1), _action(2)]), M_ACTIONS.sheet, insert)
    form = reader.read_form(data, MOD_LAYOUT)
    filled = [row[0] for row in form.tables["m_actions"] if row[0]]
    assert filled == ["Additional action 1", "Additional action 8", "Additional action 9", "Additional action 2"]
    assert form.strays["m_actions"] == [] and form.first_rows["m_actions"] == first


def _tracker(rows: int, blank: int) -> tuple[bytes, Any]:
    listed = [("A-1", "C1001", "2026-09-0001", "Update the chronology", "SW", date(2026, 10, 15), "", "")]
    layout = tracker_layout(len(listed), blank)
    data = forms.render_tracker(FW, "Testshire Council", listed, {"auditor_id": "SM1", "month": "2026-10"})
    return data, layout


def test_a_tracker_with_a_row_under_its_table_names_the_cell_and_reads_the_rest() -> None:
    data, _ = _tracker(1, 10)
    table = tracker_layout(1, 10).tables["tracker"]
    below = table.last_row + 2

    def type_below(wb: Any, ws: Any) -> None:
        ws.cell(row=below, column=TRACKER_HEADERS.index("Action") + 1).value = "A new action"

    form = reader.read_form(_edit(data, table.sheet, type_below), tracker_layout(1, 10))
    letter = "ABCDEFGHIJKLM"[TRACKER_HEADERS.index("Action")]
    assert form.strays["tracker"] == [f"{letter}{below}"]
    [problem] = tracker_rules.outside_table(form.strays["tracker"], sheet=table.sheet, file="t.xlsx")
    assert (problem.code, problem.severity, problem.cell) == ("ACT015", "error", f"{letter}{below}")
    assert "not read" in problem.message and problem.fix


def test_a_table_without_its_header_row_or_name_is_refused() -> None:
    data, layout = _tracker(1, 10)
    table = layout.tables["tracker"]

    def break_it(wb: Any, ws: Any) -> None:
        ws.cell(row=table.first_row - 1, column=1).value = "Something else"
        del wb.defined_names["tracker"]

    with pytest.raises(reader.Refused) as refused:
        reader.read_form(_edit(data, table.sheet, break_it), layout)
    assert refused.value.code == "IN026"


@pytest.fixture
def tracked(workspace: Path) -> Path:
    """One accepted audit with three actions in September, and October's tracker made."""
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-09-20")
    try:
        with ctx.register.writer() as conn:
            seed(conn)
            act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=Clock(date(2026, 9, 20)))
    finally:
        ctx.close()
    _run(workspace, "2026-10-12")
    [tracker] = sorted((workspace / "output" / "2026-10" / "actions").glob("2026-10_actions_*.xlsx"))
    return tracker


def _run(workspace: Path, today: str) -> session.Result:
    ctx = session.open_context(workspace / "caseaudit.toml", today)
    try:
        return actions_stage.actions_month(ctx, "2026-10")
    finally:
        ctx.close()


def test_a_returned_tracker_with_a_new_action_under_its_table_goes_back(workspace: Path, tracked: Path) -> None:
    wb = load_workbook(tracked)
    sheet, ref = next(iter(wb.defined_names["tracker"].destinations))
    ws = wb[sheet]
    last_row = int(ref.replace("$", "").split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    for header, value in (("Case reference", "C1001"), ("Action", "Arrange a family group conference")):
        ws.cell(row=last_row + 1, column=TRACKER_HEADERS.index(header) + 1).value = value
    returned = workspace / "inbox" / "actions" / "Sam Service tracker.xlsx"
    returned.parent.mkdir(parents=True, exist_ok=True)
    wb.save(returned)
    _run(workspace, "2026-10-20")
    manifest = sorted((workspace / "output" / "2026-10").glob("manifest-actions-*.csv"))[-1]
    [line] = list(csv.DictReader(io.StringIO(manifest.read_text("utf-8"))))
    assert line["outcome"] == "returned", line
    assert "ACT015" in line["codes"].split(";")
    first = "ABCDEFGHIJKLM"[TRACKER_HEADERS.index("Case reference")]
    assert f"cell {first}{last_row + 1}" in line["message"], line  # where, never what was typed there
    assert "family group" not in line["message"]
