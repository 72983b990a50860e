"""The Word reports: the Monthly Case File Audit Report (and one pack per service) and the Learning Themes document.

Both come from ``input_templates/report_template.docx`` (docxtpl: jinja2 inside Word, so QA can restyle it), rendered
with autoescaping on so ``<``, ``>`` and ``&`` in findings survive (field notes). Sections are built as sub-documents
with python-docx, using the template's own styles. Accessibility (UK public sector): real heading styles in order
(the template's Heading 1, then Heading 2 inside sections), table header rows marked to repeat (``w:tblHeader``), no
merged cells, every chart with alt text (``docPr/@descr``) and the same numbers in a table below it. The tables,
charts and template handling are the building blocks in :mod:`caseaudit_batch.reports.docx_blocks`; this module
writes the sections.

The sentences are written from the figures in :class:`~caseaudit_batch.metrics.Metrics`; nothing is counted here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from caseaudit_batch.core.framework import GRADE_NAMES
from caseaudit_batch.followups.measures import ALL_SERVICES
from caseaudit_batch.reports import charts, word_pageone
from caseaudit_batch.reports.docx_blocks import _Builder, _load_template, _render, pct
from caseaudit_batch.reports.glance import trend_from_first_data
from caseaudit_batch.reports.metrics import Metrics
from caseaudit_batch.reports.themes import ThemeSummary

CAUTION = " (fewer than 5: treat with caution)"
#: Missing audits are "not yet returned" in every Word and Excel label ("Outstanding" is a grade; issue 20).
NOT_RETURNED = {"Not yet accepted": "Not yet returned", "Outstanding audits": "Not yet returned"}
#: The services and teams tables' columns; "Note" marks a share of fewer than 5, as in the Excel report.
SERVICE_COLUMNS = (
    "Allocated",
    "Completed on time",
    "Completion rate",
    "Graded",
    "Good or better",
    "Inadequate",
    "Note",
)

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("Report date (D)", "The date due, overdue and late are judged at: --as-of if given, else the last day of the "
     "month, or today while the month is the current month."),
    ("Allocated", "Audits allocated for the month, follow-ups included. Auditors who are exempt (paused) or for "
     "whom no case could be found are listed, not counted."),
    ("Completed on time", "Accepted audits completed on or before their due date."),
    ("Completed late", "Accepted audits completed after their due date."),
    ("Not yet returned", "Allocated audits with no accepted form yet."),
    ("Completion rate", "Completed on time ÷ allocated."),
    ("Final grade", "The grade after moderation: the Head of Service's grade when a grade escalation is resolved, "
     "else the moderator's, else the auditor's."),
    ("Good or better", "Outstanding + Good, as a share of audits with a final grade. The 95% interval (Wilson) shows "
     "the range the true share plausibly lies in, given how few audits there are."),
    ("Requires improvement or better", "Outstanding + Good + Requires Improvement, as a share of graded audits."),
    ("Inadequate share", "Inadequate ÷ graded audits."),
    ("Social worker took part", "Accepted audits where the social worker took part in person, or by phone or "
     "video, ÷ accepted audits."),
    ("Three-way meeting", "For a case re-allocated within a month: audits recording the meeting with both workers "
     "÷ audits where it was needed."),
    ("Moderated", "Accepted audits with an accepted moderation form."),
    ("Agreement rate", "Moderated audits where the moderator's overall grade equals the auditor's ÷ moderated "
     "audits. A later Head of Service resolution does not change it."),
    ("Raised / lowered", "Moderated audits where the moderator's overall grade is higher / lower than the "
     "auditor's."),
    ("Weighted kappa", "Cohen's kappa with quadratic weights between auditors' and moderators' section grades: 1 "
     "is perfect agreement, 0 no better than chance."),
    ("Mean difference", "Auditor's grade minus moderator's, in grade steps, averaged: above 0 means auditors grade "
     "more generously than moderators."),
    ("Actions raised", "Actions from the month's audits and their moderations. Actions marked No longer required "
     "are left out of every action measure."),
    ("Action completion rate", "Actions due in the month completed on or before their due date ÷ actions due in "
     "the month; RAG by the configured thresholds."),
    ("Actions overdue", "Open actions whose due date is before the report date."),
    ("Service Manager oversight", "Actions completed during the month that a service manager signed off ÷ actions "
     "completed during the month."),
    ("Follow-up audit", "A second audit of a case whose audit was graded Requires Improvement or Inadequate, made "
     "once the audit's actions were closed or after a set number of months, by a different auditor. It counts in "
     "compliance like any audit."),
    ("Improved / same / graded lower", "A completed follow-up's final overall (or section) grade compared with the "
     "earlier audit's final grade. Share improved: improved ÷ follow-ups compared, over the last 12 months."),
    ("Actions completed first", "Every action of the earlier audit was completed (or no longer required) by the "
     "date the follow-up audit was completed."),
    ("Safeguarding alert", "An audit recording an immediate safeguarding concern; it was raised at once, when the "
     "audit was read."),
    ("Small numbers", "A share of fewer than 5 audits is marked: one audit changes it a lot."),
)  # fmt: skip


# ------------------------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------------------------
def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _day(value: Any) -> str:
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    return str(value)


def _caution(v: dict[str, Any], key: str) -> str:
    """Inside the parentheses that follow a share."""
    return "; fewer than 5: treat with caution" if key in v["small_numbers"] else ""


# ------------------------------------------------------------------------------------------------------------
# Sentences from the figures
# ------------------------------------------------------------------------------------------------------------
def summary_sentences(metrics: Metrics, month_label: str) -> list[str]:
    """The one-page summary: each sentence states figures from ``metrics.values`` (a test checks them)."""
    v = metrics.values
    t = v["targets"]
    out: list[str] = []
    if v["audits_allocated"]:
        out.append(
            f"{v['audits_completed']:,} of {v['audits_allocated']:,} audits allocated for {month_label} were completed "
            f"on time ({pct(v['completion_rate'])}{_caution(v, 'completion_rate')}); "
            f"{v['audits_completed_late']:,} more {'was' if v['audits_completed_late'] == 1 else 'were'} completed "
            f"late and {v['audits_outstanding']:,} "
            f"{'is' if v['audits_outstanding'] == 1 else 'are'} not yet returned."
        )
    else:
        out.append(f"No audits were allocated for {month_label}.")
    if v["audits_exempt"] or v["audits_unallocated"]:
        out.append(
            f"{_plural(v['audits_exempt'], 'auditor')} {'was' if v['audits_exempt'] == 1 else 'were'} exempt this "
            f"month and {v['audits_unallocated']:,} could not be given a case (listed, not counted)."
        )
    counts = v["overall_grade_counts"]
    graded = v["audits_graded"]
    if graded:
        gob = counts["Outstanding"] + counts["Good"]
        interval = f"; 95% interval {pct(v['good_or_better_ci_low'])} to {pct(v['good_or_better_ci_high'])}"
        out.append(
            f"Of the {graded:,} audits graded, {gob:,} were good or better ({pct(v['good_or_better_rate'])}{interval}"
            f"{_caution(v, 'good_or_better_rate')}) against a target of {pct(t['good_or_better'])}."
        )
        ri = gob + counts["Requires Improvement"]
        out.append(
            f"{ri:,} were requires improvement or better ({pct(v['ri_or_better_rate'])}) and {counts['Inadequate']:,} "
            f"inadequate ({pct(v['inadequate_rate'])}; the aim is at most {pct(t['inadequate_at_most'])})."
        )
    else:
        out.append("No audits of the month have been graded yet.")
    if v["audits_accepted"]:
        sentence = (
            f"The social worker took part in {v['sw_participation_count']:,} of {v['audits_accepted']:,} accepted "
            "audits "
            f"({pct(v['sw_participation_rate'])}{_caution(v, 'sw_participation_rate')})."
        )
        if v["three_way_meetings_needed"]:
            sentence += (
                f" A needed three-way meeting took place in {v['three_way_meetings_held']:,} of "
                f"{v['three_way_meetings_needed']:,} ({pct(v['three_way_meeting_rate'])}"
                f"{_caution(v, 'three_way_meeting_rate')})."
            )
        out.append(sentence)
    if v["audits_moderated"]:
        agreed = v["moderation_compared"] - v["grades_raised"] - v["grades_lowered"]
        out.append(
            f"{v['audits_moderated']:,} audits were moderated; the moderator agreed with the auditor's overall grade "
            f"in {agreed:,} of {v['moderation_compared']:,} ({pct(v['moderation_agreement_rate'])}"
            f"{_caution(v, 'moderation_agreement_rate')}), raised {v['grades_raised']:,} and lowered "
            f"{v['grades_lowered']:,}."
        )
    else:
        out.append("No audits of the month have been moderated yet.")
    if v["actions_due"]:
        out.append(
            f"{v['actions_due']:,} actions fell due in {month_label}; {v['actions_completed_on_time']:,} were "
            f"completed on time ({pct(v['action_completion_rate'])}{_caution(v, 'action_completion_rate')}, "
            f"{v['action_rag']})."
        )
    else:
        out.append(f"No actions fell due in {month_label}.")
    out.append(f"{_plural(v['actions_overdue'], 'action')} {'was' if v['actions_overdue'] == 1 else 'were'} "
               f"overdue at {_day(metrics.report_date)}.")  # fmt: skip
    if v["actions_completed_in_month"]:
        out.append(
            f"Service managers signed off {v['actions_signed_off']:,} of the {v['actions_completed_in_month']:,} "
            f"actions completed in {month_label} ({pct(v['sm_oversight_rate'])}{_caution(v, 'sm_oversight_rate')})."
        )
    alerts = v["safeguarding_alerts"]
    out.append(
        f"{_plural(alerts, 'safeguarding alert')} {'was' if alerts == 1 else 'were'} raised from this month's audits."
    )
    return out


def at_a_glance(metrics: Metrics) -> pd.DataFrame:
    """The headline figures against their targets, for the top of the summary page."""
    v = metrics.values
    t = v["targets"]
    counts = v["overall_grade_counts"]
    gob = counts["Outstanding"] + counts["Good"]
    graded = v["audits_graded"]

    def status(value: float | None, target: float, at_most: bool = False) -> str:
        if value is None:
            return "n/a"
        return "Met" if (value <= target if at_most else value >= target) else "Not met"

    def count(n: int, d: int, key: str) -> str:
        return f"{n:,} of {d:,}" + (" (fewer than 5)" if key in v["small_numbers"] else "")

    def goal(key: str, target: str) -> tuple[str, str]:
        """A headline's target (``[targets]``, issue 20) and whether it was met; none set: blank."""
        if t.get(target) is None:
            return "", ""
        return f"at least {pct(t[target])}", status(v[key], t[target])

    interval = f"; 95% interval {pct(v['good_or_better_ci_low'])}-{pct(v['good_or_better_ci_high'])}" if graded else ""
    rows = [
        ("Audits completed on time", pct(v["completion_rate"]),
         count(v["audits_completed"], v["audits_allocated"], "completion_rate"),
         *goal("completion_rate", "completion")),
        ("Good or better (final grades)", pct(v["good_or_better_rate"]),
         count(gob, graded, "good_or_better_rate") + interval, f"at least {pct(t['good_or_better'])}",
         status(v["good_or_better_rate"], t["good_or_better"])),
        ("Requires improvement or better", pct(v["ri_or_better_rate"]),
         count(gob + counts["Requires Improvement"], graded, "ri_or_better_rate"), f"at least {pct(t['ri_or_better'])}",
         status(v["ri_or_better_rate"], t["ri_or_better"])),
        ("Inadequate", pct(v["inadequate_rate"]), count(counts["Inadequate"], graded, "inadequate_rate"),
         f"at most {pct(t['inadequate_at_most'])}", status(v["inadequate_rate"], t["inadequate_at_most"], True)),
        ("Moderation agreement", pct(v["moderation_agreement_rate"]),
         count(v["moderation_compared"] - v["grades_raised"] - v["grades_lowered"], v["moderation_compared"],
               "moderation_agreement_rate"), *goal("moderation_agreement_rate", "moderation_agreement")),
        ("Actions completed on time", pct(v["action_completion_rate"]),
         count(v["actions_completed_on_time"], v["actions_due"], "action_completion_rate"), "RAG", v["action_rag"]),
        ("Actions overdue", f"{v['actions_overdue']:,}", f"at {_day(metrics.report_date)}", "", ""),
        ("Service Manager oversight", pct(v["sm_oversight_rate"]),
         count(v["actions_signed_off"], v["actions_completed_in_month"], "sm_oversight_rate"), "", ""),
        ("Safeguarding alerts", f"{v['safeguarding_alerts']:,}", "", "", ""),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["Measure", "This month", "Count", "Target", "Status"])


