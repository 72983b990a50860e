"""Reading the register tables a month's reports need into DataFrames (the only I/O behind the metrics).

The metrics module works on :class:`RegisterData` alone, so tests can build one from small readable tables and
the figures never depend on how the register is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month

#: Pre-filled values (the allocation's snapshot) the reports use.
PREFILLED_KEYS = (
    "case_type",
    "service",
    "team",
    "social_worker",
    "team_manager",
    "service_manager",
    "auditor_name",
    "auditor_role",
    "previous_worker",
)
#: Answers the reports use (the free text of the learning themes is in ``THEME_TEXT_KEYS``).
ANSWER_KEYS = (
    "sw_participation",
    "three_way_meeting",
    "safeguarding_concern",
    "strengths",
    "learning",
    "recommendations",
    "org_learning",
)
SECTION_KEYS = tuple(f"s{n}" for n in range(1, 10))
#: Issue 21: every free-text answer is a source of the learning themes: the sections' findings and impact answers
#: and the diversity answer too (appended to the audit columns, so the tests' positional rows stay valid).
THEME_TEXT_KEYS = (*(f"{s}_findings" for s in SECTION_KEYS), *(f"{s}_impact" for s in SECTION_KEYS), "diversity")
#: The typed answers among them (the rest are choices): what the reports redact.
TYPED_TEXT = ("strengths", "learning", "recommendations", "org_learning", *THEME_TEXT_KEYS, "m_rationale")
#: The typed text of the actions table (redacted the same way: issue 20 shows it in the overdue list).
ACTION_TYPED_TEXT = ("text",)

#: ``followup_of``: the earlier audit's ID, for a follow-up audit (issue 11); blank otherwise.
ALLOCATION_COLUMNS = (
    "audit_id",
    "month",
    "staff_id",
    "case_ref",
    "due_date",
    "kind",
    *PREFILLED_KEYS,
    "followup_of",
    "audit_ref",
)
#: ``audit_id``: the audit a note is about (a "three_way" note: the case was re-allocated within a month while the
#: previous worker is still employed, so a three-way meeting is needed, issue 20).
NOTE_COLUMNS = ("month", "kind", "staff_id", "detail", "audit_id")
#: The notes the reports read.
NOTE_KINDS = ("exempt", "unallocated", "three_way")
STAFF_COLUMNS = ("staff_id", "name", "role", "team", "service", "line_manager_id")
#: The audits' columns that are the register's own (the rest are answers of the same name).
AUDIT_FIELDS = ("row_id", "audit_id", "month", "date_completed", "late", "overall_grade")
AUDIT_COLUMNS = (
    *AUDIT_FIELDS,
    *ANSWER_KEYS,
    *(f"{s}_grade" for s in SECTION_KEYS),
    *THEME_TEXT_KEYS,
)
MODERATION_COLUMNS = (
    "audit_id",
    "moderation_date",
    "grade_agreed",
    "actions_agreed",
    "overall_grade",
    *(f"m_{s}_grade" for s in SECTION_KEYS),
    "m_overall_grade",  # the form's answer, used when the column is blank
    "m_rationale",  # the moderator's typed reasons (issue 21: a source of learning themes, redacted)
)
ESCALATION_COLUMNS = (
    "escalation_id",
    "audit_id",
    "kind",
    "to_staff_id",
    "status",
    "grade",
    "created_at",
    "resolved_at",
)
ACTION_COLUMNS = (
    "action_id",
    "audit_id",
    "source",
    "due_date",
    "status",
    "completed_on",
    "signed_off",
    "case_ref",
    "service",
    "team",
    "team_manager",
    "service_manager_id",
    "text",  # typed text (issue 20: the overdue list shows it, redacted like the audit answers)
    "owner",
)
ALERT_COLUMNS = ("audit_id", "month", "raised_at")
#: Alerts QA has not yet acknowledged (what ``caseaudit alerts`` lists): ``number`` is the alert's number there.
WAITING_ALERT_COLUMNS = ("number", "audit_id", "audit_ref", "case_ref", "team", "raised_on")
#: The current caseload (register ``cases``): coverage's denominator is its open cases (issue 20).
CASE_COLUMNS = ("case_ref", "case_type", "service", "team", "open")
#: What each month's report first said (register ``report_snapshots``, issue 20: restated history).
SNAPSHOT_COLUMNS = ("month", "key", "value", "written_at")
SUBMISSION_COLUMNS = ("id", "filed_month", "path", "sha256", "outcome", "audit_id")
PROBLEM_COLUMNS = ("submission_id", "audit_id", "outcome", "code", "severity", "sheet", "cell", "field", "label")
SAMPLE_COLUMNS = ("audit_id", "moderator_id", "due_date")


#: Texts up to this long are shared by :func:`frame` (longer ones are typed answers: nearly always distinct).
SHARED_LENGTH = 40


def frame(rows: Iterable[Sequence[Any] | dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame with exactly these columns (missing ones blank), object dtype so values stay as given."""
    # Short texts (grades, services, teams, statuses, months, IDs of repeated rows) are held once per frame: the
    # driver makes a new string for every cell, and a year's rows repeat them tens of thousands of times.
    shared: dict[str, str] = {}

    share = shared.setdefault
    limit = SHARED_LENGTH
    # Inlined (not a function per cell): a year's audits are some 2.5 million cells (issue 25).
    records = [
        tuple([share(v, v) if type(v) is str and len(v) <= limit else v for v in r])
        if not isinstance(r, dict)
        else tuple([share(v, v) if type(v) is str and len(v) <= limit else v for v in map(r.get, columns)])
        for r in rows
    ]
    if not records:
        return pd.DataFrame(columns=list(columns)).astype(object)
    width = len(columns)
    padded = [r + (None,) * (width - len(r)) if len(r) < width else r for r in records]
    return pd.DataFrame.from_records(padded, columns=list(columns)).astype(object)


