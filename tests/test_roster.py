"""Loading the roster and caseload: every problem with its row, column and fix; nothing half-loaded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from alloc_tables import CASELOAD, ROSTER, add, edit, write

from caseaudit_batch import cli
from caseaudit_batch.allocation.roster import InputTableError, load_caseload, load_pairs, load_roster


def test_a_good_roster_and_caseload_load(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path / "roster.xlsx", ROSTER))
    assert len(roster.people) == 22
    pip = roster.people["P2"]
    assert (pip.audit_status, pip.paused_until, pip.pause_reason) == ("Paused", date(2026, 10, 15), "Parental leave")
    assert roster.people["W5"].with_authority is False
    caseload = load_caseload(write(tmp_path / "caseload.xlsx", CASELOAD), roster)
    assert len(caseload.cases) == 17
    case = caseload.by_ref()["N1-02"]
    assert case.allocated_on == date(2026, 8, 20)  # 20/08/2026 read the English way
    # A team's service manager is its team manager's line manager.
    service_manager = roster.service_manager_for(case)
    assert service_manager is not None and service_manager.name == "Mia North"


def test_csv_with_the_same_headers_is_accepted(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path / "roster.csv", ROSTER))
    caseload = load_caseload(write(tmp_path / "caseload.csv", CASELOAD), roster)
    assert roster.people["T1"].team == "N1"
    assert caseload.by_ref()["S2-05"].social_worker_id == ""


def test_a_bad_roster_row_gives_its_row_column_and_fix(tmp_path: Path) -> None:
    text = edit(ROSTER, "T2", "Role", "Team Leader")  # T2 is on row 9 (header row 1, D1 row 2)
    text = edit(text, "P1", "Line manager ID", "T9")
    text = edit(text, "P2", "Paused until", "next spring")
    text = add(text, "T1 | Tara Again | t2@council.example | Team Manager | N1 | North | M1 | Active | |")
    with pytest.raises(InputTableError) as info:
        load_roster(write(tmp_path / "roster.xlsx", text))
    by_code = {p.code: p for p in info.value.problems}
    role = by_code["AL003"]
    assert role.cell == "D9" and role.label == "Role" and role.found == "Team Leader"
    assert "Row 9" in role.message and "Team Manager" in role.fix
    assert by_code["AL006"].cell == "G12" and "T9" in by_code["AL006"].message
    assert by_code["AL007"].cell == "I13" and "03/04/2026" in by_code["AL007"].fix
    assert by_code["AL005"].cell == "A24" and "first on row 8" in by_code["AL005"].message
    # The whole report, as the user sees it, names the file, each row and a fix.
    message = info.value.message
    assert "nothing was loaded" in message and "roster.xlsx" in message and "cell D9" in message


def test_a_missing_column_and_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    no_email = ROSTER.replace("| Email ", "| E-mail ", 1)
    with pytest.raises(InputTableError) as info:
        load_roster(write(tmp_path / "roster.xlsx", no_email))
    assert [p.code for p in info.value.problems] == ["AL002"]
    assert info.value.problems[0].label == "Email"
    fake = tmp_path / "fake.xlsx"
    fake.write_text("Staff ID,Name\n", "utf-8")
    with pytest.raises(InputTableError) as info:
        load_roster(fake)
    assert info.value.problems[0].code == "AL001" and "not an .xlsx workbook" in info.value.problems[0].message


def test_caseload_problems_are_each_reported(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path / "roster.xlsx", ROSTER))
    text = edit(CASELOAD, "N2-01", "Team manager ID", "T7")  # row 6
    text = edit(text, "N2-02", "Case opened on", "31/02/2026")  # row 7: no such day
    text = add(text, "N1-01 | CIN | North | N1 | W1 | T1 | | | | 01/01/2026")  # row 19
    with pytest.raises(InputTableError) as info:
        load_caseload(write(tmp_path / "caseload.xlsx", text), roster)
    found = {(p.code, p.cell) for p in info.value.problems}
    assert found == {("AL006", "F6"), ("AL007", "J7"), ("AL009", "A19")}
    assert "nothing was loaded" in info.value.message


def test_from_file_pairs_are_checked(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path / "roster.xlsx", ROSTER))
    caseload = load_caseload(write(tmp_path / "caseload.xlsx", CASELOAD), roster)
    good = "Staff ID | Case reference\nT1 | S1-01\nM1 | S2-02"
    pairs = load_pairs(write(tmp_path / "pairs.xlsx", good), roster, caseload)
    assert [(p.staff_id, p.case_ref, p.row) for p in pairs] == [("T1", "S1-01", 2), ("M1", "S2-02", 3)]
    bad = "Staff ID | Case reference\nT1 | S1-01\nT1 | S1-02\nZZ | NOPE"
    with pytest.raises(InputTableError) as info:
        load_pairs(write(tmp_path / "pairs.csv", bad), roster, caseload)
    assert {(p.code, p.cell) for p in info.value.problems} == {("AL015", "A3"), ("AL006", "A4"), ("AL013", "B4")}


def test_the_command_line_shows_every_problem_and_exits_65(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workspace / "roster.xlsx", edit(ROSTER, "T2", "Role", "Team Leader"))
    write(workspace / "caseload.xlsx", CASELOAD)
    code = cli.main(
        ["allocate", "--config", str(workspace / "caseaudit.toml"), "--month", "2026-09", "--today", "2026-09-01"]
    )
    assert code == 65
    err = capsys.readouterr().err
    assert "Row 9: 'Team Leader' is not a role caseaudit knows. Choose one of:" in err
    assert "Traceback" not in err
    assert not (workspace / "output" / "2026-09").exists()


def test_a_line_manager_cycle_is_an_error_naming_the_chain(tmp_path: Path) -> None:
    """Issue 18: M1 reports to T1, who reports to M1: nobody at the top, so no Head of Service can be found."""
    text = edit(ROSTER, "M1", "Line manager ID", "T1")
    with pytest.raises(InputTableError) as info:
        load_roster(write(tmp_path / "roster.xlsx", text))
    cycles = [p for p in info.value.problems if p.code == "AL044"]
    assert {p.cell for p in cycles} == {"G6", "G8"}  # M1 on row 6, T1 on row 8: both rows are named
    assert any("M1 → T1 → M1" in p.message for p in cycles)


def test_a_chain_that_ends_at_the_top_is_no_cycle(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path / "roster.xlsx", ROSTER))  # D1 has no line manager: the chain ends there
    assert roster.people["P1"].line_manager_id == "T1"
