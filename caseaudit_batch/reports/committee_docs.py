"""The committee version's Word and Excel documents (issue 19), for papers that are made public.

They use the internal reports' building blocks (the Word template, accessible tables, the Excel book) but are fed
only the suppressed figures of :mod:`caseaudit_batch.reports.committee`: no case reference, audit ID, staff name or
quotation reaches them, and there are no team rows, no lists of audits, actions or escalations, and no charts (a
bar's length would show a number hidden as "c"). Nothing is counted here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from caseaudit_batch.core.framework import GRADE_NAMES
from caseaudit_batch.reports.committee import SUPPRESSION_NOTE, C, Committee, shown_share
from caseaudit_batch.reports.docx_blocks import _Builder, _load_template, _render, pct
from caseaudit_batch.reports.excel import _Book
from caseaudit_batch.reports.metrics import Metrics
from caseaudit_batch.reports.word import GLOSSARY, _base_context, _day

TITLE = "Monthly Case File Audit Report: committee version"
C_MEANING = (
    "c",
    "A number from 1 to 4, a share of fewer than 5, or a figure hidden so that a total cannot be used to work "
    "out a c by subtraction (the usual statistical convention for published figures about children).",
)


def _n(value: Any) -> str:
    """A count as the committee documents show it."""
    return C if value == C else f"{int(value):,}"


def _p(value: Any) -> str:
    """A share as the committee documents show it: c, n/a (none to count) or a percentage."""
    return C if value == C else pct(value)


def _status(value: Any, target: float, at_most: bool = False) -> str:
    if value == C:
        return C  # met or not would say where a hidden share lies
    if value is None:
        return "n/a"
    return "Met" if (value <= target if at_most else value >= target) else "Not met"


def _goal(v: dict[str, Any], key: str, target: str) -> tuple[str, str]:
    """A headline's target (``[targets]``, issue 20) and whether it was met ("c" stays unjudged); none: blank."""
    goal = v["targets"].get(target)
    if goal is None:
        return "", ""
    return f"at least {pct(goal)}", _status(v[key], goal)


def at_a_glance(committee: Committee) -> pd.DataFrame:
    """The headline figures against their targets (committee figures only)."""
    v = committee.values
    t = v["targets"]
    rows = [
        ("Audits completed on time", _p(v["completion_rate"]),
         f"{_n(v['audits_completed'])} of {_n(v['audits_allocated'])}", *_goal(v, "completion_rate", "completion")),
        ("Good or better (final grades)", _p(v["good_or_better_rate"]), f"of {_n(v['audits_graded'])} graded",
         f"at least {pct(t['good_or_better'])}", _status(v["good_or_better_rate"], t["good_or_better"])),
        ("Requires improvement or better", _p(v["ri_or_better_rate"]), f"of {_n(v['audits_graded'])} graded",
         f"at least {pct(t['ri_or_better'])}", _status(v["ri_or_better_rate"], t["ri_or_better"])),
        ("Inadequate", _p(v["inadequate_rate"]), f"{_n(v['overall_grade_counts']['Inadequate'])} of "
         f"{_n(v['audits_graded'])}", f"at most {pct(t['inadequate_at_most'])}",
         _status(v["inadequate_rate"], t["inadequate_at_most"], True)),
        ("Moderation agreement", _p(v["moderation_agreement_rate"]), f"of {_n(v['moderation_compared'])} compared",
         *_goal(v, "moderation_agreement_rate", "moderation_agreement")),
        ("Actions completed on time", _p(v["action_completion_rate"]),
         f"{_n(v['actions_completed_on_time'])} of {_n(v['actions_due'])}", "RAG", v["action_rag"]),
        ("Actions overdue", _n(v["actions_overdue"]), f"at {_day(date.fromisoformat(v['report_date']))}", "", ""),
        ("Service Manager oversight", _p(v["sm_oversight_rate"]),
         f"{_n(v['actions_signed_off'])} of {_n(v['actions_completed_in_month'])}", "", ""),
        ("Safeguarding alerts", _n(v["safeguarding_alerts"]), "", "", ""),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["Measure", "This month", "Count", "Target", "Status"])


def summary_sentences(committee: Committee, month_label: str) -> list[str]:
    """The summary in sentences, every figure a committee figure; each starts with what it is about, as a figure
    may be a c."""
    v = committee.values
    t = v["targets"]
    if v["audits_allocated"] == 0:
        return [f"No audits were allocated for {month_label}."]
    day = _day(date.fromisoformat(v["report_date"]))
    return [
        f"Audits allocated for {month_label}: {_n(v['audits_allocated'])}. Completed on time: "
        f"{_n(v['audits_completed'])} ({_p(v['completion_rate'])}); completed late: {_n(v['audits_completed_late'])}; "
        f"not yet accepted: {_n(v['audits_outstanding'])}.",
        f"Final grades of the {_n(v['audits_graded'])} audits graded: good or better {_p(v['good_or_better_rate'])} "
        f"(target {pct(t['good_or_better'])}); requires improvement or better {_p(v['ri_or_better_rate'])}; "
        f"inadequate {_p(v['inadequate_rate'])} (the aim is at most {pct(t['inadequate_at_most'])}).",
        f"Moderation: {_n(v['audits_moderated'])} audits moderated; the moderator agreed with the auditor's overall "
        f"grade in {_p(v['moderation_agreement_rate'])} of those compared.",
        f"Actions due in {month_label}: {_n(v['actions_due'])}; completed on time: "
        f"{_n(v['actions_completed_on_time'])} ({_p(v['action_completion_rate'])}, RAG {v['action_rag']}); overdue "
        f"at {day}: {_n(v['actions_overdue'])}.",
        f"Safeguarding alerts raised from this month's audits: {_n(v['safeguarding_alerts'])}.",
    ]


