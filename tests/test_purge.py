from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseaudit_batch import cli, session
from caseaudit_batch.core import register as reg
from caseaudit_batch.retention import stage as retention_stage

# Two allocations a month, one accepted audit each month with its section grade, action and submission.
MONTHS = ["2026-01", "2026-02", "2026-03"]


def _fill(ctx: session.Context) -> None:
    with ctx.register.writer() as conn:
        for m in MONTHS:
            for n in (1, 2):
                conn.execute(
                    sa.insert(reg.allocations).values(
                        audit_id=f"{m}-{n}",
                        month=m,
                        staff_id=f"S{n}",
                        case_ref=f"CR{n}",
                        due_date=date(2026, 1, 31),
                        framework_version="x",
                        prefilled={},
                        created_at="t",
                    )
                )
            sub = conn.execute(
                sa.insert(reg.submissions).values(
                    inbox="audits", filed_month=m, path=f"{m}.xlsx", sha256=m, size=1, outcome="accepted", seen_at="t"
                )
            ).inserted_primary_key
            assert sub is not None
            conn.execute(
                sa.insert(reg.problems).values(submission_id=sub[0], code="V1", severity="warning", message="m")
            )
            row = conn.execute(
                sa.insert(reg.audits).values(
                    audit_id=f"{m}-1", submission_id=sub[0], month=m, answers={}, accepted_at="t"
                )
            ).inserted_primary_key
            assert row is not None
            conn.execute(sa.insert(reg.section_grades).values(audit_row_id=row[0], section=1, grade="Good"))
            conn.execute(
                sa.insert(reg.actions).values(
                    action_id=f"A{m}", audit_id=f"{m}-1", source="audit", text="t", norm_text="t", created_at="t"
                )
            )
            conn.execute(sa.insert(reg.action_updates).values(action_id=f"A{m}", recorded_at="t"))
            (ctx.config.output_dir / m).mkdir(parents=True)
            (ctx.config.output_dir / m / "allocations.xlsx").write_bytes(b"x")


def _months(ctx: session.Context, table: sa.Table, column: sa.Column[str]) -> set[str]:
    with ctx.register.reader() as conn:
        return {r[0] for r in conn.execute(sa.select(column).select_from(table))}


def test_purge_removes_older_months_only(ctx: session.Context) -> None:
    _fill(ctx)
    result = retention_stage.purge(ctx, "2026-03")
    assert result.data["folders"] == ["2026-01", "2026-02"]
    assert result.data["removed"]["allocations"] == 4
    assert result.data["removed"]["section_grades"] == 2
    assert _months(ctx, reg.allocations, reg.allocations.c.month) == {"2026-03"}
    assert _months(ctx, reg.audits, reg.audits.c.month) == {"2026-03"}
    assert _months(ctx, reg.submissions, reg.submissions.c.filed_month) == {"2026-03"}
    assert _months(ctx, reg.actions, reg.actions.c.action_id) == {"A2026-03"}
    assert _months(ctx, reg.action_updates, reg.action_updates.c.action_id) == {"A2026-03"}
    with ctx.register.reader() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reg.section_grades)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(reg.problems)).scalar() == 1
        purge_runs = conn.execute(sa.select(reg.run_log.c.inputs).where(reg.run_log.c.command == "purge")).all()
    assert purge_runs[0][0]["removed_folders"] == ["2026-01", "2026-02"]
    assert not (ctx.config.output_dir / "2026-02").exists()
    assert (ctx.config.output_dir / "2026-03" / "allocations.xlsx").exists()


def test_purge_defaults_to_the_retention_period(ctx: session.Context) -> None:
    _fill(ctx)
    result = retention_stage.purge(ctx)  # today 2026-09-01, retention 72 months: nothing that old
    assert result.data["before"] == "2020-09"
    assert result.data["removed"] == {}


def test_purge_refuses_the_current_month_or_later(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["purge", "--config", str(workspace / "caseaudit.toml"), "--today", "2026-09-10", "--before", "2026-10"]
    )
    assert code == 2
    assert "would remove the current month" in capsys.readouterr().err
