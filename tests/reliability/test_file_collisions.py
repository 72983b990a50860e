# ruff: noqa: E501 - the tables are easier to read as wide rows
"""Readable audit references and file names that cannot collide (hardening issue, item 5), with the real commands
as child processes on a real working folder.

Two case references that make the same file-name text (``CR 1`` and ``CR/1``) and two auditors with the same name
used to share form, notice, alert and moderation file names, so one overwrote the other. Every per-audit file name
now starts with the audit reference, which is unique in the register.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from alloc_tables import write
from formkit import set_sender
from relkit import caseaudit, fill, good_answers_for, query

from caseaudit_batch.allocation import workspace as setup

pytestmark = pytest.mark.slow

# Two team managers both called Sam Smith, each auditing the other's team; the two cases' references differ only in
# a character a file name cannot hold.
ROSTER = """
Staff ID | Name        | Email             | Role            | Team | Service | Line manager ID | Audit status | Paused until | Pause reason
H1       | Hal Head    | hal@c.example     | Head of Service |      | East    |                 | Paused       | 01/01/2027   | Secondment
SA       | Sam Smith   | sam.a@c.example   | Team Manager    | A    | East    | H1              | Active       |              |
SB       | Sam Smith   | sam.b@c.example   | Team Manager    | B    | East    | H1              | Active       |              |
WA       | Wyn Able    | wyn@c.example     | Social Worker   | A    | East    | SA              | Active       |              |
WB       | Wes Baker   | wes@c.example     | Social Worker   | B    | East    | SB              | Active       |              |
Q1       | Quinn Check | quinn@c.example   | QA Officer      |      | QA      | H1              | Active       |              |
"""
CASELOAD = """
Case reference | Case type | Service | Team | Social worker ID | Team manager ID | Allocated to current worker on | Previous social worker ID | CP coordinator / IRO ID | Case opened on
CR 1           | CIN       | East    | A    | WA               | SA              | 01/02/2026                     |                           |                         | 01/01/2026
CR/1           | CIN       | East    | B    | WB               | SB              | 01/02/2026                     |                           |                         | 01/01/2026
"""


def _folder(tmp_path: Path, roster: str = ROSTER) -> Path:
    folder = tmp_path / "work"
    setup.init_workspace(folder, organisation="Collision Council")
    set_sender(folder)
    write(folder / "roster.xlsx", roster)
    write(folder / "caseload.xlsx", CASELOAD)
    config = folder / "caseaudit.toml"
    text = config.read_text("utf-8").replace('qa_officer = ""', 'qa_officer = "Q1"')
    config.write_text(text.replace("moderators = []", 'moderators = ["H1"]'), "utf-8")
    return config


def _allocations(config: Path) -> dict[str, tuple[str, str, str]]:
    """audit_ref -> (audit_id, case reference, status), from the register."""
    rows = query(config, "SELECT audit_ref, audit_id, case_ref, status FROM allocations")
    return {ref: (audit_id, case_ref, status) for ref, audit_id, case_ref, status in rows}


def _defined_value(form: bytes, name: str) -> str:
    """A defined name's cell value, read from the package (openpyxl would do, but this is what Excel sees)."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(form))
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return str(wb[sheet][ref.replace("$", "")].value)