@dataclass
class RegisterData:
    """Everything the month's reports read, one DataFrame per register table (columns as the ``*_COLUMNS``)."""

    month: Month
    months: list[str]  # the window, oldest first, ending with ``month``
    allocations: pd.DataFrame
    notes: pd.DataFrame
    staff: pd.DataFrame
    audits: pd.DataFrame
    section_grades: pd.DataFrame  # audit_row_id, section, grade (the auditor's)
    moderations: pd.DataFrame
    escalations: pd.DataFrame
    actions: pd.DataFrame
    alerts: pd.DataFrame
    submissions: pd.DataFrame
    problems: pd.DataFrame
    moderation_sample: pd.DataFrame
    #: issue 20: the current caseload, the first reports' snapshots and the alerts waiting for QA (empty by default).
    cases: pd.DataFrame = field(default_factory=lambda: frame((), CASE_COLUMNS))
    snapshots: pd.DataFrame = field(default_factory=lambda: frame((), SNAPSHOT_COLUMNS))
    alerts_waiting: pd.DataFrame = field(default_factory=lambda: frame((), WAITING_ALERT_COLUMNS))
    #: The earlier audits that the window's follow-ups refer to but that are older than the window (issue 11: the
    #: movement of a follow-up is always known): their allocations, audits, section grades, moderations and
    #: escalations only. ``None`` when there are none.
    earlier: RegisterData | None = None

    @classmethod
    def build(
        cls, month: Month, months_back: int = 12, earlier: RegisterData | None = None, **tables: Iterable[Any]
    ) -> RegisterData:
        """From plain rows (tuples in the ``*_COLUMNS`` order, or dicts): the tests' readable tables."""
        spec = {
            "allocations": ALLOCATION_COLUMNS,
            "notes": NOTE_COLUMNS,
            "staff": STAFF_COLUMNS,
            "audits": AUDIT_COLUMNS,
            "section_grades": ("audit_row_id", "section", "grade"),
            "moderations": MODERATION_COLUMNS,
            "escalations": ESCALATION_COLUMNS,
            "actions": ACTION_COLUMNS,
            "alerts": ALERT_COLUMNS,
            "submissions": SUBMISSION_COLUMNS,
            "problems": PROBLEM_COLUMNS,
            "moderation_sample": SAMPLE_COLUMNS,
            "cases": CASE_COLUMNS,
            "snapshots": SNAPSHOT_COLUMNS,
            "alerts_waiting": WAITING_ALERT_COLUMNS,
        }
        unknown = set(tables) - set(spec)
        if unknown:
            raise TypeError(f"unknown tables: {sorted(unknown)}")
        # Practice standards (issue 24) are the framework's, so their answers (``ps_<id>``) join the audits' columns
        # when the rows carry them.
        rows = list(tables.get("audits", ()))
        extra = sorted({k for r in rows if isinstance(r, dict) for k in r if k.startswith("ps_")})
        tables["audits"] = rows
        spec["audits"] = (*AUDIT_COLUMNS, *extra)
        frames = {name: frame(tables.get(name, ()), cols) for name, cols in spec.items()}
        return cls(month=month, months=window(month, months_back), earlier=earlier, **frames)

    def redacted(self, redact: Callable[[str], str]) -> RegisterData:
        """The same data with every typed answer a report can show passed through ``redact`` (the privacy issue:
        a likely name becomes "[name]" in every report, whatever the form-time setting, so an accepted warning
        never leaks). Done once, where the reports read the register, so no document can miss it.

        A report quotes only the report month's answers (its themes' quotations, the untagged and organisational
        learning lists, the possible new themes) and the actions' text (the overdue list): those are redacted. The
        earlier months' answers are only counted (the themes' 12-month figures and trend), never shown, so they
        are not read for names (issue 25: that was most of the reports' time); ``earlier`` (older than the window)
        is only read for grades."""

        done: dict[str, str] = {}  # each distinct text once: copied findings and stock phrases repeat a lot

        def once(value: Any) -> Any:
            if not isinstance(value, str) or not value:
                return value
            found = done.get(value)
            if found is None:
                found = done[value] = redact(value)
            return found

        def clean(table: pd.DataFrame, columns: Sequence[str], shown: pd.Series | None = None) -> pd.DataFrame:
            table = table.copy()
            rows = [True] * len(table) if shown is None else shown.tolist()
            for column in columns:
                if column in table.columns:
                    values = table[column].tolist()
                    table[column] = pd.Series(
                        [once(v) if keep else v for v, keep in zip(values, rows, strict=True)],
                        index=table.index,
                        dtype=object,
                    )
            return table

        month = str(self.month)
        # The month's audits: allocated for the month (the reports' month), or filed under it.
        ids = set(self.allocations.loc[self.allocations["month"] == month, "audit_id"])
        ids |= set(self.audits.loc[self.audits["month"] == month, "audit_id"])
        return replace(
            self,
            audits=clean(self.audits, TYPED_TEXT, self.audits["audit_id"].isin(ids)),
            moderations=clean(self.moderations, TYPED_TEXT, self.moderations["audit_id"].isin(ids)),
            actions=clean(self.actions, ACTION_TYPED_TEXT),
        )

    def for_service(self, service: str) -> RegisterData:
        """Only one service's cases (a Head of Service's pack): audits, moderations, actions and alerts of them.
        ``earlier`` is kept whole: a follow-up's earlier audit may have been filed under another service."""
        alloc = self.allocations[self.allocations["service"] == service]
        ids = set(alloc["audit_id"])
        audits = self.audits[self.audits["audit_id"].isin(ids)]
        staff_ids = set(self.staff.loc[self.staff["service"] == service, "staff_id"])
        return replace(
            self,
            allocations=alloc,
            # A three-way note is about an audit (the case's service); the others about a member of staff.
            notes=self.notes[
                ((self.notes["kind"] == "three_way") & self.notes["audit_id"].isin(ids))
                | ((self.notes["kind"] != "three_way") & self.notes["staff_id"].isin(staff_ids))
            ],
            audits=audits,
            section_grades=self.section_grades[self.section_grades["audit_row_id"].isin(set(audits["row_id"]))],
            moderations=self.moderations[self.moderations["audit_id"].isin(ids)],
            escalations=self.escalations[self.escalations["audit_id"].isin(ids)],
            actions=self.actions[self.actions["service"] == service],
            alerts=self.alerts[self.alerts["audit_id"].isin(ids)],
            # Files are counted for the whole inbox; a pack does not repeat them.
            submissions=self.submissions.iloc[0:0],
            problems=self.problems[self.problems["audit_id"].isin(ids)],
            moderation_sample=self.moderation_sample[self.moderation_sample["audit_id"].isin(ids)],
            cases=self.cases[self.cases["service"] == service],
            alerts_waiting=self.alerts_waiting[self.alerts_waiting["audit_id"].isin(ids)],
            # The snapshots are of the whole authority's first reports: a pack restates nothing (comparing a
            # service's figures now with the authority's then would report a change that never happened).
            snapshots=self.snapshots.iloc[0:0],
        )


