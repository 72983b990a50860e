"""A small synthetic authority with accepted audits, for the moderation tests (register rows built in code)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from caseaudit_batch import session
from caseaudit_batch.core import ids
from caseaudit_batch.core import register as reg

MONTH = "2026-09"

# Staff ID, name, role, team, service, line manager
STAFF = [
    ("HQA", "Harriet Quill", "Head of Service", "QA", "Quality Assurance", None),
    ("HOS1", "Hal Oswin", "Head of Service", None, "Children in Need", None),
    ("SM1", "Sam Mandel", "Service Manager", None, "Children in Need", "HOS1"),
    ("TM1", "Tara Mohan", "Team Manager", "CIN North", "Children in Need", "SM1"),
    ("HOS2", "Hana Osei", "Head of Service", None, "Looked After Children", None),
    ("SM2", "Sol Marr", "Service Manager", None, "Looked After Children", "HOS2"),
    ("TM2", "Tess Moor", "Team Manager", "LAC East", "Looked After Children", "SM2"),
    ("M1", "Mina Okafor", "QA Officer", "QA", "Quality Assurance", "HQA"),
    ("M2", "Max Ellery", "Principal Social Worker", "QA", "Quality Assurance", "HQA"),
    ("SW1", "Sky Walker", "Social Worker", "CIN North", "Children in Need", "TM1"),
]

# audit ID, auditor, case, case's team manager, auditor's overall grade, section grades
AUDITS = [
    ("2026-09-001", "TM2", "CR-1001", "TM1", "Good", ["Good"] * 9),
    ("2026-09-002", "SM2", "CR-1002", "TM1", "Requires Improvement", ["Good"] * 5 + ["Requires Improvement"] * 4),
    ("2026-09-003", "TM1", "CR-1003", "TM2", "Inadequate", ["Requires Improvement"] * 4 + ["Inadequate"] * 5),
    ("2026-09-004", "SM1", "CR-1004", "TM2", "Outstanding", ["Outstanding"] * 8 + ["Good"]),
    ("2026-09-005", "HOS1", "CR-1005", "TM2", "Good", ["Good"] * 9),
    ("2026-09-006", "M2", "CR-1006", "TM1", "Good", ["Good"] * 9),
]


def email(staff_id: str) -> str:
    return f"{staff_id.lower()}@example.org"


def configure(workspace: Path, **people: object) -> None:
    """Set ``[people]`` keys in the working folder's caseaudit.toml."""
    path = workspace / "caseaudit.toml"
    text = path.read_text("utf-8")
    values = {"hos_quality_assurance": "HQA", "moderators": ["M1", "M2"], **people}
    for key, value in values.items():
        rendered = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else f'"{value}"'
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {rendered}", text, count=1)
    path.write_text(text, "utf-8")


def seed(ctx: session.Context, audits: list[tuple[str, str, str, str, str, list[str]]] = AUDITS) -> None:
    with ctx.register.writer() as conn:
        if not conn.execute(sa.select(sa.func.count()).select_from(reg.staff)).scalar():
            for sid, name, role, team, service, manager in STAFF:
                conn.execute(
                    sa.insert(reg.staff).values(
                        staff_id=sid,
                        name=name,
                        email=email(sid),
                        role=role,
                        team=team,
                        service=service,
                        line_manager_id=manager,
                    )
                )
        for audit in audits:
            add_audit(conn, *audit)


def add_audit(
    conn: sa.Connection,
    audit_id: str,
    auditor: str,
    case_ref: str,
    team_manager: str,
    overall: str,
    sections: list[str],
) -> int:
    service = "Children in Need" if team_manager == "TM1" else "Looked After Children"
    conn.execute(
        sa.insert(reg.cases).values(
            case_ref=case_ref,
            case_type="CIN",
            service=service,
            team="CIN North" if team_manager == "TM1" else "LAC East",
            social_worker_id="SW1",
            team_manager_id=team_manager,
        )
    )
    names = {s[0]: s[1] for s in STAFF}
    audit_ref = ids.audit_reference(MONTH, reg.next_audit_number(conn, MONTH))
    prefilled = {
        "audit_ref": audit_ref,
        "audit_id": audit_id,
        "audit_month": MONTH,
        "due_date": "2026-09-30",
        "case_ref": case_ref,
        "case_type": "CIN",
        "service": service,
        "team": "CIN North" if team_manager == "TM1" else "LAC East",
        "social_worker": "Sky Walker",
        "team_manager": names[team_manager],
        "service_manager": "Sam Mandel",
        "cp_iro": "",
        "auditor_name": names[auditor],
        "auditor_role": "Team Manager",
        "previous_worker": "",
        "review_period": "April 2026 to September 2026",
    }
    conn.execute(
        sa.insert(reg.allocations).values(
            audit_id=audit_id,
            audit_ref=audit_ref,
            month=MONTH,
            staff_id=auditor,
            case_ref=case_ref,
            due_date=date(2026, 9, 30),
            framework_version="test",
            prefilled=prefilled,
            created_at="2026-09-01T09:00:00+01:00",
        )
    )
    sub = conn.execute(
        sa.insert(reg.submissions).values(
            inbox="audits",
            filed_month=MONTH,
            path=f"{audit_id}.xlsx",
            sha256=audit_id,
            size=1,
            outcome="accepted",
            audit_id=audit_id,
            seen_at="2026-09-20T09:00:00+01:00",
        )
    ).inserted_primary_key
    assert sub is not None
    answers: dict[str, object] = {f"s{n}_grade": g for n, g in enumerate(sections, start=1)}
    answers |= {f"s{n}_findings": f"Findings for section {n}." for n in range(1, 10)}
    answers |= {
        "overall_grade": overall,
        "strengths": "Clear, warm direct work with the child.",
        "learning": "The chronology needs updating.",
        "recommendations": "Update the chronology.",
        "actions": [["Update the chronology", "Sky Walker", "2026-10-31"]],
    }
    row = conn.execute(
        sa.insert(reg.audits).values(
            audit_id=audit_id,
            submission_id=sub[0],
            month=MONTH,
            date_completed=date(2026, 9, 20),
            overall_grade=overall,
            answers=answers,
            accepted_at="2026-09-20T09:00:00+01:00",
        )
    ).inserted_primary_key
    assert row is not None
    for n, grade in enumerate(sections, start=1):
        conn.execute(sa.insert(reg.section_grades).values(audit_row_id=row[0], section=n, grade=grade))
    return int(row[0])
