"""The audit form in a real spreadsheet program: LibreOffice prints every form, and keeps identity and answers."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_forms import ACTIONS, ANSWERS, FW, MONTH, make_form
from test_forms_moderation_tracker import moderation_form, tracker

from caseaudit_batch.workbook import forms
from caseaudit_batch.workbook.layout import META_KEYS, META_SHEET

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"),
]


def soffice(tmp_path: Path, target: str, files: list[Path], outdir: Path) -> None:
    """Convert with a private LibreOffice profile, so parallel runs never share one."""
    profile = (tmp_path / "lo-profile").as_uri()
    outdir.mkdir(exist_ok=True)
    done = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            *map(str, files),
        ],
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def test_every_generated_form_converts_to_pdf(tmp_path: Path) -> None:
    made = []
    for case_ref, auditor, staff, previous in MONTH:
        path = tmp_path / forms.form_filename("2026-09", f"2026-09-{len(made) + 1:04d}", case_ref, auditor)
        path.write_bytes(make_form(case_ref, auditor, staff, previous))
        made.append(path)
    moderation = tmp_path / "moderation.xlsx"
    moderation.write_bytes(moderation_form())
    made.append(moderation)
    tracker_path = tmp_path / "tracker.xlsx"
    row = ("ACT-1", "CR-1", "North 1", "Tina Manager", "Update the chronology", "Sam Worker", date(2026, 9, 1), 12)
    tracker_path.write_bytes(tracker([row]))
    made.append(tracker_path)
    filled = tmp_path / "filled.xlsx"
    filled.write_bytes(forms.fill_form(make_form(), ANSWERS, ACTIONS))
    made.append(filled)
    soffice(tmp_path, "pdf", made, tmp_path / "pdf")
    for path in made:
        pdf = tmp_path / "pdf" / (path.stem + ".pdf")
        assert pdf.exists(), path.name
        assert pdf.read_bytes().startswith(b"%PDF")
        assert pdf.stat().st_size > 10_000  # a real page, not an empty sheet


def test_form_filled_through_defined_names_survives_a_libreoffice_save(tmp_path: Path) -> None:
    source = tmp_path / "in" / "form.xlsx"
    source.parent.mkdir()
    source.write_bytes(forms.fill_form_openpyxl(make_form(), ANSWERS, ACTIONS))
    soffice(tmp_path, "xlsx", [source], tmp_path / "out")
    wb = load_workbook(io.BytesIO((tmp_path / "out" / "form.xlsx").read_bytes()))
    # Identity: _meta comes back hidden or very hidden, with its values; the custom properties too.
    assert wb[META_SHEET].sheet_state in ("hidden", "veryHidden")
    meta = {wb[META_SHEET].cell(row=r, column=1).value: wb[META_SHEET].cell(row=r, column=2).value for r in range(1, 8)}
    assert meta["case_ref"] == "CR-1001"
    assert meta["framework_version"] == FW.version
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    for key in META_KEYS:
        assert props[f"caseaudit.{key}"] == meta[key] or (props[f"caseaudit.{key}"] in (None, "") and not meta[key])
    # Answers, read back through the defined names.
    for name, value in ANSWERS.items():
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        got = wb[sheet][ref.replace("$", "")].value
        if isinstance(value, date):
            assert got.date() == value, name
        else:
            assert got == value, name
    sheet, ref = next(iter(wb.defined_names["actions"].destinations))
    rows = [tuple(c.value for c in row) for row in wb[sheet][ref.replace("$", "")] if row[0].value]
    assert rows[0][:2] == ACTIONS[0][:2] and rows[0][2].date() == ACTIONS[0][2]
    assert rows[2] == ACTIONS[2]
