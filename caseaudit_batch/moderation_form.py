"""The moderation form: built by the same machine as the audit form (``workbook/writer.py`` from
``moderation_layout``), stamped per audit by ``workbook/stamp.py`` through :mod:`caseaudit_batch.forms`.

Pre-filled and locked: the audit's details, the auditor's nine section grades and findings, overall grade, reasons
and actions. The moderator answers ``moderator_name``, ``moderation_date``, ``grade_agreed``, ``m_s1_grade`` ...
``m_s9_grade`` (blank = agreed), ``m_overall_grade``, ``m_rationale``, ``actions_agreed``, ``m_actions_comment``
and the ``m_actions`` table. Identity: ``_meta`` and custom properties with ``caseaudit.form_kind`` =
``moderation`` and ``caseaudit.auditor_id`` = the moderator's Staff ID.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .forms import GENERATOR_VERSION, _identity, _stamp, safe_name_part
from .framework import Framework
from .workbook.layout import (
    ADDITIONAL_ACTIONS_SHEET,
    AUDIT_ACTIONS_SHEET,
    AUDITOR_REASONS,
    PREFILLED,
    FormLayout,
    moderation_layout,
)
from .workbook.stamp import Package, Structure, read_structure
from .workbook.writer import FormDesign, TableSheet, build_form, to_bytes

FORM_TITLE = "Case File Audit: Moderation"
FORM_KIND = "moderation"

AUDIT_ACTIONS_INTRO = "The auditor's actions, as accepted (locked). Say on the form whether you agree with them."
ADDITIONAL_ACTIONS_INTRO = (
    "Actions moderation adds: what needs to be done and the outcome it will achieve for the child or young "
    "person, who owns it, and the date it is due. They join the action register, marked as from moderation; the "
    "Team Manager discusses them with the social worker and records them as supervision (guidance section 2)."
)


def moderation_filename(month: str, case_ref: str) -> str:
    """``YYYY-MM_<case reference>_moderation.xlsx`` (unsafe characters and spaces replaced by ``_``)."""
    return f"{safe_name_part(month)}_{safe_name_part(case_ref)}_moderation.xlsx"


@dataclass(frozen=True)
class _Template:
    package: Package
    structure: Structure
    layout: FormLayout


_CACHE: dict[tuple[str, str, str, str], _Template] = {}
_LOCK = threading.Lock()


def moderation_design(framework: Framework, organisation: str, password: str = "") -> FormDesign:
    return FormDesign(
        layout=moderation_layout(framework),
        framework=framework,
        title=FORM_TITLE,
        organisation=organisation,
        password=password,
        tables={
            "actions": TableSheet(AUDIT_ACTIONS_SHEET, AUDIT_ACTIONS_INTRO, widths=(70.0, 28.0, 14.0)),
            "m_actions": TableSheet(ADDITIONAL_ACTIONS_SHEET, ADDITIONAL_ACTIONS_INTRO, widths=(70.0, 28.0, 14.0)),
        },
        footer=f"{organisation}: {FORM_TITLE}",
    )


def _template(framework: Framework, organisation: str, password: str) -> _Template:
    key = (framework.version, organisation, GENERATOR_VERSION, password)
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:
            design = moderation_design(framework, organisation, password)
            package = Package(to_bytes(build_form(design)))
            found = _Template(package, read_structure(package), design.layout)
            _CACHE[key] = found
    return found


def moderation_template(framework: Framework, organisation: str, *, password: str = "") -> bytes:
    """The blank moderation form for this framework version (built once per process, then cached)."""
    return _template(framework, organisation, password).package.build({})


def prefilled_values(
    framework: Framework, allocation_prefilled: Mapping[str, Any], audit_answers: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything pre-filled on the moderation form: the audit's 15 details and the auditor's answers shown."""
    values: dict[str, Any] = {}
    for name, _label, kind in PREFILLED:
        value = allocation_prefilled.get(name)
        if kind == "date" and isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(value[:10])
        values[name] = value if value not in ("",) else None
    for section in framework.sections:
        values[f"{section.key}_grade"] = audit_answers.get(f"{section.key}_grade")
        values[f"{section.key}_findings"] = audit_answers.get(f"{section.key}_findings")
    values["overall_grade"] = audit_answers.get("overall_grade")
    for name, _label in AUDITOR_REASONS:
        values[name] = audit_answers.get(name)
    return values


def auditor_actions(audit_answers: Mapping[str, Any], limit: int) -> list[tuple[object, object, object]]:
    """The auditor's actions as table rows ``(action, owner, due date)``, due dates as dates."""
    rows: list[tuple[object, object, object]] = []
    for raw in audit_answers.get("actions") or []:
        cells = [*list(raw.values() if isinstance(raw, Mapping) else raw), None, None, None][:3]
        due = cells[2]
        if isinstance(due, str) and due:
            with contextlib.suppress(ValueError):
                due = date.fromisoformat(due[:10])
        rows.append((cells[0], cells[1], due))
    return rows[:limit]


def render_moderation_form(
    framework: Framework,
    organisation: str,
    prefilled: Mapping[str, object],
    actions: Sequence[Sequence[object]],
    meta: Mapping[str, str],
    *,
    password: str = "",
) -> bytes:
    """A copy of the moderation template with the audit's details, the auditor's answers and actions, and the
    identity stamped in. ``prefilled`` from :func:`prefilled_values`; ``meta`` holds ``audit_id``, ``month``,
    ``case_ref`` and ``auditor_id`` (the moderator's Staff ID)."""
    template = _template(framework, organisation, password)
    layout = template.layout
    unknown = [name for name in prefilled if name not in layout.fields or not layout.fields[name].prefilled]
    if unknown:
        raise ValueError(f"not pre-filled fields of the moderation form: {', '.join(sorted(unknown))}")
    identity = _identity({**meta, "form_kind": FORM_KIND}, FORM_KIND, framework, prefilled)
    named = {name: value for name, value in prefilled.items() if value is not None}
    rows = [tuple(r) for r in actions][: layout.tables["actions"].rows]
    return _stamp(template.package, template.structure, named, identity, tables={"actions": rows} if rows else None)