def _base_context(metrics: Metrics, organisation: str, month_label: str, no_quotes: bool) -> dict[str, Any]:
    v = metrics.values
    quotes_note = (
        "Quotations from audits are left out of this document."
        if no_quotes
        else "Quotations are auditors' words, shown with case references only."
    )
    return {
        "organisation": organisation,
        "month_label": month_label,
        "report_date": _day(metrics.report_date),
        "generated_on": _day(date.fromisoformat(v["generated_on"])),
        "service": "",
        "quotes_note": quotes_note,
        # The title page's privacy statement and the header's marking (the committee version has its own).
        "privacy_note": f"{PRIVACY_STATEMENT} {quotes_note}",
        "marking": "OFFICIAL-SENSITIVE",
        "glance": "",  # page one of the monthly report (issue 20)
    }


# ------------------------------------------------------------------------------------------------------------
# The monthly report (whole service, or one service's pack)
# ------------------------------------------------------------------------------------------------------------
def write_word_report(
    metrics: Metrics,
    themes: ThemeSummary,
    *,
    template: Path,
    organisation: str,
    month_label: str,
    service: str | None = None,
    by_managers: Metrics | None = None,
) -> bytes:
    """The monthly report, or one service's pack (``service``): then ``by_managers`` holds the figures of the audits
    done by the service's own managers, whatever the case's service (issue 20)."""
    tpl = _load_template(template)
    b = _Builder(tpl)
    v = metrics.values
    t = metrics.tables
    context = _base_context(metrics, organisation, month_label, themes.no_quotes)
    context.update(
        kind="report",
        title="Monthly Case File Audit Report",
        service=service or "",
        audience=(
            f"For the Head of Service for {service}: this pack holds only {service}'s cases. Please cascade the "
            "strengths and learning to your staff (guidance section 4)."
            if service
            else "For Heads of Service and the Principal Social Worker (guidance section 4)."
        ),
        summary=summary_sentences(metrics, month_label),
        services_heading=f"{service}: teams" if service else "Services",
    )

    context["glance"] = word_pageone.page_one(b, metrics)
    context["concern"] = word_pageone.cases_of_concern(b, metrics)
    context["coverage"] = word_pageone.coverage(b, metrics)

    sd = b.new()
    b.table(sd, at_a_glance(metrics))
    b.para(sd, "")
    context["at_a_glance"] = sd

    sd = b.new()
    b.para(
        sd,
        f"{v['audits_completed']} of {v['audits_allocated']} audits were completed on time "
        f"({pct(v['completion_rate'])}), {v['audits_completed_late']} late; {v['audits_outstanding']} not yet "
        "returned.",
    )
    columns = ["Allocated", "Completed on time", "Completed late", "Not yet returned", "Completion rate"]
    b.heading(sd, "By auditor role")
    b.table(sd, t["compliance_by_role"].rename(columns=NOT_RETURNED), ["Auditor role", *columns, "Note"])
    b.heading(sd, "By the auditor's service")
    b.table(sd, t["compliance_by_service"].rename(columns=NOT_RETURNED), ["Auditor's service", *columns, "Note"])
    b.heading(sd, "Not yet returned")
    b.listing(
        sd,
        t["outstanding"].sort_values("Days overdue", ascending=False),
        # The audit ID (a long UUID) is left to the Excel report: a Head of Service follows up by case and person.
        ["Case reference", "Auditor", "Line manager", "Due date", "Days overdue"],
        "longest not yet returned",
    )
    if len(t["exempt"]) or len(t["unallocated"]):
        b.heading(sd, "Exempt auditors and auditors without a case")
        b.table(
            sd,
            pd.concat(
                [
                    t["exempt"].assign(Status="Exempt"),
                    t["unallocated"].rename(columns={"Why no case was found": "Reason"}).assign(Status="No case"),
                ]
            ),
            ["Name", "Role", "Status", "Reason"],
        )
    b.heading(sd, "Participation")
    b.para(
        sd,
        f"The social worker took part in {v['sw_participation_count']} of {v['audits_accepted']} accepted audits "
        f"({pct(v['sw_participation_rate'])}). A needed three-way meeting took place in "
        f"{v['three_way_meetings_held']} of {v['three_way_meetings_needed']} "
        f"({pct(v['three_way_meeting_rate'])}).",
    )
    context["compliance"] = sd

    sd = b.new()
    counts = v["overall_grade_counts"]
    b.para(
        sd,
        f"Final grades of the month's {v['audits_graded']} graded audits (on time and late), after moderation. "
        f"Good or better: {pct(v['good_or_better_rate'])} (target {pct(v['targets']['good_or_better'])}); "
        f"inadequate: {pct(v['inadequate_rate'])}.",
    )
    b.chart(sd, charts.grade_chart(counts, "Final overall grades"))
    b.heading(sd, "By case type")
    b.table(sd, t["grades_by_case_type"], ["Case type", "Graded", *GRADE_NAMES, "Good or better", "Note"])
    b.chart(
        sd,
        charts.sections_chart(t["sections"], "Section grades"),
        ["Section", *GRADE_NAMES, "Good or better", "Note"],
    )
    trend = trend_from_first_data(t["trend"])  # a first-month report: from the first month with data
    b.chart(sd, charts.trend_chart(trend, "The last 12 months", v["targets"]["good_or_better"]))
    _practice_standards(b, sd, t)
    context["grades"] = sd

    sd = b.new()
    by_service = t["by_service"]
    if service:
        _by_managers(b, sd, service, by_managers)
        b.heading(sd, "Audits of your cases")
        b.para(sd, f"{service}'s cases by team, whoever audited them.")
    else:
        b.para(sd, "Audits by the service of the case. Each service's pack holds its own cases.")
        b.table(
            sd,
            by_service,
            ["Service", *SERVICE_COLUMNS],
        )
    teams = t["by_service_team"]
    for _, row in by_service.iterrows():
        name = row["Service"]
        if not service:
            b.heading(sd, str(name))
        gob = int(row["Outstanding"] + row["Good"])
        b.para(
            sd,
            f"{name}: {row['Completed on time']} of {row['Allocated']} audits completed on time "
            f"({pct(row['Completion rate'])}); {gob} of {row['Graded']} graded good or better "
            f"({pct(row['Good or better'])}){CAUTION if 0 < row['Graded'] < 5 else ''}.",
        )
        b.table(
            sd,
            teams[teams["Service"] == name],
            ["Team", *SERVICE_COLUMNS],
        )
    word_pageone.heatmap(b, sd, metrics)
    word_pageone.funnel(b, sd, metrics, "the service" if service else "the authority")
    context["services"] = sd

    sd = b.new()
    agreed = v["moderation_compared"] - v["grades_raised"] - v["grades_lowered"]
    b.para(
        sd,
        f"{v['audits_moderated']} of {v['audits_accepted']} accepted audits were moderated "
        f"({pct(v['audits_moderated_rate'])}). Moderators agreed with the auditor's overall grade in {agreed} of "
        f"{v['moderation_compared']} ({pct(v['moderation_agreement_rate'])}), raised {v['grades_raised']} and "
        f"lowered {v['grades_lowered']}. Section grades agreed in {pct(v['section_agreement_rate'])} of "
        f"{v['section_grades_compared']} pairs; weighted kappa "
        f"{'n/a' if v['section_kappa'] is None else format(v['section_kappa'], '.2f')}.",
    )
    b.heading(sd, "By the auditor's service")
    b.table(sd, t["moderation_by_service"])
    word_pageone.escalations(b, sd, metrics)
    context["moderation"] = sd

    sd = b.new()
    b.para(
        sd,
        f"{v['actions_raised']} actions were raised from the month's audits and moderations. {v['actions_due']} fell "
        f"due in the month; {v['actions_completed_on_time']} were completed on time "
        f"({pct(v['action_completion_rate'])}, {v['action_rag']}) and {v['actions_completed_late']} late. "
        f"{v['actions_overdue']} are overdue at {_day(metrics.report_date)}. Service Manager oversight: "
        f"{v['actions_signed_off']} of {v['actions_completed_in_month']} actions completed in the month were signed "
        f"off ({pct(v['sm_oversight_rate'])}).",
    )
    b.heading(sd, "By service")
    b.table(
        sd,
        t["actions_by_service"],
        [
            "Service",
            "Raised",
            "Due",
            "Completed on time",
            "Completion rate",
            "RAG",
            "Overdue",
            "Oversight rate",
            "Note",
        ],
    )
    word_pageone.overdue_actions(b, sd, metrics)
    context["actions"] = sd

    context["followups"] = _followups_section(b, metrics, service)

    sd = b.new()
    alerts = v["safeguarding_alerts"]
    b.para(
        sd,
        f"{_plural(alerts, 'safeguarding alert')} {'was' if alerts == 1 else 'were'} raised from this month's "
        "audits. Each was sent at once to the social worker, team manager and service manager (guidance section 3).",
    )
    b.table(sd, t["alerts"], ["Case reference", "Service", "Team", "Raised on"])  # the audit ID: Excel report
    context["safeguarding"] = sd

    sd = b.new()
    b.para(
        sd,
        "Audits mentioning each theme in their strengths, learning, recommendations or organisational learning "
        "(themes from the Principal Social Worker's taxonomy).",
    )
    b.table(sd, themes.table, ["Theme", "This month", "Strengths", "Learning", "12 months"])
    if themes.no_quotes:
        b.para(sd, "Quotations are left out of this report.")
    else:
        for name, items in themes.quotes.items():
            if items:
                b.heading(sd, name)
                for case_ref, field, text in items:
                    b.para(sd, f"{case_ref} ({field.lower()}): “{text}”", style="List Bullet")
    context["themes"] = sd

    sd = b.new()
    org = themes.org_learning
    b.para(sd, f"{_plural(len(org), 'organisational learning point')} recorded this month.")
    if themes.no_quotes:
        counts_by_theme = org["Themes"].value_counts().rename_axis("Themes").reset_index(name="Points")
        b.table(sd, counts_by_theme)
    else:
        for _, row in org.iterrows():
            b.para(sd, f"{row['Case reference']} ({row['Service']}): {row['Text']}", style="List Bullet")
    context["org_learning"] = sd

    sd = b.new()
    b.table(sd, pd.DataFrame(GLOSSARY, columns=["Term", "Meaning"]))
    context["glossary"] = sd
    return _render(tpl, context, template)


