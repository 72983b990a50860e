"""``followups.register.final_grades`` reads only the overall grades (issue 25: allocation asks it of the whole
register every month) and must agree with :func:`_grades`, which reads every answer set: a grade in the column or
only in the answers, a moderation that changes it, one left blank or that names no grade, a resolved escalation, an
audit superseded by a later version, and a blank or unknown value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from caseaudit_batch.core import register as reg
from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.followups.due import final_grade
from caseaudit_batch.followups.register import _grades, final_grades

ROOT = Path(__file__).resolve().parent.parent


def _framework() -> Any:
    return load_framework(ROOT / "input_templates" / "framework.toml")


def _audit(conn: Any, audit_id: str, column: str | None, answer: str | None, *, current: bool = True) -> None:
    conn.execute(
        sa.insert(reg.audits).values(
            audit_id=audit_id,
            submission_id=1,
            month="2026-09",
            overall_grade=column,
            answers={"overall_grade": answer, "s1_grade": "Good"},
            current=current,
            accepted_at="2026-09-20T12:00:00+00:00",
        )
    )


def _moderation(conn: Any, audit_id: str, column: str | None, answer: str | None) -> None:
    conn.execute(
        sa.insert(reg.moderations).values(
            audit_id=audit_id,
            submission_id=2,
            overall_grade=column,
            answers={"m_overall_grade": answer},
            current=True,
            accepted_at="2026-09-25T12:00:00+00:00",
        )
    )


def _resolved(conn: Any, escalation_id: str, audit_id: str, grade: str, when: str) -> None:
    conn.execute(
        sa.insert(reg.escalations).values(
            escalation_id=escalation_id,
            audit_id=audit_id,
            kind="grade",
            status="Resolved",
            grade=grade,
            created_at="2026-09-25T12:00:00+00:00",
            resolved_at=when,
        )
    )


def test_final_grades_agree_with_every_grade_read_in_full(tmp_path: Path) -> None:
    framework = _framework()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'register.sqlite'}")
    reg.metadata.create_all(engine)
    with engine.begin() as conn:
        _audit(conn, "A1", "Good", "Good")
        _audit(conn, "A2", None, "Inadequate")  # the grade in the answers only
        _audit(conn, "A3", "Outstanding", "Outstanding")
        _moderation(conn, "A3", "Good", "Good")  # moderated down
        _audit(conn, "A4", "Requires Improvement", "Requires Improvement")
        _moderation(conn, "A4", None, "Inadequate")  # the moderated grade in the answers only
        _audit(conn, "A5", "Good", "Good")
        _moderation(conn, "A5", None, None)  # agreed: the auditor's grade stands
        _resolved(conn, "E0001", "A5", "Requires Improvement", "2026-10-01T09:00:00+00:00")
        _resolved(conn, "E0002", "A5", "Inadequate", "2026-10-02T09:00:00+00:00")  # the later resolution wins
        _audit(conn, "A6", None, None)  # no grade at all: left out
        _audit(conn, "A7", "Good", "Good", current=False)  # superseded ...
        _audit(conn, "A7", None, "Outstanding")  # ... by a version whose grade is in the answers only
        _audit(conn, "A8", "not a grade", "Requires Improvement")
        _audit(conn, "A9", " ", None)
        _moderation(conn, "A9", "Good", "Good")
        _moderation(conn, "ZZ", "Good", "Good")  # a moderation of no current audit
    with engine.connect() as conn:
        for audit_ids in (None, ["A2", "A4", "A5", "A7", "nobody"], []):
            full = {
                audit_id: grade
                for audit_id, g in _grades(conn, framework, audit_ids).items()
                if (grade := final_grade(g.auditor, g.moderated, g.resolved))
            }
            assert final_grades(conn, framework, audit_ids) == full
        assert final_grades(conn, framework) == {
            "A1": "Good",
            "A2": "Inadequate",
            "A3": "Good",
            "A4": "Inadequate",
            "A5": "Inadequate",
            "A7": "Outstanding",
            "A8": "Requires Improvement",
            "A9": "Good",
        }
    engine.dispose()