def test_colliding_case_references_and_auditor_names_get_their_own_files(tmp_path: Path) -> None:
    config = _folder(tmp_path)
    done = caseaudit(config, "allocate", "--month", "2026-09", today="2026-09-01")
    assert done.returncode == 0, done.stdout + done.stderr
    allocated = _allocations(config)
    assert sorted(allocated) == ["2026-09-0001", "2026-09-0002"]
    assert {case for _id, case, _status in allocated.values()} == {"CR 1", "CR/1"}

    # Two forms, each named by its reference, each carrying it in the defined name audit_ref.
    month = config.parent / "output" / "2026-09"
    forms = sorted(month.glob("2026-09_*.xlsx"))
    assert [f.name for f in forms] == [
        "2026-09_2026-09-0001_CR_1_Sam_Smith.xlsx",
        "2026-09_2026-09-0002_CR_1_Sam_Smith.xlsx",
    ]
    for form in forms:
        assert _defined_value(form.read_bytes(), "audit_ref") == form.name.split("_")[1]
    notices = sorted(p.name for p in (month / "notices").glob("*_allocation.eml"))
    assert notices == ["2026-09-0001_CR_1_Sam_Smith_allocation.eml", "2026-09-0002_CR_1_Sam_Smith_allocation.eml"]
    with (month / "outbox.csv").open(encoding="utf-8") as handle:
        assert len({row["file"] for row in csv.DictReader(handle)}) == 2

    # Both auditors raise a safeguarding concern: two alerts, two files (one overwrote the other before).
    answers = dict(good_answers_for(config), safeguarding_concern="Yes", safeguarding_detail="Told the TM at once.")
    inbox = config.parent / "inbox" / "audits"
    for form in forms:
        (inbox / form.name).write_bytes(fill(form, answers))
    done = caseaudit(config, "ingest", today="2026-09-20")
    assert done.returncode in (0, 65), done.stdout + done.stderr
    alerts = sorted(p.name for p in (month / "alerts").glob("*.eml"))
    assert len(alerts) == 2 and [a[:12] for a in alerts] == ["2026-09-0001", "2026-09-0002"]
    said = done.stdout + done.stderr
    assert "audit 2026-09-0001" in said and "audit 2026-09-0002" in said  # the alerts name the audit by reference

    # Both audits added to the moderation sample by reference: two moderation forms.
    for ref in ("2026-09-0001", "2026-09-0002"):
        done = caseaudit(config, "moderate", "--month", "2026-09", "--add", ref, today="2026-09-21")
        assert done.returncode == 0, done.stdout + done.stderr
        assert ref in done.stdout
    moderation = sorted(p.name for p in (month / "moderation").glob("*_moderation.xlsx"))
    assert moderation == ["2026-09-0001_CR_1_moderation.xlsx", "2026-09-0002_CR_1_moderation.xlsx"]
    for name in moderation:
        assert _defined_value((month / "moderation" / name).read_bytes(), "audit_ref") == name[:12]


def test_a_reassignment_by_reference_takes_the_next_reference(tmp_path: Path) -> None:
    # A third auditor, in a third team: two cases for three auditors, so one is left without a case.
    config = _folder(
        tmp_path,
        ROSTER.rstrip() + "\nPC | Pat Cole | pat@c.example | Practice Supervisor | C | East | H1 | Active | |\n",
    )
    done = caseaudit(config, "allocate", "--month", "2026-09", today="2026-09-01")
    assert done.returncode in (0, 65), done.stdout + done.stderr
    allocated = _allocations(config)
    held = dict(query(config, "SELECT staff_id, audit_ref FROM allocations"))
    free = next(s for s in ("SA", "SB", "PC") if s not in held)
    team_of_case = {"CR 1": "A", "CR/1": "B"}
    ref = next(
        r for r, (_id, case, _s) in sorted(allocated.items()) if team_of_case[case] != {"SA": "A", "SB": "B"}.get(free)
    )

    # An unknown reference is refused, naming what was typed; nothing changes.
    done = caseaudit(config, "allocate", "--month", "2026-09", "--reassign", "2026-09-0009", "--to", free)
    assert done.returncode == 2 and "2026-09-0009" in done.stdout + done.stderr
    assert _allocations(config) == allocated

    done = caseaudit(config, "allocate", "--month", "2026-09", "--reassign", ref, "--to", free, today="2026-09-03")
    assert done.returncode == 0, done.stdout + done.stderr
    after = _allocations(config)
    assert after[ref][2] == "withdrawn" and after["2026-09-0003"][2] == "allocated"
    assert after["2026-09-0003"][1] == allocated[ref][1]  # the same case, under the month's next reference
    assert ref in done.stdout and "2026-09-0003" in done.stdout
    month = config.parent / "output" / "2026-09"
    assert len(list((month / "notices").glob(f"{ref}_*_withdrawal.eml"))) == 1
    assert len(list((month / "notices").glob("2026-09-0003_*_reassignment.eml"))) == 1
    assert len(list(month.glob("2026-09_2026-09-0003_*.xlsx"))) == 1