def _overall_grades(committee: Committee) -> pd.DataFrame:
    counts, graded = committee.values["overall_grade_counts"], committee.values["audits_graded"]
    shares = [shown_share(counts[g], graded) for g in GRADE_NAMES]
    return pd.DataFrame({"Grade": list(GRADE_NAMES), "Audits (final grade)": list(counts.values()), "Share": shares})


def _moderation_summary(committee: Committee) -> pd.DataFrame:
    v = committee.values
    kappa = v["section_kappa"]
    rows = [
        ("Audits moderated", _n(v["audits_moderated"])),
        ("Share of accepted audits moderated", _p(v["audits_moderated_rate"])),
        ("Agreement rate (overall grade)", _p(v["moderation_agreement_rate"])),
        ("Grades raised", _n(v["grades_raised"])),
        ("Grades lowered", _n(v["grades_lowered"])),
        ("Section agreement rate", _p(v["section_agreement_rate"])),
        ("Section grades weighted kappa", C if kappa == C else ("n/a" if kappa is None else f"{kappa:.2f}")),
        ("Escalations open", _n(v["escalations_open"])),
    ]
    return pd.DataFrame(rows, columns=["Measure", "Value"])


def _followups_sentence(committee: Committee) -> str:
    every = committee.tables["followups"].iloc[-1]  # all services
    if every["Follow-ups"] == 0:
        return "No cases were re-audited (follow-up audits) in the last 12 months."
    unknown = committee.tables["followup_sections"].iloc[0]["Not known"]  # the overall grade's row
    return (
        f"Cases re-audited (follow-up audits) in the last 12 months: {_n(every['Follow-ups'])}. Improved: "
        f"{_n(every['Improved'])}; stayed the same: {_n(every['Same'])}; graded lower: {_n(every['Worse'])}; could "
        f"not be compared: {_n(unknown)}. All the earlier audit's actions completed first: "
        f"{_n(every['Actions closed first'])}."
    )


def _followup_summary(committee: Committee) -> pd.DataFrame:
    v = committee.values
    rows = [
        ("Follow-up audits due this month", _n(v["followups_due"])),
        ("Follow-up audits completed this month", _n(v["followups_completed"])),
        ("Follow-ups compared (last 12 months)", _n(v["followups_compared"])),
        ("Improved", _n(v["followups_improved"])),
        ("Stayed the same", _n(v["followups_same"])),
        ("Graded lower", _n(v["followups_worse"])),
        ("Share improved", _p(v["followups_improved_rate"])),
    ]
    return pd.DataFrame(rows, columns=["Measure", "Value"])


