"""`caseaudit actions --month`: trackers made per service manager, filled in through their headers, and read back."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from actions_kit import AUDIT_ACTIONS, seed
from openpyxl import load_workbook

from caseaudit_batch import session
from caseaudit_batch.actions import register as act
from caseaudit_batch.actions import stage as actions_stage
from caseaudit_batch.actions import sync as act_sync
from caseaudit_batch.actions import trackers
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import LONDON, Clock, Month
from caseaudit_batch.core.errors import EXIT_DATAERR, EXIT_OK
from caseaudit_batch.workbook.layout import TRACKER_ANSWERS, TRACKER_HEADERS, TRACKER_PREFILLED

TRACKER = "2026-10/actions/2026-10_actions_Sam_Service.xlsx"


def context(workspace: Path, today: str) -> session.Context:
    return session.open_context(workspace / "caseaudit.toml", today)


@pytest.fixture
def audited(workspace: Path) -> dict[str, str]:
    """An authority with one accepted audit (three actions) for September 2026; returns text -> action ID."""
    ctx = context(workspace, "2026-09-20")
    try:
        with ctx.register.writer() as conn:
            seed(conn)
            act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=Clock(date(2026, 9, 20)))
            return {r.text: r.action_id for r in conn.execute(sa.select(reg.actions)).all()}
    finally:
        ctx.close()


def run_actions(workspace: Path, today: str, month: str = "2026-10") -> session.Result:
    ctx = context(workspace, today)
    try:
        return actions_stage.actions_month(ctx, month)
    finally:
        ctx.close()


def register_rows(workspace: Path) -> dict[str, Any]:
    ctx = context(workspace, "2026-10-31")
    try:
        with ctx.register.reader() as conn:
            return {r.action_id: r for r in conn.execute(sa.select(reg.actions)).all()}
    finally:
        ctx.close()


def fill(source: Path, target: Path, edit: Callable[[dict[str, int], Any, int, int], None]) -> None:
    """Open a tracker with openpyxl and fill it in through its header row (found from the defined name)."""
    wb = load_workbook(source)
    sheet, ref = next(iter(wb.defined_names["tracker"].destinations))
    ws = wb[sheet]
    first, last = ref.replace("$", "").split(":")
    first_row = int("".join(c for c in first if c.isdigit()))
    last_row = int("".join(c for c in last if c.isdigit()))
    header_row = first_row - 1
    columns = {ws.cell(header_row, c).value: c for c in range(1, ws.max_column + 1) if ws.cell(header_row, c).value}
    edit(columns, ws, first_row, last_row)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)


def row_of(ws: Any, columns: dict[str, int], first: int, last: int, action_id: str) -> int:
    return next(r for r in range(first, last + 1) if ws.cell(r, columns["Action ID"]).value == action_id)


def put(ws: Any, row: int, columns: dict[str, int], **values: Any) -> None:
    for key, value in values.items():
        header = {"sign_off": "Service manager sign-off", "supervision": "Discussed in supervision on"}.get(
            key, key.replace("_", " ")
        )
        cell = ws.cell(row, columns[header])
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # typed text stays text, even when it starts with '='


def set_mtime(path: Path, day: date) -> None:
    stamp = datetime(day.year, day.month, day.day, 12, tzinfo=LONDON).timestamp()
    os.utime(path, (stamp, stamp))


def manifest(workspace: Path, month: str = "2026-10") -> list[dict[str, str]]:
    files = sorted((workspace / "output" / month).glob("manifest-actions-*.csv"))
    assert files, "no actions manifest was written"
    return list(csv.DictReader(io.StringIO(files[-1].read_text("utf-8"))))


def test_a_tracker_is_made_per_service_manager_with_the_published_headers(
    workspace: Path, audited: dict[str, str]
) -> None:
    result = run_actions(workspace, "2026-10-12")
    path = workspace / "output" / TRACKER
    assert result.exit_code == EXIT_OK and path in result.outputs
    wb = load_workbook(path)
    # The table body has the workbook-level defined name `tracker`, its header row directly above it.
    sheet, ref = next(iter(wb.defined_names["tracker"].destinations))
    ws = wb[sheet]
    first = ref.replace("$", "").split(":")[0]
    first_row = int(first[1:])
    headers = tuple(ws.cell(first_row - 1, c).value for c in range(1, len(TRACKER_HEADERS) + 1))
    assert headers == TRACKER_PREFILLED + TRACKER_ANSWERS
    # Identity: form kind tracker, auditor ID the service manager's Staff ID, audit ID and case reference empty.
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["caseaudit.form_kind"] == "tracker"
    assert props["caseaudit.auditor_id"] == "SM1"
    assert props["caseaudit.month"] == "2026-10"
    assert not props.get("caseaudit.audit_id") and not props.get("caseaudit.case_ref")
    # Every open action is listed, most pressing first within the team, pre-filled and locked.
    listed = {ws.cell(r, 1).value: r for r in range(first_row, first_row + 3)}
    assert set(listed) == set(audited.values())
    supervision_row = listed[audited["Hold a supervision on the plan"]]  # due 10 October: 2 days overdue
    assert ws.cell(supervision_row, 2).value == "C1001"
    assert ws.cell(supervision_row, 4).value == "Tara Team"
    assert ws.cell(supervision_row, 8).value == 2
    assert ws.cell(supervision_row, 9).value == "Open"
    assert ws.cell(supervision_row, 1).protection.locked
    assert not ws.cell(supervision_row, 9).protection.locked
    # Ten blank rows at the end take actions set in supervision.
    blank = first_row + 3
    assert ws.cell(blank, 1).value is None and not ws.cell(blank, 2).protection.locked
    assert ws.protection.sheet


def rows_completed(workspace: Path, action_id: str) -> date | None:
    return register_rows(workspace)[action_id].completed_on


def test_open_actions_without_a_service_manager_are_reported(workspace: Path, audited: dict[str, str]) -> None:
    ctx = context(workspace, "2026-10-12")
    with ctx.register.writer() as conn:
        # The team manager has no line manager on the roster, so nobody tracks the case's actions.
        conn.execute(sa.update(reg.staff).where(reg.staff.c.staff_id == "TM1").values(line_manager_id=None))
        conn.execute(sa.update(reg.actions).values(service_manager_id=None))
    ctx.close()
    result = run_actions(workspace, "2026-10-12")
    assert result.outputs == [] or all("actions_" not in p.name for p in result.outputs)
    assert any("ACT020" in line for line in result.attention)


def test_a_tracker_lists_open_actions_and_completions_since_the_last_tracker(
    workspace: Path, audited: dict[str, str]
) -> None:
    chronology, direct_work, supervision = (
        audited["Update the chronology"],
        audited["Complete direct work with the child"],
        audited["Hold a supervision on the plan"],
    )
    ctx = context(workspace, "2026-10-05")
    with ctx.register.writer() as conn:
        # The service manager's last tracker (for September) was made on 1 September.
        conn.execute(
            sa.insert(reg.action_trackers).values(
                month="2026-09",
                service_manager_id="SM1",
                made_on=date(2026, 9, 1),
                baseline={},
                rows=10,
                created_at="x",
            )
        )
        done = {"status": "Completed", "signed_off": True}
        # Completed and signed off since the last tracker: listed once more, to show it is done.
        conn.execute(
            sa.update(reg.actions)
            .where(reg.actions.c.action_id == chronology)
            .values(**done, completed_on=date(2026, 9, 25))
        )
        # Completed and signed off before the last tracker: no longer listed.
        conn.execute(
            sa.update(reg.actions)
            .where(reg.actions.c.action_id == direct_work)
            .values(**done, completed_on=date(2026, 8, 15))
        )
        # Completed long ago but never signed off: listed until the service manager signs it off.
        conn.execute(
            sa.update(reg.actions)
            .where(reg.actions.c.action_id == supervision)
            .values(status="Completed", completed_on=date(2026, 8, 15), signed_off=False)
        )
        plans, orphans = trackers.tracker_plan(conn, Month(2026, 10), date(2026, 10, 5))
    ctx.close()
    (plan,) = plans
    assert orphans == 0 and plan.name == "Sam Service" and plan.service == "Children in Need"
    assert sorted(row[0] for row in plan.rows) == sorted([chronology, supervision])
    assert plan.open_count == 0 and plan.overdue_count == 0
    assert plan.baseline[chronology] == {"status": "Completed", "completed_on": "2026-09-25", "signed_off": True}


def test_the_actions_command_through_the_cli(
    workspace: Path, audited: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from caseaudit_batch import cli

    code = cli.main(
        ["actions", "--month", "2026-10", "--config", str(workspace / "caseaudit.toml"), "--today", "2026-10-12"]
    )
    assert code == EXIT_OK
    assert (workspace / "output" / TRACKER).is_file()
    assert "Made 1 action tracker(s) for October 2026" in " ".join(capsys.readouterr().out.split())


def test_open_actions_follow_the_case_to_its_current_service_manager(workspace: Path, audited: dict[str, str]) -> None:
    ctx = context(workspace, "2026-10-12")
    with ctx.register.writer() as conn:
        conn.execute(
            sa.insert(reg.staff).values(
                staff_id="SM2", name="Sue Second", role="Service Manager", service="Children in Need"
            )
        )
        conn.execute(sa.update(reg.staff).where(reg.staff.c.staff_id == "TM1").values(line_manager_id="SM2"))
        closed = audited["Update the chronology"]
        conn.execute(
            sa.update(reg.actions)
            .where(reg.actions.c.action_id == closed)
            .values(status="Completed", completed_on=date(2026, 10, 2))
        )
    ctx.close()
    result = run_actions(workspace, "2026-10-12")
    assert (workspace / "output" / "2026-10/actions/2026-10_actions_Sue_Second.xlsx") in result.outputs
    rows = register_rows(workspace)
    assert {r.service_manager_id for r in rows.values() if r.status == "Open"} == {"SM2"}
    assert rows[closed].service_manager_id == "SM1"  # a completed action keeps the people of its time


def test_round_trip_fill_through_the_headers_then_ingest(workspace: Path, audited: dict[str, str]) -> None:
    run_actions(workspace, "2026-10-12")
    chronology, direct_work, supervision = (
        audited["Update the chronology"],
        audited["Complete direct work with the child"],
        audited["Hold a supervision on the plan"],
    )

    def edit(columns: dict[str, int], ws: Any, first: int, last: int) -> None:
        put(
            ws,
            row_of(ws, columns, first, last, supervision),
            columns,
            Status="Completed",
            Completed_on=datetime(2026, 10, 9),
            sign_off="Yes",
        )
        put(
            ws,
            row_of(ws, columns, first, last, direct_work),
            columns,
            Update="=Booked for 3 November",
            supervision=datetime(2026, 10, 14),
        )
        put(ws, row_of(ws, columns, first, last, chronology), columns, Status="No longer required")
        blank = next(r for r in range(first, last + 1) if ws.cell(r, columns["Action ID"]).value is None)
        put(
            ws,
            blank,
            columns,
            Case_reference="C1001",
            Action="Arrange a family group conference",
            Owner="SW",
            Due_date=datetime(2026, 11, 30),
        )

    returned = workspace / "inbox" / "actions" / "Sam Service tracker.xlsx"
    fill(workspace / "output" / TRACKER, returned, edit)
    result = run_actions(workspace, "2026-10-20")
    assert result.exit_code == EXIT_OK, result.lines
    rows = register_rows(workspace)
    assert (rows[supervision].status, rows[supervision].completed_on, rows[supervision].signed_off) == (
        "Completed",
        date(2026, 10, 9),
        True,
    )
    assert rows[chronology].status == "No longer required"
    assert rows[direct_work].supervision_on == date(2026, 10, 14)
    (new,) = [r for r in rows.values() if r.source == "supervision"]
    assert new.text == "Arrange a family group conference" and new.due_date == date(2026, 11, 30)
    assert new.service_manager_id == "SM1" and new.month == "2026-10"
    # Each change is recorded with its date and source file; text stays text.
    ctx = context(workspace, "2026-10-20")
    with ctx.register.reader() as conn:
        note = act.action_history(conn, direct_work)[-1]
        done = act.action_history(conn, supervision)[-1]
    ctx.close()
    assert note["note"] == "=Booked for 3 November" and note["source_file"] == "Sam Service tracker.xlsx"
    assert done["on_date"] == date(2026, 10, 9) and done["source"] == "tracker"
    (line,) = manifest(workspace)
    assert line["file"] == "Sam Service tracker.xlsx" and line["outcome"] == "accepted"
    # The tracker made in the same run shows the new state: the completed action stays listed this month (it was
    # completed since the last tracker), with its sign-off; the action no longer required has gone.
    wb = load_workbook(workspace / "output" / TRACKER)
    sheet, _ref = next(iter(wb.defined_names["tracker"].destinations))
    values = {row[0]: row for row in wb[sheet].iter_rows(min_row=5, values_only=True) if row[0]}
    assert values[supervision][8] == "Completed" and values[supervision][12] == "Yes"
    assert chronology not in values
    assert new.action_id in values
    # Reading the same file again changes nothing: it is a duplicate.
    again = run_actions(workspace, "2026-10-21")
    assert again.exit_code == EXIT_OK
    assert manifest(workspace)[0]["outcome"] == "duplicate"


def test_conflicting_trackers_the_later_date_stands_and_is_reported(workspace: Path, audited: dict[str, str]) -> None:
    run_actions(workspace, "2026-10-12")
    target = audited["Update the chronology"]

    def completed_on(day: int) -> Callable[[dict[str, int], Any, int, int], None]:
        def edit(columns: dict[str, int], ws: Any, first: int, last: int) -> None:
            put(
                ws,
                row_of(ws, columns, first, last, target),
                columns,
                Status="Completed",
                Completed_on=datetime(2026, 10, day),
            )

        return edit

    inbox = workspace / "inbox" / "actions"
    fill(workspace / "output" / TRACKER, inbox / "from team manager.xlsx", completed_on(16))
    fill(workspace / "output" / TRACKER, inbox / "from service manager.xlsx", completed_on(11))
    set_mtime(inbox / "from team manager.xlsx", date(2026, 10, 17))
    set_mtime(inbox / "from service manager.xlsx", date(2026, 10, 18))
    result = run_actions(workspace, "2026-10-20")
    assert result.exit_code == EXIT_OK
    assert rows_completed(workspace, target) == date(2026, 10, 16)
    assert any("disagree" in line and target in line for line in result.attention)
    codes = {line["file"]: line["codes"] for line in manifest(workspace)}
    assert "ACT010" in codes["from service manager.xlsx"]


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"Status": "Completed"}, "ACT002"),  # Completed needs a completion date
        ({"Status": "Completed", "Completed_on": datetime(2026, 10, 25)}, "ACT003"),  # after today (20 October)
    ],
)
def test_a_tracker_with_an_error_is_returned_whole(
    workspace: Path, audited: dict[str, str], values: dict[str, Any], code: str
) -> None:
    run_actions(workspace, "2026-10-12")
    target, other = audited["Update the chronology"], audited["Hold a supervision on the plan"]

    def edit(columns: dict[str, int], ws: Any, first: int, last: int) -> None:
        put(ws, row_of(ws, columns, first, last, target), columns, **values)
        put(ws, row_of(ws, columns, first, last, other), columns, Update="Chased")

    fill(workspace / "output" / TRACKER, workspace / "inbox" / "actions" / "t.xlsx", edit)
    result = run_actions(workspace, "2026-10-20")
    assert result.exit_code == EXIT_DATAERR
    (line,) = manifest(workspace)
    assert line["outcome"] == "returned" and code in line["codes"]
    assert register_rows(workspace)[target].status == "Open"
    ctx = context(workspace, "2026-10-20")
    with ctx.register.reader() as conn:
        assert [h["note"] for h in act.action_history(conn, other)] == ["Raised by the audit."]
    ctx.close()


def test_a_workbook_that_is_not_a_tracker_of_this_register_is_rejected(
    workspace: Path, audited: dict[str, str]
) -> None:
    inbox = workspace / "inbox" / "actions"
    (inbox / "notes.xlsx").write_bytes(b"not a workbook")
    result = run_actions(workspace, "2026-10-12")
    assert result.exit_code == EXIT_DATAERR
    assert manifest(workspace)[0]["outcome"] == "rejected"


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_tracker_filled_in_and_saved_by_libreoffice_is_read(
    workspace: Path, audited: dict[str, str], tmp_path: Path
) -> None:
    run_actions(workspace, "2026-10-12")
    target = audited["Update the chronology"]

    def edit(columns: dict[str, int], ws: Any, first: int, last: int) -> None:
        put(
            ws,
            row_of(ws, columns, first, last, target),
            columns,
            Status="Completed",
            Completed_on=datetime(2026, 10, 11),
            Update="Chronology brought up to date",
        )

    filled = tmp_path / "filled" / "tracker.xlsx"
    fill(workspace / "output" / TRACKER, filled, edit)
    # Saved again by LibreOffice, as a manager without Excel would (the very hidden sheet comes back hidden).
    profile = (tmp_path / "lo-profile").as_uri()
    outdir = workspace / "inbox" / "actions"
    done = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(outdir),
            str(filled),
        ],
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    result = run_actions(workspace, "2026-10-20")
    assert result.exit_code == EXIT_OK, result.lines
    assert manifest(workspace)[0]["outcome"] == "accepted"
    row = register_rows(workspace)[target]
    assert (row.status, row.completed_on) == ("Completed", date(2026, 10, 11))
