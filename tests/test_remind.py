"""Reminders: on the right dates (weekends, bank holidays), to the right people (line manager in copy), once."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from alloc_tables import CASELOAD, ROSTER, write

from caseaudit_batch import cli, session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.allocation.reminders import reminder_date
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import ConfigError


@pytest.mark.parametrize(
    ("month", "lead_days", "expected"),
    [
        (Month(2026, 9), 7, date(2026, 9, 23)),  # Wednesday: no move
        (Month(2026, 10), 7, date(2026, 10, 23)),  # Saturday 24th -> Friday 23rd
        (Month(2026, 5), 7, date(2026, 5, 22)),  # Sunday 24th -> Friday 22nd
        # Easter Monday 24 March 2008, then Sunday, Saturday, Good Friday 21 March -> Thursday 20 March.
        (Month(2008, 3), 7, date(2008, 3, 20)),
        # The August bank holiday is England-only: Monday 25 August 2025 -> Friday 22 August.
        (Month(2025, 8), 6, date(2025, 8, 22)),
        # The coronation bank holiday, Monday 8 May 2023 -> Friday 5 May.
        (Month(2023, 5), 23, date(2023, 5, 5)),
        # Christmas 2022 fell on a Sunday: Tuesday 27 December was the substitute day; Boxing Day Monday 26th.
        (Month(2022, 12), 4, date(2022, 12, 23)),
        # Christmas 2021 on a Saturday: substitute Monday 27, Boxing Day substitute Tuesday 28 -> Friday 24.
        (Month(2021, 12), 3, date(2021, 12, 24)),
    ],
)
def test_reminder_date(month: Month, lead_days: int, expected: date) -> None:
    assert reminder_date(month, lead_days) == expected


def allocate(workspace: Path) -> None:
    write(workspace / "roster.xlsx", ROSTER)
    write(workspace / "caseload.xlsx", CASELOAD)
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-09-01")
    try:
        allocation_stage.allocate_month(ctx, "2026-09")
    finally:
        ctx.close()


def remind(workspace: Path, today: str, *, force: bool = False) -> session.Result:
    ctx = session.open_context(workspace / "caseaudit.toml", today)
    try:
        return allocation_stage.remind_month(ctx, "2026-09", force=force)
    finally:
        ctx.close()


def outbox(workspace: Path) -> list[dict[str, str]]:
    with open(workspace / "output" / "2026-09" / "outbox.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_before_the_reminder_date_it_only_says_when(workspace: Path) -> None:
    allocate(workspace)
    before = len(outbox(workspace))
    result = remind(workspace, "2026-09-22")
    assert result.data["made"] == 0 and result.exit_code == 0
    assert "due on Wednesday 23 September 2026" in result.lines[0]
    assert len(outbox(workspace)) == before
    assert not (workspace / "output" / "2026-09" / "reminders-2026-09.xlsx").exists()


def test_reminders_go_once_to_auditors_not_yet_accepted_with_the_line_manager_in_copy(workspace: Path) -> None:
    allocate(workspace)
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-09-23")
    try:
        with ctx.register.reader() as conn:
            allocated = {a.staff_id: a for a in conn.execute(sa.select(reg.allocations))}
        with ctx.register.writer() as conn:  # Tara's audit is in and accepted; Theo's older version was superseded
            for staff_id, current in (("T1", True), ("T2", False)):
                conn.execute(
                    sa.insert(reg.audits).values(
                        audit_id=allocated[staff_id].audit_id,
                        submission_id=1,
                        month="2026-09",
                        answers={},
                        current=current,
                        accepted_at="2026-09-20T10:00:00+01:00",
                    )
                )
    finally:
        ctx.close()
    result = remind(workspace, "2026-09-23")
    assert result.data == {"reminder_date": "2026-09-23", "made": 12, "already": 0, "accepted": 1, "total": 13}
    reminders = [r for r in outbox(workspace) if r["subject"].startswith("Reminder")]
    assert len(reminders) == 12
    by_to = {r["to"]: r["cc"] for r in reminders}
    assert "tara@council.example" not in by_to
    # Line managers from the roster: Theo reports to Mia, Mia to Hana, Pat to Tara, the director to nobody.
    assert by_to["theo@council.example"] == "mia@council.example"
    assert by_to["mia@council.example"] == "hana@council.example"
    assert by_to["pat@council.example"] == "tara@council.example"
    assert by_to["dana@council.example"] == ""
    eml = workspace / "output" / "2026-09" / next(r["file"] for r in reminders if r["to"] == "theo@council.example")
    text = eml.read_text("utf-8").replace("=\n", "")
    assert allocated["T2"].case_ref in text and "Mia North is copied in" in text
    wb = openpyxl.load_workbook(workspace / "output" / "2026-09" / "reminders-2026-09.xlsx")
    table = list(wb["Reminders"].iter_rows(values_only=True))
    assert table[0][:4] == ("Auditor", "Role", "Line manager", "Case reference")
    assert [r[7] for r in table[1:]].count("Reminded now") == 12
    assert [r[7] for r in table[1:] if r[0] == "Tara Teamone"] == ["Accepted"]
    assert {r[9] for r in table[1:]} == {a.audit_ref for a in allocated.values()}
    assert {r[10] for r in table[1:]} == {a.audit_id for a in allocated.values()}

    # Idempotent: a second run (even days later) makes none; --force makes them again.
    again = remind(workspace, "2026-09-25")
    assert (again.data["made"], again.data["already"]) == (0, 12)
    assert any("--force" in line for line in again.lines)
    assert len([r for r in outbox(workspace) if r["subject"].startswith("Reminder")]) == 12
    forced = remind(workspace, "2026-09-25", force=True)
    assert forced.data["made"] == 12
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-09-25")
    try:
        with ctx.register.reader() as conn:
            recorded = conn.execute(
                sa.select(sa.func.count()).select_from(reg.notices).where(reg.notices.c.kind == "reminder")
            ).scalar()
    finally:
        ctx.close()
    assert recorded == 24


def test_lead_days_come_from_the_config(workspace: Path) -> None:
    config = workspace / "caseaudit.toml"
    config.write_text(config.read_text("utf-8").replace("lead_days = 7", "lead_days = 3"), "utf-8")
    allocate(workspace)
    assert "due on Friday 25 September 2026" in remind(workspace, "2026-09-23").lines[0]  # 27th is a Sunday


def test_remind_without_an_allocation_and_from_the_command_line(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        remind(workspace, "2026-09-28")
    assert info.value.code == "AL027"
    allocate(workspace)
    config = str(workspace / "caseaudit.toml")
    assert cli.main(["remind", "--config", config, "--month", "2026-09", "--today", "2026-09-01"]) == 0
    assert "Reminders for September 2026 are due on Wednesday 23 September 2026" in capsys.readouterr().out
    assert cli.main(["remind", "--config", config, "--month", "2026-09", "--today", "2026-09-24"]) == 0
    assert "13 made" in capsys.readouterr().out
    assert cli.main(["remind", "--config", config, "--month", "2026-09", "--today", "2026-09-24"]) == 0
    assert "0 made, 13 already made earlier" in capsys.readouterr().out
    assert cli.main(["remind", "--config", config, "--month", "2026-09", "--today", "2026-09-24", "--force"]) == 0
    assert "13 made" in capsys.readouterr().out
