"""The Excel report for QA (``caseaudit-report-YYYY-MM.xlsx``): every table of the metrics as a real Excel table.

xlsxwriter with ``strings_to_formulas`` off: a finding that begins with ``=`` stays text (field notes). Every table
has a header row and filters; each sheet's panes are frozen below its first header; no sheet or row is hidden.
Only formatting happens here: every figure comes from :mod:`caseaudit_batch.metrics`.
"""

from __future__ import annotations

import io
import math
import re
from datetime import date, datetime
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from caseaudit_batch.core.framework import GRADE_NAMES
from caseaudit_batch.reports.frame import is_share_column
from caseaudit_batch.reports.metrics import Metrics
from caseaudit_batch.reports.themes import ThemeSummary
from caseaudit_batch.workbook.cells import literal_text

SHEETS = (
    "Summary",
    "Compliance",
    "Grades",
    "Sections",
    "Practice standards",
    "Services and teams",
    "Trend",
    "Moderation",
    "Actions",
    "Follow-ups",
    "Safeguarding",
    "Themes",
    "Calibration",
    "Audits",
    "Validation",
)


#: Missing audits in every label (issue 20): "Outstanding" is also a grade.
NOT_RETURNED = "Not yet returned"


def _cell(value: Any) -> Any:
    """Plain Python values for xlsxwriter; blanks for missing numbers."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    if isinstance(value, (tuple, list)):
        return literal_text("; ".join(str(v) for v in value))
    if isinstance(value, str):
        return literal_text(value)  # typed text stays text, whatever its shape
    return value


class _Book:
    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.wb: Workbook = xlsxwriter.Workbook(
            self.buffer,
            {
                "in_memory": True,
                "strings_to_formulas": False,  # user text stays text
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "default_date_format": "dd/mm/yyyy",
            },
        )
        self.title = self.wb.add_format({"bold": True, "font_size": 13, "font_color": "#1F4E79"})
        self.note = self.wb.add_format({"italic": True, "font_color": "#595959"})
        self.pct = self.wb.add_format({"num_format": "0%"})
        self.dec = self.wb.add_format({"num_format": "0.00"})
        self.wrap = self.wb.add_format({"text_wrap": True, "valign": "top"})
        self.right = self.wb.add_format({"align": "right"})  # text among numbers (the committee version's "c")
        # Explicit header formatting as well as the table style, so the header shows in any program.
        self.header = self.wb.add_format(
            {"bold": True, "bg_color": "#DCE6F1", "text_wrap": True, "valign": "top", "border": 1}
        )
        self.names: set[str] = set()
        self.widths: dict[str, dict[int, float]] = {}
        self.frozen: set[str] = set()

    def sheet(self, name: str) -> Worksheet:
        ws = self.wb.add_worksheet(name)
        self.widths[name] = {}
        # Printed or saved as PDF: landscape, A4, one page wide.
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        ws.set_footer(f"&L{name}&RPage &P of &N")
        return ws

    def text(self, ws: Worksheet, row: int, col: int, value: str, fmt: Any = None) -> None:
        ws.write_string(row, col, literal_text(value), fmt)

    def table(
        self,
        ws: Worksheet,
        row: int,
        name: str,
        title: str,
        df: pd.DataFrame,
        *,
        note: str = "",
        wrap: tuple[str, ...] = (),
    ) -> int:
        """A titled Excel table at ``row``; returns the next free row (one blank row between tables)."""
        ws.write_string(row, 0, title, self.title)
        if note:
            ws.write_string(row + 1, 0, note, self.note)
            row += 1
        header = row + 1
        df = df.rename(columns={"Not yet accepted": NOT_RETURNED})  # "Outstanding" is a grade (issue 20)
        columns = [str(c) for c in df.columns] or ["(none)"]
        data = [[_cell(v) for v in record] for record in df.itertuples(index=False, name=None)]
        table_name = re.sub(r"\W", "_", name)
        assert table_name not in self.names, table_name
        self.names.add(table_name)
        specs = []
        for column in columns:
            spec: dict[str, Any] = {"header": column, "header_format": self.header}
            if is_share_column(column):
                spec["format"] = self.pct
            elif column.lower().startswith("mean difference"):
                spec["format"] = self.dec
            elif column in wrap:
                spec["format"] = self.wrap
            specs.append(spec)
        last_row = header + max(1, len(data))
        ws.add_table(
            header,
            0,
            last_row,
            len(columns) - 1,
            {"name": table_name, "columns": specs, "style": "Table Style Medium 2", "autofilter": True},
        )
        numeric = {c for record in data for c, v in enumerate(record) if isinstance(v, (int, float))}
        # Write values ourselves (write_string for text) so nothing typed by a user becomes a formula.
        for r, record in enumerate(data, start=header + 1):
            for c, value in enumerate(record):
                fmt = specs[c].get("format")
                if isinstance(value, str):
                    ws.write_string(r, c, value, self.right if c in numeric else fmt)
                elif isinstance(value, bool):
                    ws.write_boolean(r, c, value, fmt)
                elif isinstance(value, (int, float)):
                    ws.write_number(r, c, value, fmt)
                elif isinstance(value, (date, datetime)):
                    ws.write_datetime(r, c, value, fmt or self.wb.default_date_format)
                elif value is None:
                    ws.write_blank(r, c, None, fmt)
                else:
                    ws.write_string(r, c, literal_text(str(value)), fmt)
        widths = self.widths[ws.name]
        for index, column in enumerate(columns):
            cells = (len(str(rec[index])) + 1 for rec in data[:500] if rec[index] is not None)
            longest = max([len(column) + 2, *cells])
            widths[index] = max(widths.get(index, 8), min(60 if column in wrap else 40, longest))
        if ws.name not in self.frozen:
            ws.freeze_panes(header + 1, 0)
            ws.repeat_rows(header)  # printed: the first table's header on every page
            self.frozen.add(ws.name)
        return last_row + 2

    def close(self) -> bytes:
        for ws in self.wb.worksheets():
            for col, width in self.widths.get(ws.name, {}).items():
                ws.set_column(col, col, width)
        self.wb.close()
        return self.buffer.getvalue()


def _headline(metrics: Metrics) -> pd.DataFrame:
    v = metrics.values
    small = set(v["small_numbers"])

    def row(label: str, value: Any, count: str, key: str = "") -> dict[str, Any]:
        return {"Measure": label, "Value": value, "Count": count, "Note": "fewer than 5" if key in small else ""}

    t = v["targets"]
    counts = v["overall_grade_counts"]
    gob = counts["Outstanding"] + counts["Good"]
    interval = (
        f"; 95% interval {v['good_or_better_ci_low']:.0%} to {v['good_or_better_ci_high']:.0%}"
        if v["good_or_better_ci_low"] is not None
        else ""
    )
    rows = [
        row("Audits allocated", v["audits_allocated"], ""),
        row("Completed on time", v["audits_completed"], ""),
        row("Completed late", v["audits_completed_late"], ""),
        row("Not yet returned", v["audits_outstanding"], ""),
        row("Exempt auditors (not counted)", v["audits_exempt"], ""),
        row(
            "Completion rate",
            v["completion_rate"],
            f"{v['audits_completed']} of {v['audits_allocated']}",
            "completion_rate",
        ),
        row(
            "Good or better (final grades)",
            v["good_or_better_rate"],
            f"{gob} of {v['audits_graded']}{interval}; target {t['good_or_better']:.0%}",
            "good_or_better_rate",
        ),
        row(
            "Requires improvement or better",
            v["ri_or_better_rate"],
            f"{gob + counts['Requires Improvement']} of {v['audits_graded']}; target {t['ri_or_better']:.0%}",
            "ri_or_better_rate",
        ),
        row(
            "Inadequate",
            v["inadequate_rate"],
            f"{counts['Inadequate']} of {v['audits_graded']}; at most {t['inadequate_at_most']:.0%}",
            "inadequate_rate",
        ),
        row(
            "Social worker took part",
            v["sw_participation_rate"],
            f"{v['sw_participation_count']} of {v['audits_accepted']}",
            "sw_participation_rate",
        ),
        row(
            "Three-way meeting held where needed",
            v["three_way_meeting_rate"],
            f"{v['three_way_meetings_held']} of {v['three_way_meetings_needed']}",
            "three_way_meeting_rate",
        ),
        row("Audits moderated", v["audits_moderated"], f"of {v['audits_accepted']} accepted"),
        row(
            "Moderation agreement rate",
            v["moderation_agreement_rate"],
            f"of {v['moderation_compared']} compared",
            "moderation_agreement_rate",
        ),
        row("Grades raised / lowered by moderation", f"{v['grades_raised']} / {v['grades_lowered']}", ""),
        row("Actions due in the month", v["actions_due"], ""),
        row(
            "Action completion rate",
            v["action_completion_rate"],
            f"{v['actions_completed_on_time']} on time; RAG {v['action_rag']}",
            "action_completion_rate",
        ),
        row("Actions overdue at the report date", v["actions_overdue"], ""),
        row(
            "Service Manager oversight",
            v["sm_oversight_rate"],
            f"{v['actions_signed_off']} of {v['actions_completed_in_month']} signed off",
            "sm_oversight_rate",
        ),
        row("Follow-up audits due / completed", f"{v['followups_due']} / {v['followups_completed']}", ""),
        row(
            "Follow-ups improved (last 12 months)",
            v["followups_improved_rate"],
            f"{v['followups_improved']} of {v['followups_compared']} compared",
            "followups_improved_rate",
        ),
        row("Safeguarding alerts", v["safeguarding_alerts"], ""),
    ]
    return pd.DataFrame.from_records(rows)


def write_excel_report(
    metrics: Metrics,
    themes: ThemeSummary,
    *,
    organisation: str,
    month_label: str,
    calibration: pd.DataFrame | None = None,
) -> bytes:
    """The whole workbook as bytes (the caller stages it)."""
    book = _Book()
    wb = book.wb
    wb.set_properties({"title": f"Case file audit report {metrics.month}", "company": organisation})
    t = metrics.tables
    v = metrics.values

    ws = book.sheet("Summary")
    ws.write_string(0, 0, f"{organisation}: case file audit, {month_label}", book.title)
    ws.write_string(
        1,
        0,
        f"Report date (D): {v['report_date']}. Figures use everything in the register on {v['generated_on']}. "
        "Shares of fewer than 5 audits are marked. Case references only, no children's names: typed text is checked "
        "for names and redacted (a name shows as [name]).",
        book.note,
    )
    headline = _headline(metrics)
    # The Value column mixes counts and shares: format shares row by row.
    book.table(ws, 3, "Headline", "Headline figures", headline.assign(Value=None))
    centre_pct = wb.add_format({"num_format": "0%", "align": "center"})
    centre = wb.add_format({"align": "center"})
    for i, value in enumerate(headline["Value"].tolist(), start=5):
        if isinstance(value, str):
            ws.write_string(i, 1, value, centre)
        elif value is None:
            ws.write_string(i, 1, "n/a", centre)
        elif isinstance(value, float):  # shares are fractions; counts are whole numbers
            ws.write_number(i, 1, value, centre_pct)
        else:
            ws.write_number(i, 1, float(value), centre)
    book.widths["Summary"][1] = 14
    book.widths["Summary"][2] = 44

    ws = book.sheet("Compliance")
    row = book.table(ws, 0, "ComplianceByRole", "Completion by auditor role", t["compliance_by_role"])
    row = book.table(ws, row, "ComplianceByService", "Completion by the auditor's service", t["compliance_by_service"])
    row = book.table(ws, row, "NotYetReturned", "Not yet returned (no accepted form yet)", t["outstanding"])
    row = book.table(ws, row, "Exempt", "Exempt auditors (not counted in allocated)", t["exempt"])
    row = book.table(ws, row, "Unallocated", "Auditors for whom no case was found (not counted)", t["unallocated"])
    record = t["auditor_record"]
    months = [c for c in record.columns if re.fullmatch(r"\d{4}-\d{2}", str(c))]
    record = record.assign(**{m: record[m].replace({"Outstanding": NOT_RETURNED}) for m in months})
    book.table(ws, row, "AuditorRecord", "Each auditor's completion record over 12 months", record)

    ws = book.sheet("Grades")
    row = book.table(
        ws, 0, "Grades", "Overall grades (final: after moderation; as audited for comparison)", t["grades"]
    )
    grades_header = 1
    row = book.table(ws, row, "GradesByCaseType", "Final grades by case type", t["grades_by_case_type"])

    ws = book.sheet("Sections")
    book.table(ws, 0, "Sections", "Final section grades", t["sections"])

    ws = book.sheet("Practice standards")  # issue 24: met ÷ applicable (Not applicable left out), against last month
    title = "Practice standards: the share of audits meeting each, where it applies"
    row = book.table(ws, 0, "PracticeStandards", title, t["practice_standards"], wrap=("Standard",))
    by = t["practice_standards_by_service"]
    book.table(
        ws, row, "PracticeStandardsByService", "Practice standards by service of the case", by, wrap=("Standard",)
    )

    ws = book.sheet("Services and teams")
    row = book.table(ws, 0, "ByService", "By service of the case", t["by_service"])
    book.table(ws, row, "ByTeam", "By service and team of the case", t["by_service_team"])

    ws = book.sheet("Trend")
    trend = t["trend"]
    book.table(ws, 0, "Trend", "The last 12 months (as recorded today)", trend)

    ws = book.sheet("Moderation")
    moderation_summary = pd.DataFrame(
        {
            "Measure": [
                "Audits moderated",
                "Share of accepted audits moderated",
                "Agreement rate (overall grade)",
                "Grades raised",
                "Grades lowered",
                "Section agreement rate",
                "Section grades weighted kappa",
                "Sampled",
                "Moderated on time",
                "Moderations overdue",
                "Escalations open",
                "Escalations overdue",
                "Escalations resolved in time",
            ],
            "Value": [
                v["audits_moderated"],
                _fmt_share(v["audits_moderated_rate"]),
                _fmt_share(v["moderation_agreement_rate"]),
                v["grades_raised"],
                v["grades_lowered"],
                _fmt_share(v["section_agreement_rate"]),
                "n/a" if v["section_kappa"] is None else f"{v['section_kappa']:.2f}",
                v["moderation_sampled"],
                v["moderations_on_time"],
                v["moderations_overdue"],
                v["escalations_open"],
                v.get("escalations_overdue", 0),
                _fmt_share(v.get("escalations_resolved_in_time_rate")),
            ],
        }
    ).astype({"Value": str})
    row = book.table(ws, 0, "ModerationSummary", "Moderation", moderation_summary)
    row = book.table(
        ws,
        row,
        "ModerationByService",
        "By auditor's service",
        t["moderation_by_service"],
        note="Mean difference = auditor's grade minus moderator's, in grade steps (positive: auditors more generous).",
    )
    row = book.table(ws, row, "Moderated", "Moderated audits", t["moderated"])
    book.table(ws, row, "Escalations", "Escalations", t["escalations"])

    ws = book.sheet("Actions")
    row = book.table(ws, 0, "ActionsByService", "Actions by service", t["actions_by_service"])
    row = book.table(ws, row, "ActionsByTeam", "Actions by team", t["actions_by_team"])
    book.table(ws, row, "ActionsOverdue", f"Actions overdue at {v['report_date']}", t["actions_overdue"])

    _followups_sheet(book, metrics)

    ws = book.sheet("Safeguarding")
    book.table(ws, 0, "Alerts", "Safeguarding alerts raised from this month's audits", t["alerts"])

    ws = book.sheet("Themes")
    row = book.table(ws, 0, "Themes", "Learning themes (audits mentioning each theme)", themes.table)
    if not themes.no_quotes:
        quotes = pd.DataFrame.from_records(
            [(name, case, fld, text) for name, items in themes.quotes.items() for case, fld, text in items],
            columns=["Theme", "Case reference", "From", "Quotation"],
        )
        row = book.table(ws, row, "Quotations", "Quotations", quotes, wrap=("Quotation",))
    row = book.table(ws, row, "OrgLearning", "Organisational learning points", themes.org_learning, wrap=("Text",))
    book.table(ws, row, "NoTheme", "Text matching no theme", themes.untagged, wrap=("Text",))

    # Issue 21: the QA team's own sheet (this workbook is internal), never in a Head of Service's or committee paper.
    ws = book.sheet("Calibration")
    calibration = calibration if calibration is not None else pd.DataFrame(columns=["Auditor", "Moderations"])
    book.table(ws, 0, "Calibration", "Auditor calibration: overall grades against the moderator's (12 months)",
               calibration, note=CALIBRATION_NOTE)  # fmt: skip

    ws = book.sheet("Audits")
    audits = t["audits"]
    if "Status" in audits:
        audits = audits.assign(Status=audits["Status"].replace({"Outstanding": NOT_RETURNED}))
    book.table(ws, 0, "Audits", "Every audit of the month: grades as audited and final", audits)

    ws = book.sheet("Validation")
    row = book.table(ws, 0, "Files", "Files read from the audits inbox this month, by outcome", t["files"])
    row = book.table(ws, row, "WarningsByRule", "Problems by rule (for coaching auditors)", t["warnings_by_rule"])
    book.table(ws, row, "Problems", "Every problem recorded on this month's audits", t["problems"])

    _charts(book, trend, grades_header)
    return book.close()


CALIBRATION_NOTE = (
    "For QA's own use. Auditors with at least 3 moderated audits in the last 12 months. Mean difference: the auditor's "
    "overall grade minus the moderator's (1 Inadequate to 4 Outstanding), so above 0 the auditor grades higher. Small "
    "numbers: with fewer than 10 moderated audits one grade moves the figures a lot; a prompt for a conversation, "
    "not a judgement."
)


def _followups_sheet(book: _Book, metrics: Metrics) -> None:
    """Issue 11: what the follow-up audits show (case references only; the figures are the metrics')."""
    v, t = metrics.values, metrics.tables
    ws = book.sheet("Follow-ups")
    summary = pd.DataFrame(
        {
            "Measure": [
                "Follow-up audits due this month",
                "Follow-up audits completed this month",
                "Follow-ups compared (last 12 months)",
                "Improved",
                "Stayed the same",
                "Graded lower",
                "Share improved",
                "All actions of the earlier audit completed first",
            ],
            "Value": [
                v["followups_due"],
                v["followups_completed"],
                v["followups_compared"],
                v["followups_improved"],
                v["followups_same"],
                v["followups_worse"],
                _fmt_share(v["followups_improved_rate"]),
                v["followups_actions_closed_first"],
            ],
        }
    )
    row = book.table(ws, 0, "FollowupSummary", "Follow-up audits", summary, note=metrics.texts.get("followups", ""))
    row = book.table(ws, row, "FollowupsByService", "By service of the case (last 12 months)", t["followup_by_service"])
    row = book.table(ws, row, "FollowupSections", "Movement of the overall and section grades", t["followup_sections"])
    book.table(
        ws,
        row,
        "FollowupCases",
        "Each follow-up completed in the last 12 months: final grades before and now",
        t["followup_cases"],
        note="Overall grade and each section: improved, same, worse, or not known (a grade missing on either audit).",
    )


def _fmt_share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _charts(book: _Book, trend: pd.DataFrame, grades_header: int) -> None:
    """Native Excel charts on the Summary sheet, drawn from the Grades and Trend tables."""
    wb, summary = book.wb, book.wb.get_worksheet_by_name("Summary")
    assert summary is not None
    grades = wb.add_chart({"type": "bar"})
    first, last = grades_header + 1, grades_header + len(GRADE_NAMES)
    grades.add_series(
        {
            "name": "Final grade",
            "categories": ["Grades", first, 0, last, 0],
            "values": ["Grades", first, 1, last, 1],
            "points": [{"fill": {"color": c}} for c in ("#1b7837", "#7fbf7b", "#f1a340", "#b2182b")],
            "data_labels": {"value": True},
        }
    )
    grades.set_title({"name": "Final overall grades"})
    grades.set_legend({"none": True})
    grades.set_y_axis({"reverse": True})
    summary.insert_chart("F4", grades, {"x_scale": 1.1, "y_scale": 0.9})
    line = wb.add_chart({"type": "line"})
    n = len(trend)
    columns = list(trend.columns)
    for col, colour in ((columns.index("Completion rate"), "#2166ac"), (columns.index("Good or better"), "#1b7837")):
        line.add_series(
            {
                "name": ["Trend", 1, col],
                "categories": ["Trend", 2, 0, 1 + n, 0],
                "values": ["Trend", 2, col, 1 + n, col],
                "line": {"color": colour},
                "marker": {"type": "circle"},
            }
        )
    line.set_title({"name": "Completed on time and good or better, 12 months"})
    line.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
    line.set_legend({"position": "bottom"})
    summary.insert_chart("F20", line, {"x_scale": 1.1, "y_scale": 1.0})
