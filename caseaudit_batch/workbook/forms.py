"""The audit form: its file name, its template (built once per framework version), and fast per-form stamping.

Allocation calls :func:`render_audit_form` once per allocation; the template is built with openpyxl once per
process for a framework version and organisation, and each form is a copy of it with the pre-filled details and
the identity stamped into the XML (``workbook/stamp.py``). :func:`fill_form` fills answers the same way (the
demo's synthetic auditors and other stages' tests use it); :func:`fill_form_openpyxl` fills through the workbook's
defined names with openpyxl, the way QA's own tools would.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

from caseaudit_batch.core.config import Config
from caseaudit_batch.core.framework import Framework
from caseaudit_batch.workbook.layout import (
    FOLLOWUP_SHEET,
    GENERATOR_VERSION,
    MAIN_SHEET,
    META_KEYS,
    META_SHEET,
    TRACKER_HEADERS,
    TRACKER_SHEET,
    FormDesign,
    FormLayout,
    TableSheet,
    audit_layout,
    followup_layout,
    moderation_layout,
    tracker_layout,
)
from caseaudit_batch.workbook.stamp import (
    CUSTOM_PART,
    MAX_ROW_HEIGHT,
    Deflated,
    Package,
    Structure,
    cells_of,
    custom_properties_xml,
    grow_rows,
    heights_for,
    read_structure,
    stamp_located,
    stamp_stretch,
    text_height,
    without_times,
)

FORM_TITLE = "Case File Audit"
FOLLOWUP_TITLE = "Case File Audit: follow-up (the earlier audit is on the 'Follow-up' sheet)"
MODERATION_TITLE = "Case File Audit Moderation"
TRACKER_TITLE = "Actions tracker"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\s]+')

ACTIONS_INTRO = (
    "Write one action per row: what needs to be done and the outcome it will achieve for the child or young "
    "person, who owns it, and the date it is due. The Team Manager discusses the actions with the worker and "
    "records them as supervision; the Service Manager makes sure they are completed on time (guidance section 2)."
)


AUDITOR_ACTIONS_INTRO = "The actions the auditor set. Say on the 'Moderation form' sheet whether you agree with them."
ADDITIONAL_ACTIONS_INTRO = (
    "Any further actions from moderation: what needs to be done and the outcome for the child or young person, who "
    "owns it, and the date it is due. The Team Manager discusses them with the worker and records them as "
    "supervision (guidance section 2)."
)
TRACKER_INTRO = (
    "Every open action in your service, and those completed since the last tracker. For each: choose a Status, give "
    "the date it was completed, write an update, and the date it was discussed in supervision (the Team Manager "
    "records updates to actions as supervision; guidance section 2). Service managers make sure actions are "
    "completed on time: choose Yes under 'Service manager sign-off' once you have checked. An action set in "
    "supervision goes in a blank row at the end (Case reference, Action, Owner, Due date; leave Action ID blank)."
)


def form_password(config: Config) -> str:
    """The sheet protection password for generated forms (``forms.protection_password``; empty: none)."""
    return config.forms.protection_password


def safe_name_part(text: str) -> str:
    """A piece of a file name: unsafe characters and spaces become ``_`` (runs collapse to one)."""
    cleaned = _UNSAFE.sub("_", text.strip())
    return cleaned.strip("._") or "_"


def audit_stem(audit_ref: str, case_ref: str, *parts: str) -> str:
    """``<audit ref>_<case reference>[_<part>...]``: the start of every per-audit file name. The audit reference
    is unique in the register, so two audits never share a file even when their case references or auditors'
    names make the same safe text (``CR 1`` and ``CR/1``)."""
    return "_".join(safe_name_part(p) for p in (audit_ref, case_ref, *parts))


def form_filename(month: str, audit_ref: str, case_ref: str, auditor_name: str) -> str:
    """``YYYY-MM_<audit ref>_<case reference>_<auditor name>.xlsx``, unsafe characters and spaces replaced by
    ``_``."""
    return f"{safe_name_part(month)}_{audit_stem(audit_ref, case_ref, auditor_name)}.xlsx"


def moderation_filename(audit_ref: str, case_ref: str) -> str:
    """``<audit ref>_<case reference>_moderation.xlsx`` (in the month's ``moderation`` folder)."""
    return f"{audit_stem(audit_ref, case_ref)}_moderation.xlsx"


def notice_filename(audit_ref: str, case_ref: str, what: str) -> str:
    """``<audit ref>_<case reference>_<what>.eml``: a notice about one audit."""
    return f"{audit_stem(audit_ref, case_ref, what)}.eml"


def tracker_filename(month: str, manager_name: str) -> str:
    """``YYYY-MM_actions_<service manager name>.xlsx``."""
    return f"{safe_name_part(month)}_actions_{safe_name_part(manager_name)}.xlsx"


@dataclass(frozen=True)
class _Template:
    data: bytes
    package: Package
    structure: Structure
    layout: FormLayout


_CACHE: dict[tuple[str, str, str, str, str], _Template] = {}
#: The sheets of a form allocation makes that are deflated stretch by stretch (issue 25: ``Package.spliced``): the
#: main sheet, 50 KB of XML of which the pre-filled cells are 2 KB. Only that sheet: every auditor's answers are
#: written there, so it is compressed whole again when the form is filled, while ``_meta`` and the properties are
#: deflated as before and pass through a fill byte for byte.
ALLOCATED_SPLICED = frozenset({MAIN_SHEET})
_LOCK = threading.Lock()


def _audit_design(framework: Framework, organisation: str, password: str) -> FormDesign:
    return FormDesign(
        layout=audit_layout(framework),
        framework=framework,
        title=FORM_TITLE,
        organisation=organisation,
        password=password,
        tables={"actions": TableSheet("Actions", ACTIONS_INTRO, widths=(70.0, 28.0, 14.0))},
        footer=f"{organisation}: {FORM_TITLE}",
    )


def _moderation_design(framework: Framework, organisation: str, password: str) -> FormDesign:
    return FormDesign(
        layout=moderation_layout(framework),
        framework=framework,
        title=MODERATION_TITLE,
        organisation=organisation,
        password=password,
        tables={
            "actions": TableSheet("The auditor's actions (locked)", AUDITOR_ACTIONS_INTRO, widths=(70.0, 28.0, 14.0)),
            "m_actions": TableSheet("Additional actions", ADDITIONAL_ACTIONS_INTRO, widths=(70.0, 28.0, 14.0)),
        },
        footer=f"{organisation}: {MODERATION_TITLE}",
        short_fields=frozenset({"moderator_name"}),
    )


EARLIER_ACTIONS_INTRO = (
    "The actions set at the earlier audit (and at its moderation), as they stand on the day this form was made. "
    "Locked: they are here so that you can judge what changed for the child or young person."
)


def _followup_design(framework: Framework, organisation: str, password: str) -> FormDesign:
    """The audit form with the earlier audit's grades and actions beside it (issue 11)."""
    return FormDesign(
        layout=followup_layout(framework),
        framework=framework,
        title=FOLLOWUP_TITLE,
        organisation=organisation,
        password=password,
        tables={
            "actions": TableSheet("Actions", ACTIONS_INTRO, widths=(70.0, 28.0, 14.0)),
            "previous_actions": TableSheet(
                "Actions from the earlier audit (locked)", EARLIER_ACTIONS_INTRO, widths=(60.0, 24.0, 12.0, 18.0, 12.0)
            ),
        },
        footer=f"{organisation}: {FORM_TITLE} (follow-up)",
        sheet_titles={FOLLOWUP_SHEET: "Follow-up audit: the earlier audit"},
    )


_DESIGNS = {"audit": _audit_design, "moderation": _moderation_design, "followup": _followup_design}


def _built(design: FormDesign) -> _Template:
    from caseaudit_batch.workbook.writer import build_form, to_bytes  # openpyxl: loaded only when a template is built

    data = without_times(to_bytes(build_form(design)))
    package = Package(data)
    return _Template(data, package, read_structure(package), design.layout)


def _template(framework: Framework, organisation: str, password: str, kind: str = "audit") -> _Template:
    key = (kind, framework.version, organisation, GENERATOR_VERSION, password)
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _built(_DESIGNS[kind](framework, organisation, password))
            _CACHE[key] = found
    return found


def adopt_template(framework: Framework, organisation: str, data: bytes, *, password: str = "") -> None:
    """Take ``data``, :func:`audit_template`'s bytes made in another process for the same framework, organisation
    and password, as this process's audit template instead of building it again (allocation's form workers: the
    build is deterministic, so the bytes are those this process would build)."""
    key = ("audit", framework.version, organisation, GENERATOR_VERSION, password)
    with _LOCK:
        if key not in _CACHE:
            package = Package(data)
            layout = _audit_design(framework, organisation, password).layout
            _CACHE[key] = _Template(data, package, read_structure(package), layout)


def audit_template(framework: Framework, organisation: str, *, password: str = "") -> bytes:
    """The blank audit form for this framework version (built once per process, then cached).

    ``password``: the sheet protection password (config ``forms.protection_password``; empty means protected
    without one).
    """
    return _template(framework, organisation, password).data


def _identity(meta: Mapping[str, str], kind: str, framework: Framework, fallback: Mapping[str, object]) -> dict:
    unknown = set(meta) - set(META_KEYS)
    if unknown:
        raise ValueError(f"unknown _meta keys: {', '.join(sorted(unknown))}")
    values = {key: str(meta.get(key) or "") for key in META_KEYS}
    values["form_kind"] = str(meta.get("form_kind") or kind)
    values["framework_version"] = framework.version
    values["generator_version"] = GENERATOR_VERSION
    for key, source in (("audit_id", "audit_id"), ("month", "audit_month"), ("case_ref", "case_ref")):
        if not values[key] and fallback.get(source):
            values[key] = str(fallback[source])
    return values


def render_audit_form(
    framework: Framework,
    organisation: str,
    prefilled: Mapping[str, object],
    meta: Mapping[str, str],
    *,
    password: str = "",
) -> bytes:
    """A copy of the template with the pre-filled details and the identity (``_meta`` and properties) stamped in.

    ``prefilled`` holds the 15 pre-filled contract names (``due_date`` a ``date``; the rest text; a missing or
    ``None`` value leaves the cell blank). ``meta`` holds ``audit_id``, ``month``, ``case_ref``, ``auditor_id``
    (``form_kind`` defaults to ``audit``; the two versions are always this framework's and this generator's).
    """
    template = _template(framework, organisation, password)
    layout = template.layout
    unknown = [name for name in prefilled if name not in layout.fields or not layout.fields[name].prefilled]
    if unknown:
        raise ValueError(f"not pre-filled fields of the audit form: {', '.join(sorted(unknown))}")
    identity = _identity(meta, "audit", framework, prefilled)
    named = {name: prefilled[name] for name in prefilled}
    return _stamp(template.package, template.structure, named, identity, spliced=ALLOCATED_SPLICED)


def followup_template(framework: Framework, organisation: str, *, password: str = "") -> bytes:
    """The blank follow-up audit form for this framework version (built once per process, then cached)."""
    return _template(framework, organisation, password, "followup").data


def render_followup_form(
    framework: Framework,
    organisation: str,
    prefilled: Mapping[str, object],
    meta: Mapping[str, str],
    previous: Mapping[str, object],
    previous_actions: Sequence[Sequence[object]] = (),
    *,
    password: str = "",
) -> bytes:
    """A follow-up audit form (issue 11): the audit form exactly as :func:`render_audit_form` makes it (same
    sheets, cells and defined names; ``form_kind`` ``audit``, so it is read and validated as any audit), plus the
    locked 'Follow-up' sheet and 'Earlier actions' sheet.

    ``previous`` holds the follow-up names: ``followup_of``, ``previous_audit_month``, ``previous_auditor``,
    ``previous_date_completed`` (a date), ``followup_reason``, ``previous_grades_from``, ``previous_s1_grade`` …
    ``previous_s9_grade``, ``previous_overall_grade``, ``previous_actions_summary``. ``previous_actions``: rows of
    action, owner, due date, status, completed on (at most 20; the rest are summarised).
    """
    template = _template(framework, organisation, password, "followup")
    layout = template.layout
    given = dict(prefilled)
    given.update(previous)
    unknown = [name for name in given if name not in layout.fields or not layout.fields[name].prefilled]
    if unknown:
        raise ValueError(f"not pre-filled fields of the follow-up form: {', '.join(sorted(unknown))}")
    identity = _identity(meta, "audit", framework, prefilled)
    rows = [tuple(row) for row in previous_actions][: layout.tables["previous_actions"].rows]
    tables = {"previous_actions": rows} if rows else None
    return _stamp(template.package, template.structure, given, identity, tables, spliced=ALLOCATED_SPLICED)


def _stamp(
    package: Package,
    structure: Structure,
    named: Mapping[str, object],
    identity: Mapping[str, str] | None = None,
    tables: Mapping[str, Sequence[Sequence[object]]] | None = None,
    level: int = 6,
    *,
    cells: Mapping[str, Mapping[str, object]] | None = None,
    texts: Mapping[str, str] | None = None,
    spliced: frozenset[str] = frozenset(),
) -> bytes:
    """Write values by defined name (and table rows by the table's defined name), plus the identity if given.
    ``cells``: further values by sheet and cell reference; ``texts``: literal replacements in the stamped sheets'
    XML (already escaped); ``spliced``: sheets deflated with :meth:`Package.spliced` (only the stamped stretch
    compressed) where no row must grow."""
    per_sheet: dict[str, dict[str, object]] = {sheet: dict(values) for sheet, values in (cells or {}).items()}
    for name, value in named.items():
        if name not in structure.names:
            raise KeyError(f"the form has no defined name {name!r}")
        sheet, ref = structure.names[name]
        per_sheet.setdefault(sheet, {})[ref.split(":")[0]] = value
    for name, rows in (tables or {}).items():
        if name not in structure.names:
            raise KeyError(f"the form has no table named {name!r}")
        sheet, ref = structure.names[name]
        grid = cells_of(ref)
        if len(rows) > len(grid):
            raise ValueError(f"{len(rows)} rows given but the table {name!r} has {len(grid)}")
        target = per_sheet.setdefault(sheet, {})
        for row_cells, values in zip(grid, rows, strict=False):
            if len(values) > len(row_cells):
                raise ValueError(f"a row of {len(values)} values for the {len(row_cells)} columns of {name!r}")
            for cell, value in zip(row_cells, values, strict=False):
                target[cell] = value
    if identity is not None:
        per_sheet.setdefault(META_SHEET, {}).update(
            {f"B{row}": identity[key] for row, key in enumerate(META_KEYS, start=1)}
        )
    replacements: dict[str, bytes | Deflated] = {}
    for sheet, cell_values in per_sheet.items():
        part = structure.sheet_parts[sheet]
        located = package.cells(part)
        if sheet in spliced and not texts and sheet != META_SHEET and not heights_for(located[0], cell_values):
            start, end, middle = stamp_stretch(located, cell_values, structure.date_styles)
            replacements[part] = package.spliced(part, start, end, middle, level)
            continue
        xml = stamp_located(located, cell_values, structure.date_styles)
        for mark, text in (texts or {}).items():
            xml = xml.replace(mark, text)
        if sheet != META_SHEET:
            xml = grow_rows(xml, heights_for(xml, cell_values))
        replacements[part] = xml.encode("utf-8")
    if identity is not None:
        replacements[CUSTOM_PART] = custom_properties_xml({f"caseaudit.{k}": identity[k] for k in META_KEYS})
    return package.build(replacements, level=level)


def _table_name(structure: Structure, table: str | None) -> str:
    if table:
        return table
    for candidate in ("m_actions", "actions", "tracker"):
        if candidate in structure.names:
            return candidate
    raise KeyError("the form has no actions table")


def fill_form(
    form_bytes: bytes,
    answers: Mapping[str, object],
    actions: Sequence[tuple[object, object, object]] = (),
    *,
    table: str | None = None,
) -> bytes:
    """Fill answers by their defined names, and the actions table's rows, by stamping the XML (fast).

    Values are written as given: text stays text (also when it starts with '='), dates become dates, numbers
    numbers, ``None`` clears a cell. ``table`` names the table to fill (default: ``m_actions`` on a moderation form,
    ``actions`` on an audit form, else ``tracker``).
    """
    package = Package(form_bytes)
    structure = read_structure(package)
    tables = {_table_name(structure, table): [tuple(row) for row in actions]} if actions else None
    return _stamp(package, structure, answers, tables=tables)


def fill_form_openpyxl(
    form_bytes: bytes,
    answers: Mapping[str, object],
    actions: Sequence[tuple[object, object, object]] = (),
    *,
    table: str | None = None,
) -> bytes:
    """The same as :func:`fill_form`, through openpyxl and the workbook's defined names (slow; for tests)."""
    from openpyxl import load_workbook

    from caseaudit_batch.workbook.writer import to_bytes

    wb = load_workbook(io.BytesIO(form_bytes))

    def cells(name: str) -> list[list]:
        if name not in wb.defined_names:
            raise KeyError(f"the form has no defined name {name!r}")
        destinations = list(wb.defined_names[name].destinations)
        sheet, ref = destinations[0]
        ws = wb[sheet]
        found = ws[ref.replace("$", "")]
        if not isinstance(found, tuple):
            return [[found]]
        return [list(row) if isinstance(row, tuple) else [row] for row in found]

    def put(cell: object, value: object) -> None:
        cell.value = value  # type: ignore[attr-defined]
        if isinstance(value, str):
            cell.data_type = "s"  # type: ignore[attr-defined]  # text stays text, even '=...'
        elif isinstance(value, (date, datetime)):
            cell.number_format = "dd/mm/yyyy"  # type: ignore[attr-defined]

    for name, value in answers.items():
        put(cells(name)[0][0], value)
    if actions:
        name = table or next((n for n in ("m_actions", "actions", "tracker") if n in wb.defined_names), "actions")
        grid = cells(name)
        if len(actions) > len(grid):
            raise ValueError(f"{len(actions)} rows given but the table {name!r} has {len(grid)}")
        for row_cells, values in zip(grid, actions, strict=False):
            for cell, value in zip(row_cells, values, strict=False):
                put(cell, value)
    return to_bytes(wb)


# ---------------------------------------------------------------------------------------------------------------
# The moderation form and the action tracker: the same machine, other layouts
# ---------------------------------------------------------------------------------------------------------------


def moderation_template(framework: Framework, organisation: str, *, password: str = "") -> bytes:
    """The blank moderation form for this framework version (built once per process, then cached)."""
    return _template(framework, organisation, password, "moderation").data


def render_moderation_form(
    framework: Framework,
    organisation: str,
    prefilled: Mapping[str, object],
    meta: Mapping[str, str],
    actions: Sequence[Sequence[object]] = (),
    *,
    password: str = "",
    evidence: Mapping[str, object] | None = None,
) -> bytes:
    """A moderation form: the audit's details, the auditor's grades and reasons (``prefilled``, by the audit's
    names: the 15 details, ``s1_grade`` … ``s9_grade``, ``overall_grade``, ``strengths``, ``learning``,
    ``recommendations``) and the auditor's actions (rows of action, owner, due date), all locked; identity as for
    the audit form, with ``form_kind`` ``moderation``."""
    template = _template(framework, organisation, password, "moderation")
    layout = template.layout
    unknown = [name for name in prefilled if name not in layout.fields or not layout.fields[name].prefilled]
    if unknown:
        raise ValueError(f"not pre-filled fields of the moderation form: {', '.join(sorted(unknown))}")
    identity = _identity(meta, "moderation", framework, prefilled)
    tables = {"actions": [tuple(row) for row in actions]} if actions else None
    cells: dict[str, dict[str, object]] = {}
    for display in layout.displays:  # each section's findings and impact answer (``evidence``: the audit's answers)
        text = (evidence or {}).get(display.name)
        if isinstance(text, str) and text.strip():
            for offset, part in enumerate(continued(text, display.rows)):
                cells.setdefault(display.sheet, {})[f"B{display.row + offset}"] = part
    return _stamp(template.package, template.structure, dict(prefilled), identity, tables, cells=cells)


def continued(text: str, rows: int, width: float = 60.0) -> list[str]:
    """``text`` cut at words into at most ``rows`` parts, each short enough for one row of a column ``width``
    characters wide at Excel's tallest row, so that nothing is cut from view; the last part takes what is left."""
    parts: list[str] = []
    rest = text.strip()
    while rest and len(parts) < rows - 1 and text_height(rest, width) >= MAX_ROW_HEIGHT:
        lo, hi = 1, len(rest)  # the longest prefix that fits, then back to a word boundary
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if text_height(rest[:mid], width) < MAX_ROW_HEIGHT else (lo, mid - 1)
        cut = rest.rfind(" ", 0, lo)
        cut = cut if cut > lo // 2 else lo
        parts.append(rest[:cut].rstrip() + " …")
        rest = rest[cut:].lstrip()
    return [*parts, rest] if rest else parts


def render_tracker(
    framework: Framework,
    organisation: str,
    rows: Sequence[Sequence[object]],
    meta: Mapping[str, str],
    *,
    manager_name: str = "",
    blank_rows: int = 10,
    password: str = "",
) -> bytes:
    """An action tracker for one service manager: ``rows`` in the order of ``TRACKER_HEADERS`` (the eight
    pre-filled columns, optionally followed by answers already known, e.g. Status), then ``blank_rows`` empty rows
    for new actions. ``meta``: ``auditor_id`` the service manager's Staff ID, ``month``; form kind ``tracker``.

    The workbook is built once for each size (listed rows and blank rows) and kept; each tracker is a copy with its
    rows, its manager's name (in the title and the printed footer) and its identity stamped in."""
    for row in rows:
        if len(row) > len(TRACKER_HEADERS):
            raise ValueError(f"a tracker row has {len(row)} values; the tracker has {len(TRACKER_HEADERS)} columns")
    template = _tracker_template(framework, organisation, password, len(rows), blank_rows)
    title = f"{TRACKER_TITLE}: {manager_name}" if manager_name else TRACKER_TITLE
    identity = _identity(meta, "tracker", framework, {})
    tables = {"tracker": [tuple(row) for row in rows]} if rows else None
    # The footer is Excel header/footer code: a literal '&' is written '&&' (and the part is XML).
    footer = escape(f"{organisation}: {title}".replace("&", "&&"))
    return _stamp(
        template.package,
        template.structure,
        {},
        identity,
        tables,
        cells={TRACKER_SHEET: {"A1": f"{organisation}: {title}"}},
        texts={escape(_FOOTER_MARK): footer},
    )


#: Stands for the tracker's footer text in a kept tracker workbook (replaced in each copy).
_FOOTER_MARK = "CASEAUDITTRACKERFOOTER"


def _tracker_template(
    framework: Framework, organisation: str, password: str, action_rows: int, blank_rows: int
) -> _Template:
    key = ("tracker", framework.version, organisation, GENERATOR_VERSION, password, action_rows, blank_rows)
    with _LOCK:
        found = _TRACKERS.get(key)
        if found is None:
            design = FormDesign(
                layout=tracker_layout(action_rows, blank_rows),
                framework=framework,
                title=TRACKER_TITLE,
                organisation=organisation,
                password=password,
                descriptors=False,
                tables={
                    "tracker": TableSheet(
                        f"{organisation}: {TRACKER_TITLE}",
                        TRACKER_INTRO,
                        widths=(16, 13, 14, 16, 40, 16, 11, 9, 15, 11, 36, 13, 11),  # Action ID: 14 characters
                        landscape=True,
                        row_height=30.0,
                    )
                },
                footer=_FOOTER_MARK,
            )
            found = _built(design)
            if len(_TRACKERS) >= 64:  # a year's sizes fit; an unusual run cannot grow this without bound
                _TRACKERS.clear()
            _TRACKERS[key] = found
    return found


_TRACKERS: dict[tuple[object, ...], _Template] = {}
