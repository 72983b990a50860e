"""What goes on an audit's moderation form: the register's values under the form's pre-filled names.

The form itself is made by the one form machine (``forms.render_moderation_form`` from
``workbook.layout.moderation_layout``); this module only gathers its pre-filled values from the register (the
audit's details as allocated, the auditor's grades and reasons as accepted) and the auditor's actions as rows. The
same values are the truth a returned form's locked cells are compared against.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from caseaudit_batch.core.framework import Framework
from caseaudit_batch.workbook.layout import ACTION_ROWS, moderation_layout


def _as_date(value: object) -> object:
    if isinstance(value, str) and value:
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value[:10])
    return value


def prefilled_values(
    framework: Framework, allocation_prefilled: Mapping[str, Any], audit_answers: Mapping[str, Any]
) -> dict[str, Any]:
    """Every pre-filled field of the moderation form: the audit's details (from the allocation) and the auditor's
    answers (from the accepted audit), by the form's names; dates as dates, blanks as ``None``."""
    values: dict[str, Any] = {}
    for name, spec in moderation_layout(framework).fields.items():
        if not spec.prefilled:
            continue
        value = allocation_prefilled[name] if name in allocation_prefilled else audit_answers.get(name)
        if spec.kind == "date":
            value = _as_date(value)
        values[name] = None if value == "" else value
    return values


def auditor_actions(audit_answers: Mapping[str, Any], limit: int = ACTION_ROWS) -> list[tuple[object, object, object]]:
    """The auditor's actions as table rows ``(action, owner, due date)``, due dates as dates."""
    rows: list[tuple[object, object, object]] = []
    for raw in audit_answers.get("actions") or []:
        cells = [*list(raw.values() if isinstance(raw, Mapping) else raw), None, None, None][:3]
        rows.append((cells[0], cells[1], _as_date(cells[2])))
    return rows[:limit]