def window(month: Month, months_back: int) -> list[str]:
    return [str(month.shift(-k)) for k in range(max(1, months_back) - 1, -1, -1)]


def _text(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _sqlite_value(value: Any) -> Any:
    """What SQLite's ``json_extract`` gives for a parsed JSON value: text and numbers as they are, true/false as
    1/0, an object or array as its compact JSON text."""
    if value is True or value is False:
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _answer_columns(
    conn: Connection, column: Any, keys: Sequence[str]
) -> tuple[list[Any], Callable[[Any], tuple[Any, ...]]]:
    """The columns that select ``keys`` of the JSON ``column``, and a function giving a result row's values of
    them in order. PostgreSQL extracts each (``->>``, cheap on jsonb); on SQLite each ``json_extract`` parses the
    whole answers document again (about 35 parses of every audit's answers: most of the loading time, issue 25),
    so there the document is read once as text and parsed here, giving the values ``json_extract`` would."""
    if conn.dialect.name != "sqlite":
        return [column[k].as_string().label(k) for k in keys], lambda row: tuple(row[-len(keys) :])
    loads = json.loads
    convert = _sqlite_value

    def values(row: Any) -> tuple[Any, ...]:
        text = row[-1]
        answers = loads(text) if text is not None else None
        if not isinstance(answers, dict):
            return (None,) * len(keys)
        found = [answers.get(k) for k in keys]
        # Nearly every answer is text or blank: only the others need converting.
        return tuple([v if v is None or type(v) is str else convert(v) for v in found])

    return [sa.type_coerce(column, sa.Text).label("answers_text")], values


def _allocations(conn: Connection, *where: Any) -> pd.DataFrame:
    alloc_t = reg.allocations
    rows = conn.execute(
        sa.select(
            alloc_t.c.audit_id,
            alloc_t.c.month,
            alloc_t.c.staff_id,
            alloc_t.c.case_ref,
            alloc_t.c.due_date,
            alloc_t.c.kind,
            alloc_t.c.prefilled,
            alloc_t.c.followup_of,
            alloc_t.c.audit_ref,
        ).where(*where)
    )
    return frame(
        (
            (
                r.audit_id,
                r.month,
                r.staff_id,
                r.case_ref,
                r.due_date,
                r.kind,
                *(_text((r.prefilled or {}).get(k)) for k in PREFILLED_KEYS),
                r.followup_of,
                r.audit_ref,
            )
            for r in rows
        ),
        ALLOCATION_COLUMNS,
    )


def _audits(conn: Connection, *where: Any, standards: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The current versions of the audits matching ``where``, and their auditor's section grades (``standards``:
    the practice standards' answer names, ``ps_<id>``, read as further columns)."""
    aud_t = reg.audits
    columns = (*AUDIT_COLUMNS, *standards)
    # Only the answers the reports use (see _answer_columns), named in the columns' own order: the first six columns
    # are the register's, and every column after them is the answer of that name (a separate list of the answers
    # once put the practice standards among the findings, so each read another's answer).
    answer_keys = columns[len(AUDIT_FIELDS) :]
    answer_columns, answers_of = _answer_columns(conn, aud_t.c.answers, answer_keys)
    audit_rows = conn.execute(
        sa.select(
            aud_t.c.id,
            aud_t.c.audit_id,
            aud_t.c.month,
            aud_t.c.date_completed,
            aud_t.c.late,
            aud_t.c.overall_grade,
            *answer_columns,
        ).where(aud_t.c.current == sa.true(), *where)
    )
    audits = frame(((*r[:4], bool(r[4]), r[5], *answers_of(r)) for r in audit_rows), columns)
    sg_t = reg.section_grades
    section_grades = frame(
        conn.execute(
            sa.select(sg_t.c.audit_row_id, sg_t.c.section, sg_t.c.grade)
            .join(aud_t, aud_t.c.id == sg_t.c.audit_row_id)
            .where(aud_t.c.current == sa.true(), sg_t.c.source == "auditor", *where)
        ),
        ("audit_row_id", "section", "grade"),
    )
    return audits, section_grades


def _moderations(conn: Connection, audit_ids: Any) -> pd.DataFrame:
    mod_t = reg.moderations
    keys = (*(f"m_{s}_grade" for s in SECTION_KEYS), "m_overall_grade", "m_rationale")
    answer_columns, answers_of = _answer_columns(conn, mod_t.c.answers, keys)
    mod_rows = conn.execute(
        sa.select(
            mod_t.c.audit_id,
            mod_t.c.moderation_date,
            mod_t.c.grade_agreed,
            mod_t.c.actions_agreed,
            mod_t.c.overall_grade,
            *answer_columns,
        ).where(mod_t.c.current == sa.true(), mod_t.c.audit_id.in_(audit_ids))
    )
    return frame(((*r[:5], *answers_of(r)) for r in mod_rows), MODERATION_COLUMNS)


def _escalations(conn: Connection, *any_of: Any) -> pd.DataFrame:
    esc_t = reg.escalations
    return frame(
        conn.execute(sa.select(*(esc_t.c[c] for c in ESCALATION_COLUMNS)).where(sa.or_(*any_of))),
        ESCALATION_COLUMNS,
    )


def load_earlier_audits(conn: Connection, month: Month, months: list[str]) -> RegisterData | None:
    """The audits that follow-ups allocated in ``months`` refer to, where those audits are older than ``months``
    (issue 11: a follow-up's movement is always known): what :func:`~caseaudit_batch.metrics.audit_frame` needs
    for their final grades. ``None`` when there are none."""
    alloc_t = reg.allocations
    referred = (
        sa.select(alloc_t.c.followup_of)
        .where(
            alloc_t.c.month.in_(months),
            alloc_t.c.status == "allocated",
            alloc_t.c.kind == "followup",
            alloc_t.c.followup_of.is_not(None),
        )
        .scalar_subquery()
    )
    allocations = _allocations(conn, alloc_t.c.audit_id.in_(referred), alloc_t.c.month.not_in(months))
    if allocations.empty:
        return None
    ids = sorted({str(a) for a in allocations["audit_id"]})
    audits, section_grades = _audits(conn, reg.audits.c.audit_id.in_(ids))
    data = RegisterData.build(month)
    return replace(
        data,
        allocations=allocations,
        audits=audits,
        section_grades=section_grades,
        moderations=_moderations(conn, ids),
        escalations=_escalations(conn, reg.escalations.c.audit_id.in_(ids)),
    )


def _alerts_waiting(conn: Connection) -> pd.DataFrame:
    """The alerts ``caseaudit alerts`` lists (not yet acknowledged), from the same query (issue 20)."""
    rows = reg.alert_rows(conn, reg.alerts.c.acknowledged_at.is_(None))
    return frame(
        (
            (
                int(r.id),
                r.audit_id,
                (r.prefilled or {}).get("audit_ref") or "",
                r.case_ref or (r.prefilled or {}).get("case_ref") or "",
                (r.prefilled or {}).get("team") or "",
                str(r.raised_at or "")[:10],
            )
            for r in rows
        ),
        WAITING_ALERT_COLUMNS,
    )


def load_month_data(
    conn: Connection, month: Month, months_back: int = 12, standards: Sequence[str] = ()
) -> RegisterData:
    """Read the register for ``month`` and the ``months_back - 1`` months before it (trend, 12-month themes), and
    the older audits the window's follow-ups refer to (:func:`load_earlier_audits`). ``standards``: the practice
    standards' answer names (``ps_<id>``) to read with each audit."""
    months = window(month, months_back)
    alloc_t = reg.allocations
    allocations = _allocations(conn, alloc_t.c.month.in_(months), alloc_t.c.status == "allocated")
    in_window = sa.select(alloc_t.c.audit_id).where(alloc_t.c.month.in_(months)).scalar_subquery()

    notes_t = reg.allocation_notes
    notes = frame(
        conn.execute(
            sa.select(*(notes_t.c[c] for c in NOTE_COLUMNS)).where(
                notes_t.c.month.in_(months), notes_t.c.kind.in_(NOTE_KINDS)
            )
        ),
        NOTE_COLUMNS,
    )
    staff_t = reg.staff
    staff = frame(conn.execute(sa.select(*(staff_t.c[c] for c in STAFF_COLUMNS))), STAFF_COLUMNS)

    audits, section_grades = _audits(conn, reg.audits.c.month.in_(months), standards=standards)
    moderations = _moderations(conn, in_window)
    # Every escalation (issue 22: those open at D whatever month their audit is, and the share resolved in time);
    # one row per disagreement, a few hundred a year at most.
    escalations = _escalations(conn, sa.true())
    act_t = reg.actions
    actions = frame(conn.execute(sa.select(*(act_t.c[c] for c in ACTION_COLUMNS))), ACTION_COLUMNS)
    al_t = reg.alerts
    alerts = frame(
        conn.execute(sa.select(al_t.c.audit_id, al_t.c.month, al_t.c.raised_at).where(al_t.c.month.in_(months))),
        ALERT_COLUMNS,
    )
    sub_t = reg.submissions
    submissions = frame(
        conn.execute(sa.select(*(sub_t.c[c] for c in SUBMISSION_COLUMNS)).where(sub_t.c.inbox == "audits")),
        SUBMISSION_COLUMNS,
    )
    pr_t = reg.problems
    month_ids = sa.select(alloc_t.c.audit_id).where(alloc_t.c.month == str(month)).scalar_subquery()
    problems = frame(
        conn.execute(
            sa.select(
                pr_t.c.submission_id,
                sub_t.c.audit_id,
                sub_t.c.outcome,
                pr_t.c.code,
                pr_t.c.severity,
                pr_t.c.sheet,
                pr_t.c.cell,
                pr_t.c.field,
                pr_t.c.label,
            )
            .join(sub_t, sub_t.c.id == pr_t.c.submission_id)
            .where(sub_t.c.inbox == "audits", sub_t.c.audit_id.in_(month_ids))
        ),
        PROBLEM_COLUMNS,
    )
    ms_t = reg.moderation_sample
    sample = frame(
        conn.execute(
            sa.select(ms_t.c.audit_id, ms_t.c.moderator_id, ms_t.c.due_date).where(
                ms_t.c.status == "sampled", ms_t.c.audit_id.in_(month_ids)
            )
        ),
        SAMPLE_COLUMNS,
    )
    return RegisterData(
        month=month,
        months=months,
        allocations=allocations,
        notes=notes,
        staff=staff,
        audits=audits,
        section_grades=section_grades,
        moderations=moderations,
        escalations=escalations,
        actions=actions,
        alerts=alerts,
        submissions=submissions,
        problems=problems,
        moderation_sample=sample,
        cases=frame(conn.execute(sa.select(*(reg.cases.c[c] for c in CASE_COLUMNS))), CASE_COLUMNS),
        snapshots=frame(
            conn.execute(
                sa.select(*(reg.report_snapshots.c[c] for c in SNAPSHOT_COLUMNS)).where(
                    reg.report_snapshots.c.month.in_(months)
                )
            ),
            SNAPSHOT_COLUMNS,
        ),
        alerts_waiting=_alerts_waiting(conn),
        earlier=load_earlier_audits(conn, month, months),
    )
