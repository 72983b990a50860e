"""Issue 24, smaller things: the framework's case-type spellings, and whom a shared audit copies for the previous
worker (Appendix 1, "Sharing the audit": the relevant Team Manager)."""

from __future__ import annotations

from pathlib import Path

from alloc_tables import CASELOAD, ROSTER, edit, write

from caseaudit_batch.allocation.roster import load_caseload, load_roster
from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.ingest.feedback import People, Person

FW = load_framework()


def test_the_frameworks_spellings_become_its_case_types_and_unknown_ones_are_listed(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path / "roster.xlsx", ROSTER))
    text = edit(CASELOAD, "N1-01", "Case type", "Child in Need")
    text = edit(text, "N1-02", "Case type", "child  protection")
    text = edit(text, "N1-03", "Case type", "Looked After Child")
    text = edit(text, "N1-04", "Case type", "Early Help")
    caseload = load_caseload(write(tmp_path / "caseload.xlsx", text), roster, FW.case_types)
    types = {c.case_ref: c.case_type for c in caseload.cases}
    assert (types["N1-01"], types["N1-02"], types["N1-03"]) == ("CIN", "CP", "CLA")
    assert types["N1-04"] == "Early Help"  # kept as typed, and listed
    assert list(caseload.unknown_case_types) == ["Early Help"]
    assert caseload.unknown_case_types["Early Help"] > 0
    # Without the framework's list nothing is warned (a caller outside a run).
    assert load_caseload(write(tmp_path / "c2.xlsx", text), roster).unknown_case_types == {}


def _people(**staff: tuple[str, str]) -> People:
    return People(
        {sid: Person(sid, sid, f"{sid.lower()}@x.example", manager, role) for sid, (role, manager) in staff.items()},
        {"CR1": {"previous_worker_id": "SW0"}},
    )


def test_the_previous_workers_team_manager_not_their_practice_supervisor() -> None:
    people = _people(
        SW0=("Social Worker", "PS1"), PS1=("Practice Supervisor", "TM1"), TM1=("Team Manager", "SM1"),
        SM1=("Service Manager", ""),
    )  # fmt: skip
    who = people.case_people("CR1")
    assert who["previous_team_manager"] is not None and who["previous_team_manager"].staff_id == "TM1"


def test_a_worker_managed_by_a_team_manager_and_a_chain_without_one() -> None:
    direct = _people(SW0=("Social Worker", "TM1"), TM1=("Team Manager", "SM1"), SM1=("Service Manager", ""))
    assert direct.case_people("CR1")["previous_team_manager"].staff_id == "TM1"  # type: ignore[union-attr]
    # No team manager up the chain (and a loop in it): the line manager, as before.
    odd = _people(SW0=("Social Worker", "PS1"), PS1=("Practice Supervisor", "SW0"))
    assert odd.case_people("CR1")["previous_team_manager"].staff_id == "PS1"  # type: ignore[union-attr]
