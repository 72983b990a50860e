"""The register on both backends (issue 23): the single-writer lock held for a whole ``run``, dates and timestamps at
Europe/London month edges, text from every Unicode plane, NUL refused at input. Each test here runs on SQLite and on
PostgreSQL (``register_backend``); what only a server does (init and demo on one) is in test_postgres_setup.py."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from formkit import allocate, good_answers, make_form

from caseaudit_batch import pipeline, session
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import LONDON, Clock, Month
from caseaudit_batch.core.errors import LockBusy
from caseaudit_batch.ingest import stage as ingest_stage


def _second_writer_refused(url: str) -> bool:
    other = reg.Register.open(url)
    try:
        with other.lock():
            return False
    except LockBusy:
        return True
    finally:
        other.close()


def test_run_holds_one_lock_for_all_its_steps_and_releases_it(
    ctx: session.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No other writer gets in between run's steps; each step's own lock is let through; the lock goes when the run
    ends, and when a step fails with an unexpected error."""
    url = ctx.config.database_url
    seen: list[tuple[str, bool]] = []
    real = pipeline.run_step_function

    def probed(name: str) -> Any:
        function = real(name)

        def step(c: session.Context, month: Month) -> session.Result:
            seen.append((name, _second_writer_refused(url)))
            return function(c, month) if function else session.Result(name)

        return step

    monkeypatch.setattr(pipeline, "run_step_function", probed)
    done = pipeline.run_month(ctx, "2026-09")
    assert done.exit_code == 0, done.lines
    assert seen == [(name, True) for _label, name, _f in pipeline.RUN_STEPS]
    assert not _second_writer_refused(url)  # released at the end

    def broken(c: session.Context, month: Month) -> session.Result:
        raise RuntimeError("a fault in a step")

    monkeypatch.setattr(pipeline, "run_step_function", lambda name: broken)
    with pytest.raises(RuntimeError):
        pipeline.run_month(ctx, "2026-09")
    assert not _second_writer_refused(url)  # released on the error too


#: Days at Europe/London's edges: the clocks change (29 March, 25 October 2026), month and year ends, a leap day.
EDGES = [date(2026, 3, 29), date(2026, 3, 31), date(2026, 10, 25), date(2026, 10, 31), date(2026, 12, 31),
         date(2027, 1, 1), date(2028, 2, 29)]  # fmt: skip


def test_dates_and_timestamps_round_trip_at_london_month_edges(ctx: session.Context) -> None:
    stamps = [Clock(day).now_iso() for day in EDGES]  # ISO 8601 with the London offset of that day (+00:00 or +01:00)
    rows = [
        {
            "audit_id": f"A{i}",
            "month": str(Month.of(day)),
            "staff_id": "S1",
            "case_ref": f"CR{i}",
            "due_date": day,
            "framework_version": "1",
            "prefilled": {"made": stamp},
            "created_at": stamp,
            "audit_ref": f"{Month.of(day)}-{i + 1:04d}",
        }
        for i, (day, stamp) in enumerate(zip(EDGES, stamps, strict=True))
    ]
    with ctx.register.writer() as conn:
        conn.execute(sa.insert(reg.allocations), rows)
    with ctx.register.reader() as conn:
        back = conn.execute(
            sa.select(reg.allocations.c.due_date, reg.allocations.c.created_at, reg.allocations.c.prefilled).order_by(
                reg.allocations.c.audit_id
            )
        ).all()
    assert [tuple(r) for r in back] == [(d, s, {"made": s}) for d, s in zip(EDGES, stamps, strict=True)]
    assert all(type(r[0]) is date for r in back)  # a date, never a datetime, on both backends
    # The edges cover both GMT and BST, and each stamp carries the offset London had on its day.
    assert {s[-6:] for s in stamps} == {"+00:00", "+01:00"}
    for day, stamp in zip(EDGES, stamps, strict=True):
        moment = datetime.fromisoformat(stamp)
        assert moment.date() == day and moment.utcoffset() == moment.replace(tzinfo=LONDON).utcoffset()


#: One character from each of Unicode's planes that hold characters (0, 1, 2, 3, 14, 15, 16), control characters
#: (all but NUL), a combining accent, right-to-left text and a character beyond the BMP that Excel splits in two.
EVERY_PLANE = "A\u00e9\u4e2d\U0001f600\U00020000\U00030000\U000e0001\U000f0000\U0010fffd"
CONTROLS = "".join(chr(c) for c in range(1, 32)) + "\x7f\x85"
TEXT = f"{EVERY_PLANE} {CONTROLS} e\u0301 \u05e9\u05dc\u05d5\u05dd 'quoted' \"double\" \\ %_"


def test_text_from_every_plane_and_control_characters_round_trips(ctx: session.Context) -> None:
    with ctx.register.writer() as conn:
        conn.execute(sa.insert(reg.staff).values(staff_id="S1", name=TEXT, role="Team manager"))
        conn.execute(
            sa.insert(reg.allocations).values(
                audit_id="A1",
                month="2026-09",
                staff_id="S1",
                case_ref="CR1",
                due_date=date(2026, 9, 30),
                framework_version="1",
                prefilled={"answer": TEXT, TEXT: [TEXT]},
                created_at="2026-09-01T09:00:00+01:00",
                audit_ref="2026-09-0001",
            )
        )
    with ctx.register.reader() as conn:
        name = conn.execute(sa.select(reg.staff.c.name)).scalar_one()
        prefilled = conn.execute(sa.select(reg.allocations.c.prefilled)).scalar_one()
        found = conn.execute(sa.select(reg.staff.c.staff_id).where(reg.staff.c.name == TEXT)).scalar_one()
    assert name == TEXT and prefilled == {"answer": TEXT, TEXT: [TEXT]} and found == "S1"


def _with_nul(data: bytes, marker: str) -> bytes:
    """The form with ``_x0000_`` (Excel's escape for NUL, which python-calamine decodes) in place of ``marker``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename.endswith(".xml"):
                part = part.replace(marker.encode(), marker.replace("NUL", "_x0000_").encode())
            target.writestr(info, part)
    return out.getvalue()


def test_a_nul_character_is_refused_at_input_with_its_cell(ctx: session.Context) -> None:
    with ctx.register.engine.begin() as conn:
        alloc = allocate(conn, ctx.framework)
    answers = {**good_answers(ctx.framework), "strengths": "Warm, child-centred NUL work."}
    data = _with_nul(make_form(ctx.framework, alloc, answers, []), "Warm, child-centred NUL work.")
    inbox = ctx.config.inbox("audits")
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "nul.xlsx").write_bytes(data)
    done = ingest_stage.ingest_inbox(ctx, "2026-09")
    manifest = done.outputs[0].read_text("utf-8")
    assert "IN140" in manifest and "nul.xlsx" in manifest
    with ctx.register.reader() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reg.audits)).scalar_one() == 0
    said = "\n".join(done.lines + done.attention)
    assert "\x00" not in manifest + said
