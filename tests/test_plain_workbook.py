"""The fast feedback workbook (workbook/plain.py) writes every part as xlsxwriter does (issue 25)."""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest import feedback

PIECES = ["a", " ", "\n", "&", "<b>", "_x0041_", "\x01", "\t", "é", "😀", "\ufffe", "=SUM(A1)", "word " * 40, '"q"']
PIECES.append("\r")


def _text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, most)))


def _parts(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return {name: archive.read(name) for name in archive.namelist() if name != "docProps/core.xml"}


@pytest.mark.parametrize("seed", range(4))
def test_feedback_workbook_has_xlsxwriters_parts(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        problems = [
            Problem(
                "V110",
                rng.choice(["warning", "error"]),
                _text(rng, 8) or "m",
                _text(rng, 4),
                sheet=rng.choice(["", "Audit form"]),
                cell=rng.choice(["", "B9"]),
                label=_text(rng, 3),
                found=_text(rng, 10),
            )
            for _ in range(rng.randint(1, 40))  # more than 16 rows: xlsxwriter's spans go by blocks of 16
        ]
        outcome = rng.choice(["returned", "accepted"])
        instructions = _text(rng, 3)
        fast = feedback.feedback_workbook("f.xlsx", "2026-09-0001", "CR1", outcome, problems, instructions)
        verdict = (
            f"Returned: please correct the errors on the form and send it again. {instructions}".strip()
            if outcome == "returned"
            else "Accepted: the points below are worth checking."
        )
        intro = ("Case file audit feedback: case CR1", "File: f.xlsx   Audit reference: 2026-09-0001", verdict)
        rows = [feedback.problem_row(p) for p in problems]
        sheet = feedback.Sheet("Feedback", feedback.FEEDBACK_HEADERS, rows, intro, feedback.FEEDBACK_WIDTHS)
        assert list(_parts(fast)) == list(_parts(feedback.workbook_bytes([sheet])))
        assert _parts(fast) == _parts(feedback.workbook_bytes([sheet]))


def test_rich_text_lookalike_is_left_to_xlsxwriter() -> None:
    problems = [Problem("V110", "warning", "<r>x</r>", "fix")]
    data = feedback.feedback_workbook("f.xlsx", "R", "CR1", "accepted", problems)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