def _practice_standards(b: _Builder, sd: Any, t: dict[str, pd.DataFrame]) -> None:
    """Issue 24: the share of audits meeting each practice standard, where it applies, against last month."""
    standards = t.get("practice_standards")
    if standards is None or standards.empty:
        return
    b.heading(sd, "Practice standards")
    if not standards["Applicable"].astype(int).sum():
        b.para(sd, "No audit of the month answered the practice standards (forms made before they were added).")
        return
    b.para(sd, "Met: answered Yes; applicable: Yes or No (Not applicable is left out of both).")
    shown = ["Standard", "Section", "Met", "Applicable", "Share met", "Previous month share", "Note"]
    b.table(sd, standards, shown)
    by_service = t["practice_standards_by_service"]
    if not by_service.empty:
        b.heading(sd, "Practice standards by service")
        b.table(sd, by_service, ["Service", "Standard", "Met", "Applicable", "Share met", "Note"])


def _by_managers(b: _Builder, sd: Any, service: str, by_managers: Metrics | None) -> None:
    """A pack's audits done by the service's own managers, by the service of the case they audited."""
    b.heading(sd, "Audits by your managers")
    if by_managers is None:
        b.para(sd, "Not available for this pack.")
        return
    bv = by_managers.values
    b.para(
        sd,
        f"Audits allocated to {service}'s managers, whichever service the case is in: {bv['audits_completed']} of "
        f"{bv['audits_allocated']} completed on time ({pct(bv['completion_rate'])}), {bv['audits_outstanding']} not "
        "yet returned.",
    )
    b.table(
        sd,
        by_managers.tables["by_service"].rename(columns={**NOT_RETURNED, "Service": "Case's service"}),
        ["Case's service", "Allocated", "Completed on time", "Not yet returned", "Completion rate", "Graded",
         "Good or better", "Note"],
    )  # fmt: skip