# ------------------------------------------------------------------------------------------------------------
# Word
# ------------------------------------------------------------------------------------------------------------
def write_committee_word(
    committee: Committee, metrics: Metrics, *, template: Path, organisation: str, month_label: str
) -> bytes:
    """``Monthly-Case-File-Audit-Report-YYYY-MM-committee.docx``: the report's sections, committee figures only."""
    tpl = _load_template(template)
    b = _Builder(tpl)
    v, t = committee.values, committee.tables
    context = _base_context(metrics, organisation, month_label, no_quotes=True)
    context.update(
        kind="report",
        title=TITLE,
        audience="For scrutiny committees and improvement boards. This version may be published.",
        quotes_note=SUPPRESSION_NOTE,  # a template from before the committee version shows it after its own line
        privacy_note=SUPPRESSION_NOTE,
        marking="OFFICIAL",
        summary=summary_sentences(committee, month_label),
        services_heading="Services",
    )
    sd = b.new()
    b.para(sd, SUPPRESSION_NOTE)
    b.table(sd, at_a_glance(committee))
    context["at_a_glance"] = sd

    sd = b.new()
    b.para(sd, "Audits by the service of the case.")
    b.table(sd, t["compliance"])
    b.para(
        sd,
        f"Accepted audits: {_n(v['audits_accepted'])}; the social worker took part in "
        f"{_n(v['sw_participation_count'])} ({_p(v['sw_participation_rate'])}). Three-way meetings needed: "
        f"{_n(v['three_way_meetings_needed'])}; held: {_n(v['three_way_meetings_held'])} "
        f"({_p(v['three_way_meeting_rate'])}).",
    )
    context["compliance"] = sd

    sd = b.new()
    b.para(sd, f"Final grades (after moderation) of the month's audits: {_n(v['audits_graded'])} graded.")
    b.table(sd, _overall_grades(committee))
    b.heading(sd, "By section")
    b.table(sd, t["sections"], ["Title", *GRADE_NAMES, "Graded", "Good or better"])
    b.heading(sd, "The last 12 months")
    b.table(sd, t["trend"], ["Month", "Allocated", "Completed on time", "Completion rate", "Graded", "Good or better"])
    context["grades"] = sd

    sd = b.new()
    b.para(sd, "Final grades by the service of the case.")
    b.table(sd, t["grades"], ["Service", *GRADE_NAMES, "Graded", "Good or better"])
    context["services"] = sd

    sd = b.new()
    b.table(sd, _moderation_summary(committee))
    context["moderation"] = sd

    sd = b.new()
    b.para(sd, f"Actions raised from the month's audits and moderations: {_n(v['actions_raised'])}.")
    b.table(
        sd,
        t["actions"],
        ["Service", "Raised", "Due", "Completed on time", "Completion rate", "Overdue", "Oversight rate"],
    )
    context["actions"] = sd

    sd = b.new()
    b.para(sd, _followups_sentence(committee))
    b.table(sd, _followup_summary(committee))
    b.heading(sd, "By service")
    b.table(sd, t["followups"], ["Service", "Follow-ups", "Improved", "Same", "Worse", "Share improved"])
    b.heading(sd, "By section")
    b.table(sd, t["followup_sections"])
    context["followups"] = sd

    sd = b.new()
    b.para(sd, "Safeguarding alerts raised from this month's audits, each sent at once (guidance section 3).")
    b.table(sd, t["alerts"])
    context["safeguarding"] = sd

    sd = b.new()
    b.para(sd, "Audits mentioning each theme (themes from the Principal Social Worker's taxonomy). Quotations are "
               "left out of the committee version.")  # fmt: skip
    if "themes" in t:
        b.table(sd, t["themes"])
    context["themes"] = sd

    sd = b.new()
    points = t["org_learning"].iloc[0, 0] if "org_learning" in t else 0
    b.para(sd, f"Organisational learning points recorded this month: {_n(points)}. The points themselves are in "
               "the internal report.")  # fmt: skip
    context["org_learning"] = sd

    sd = b.new()
    glossary = [row for row in GLOSSARY if row[0] != "Small numbers"] + [C_MEANING]
    b.table(sd, pd.DataFrame(glossary, columns=["Term", "Meaning"]))
    context["glossary"] = sd
    return _render(tpl, context, template)


# ------------------------------------------------------------------------------------------------------------
# Excel
# ------------------------------------------------------------------------------------------------------------
def write_committee_excel(committee: Committee, *, organisation: str, month_label: str) -> bytes:
    """``caseaudit-report-YYYY-MM-committee.xlsx``: the committee figures as Excel tables ("c" as text)."""
    book = _Book()
    book.wb.set_properties({"title": f"Case file audit report {committee.month}: committee version",
                            "company": organisation})  # fmt: skip
    t = committee.tables

    ws = book.sheet("Summary")
    book.text(ws, 0, 0, f"{organisation}: case file audit, {month_label} (committee version)", book.title)
    book.text(ws, 1, 0, SUPPRESSION_NOTE, book.note)
    row = book.table(ws, 3, "Headline", "Headline figures", at_a_glance(committee))
    book.table(ws, row, "Meaning", "What c means", pd.DataFrame([C_MEANING], columns=["Term", "Meaning"]))
    book.widths["Summary"][1] = 20

    for sheet, parts in (
        ("Services", (("ComplianceByService", "Completion by the service of the case", t["compliance"]),
                      ("GradesByService", "Final grades by the service of the case", t["grades"]))),
        ("Grades", (("Grades", "Final overall grades", _overall_grades(committee)),
                    ("Sections", "Final section grades", t["sections"]))),
        ("Trend", (("Trend", "The last 12 months (as recorded today)", t["trend"]),)),
        ("Moderation", (("Moderation", "Moderation", _moderation_summary(committee)),)),
        ("Actions", (("ActionsByService", "Actions by service", t["actions"]),)),
        ("Follow-ups", (("FollowupSummary", "Follow-up audits", _followup_summary(committee)),
                        ("FollowupsByService", "By service of the case (last 12 months)", t["followups"]),
                        ("FollowupSections", "Movement of the overall and section grades", t["followup_sections"]))),
        ("Safeguarding", (("Alerts", "Safeguarding alerts raised from this month's audits", t["alerts"]),)),
        ("Themes", (("Themes", "Learning themes (audits mentioning each theme)", t.get("themes", pd.DataFrame())),)),
        ("Files", (("Files", "Files read from the audits inbox this month, by outcome", t["files"]),)),
    ):  # fmt: skip
        ws = book.sheet(sheet)
        row = 0
        for number, (name, title, df) in enumerate(parts):
            row = book.table(ws, row, name, title, df, note=SUPPRESSION_NOTE if number == 0 else "")
    return book.close()
