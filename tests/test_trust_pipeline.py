"""Issue 20 through the ``report`` command: the month's first report is kept in ``report_snapshots``, once, in the
report's own transaction (a failed report keeps nothing)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from test_reports_pipeline import SEP, filled  # noqa: F401  (the fixture)

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.reports import stage as reports_stage


def _snapshots(context: session.Context) -> list[tuple[str, str, float | None]]:
    t = reg.report_snapshots
    with context.register.reader() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t.c.month, t.c.key, t.c.value).order_by(t.c.key))]


def test_the_first_report_is_kept_once(filled: session.Context) -> None:  # noqa: F811
    reports_stage.report_month(filled, SEP)
    first = _snapshots(filled)
    assert [key for _, key, _ in first] == [
        "action_completion_rate",
        "completion_rate",
        "good_or_better_rate",
        "moderation_agreement_rate",
    ]
    assert dict((k, v) for _, k, v in first)["completion_rate"] == 0.5  # 1 of 2 on time, as the JSON says
    reports_stage.report_month(filled, SEP, as_of=date(2026, 9, 15))  # a later report of the month keeps nothing
    assert _snapshots(filled) == first


def test_a_failed_report_keeps_no_snapshot(filled: session.Context, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from caseaudit_batch.reports import build

    def boom(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(build.word, "write_learning_themes", boom)
    with pytest.raises(RuntimeError):
        reports_stage.report_month(filled, SEP)
    assert _snapshots(filled) == []
