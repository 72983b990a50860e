"""Names in typed text at check and ingest (privacy issue): a planted given name and a roster name are warnings
naming the sheet, the cell and the word; an allowed word is nothing; ``[privacy] names = "return"`` returns the
form. Forms are real generated workbooks, read by the real ingest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from formkit import allocate, good_answers, make_form

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.ingest import stage as ingest_stage

PLANTED = "Kayden's views on his placement were not recorded; the plan should say what he wants."
ROSTER_NAME = "Terry Manager discussed the plan in supervision and the actions were agreed with the worker."


def _ingest(workspace: Path, privacy: str = "", **answers: Any) -> tuple[str, list[tuple[str, str, str, str]]]:
    config = workspace / "caseaudit.toml"
    if privacy:
        text = config.read_text("utf-8")
        start = text.index("[privacy]")
        end = text.index("[templates]")
        config.write_text(text[:start] + "[privacy]\n" + privacy + "\n\n" + text[end:], "utf-8")
    ctx = session.open_context(config, "2026-09-01")
    try:
        with ctx.register.engine.begin() as conn:
            prefilled = allocate(conn, ctx.framework)
        data = make_form(ctx.framework, prefilled, {**good_answers(ctx.framework), **answers})
        (ctx.config.inbox("audits") / "form.xlsx").write_bytes(data)
        ingest_stage.ingest_inbox(ctx, "2026-09")
        with ctx.register.reader() as conn:
            outcome = conn.execute(sa.select(reg.submissions.c.outcome)).scalar_one()
            p = reg.problems
            rows = conn.execute(
                sa.select(p.c.code, p.c.sheet, p.c.cell, p.c.found).where(p.c.code.in_(["V120", "V121"]))
            ).all()
    finally:
        ctx.close()
    return outcome, [tuple(r) for r in rows]


def test_a_planted_given_name_is_a_warning_with_its_cell(workspace: Path) -> None:
    outcome, found = _ingest(workspace, learning=PLANTED)
    assert outcome == "accepted"
    assert len(found) == 1 and found[0][0] == "V120" and found[0][1] == "Audit form" and found[0][3] == "Kayden"
    assert found[0][2].startswith("B")  # the answer column of the learning row


def test_a_roster_name_is_a_warning(workspace: Path) -> None:
    outcome, found = _ingest(workspace, strengths=ROSTER_NAME)
    assert outcome == "accepted"
    assert [(code, word) for code, _sheet, _cell, word in found] == [("V120", "Terry Manager")]


def test_an_allowed_word_is_nothing(workspace: Path) -> None:
    outcome, found = _ingest(
        workspace, 'names = "warn"\nextra_names = []\nallowed_words = ["kayden"]', learning=PLANTED
    )
    assert (outcome, found) == ("accepted", [])


def test_names_return_sends_the_form_back(workspace: Path) -> None:
    outcome, found = _ingest(workspace, 'names = "return"\nextra_names = []\nallowed_words = []', learning=PLANTED)
    assert outcome == "returned"
    assert [(code, word) for code, _sheet, _cell, word in found] == [("V121", "Kayden")]


def test_an_extra_name_is_found(workspace: Path) -> None:
    text = "The worker has not yet met Zorbin, who is placed out of area."
    outcome, found = _ingest(workspace, 'names = "warn"\nextra_names = ["Zorbin"]\nallowed_words = []', learning=text)
    assert outcome == "accepted" and [w for *_x, w in found] == ["Zorbin"]


def _texts(path: Path) -> str:
    """Every XML part of a .docx or .xlsx, as text (what Word and Excel would show, and more)."""
    import zipfile

    with zipfile.ZipFile(path) as package:
        return "\n".join(
            package.read(name).decode("utf-8", "replace") for name in package.namelist() if name.endswith(".xml")
        )


def test_no_report_document_contains_a_planted_name(workspace: Path) -> None:
    from caseaudit_batch.reports import stage as report_stage

    outcome, found = _ingest(workspace, learning=PLANTED, recommendations="Ask Kayden what he wants from contact.")
    assert outcome == "accepted" and found  # warned, accepted: the name is in the register
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-10-05")
    try:
        result = report_stage.report_month(ctx, "2026-09")
    finally:
        ctx.close()
    documents = [p for p in result.outputs if p.suffix in (".docx", ".xlsx")]
    assert len(documents) >= 3
    shown = {p.name: _texts(p) for p in documents}
    for name, text in shown.items():
        assert "Kayden" not in text, name
    assert any("[name]" in text for text in shown.values())  # the learning was shown, redacted
    assert all("typed text is checked for names and redacted" in text for name, text in shown.items()), [
        name for name, text in shown.items() if "typed text is checked for names" not in text
    ]
