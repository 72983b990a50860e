"""Hardening (issue 18): a safeguarding alert is shown until QA acknowledges it, even when its outputs failed. Real
files and processes; the test failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from prepared import Templates
from relkit import caseaudit, fill, good_answers_for, query, real_month


# --- 4. Safeguarding alerts committed but never shown ---------------------------------------------------------
@pytest.mark.slow
def test_an_alert_whose_outputs_failed_is_shown_until_qa_acknowledges_it(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    answers = dict(good_answers_for(config), safeguarding_concern="Yes", safeguarding_detail="Synthetic concern.")
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / forms[0].name).write_bytes(fill(forms[0], answers))
    case_ref = forms[0].stem.split("_")[2]  # YYYY-MM_<audit ref>_<case reference>_<auditor>
    # The register commits the alert, then no output can be put in place (a read-only output folder).
    failed = caseaudit(config, "ingest", "--month", "2026-09", hook="oserror:EROFS:any")
    said = failed.stdout + failed.stderr
    assert failed.returncode == 73, said
    assert "[ALR001]" in said and f"Alert 1: case {case_ref}" in said, said  # shown, though its files were not made
    published = [p for p in (config.parent / "output").rglob("*URGENT-safeguarding*") if ".staging" not in p.parts]
    assert not published  # staged, not in place
    # The next command that writes says it first again, and makes the outputs that failed.
    again = caseaudit(config, "ingest", "--month", "2026-09")
    assert again.returncode == 0 and again.stderr.lstrip("! ").startswith("[ALR001]"), again.stderr
    assert sorted((config.parent / "output").rglob("*URGENT-safeguarding*.eml"))
    listed = caseaudit(config, "alerts")
    assert (
        listed.returncode == 0 and f"Alert 1: case {case_ref}" in listed.stdout and "raised 2026-09-25" in listed.stdout
    )
    note = "Synthetic note: phoned the team manager"
    assert caseaudit(config, "alerts", "--ack", "1").returncode == 2  # a note is needed
    done = caseaudit(config, "alerts", "--ack", "1", "--note", note)
    assert done.returncode == 0 and "acknowledged" in done.stdout, done.stdout + done.stderr
    assert caseaudit(config, "alerts", "--ack", "1", "--note", note).returncode == 2  # once only
    assert (
        "[ALR003]" not in caseaudit(config, "alerts").stdout
        and "No safeguarding alerts wait" in caseaudit(config, "alerts").stdout
    )
    quiet = caseaudit(config, "ingest", "--month", "2026-09")
    assert "[ALR001]" not in quiet.stdout + quiet.stderr
    kept = query(config, "SELECT acknowledged_by, ack_note, acknowledged_at FROM alerts")
    assert kept[0][1] == note and kept[0][0] and kept[0][2]
    logs = list((config.parent / "output" / "logs").glob("*.log"))
    assert logs and all(note.encode() not in p.read_bytes() for p in logs)  # the note is never logged
