"""A stand-in for the form generator (``caseaudit_batch/forms.py``, landing separately): builds a minimal valid
audit form with openpyxl from ``audit_layout(framework)``, and the register rows it belongs to.

Everything goes through :func:`make_form` (and :func:`allocate`) so the lead can switch it to the real generator.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty

from caseaudit_batch.core import ids
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.framework import Framework
from caseaudit_batch.workbook import layout
from caseaudit_batch.workbook.layout import META_SHEET, audit_layout

GENERATOR_VERSION = layout.GENERATOR_VERSION  # read with the current layout, as a real form is

try:  # the real form generator, once it is merged
    from caseaudit_batch.workbook import forms
except ImportError:  # pragma: no cover - before the merge
    forms = None  # type: ignore[assignment]
USE_GENERATOR = forms is not None

STAFF = [
    # staff_id, name, email, role, team, service, line manager
    ("A1", "Alex Auditor", "alex.auditor@example.org", "Team Manager", "Team North", "Children in Need", "SM2"),
    ("SW1", "Sam Worker", "sam.worker@example.org", "Social Worker", "Team South", "Safeguarding", "TM1"),
    ("SW0", "Pat Previous", "pat.previous@example.org", "Social Worker", "Team East", "Safeguarding", "TM0"),
    ("TM1", "Terry Manager", "terry.manager@example.org", "Team Manager", "Team South", "Safeguarding", "SM1"),
    ("TM0", "Tina East", "tina.east@example.org", "Team Manager", "Team East", "Safeguarding", "SM1"),
    ("SM1", "Sue Service", "sue.service@example.org", "Service Manager", "", "Safeguarding", "HS1"),
    ("SM2", "Sid Service", "sid.service@example.org", "Service Manager", "", "Children in Need", "HS1"),
    ("IRO1", "Ira Reviewer", "ira.reviewer@example.org", "Independent Reviewing Officer", "", "", ""),
    ("QA1", "Quinn Assurance", "quinn.qa@example.org", "QA Officer", "", "", ""),
]


def prefilled_for(audit_id: str, case_ref: str = "CR1001", month: str = "2026-09", **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "audit_id": audit_id,
        "audit_month": month,
        "due_date": "2026-09-30",
        "case_ref": case_ref,
        "case_type": "Child Protection",
        "service": "Safeguarding",
        "team": "Team South",
        "social_worker": "Sam Worker",
        "team_manager": "Terry Manager",
        "service_manager": "Sue Service",
        "cp_iro": "Ira Reviewer",
        "auditor_name": "Alex Auditor",
        "auditor_role": "Team Manager",
        "previous_worker": "",
        "review_period": "March 2026 to September 2026",
    }
    values.update(over)
    return values


GOOD_TEXT = (
    "The child's plan was reviewed on time and the social worker's direct work with the child shows "
    "their wishes clearly, which has improved school attendance."
)


def good_answers(framework: Framework) -> dict[str, Any]:
    """Answers that pass every rule (no errors, no warnings)."""
    answers: dict[str, Any] = {
        "date_completed": date(2026, 9, 20),
        "sw_participation": "In person",
        "sw_participation_reason": "",
        "three_way_meeting": "Not applicable",
        "overall_grade": "Good",
        "strengths": GOOD_TEXT,
        "learning": "Chronology needs updating so that the child's history informs the next review of the plan.",
        "diversity": "The child's faith and language were understood and an interpreter was used for the parents.",
        "safeguarding_concern": "No",
        "safeguarding_detail": "",
        "recommendations": "Update the chronology so the child's plan reflects the impact of past harm on the child.",
        "org_learning": "",
    }
    for section in framework.sections:
        answers[f"{section.key}_grade"] = "Good"
        answers[f"{section.key}_findings"] = GOOD_TEXT
        answers[f"{section.key}_impact"] = "The child now attends school every day."
    for standard in framework.standards:  # issue 24: every practice standard met
        answers[standard.name] = "Yes"
    return answers


def make_form(
    framework: Framework,
    prefilled: Mapping[str, Any],
    answers: Mapping[str, Any] | None = None,
    actions: Sequence[Sequence[Any]] = (),
    *,
    meta: Mapping[str, str] | None = None,
    meta_state: str = "veryHidden",
    properties: bool = True,
    form_kind: str = "audit",
) -> bytes:
    """An audit form's bytes: pre-filled values and answers at the layout's positions, ``_meta`` and properties.

    Made by the real generator (``caseaudit_batch.workbook.forms``) when it is there and the defaults are asked for;
    otherwise (or for a hostile variant: another ``_meta`` state, no properties, forged identity) built here.
    """
    if USE_GENERATOR and meta is None and meta_state == "veryHidden" and properties and form_kind == "audit":
        return _generated(framework, prefilled, answers or {}, actions)
    # A form is laid out as the version named in its meta made it (version 1 had no audit reference row).
    layout = audit_layout(framework, (meta or {}).get("generator_version", GENERATOR_VERSION))
    wb = Workbook()
    main = wb.active
    assert main is not None
    main.title = "Audit form"
    sheets = {"Audit form": main, "Actions": wb.create_sheet("Actions")}
    for name, spec in layout.fields.items():
        main.cell(row=spec.row, column=1, value=spec.label)
        if spec.guidance:
            main.cell(row=spec.row, column=3, value="\n".join(spec.guidance))
        value = prefilled.get(name) if spec.prefilled else (answers or {}).get(name)
        if spec.kind == "date" and isinstance(value, str) and spec.prefilled:
            value = date.fromisoformat(value)
        _put(sheets[spec.sheet], spec.row, spec.col, value)
    table = layout.tables["actions"]
    for i, header in enumerate(table.headers):
        sheets[table.sheet].cell(row=table.first_row - 1, column=table.first_col + i, value=header)
    for r, row in enumerate(actions):
        for c, value in enumerate(row):
            _put(sheets[table.sheet], table.first_row + r, table.first_col + c, value)
    descriptors = wb.create_sheet("Grade descriptors")
    for r, d in enumerate(framework.descriptors, start=1):
        descriptors.cell(row=r, column=1, value=d.grade.name)
        descriptors.cell(row=r, column=2, value="\n".join(d.summary + d.detail))
    lists = wb.create_sheet("_lists")
    for r, g in enumerate(framework.grade_names, start=1):
        lists.cell(row=r, column=1, value=g)
    lists.sheet_state = "hidden"
    identity = {
        "form_kind": form_kind,
        "audit_id": str(prefilled.get("audit_id", "")),
        "framework_version": framework.version,
        "generator_version": GENERATOR_VERSION,
        "month": str(prefilled.get("audit_month", "")),
        "case_ref": str(prefilled.get("case_ref", "")),
        "auditor_id": "A1",
    }
    identity.update(meta or {})
    ws = wb.create_sheet(META_SHEET)
    for r, (key, value) in enumerate(identity.items(), start=1):
        ws.cell(row=r, column=1, value=key)
        _put(ws, r, 2, value)
    ws.sheet_state = meta_state  # type: ignore[assignment]
    if properties:
        for key, value in identity.items():
            wb.custom_doc_props.append(StringProperty(name=f"caseaudit.{key}", value=value))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _generated(
    framework: Framework, prefilled: Mapping[str, Any], answers: Mapping[str, Any], actions: Sequence[Sequence[Any]]
) -> bytes:
    assert forms is not None
    values = dict(prefilled)
    if isinstance(values.get("due_date"), str):
        values["due_date"] = date.fromisoformat(values["due_date"])
    meta = {
        "audit_id": str(prefilled.get("audit_id", "")),
        "month": str(prefilled.get("audit_month", "")),
        "case_ref": str(prefilled.get("case_ref", "")),
        "auditor_id": "A1",
    }
    form = forms.render_audit_form(framework, "Testshire Council", values, meta)
    return forms.fill_form(form, {k: v for k, v in answers.items()}, [tuple(a) for a in actions])  # type: ignore[misc]


def _put(ws: Any, row: int, col: int, value: Any) -> None:
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text, even '=HYPERLINK(...)'
    elif isinstance(value, (date, datetime)):
        cell.number_format = "dd/mm/yyyy"


def seed_people(conn: sa.engine.Connection) -> None:
    """Staff and one case, as the allocation stage leaves them."""
    if conn.execute(sa.select(sa.func.count()).select_from(reg.staff)).scalar():
        return
    conn.execute(
        sa.insert(reg.staff),
        [
            dict(staff_id=s, name=n, email=e, role=r, team=t, service=sv, line_manager_id=lm)
            for s, n, e, r, t, sv, lm in STAFF
        ],
    )


def allocate(
    conn: sa.engine.Connection,
    framework: Framework,
    *,
    case_ref: str = "CR1001",
    month: str = "2026-09",
    status: str = "allocated",
    audit_id: str | None = None,
    previous_worker: bool = False,
    previous_name: str = "",
    **prefilled_over: Any,
) -> dict[str, Any]:
    """An ``allocations`` row (and its staff and case rows); returns the pre-filled values, the register's truth."""
    seed_people(conn)
    audit_id = audit_id or str(uuid.uuid4())
    if previous_worker or previous_name:
        prefilled_over.setdefault("previous_worker", previous_name or "Pat Previous")
    # The month's next readable reference, as allocation numbers them.
    prefilled_over.setdefault("audit_ref", ids.audit_reference(month, reg.next_audit_number(conn, month)))
    prefilled = prefilled_for(audit_id, case_ref, month, **prefilled_over)
    if not conn.execute(sa.select(reg.cases.c.case_ref).where(reg.cases.c.case_ref == case_ref)).first():
        conn.execute(
            sa.insert(reg.cases).values(
                case_ref=case_ref,
                case_type="Child Protection",
                service="Safeguarding",
                team="Team South",
                social_worker_id="SW1",
                team_manager_id="TM1",
                previous_worker_id="SW0" if previous_worker else None,
                cp_iro_id="IRO1",
            )
        )
    conn.execute(
        sa.insert(reg.allocations).values(
            audit_id=audit_id,
            audit_ref=prefilled["audit_ref"],
            month=month,
            staff_id="A1",
            case_ref=case_ref,
            due_date=date.fromisoformat(prefilled["due_date"]),
            status=status,
            framework_version=framework.version,
            prefilled=prefilled,
            created_at="2026-09-01T09:00:00+01:00",
        )
    )
    if previous_worker:  # allocation notes a case re-allocated within a month (three-way meeting advised)
        conn.execute(
            sa.insert(reg.allocation_notes).values(
                month=month, kind="three_way", staff_id="A1", audit_id=audit_id, created_at="2026-09-01T09:00:00+01:00"
            )
        )
    return prefilled


#: The From address the tests' working folders use (issue 24: no command makes notices without one).
TEST_SENDER = "qa.team@testshire.example"


def set_sender(folder: Any) -> None:
    """Give a working folder made by ``caseaudit init`` a notices sender, as a QA team sets one up."""
    from pathlib import Path

    path = Path(folder) / "caseaudit.toml"
    text = path.read_text("utf-8")
    path.write_text(text.replace('sender = ""', f'sender = "{TEST_SENDER}"', 1), "utf-8")
