"""Whatever an auditor types into any answer cell, the batch never crashes: every file gets an outcome, and never
the 'internal error' one. Also: forms re-saved by LibreOffice ingest correctly."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from formkit import allocate, good_answers, make_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.ingest import stage as ingest_stage
from caseaudit_batch.workbook.layout import audit_layout

# openpyxl cannot write XML-illegal control characters at all (field notes), so the generated text avoids them;
# the reader's own handling of control characters is tested in test_rules (V030).
TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
    ),
    max_size=200,
)
VALUES = st.one_of(
    st.none(),
    TEXT,
    st.sampled_from(
        [
            "Good",
            "good.",
            "Outstanding",
            "RI",
            "Inadequate",
            "Yes",
            "No",
            '=HYPERLINK("http://x","y")',
            "=1+1",
            "03/04/2026",
            "2026-13-45",
            "   ",
            "In person",
            "Not possible",
        ]
    ),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_answers_never_crash_the_batch(ctx: session.Context, data: st.DataObject) -> None:
    layout = audit_layout(ctx.framework)
    answers: dict[str, Any] = good_answers(ctx.framework)
    # Every answer cell gets a random value, or keeps a good one (so both near-valid and wild forms are tried).
    wild = data.draw(st.booleans(), label="wild")
    for name in layout.field_names(prefilled=False):
        if wild or data.draw(st.booleans(), label=f"change {name}"):
            answers[name] = data.draw(VALUES, label=name)
    actions = data.draw(st.lists(st.tuples(VALUES, VALUES, VALUES), max_size=4), label="actions")
    with ctx.register.engine.begin() as conn:
        prefilled = allocate(conn, ctx.framework)
    inbox = ctx.config.inbox("audits")
    for old in inbox.iterdir():
        old.unlink()
    (inbox / "form.xlsx").write_bytes(make_form(ctx.framework, prefilled, answers, actions))
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    [entry] = result.data["entries"]
    # A number far outside any date (below -1e11) is refused before the reader could panic on it (IN016).
    assert entry.outcome in ("accepted", "returned") or entry.codes == ["IN016"], (entry.outcome, entry.codes)
    assert "IN090" not in entry.codes
    with ctx.register.reader() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reg.submissions)).scalar()


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_form_resaved_by_libreoffice_is_accepted(ctx: session.Context, tmp_path: Path) -> None:
    with ctx.register.engine.begin() as conn:
        prefilled = allocate(conn, ctx.framework)
    source = tmp_path / "src" / "form.xlsx"
    source.parent.mkdir()
    source.write_bytes(
        make_form(
            ctx.framework, prefilled, good_answers(ctx.framework), [("Update chronology", "Sam", date(2026, 10, 30))]
        )
    )
    out = tmp_path / "lo"
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    resaved = out / "form.xlsx"
    assert resaved.read_bytes() != source.read_bytes()
    (ctx.config.inbox("audits") / "form.xlsx").write_bytes(resaved.read_bytes())
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    [entry] = result.data["entries"]
    assert (entry.outcome, entry.codes) == ("accepted", [])
    assert isinstance(entry, inbox_files.Entry) and entry.check is not None
    assert entry.check.answers["date_completed"] == "2026-09-20"
    assert entry.check.answers["actions"] == [["Update chronology", "Sam", "2026-10-30"]]