def _followups_section(b: _Builder, metrics: Metrics, service: str | None) -> Any:
    """Issue 11: whether the actions changed things for the child, said plainly, then the tables behind it."""
    v, t = metrics.values, metrics.tables
    sd = b.new()
    b.para(sd, metrics.texts["followups"])
    b.para(
        sd,
        f"This month {_plural(v['followups_due'], 'follow-up audit')} {'was' if v['followups_due'] == 1 else 'were'} "
        f"due and {v['followups_completed']:,} completed. A follow-up audit looks again at a case graded Requires "
        "Improvement or Inadequate once its actions are closed (or after a set number of months), to see whether "
        "they changed things for the child (guidance section 1).",
    )
    if not len(t["followup_cases"]):
        b.para(sd, "No follow-up audits have been completed yet.")
        return sd
    b.heading(sd, "By service")
    by_service = t["followup_by_service"]
    if service:  # a pack holds one service: its "all services" row would repeat it
        by_service = by_service[by_service["Service"] != ALL_SERVICES]
    b.table(
        sd,
        by_service,
        ["Service", "Follow-ups", "Improved", "Same", "Worse", "Share improved", "Actions closed first", "Note"],
    )
    b.heading(sd, "By section")
    b.table(sd, t["followup_sections"])
    b.heading(sd, "Cases re-audited")
    b.listing(
        sd,
        t["followup_cases"]
        .sort_values(["Follow-up month", "Case reference"], ascending=[False, True])
        .rename(columns={"Overall grade": "Movement"}),
        ["Case reference", "Earlier audit month", "Follow-up month", "Overall before", "Overall now", "Movement"],
        "latest",
    )
    return sd


# ------------------------------------------------------------------------------------------------------------
# Learning themes for the Principal Social Worker
# ------------------------------------------------------------------------------------------------------------
#: What was done to keep children's names out (the privacy issue): said on every internal document.
PRIVACY_STATEMENT = (
    "Case references only, no children's names: typed text is checked for names and redacted (a name shows as [name])."
)


def write_learning_themes(
    metrics: Metrics,
    themes: ThemeSummary,
    *,
    template: Path,
    organisation: str,
    month_label: str,
    learning: Any = None,
) -> bytes:
    """The Learning Themes document (issue 21: its sections are in :mod:`~caseaudit_batch.reports.learning_doc`;
    ``learning`` is its :class:`~caseaudit_batch.reports.learning_doc.Learning`, None for the theme counts only)."""
    from caseaudit_batch.reports import learning_doc

    base = _base_context(metrics, organisation, month_label, themes.no_quotes)
    return learning_doc.write_learning_themes(metrics, themes, learning, template=template, base=base)
