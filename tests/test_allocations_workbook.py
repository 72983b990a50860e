"""``allocations.xlsx`` (issue 25): the Allocations sheet's rows spliced in as openpyxl writes them give, part for
part, the workbook openpyxl writes itself, whatever the text (accents, markup characters, spaces at the ends, text
that looks like a formula, empty cells)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from alloc_tables import CASELOAD, ROSTER, write

from caseaudit_batch import session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.allocation import workbook
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month

ODD = ["Zoë Ünal-Smith 😀", "A & B <team>", " leading and trailing ", "=SUM(A1:A2)", "", "Ffion 'quoted' \"too\""]


class _Staging:
    data = b""

    def write_bytes(self, path: Path, data: bytes) -> None:
        self.data = data


class _Run:
    def __init__(self) -> None:
        self.staging = _Staging()


def _parts(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    times = re.compile(rb"<dcterms:(created|modified)[^<]*</dcterms:\w+>")  # openpyxl's wall-clock times
    return {name: times.sub(b"", archive.read(name)) for name in archive.namelist()}


def _both(ctx: session.Context, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    made = []
    with ctx.register.reader() as conn:
        for plain in (workbook._plain, lambda value: False):
            monkeypatch.setattr(workbook, "_plain", plain)
            run: Any = _Run()
            workbook.write_allocations_workbook(ctx, conn, run, Month(2026, 9))
            made.append(run.staging.data)
    return made[0], made[1]


def test_spliced_rows_are_the_rows_openpyxl_writes(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(workspace / "roster.xlsx", ROSTER)
    write(workspace / "caseload.xlsx", CASELOAD)
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-09-01")
    try:
        allocation_stage.allocate_month(ctx, "2026-09")
        a = reg.allocations
        with ctx.register.writer() as conn:
            found = list(conn.execute(sa.select(a.c.audit_id, a.c.prefilled).order_by(a.c.audit_id)))
            assert len(found) > len(ODD)
            for (audit_id, prefilled), text in zip(found, ODD, strict=False):
                changed = dict(prefilled, auditor_name=text, team=text, cp_iro=None)
                conn.execute(sa.update(a).where(a.c.audit_id == audit_id).values(prefilled=changed))
        spliced, whole = _both(ctx, monkeypatch)
    finally:
        ctx.close()
    assert _parts(spliced) == _parts(whole)
    cells = {c.value for row in openpyxl.load_workbook(io.BytesIO(spliced))["Allocations"].iter_rows() for c in row}
    assert {t for t in ODD if t} <= cells
