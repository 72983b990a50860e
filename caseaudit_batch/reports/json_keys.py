"""The keys of ``metrics-YYYY-MM.json`` and what each means (``docs/reference/metrics-json.md`` shows the same)."""

from __future__ import annotations

#: What each JSON key means (docs/reference/metrics-json.md shows the same; a test checks every key is there).
JSON_KEYS: dict[str, str] = {
    "month": "The report month, YYYY-MM.",
    "report_date": "D, the date due, overdue and late are judged at: --as-of, else the month's last day, or today "
    "while the month is the current month.",
    "generated_on": "The date the report was made (the program's --today).",
    "audits_allocated": "Audits allocated for the month (follow-ups included; withdrawn or replaced allocations and "
    "auditors for whom no case was found are not counted).",
    "audits_exempt": "Auditors paused for the month (listed with their reasons; not counted in allocated).",
    "audits_unallocated": "Auditors for whom no case could be found (listed; not counted in allocated).",
    "audits_accepted": "Allocated audits with an accepted form (on time or late).",
    "audits_completed": "Accepted audits completed on or before their due date.",
    "audits_completed_late": "Accepted audits completed after their due date.",
    "audits_outstanding": "Allocated audits with no accepted form yet.",
    "completion_rate": "audits_completed ÷ audits_allocated.",
    "followups_due": "Follow-up audits allocated for the month.",
    "followups_completed": "Follow-up audits of the month with an accepted form.",
    "followups_compared": "Completed follow-ups of the last 12 months whose overall grade could be compared with the "
    "earlier audit's (final grades both).",
    "followups_improved": "Of those, follow-ups whose final overall grade is better than the earlier audit's.",
    "followups_same": "Of those, follow-ups whose final overall grade is the same as the earlier audit's.",
    "followups_worse": "Of those, follow-ups whose final overall grade is lower than the earlier audit's.",
    "followups_improved_rate": "followups_improved ÷ followups_compared.",
    "followups_actions_closed_first": "Completed follow-ups of the last 12 months where every action of the earlier "
    "audit was closed (Completed or No longer required) by the follow-up's date completed (an earlier audit with no "
    "actions does not count).",
    "followups_section_movement": "For the overall grade (overall) and each section s1 … s9, the completed follow-ups "
    "of the last 12 months keyed improved, same, worse, not_known (a grade missing on either audit).",
    "followups_improved_rate_by_service": "followups_improved_rate for each service of the case (null where none "
    "could be compared).",
    "sw_participation_count": "Accepted audits where the social worker took part (in person, or by phone or video).",
    "sw_participation_rate": "sw_participation_count ÷ audits_accepted.",
    "three_way_meetings_needed": "Accepted audits of the cases the allocation flagged for a three-way meeting "
    "(re-allocated within a month while the previous worker is still employed). Issue 20: no longer the auditors' "
    "Yes or No answers.",
    "three_way_meetings_held": "Of those, audits whose auditor recorded that the three-way meeting took place (Yes).",
    "three_way_meeting_rate": "three_way_meetings_held ÷ three_way_meetings_needed (null when none was needed).",
    "three_way_meetings_unflagged": "Accepted audits answering Yes to a three-way meeting on a case the allocation "
    "did not flag (shown apart; not in the rate).",
    "coverage_open_cases": "Open cases in the current caseload (the register's cases).",
    "coverage_audited_cases": "Of those, cases with an accepted audit completed in the 12 months to D.",
    "coverage_rate": "coverage_audited_cases ÷ coverage_open_cases.",
    "coverage_by_service": "For each service of the case: open_cases, audited and coverage_rate, as above.",
    "audits_graded": "Accepted audits with a final overall grade.",
    "overall_grade_counts": "Final overall grades (after moderation and any Head of Service resolution; until an "
    "audit is moderated the auditor's grade is final), keyed Outstanding, Good, Requires Improvement, Inadequate.",
    "overall_grade_counts_as_audited": "The auditors' overall grades of the same audits, same keys.",
    "good_or_better_rate": "(Outstanding + Good) ÷ audits_graded, final grades.",
    "good_or_better_ci_low": "Lower end of the 95% Wilson interval of good_or_better_rate.",
    "good_or_better_ci_high": "Upper end of the 95% Wilson interval of good_or_better_rate.",
    "ri_or_better_rate": "(Outstanding + Good + Requires Improvement) ÷ audits_graded.",
    "inadequate_rate": "Inadequate ÷ audits_graded.",
    "targets": "The configured targets: completion, good_or_better, ri_or_better, inadequate_at_most, "
    "moderation_agreement (fractions).",
    "targets_status": "For completion_rate, good_or_better_rate, ri_or_better_rate, inadequate_rate, "
    'moderation_agreement_rate and action_completion_rate (against the Green threshold): "met", "not met", or '
    "null where the rate is null.",
    "provisional": "The keys whose value can still change: the action measures until [actions] tracker_cycle_days "
    "after the month's end; the moderation measures and the final-grade shares until every sampled audit's "
    "moderation form is due (and while no sample has been drawn). Audit completion is final at D.",
    "restated": "Earlier months of the last 12 whose headline rate (completion_rate, good_or_better_rate, "
    "moderation_agreement_rate, action_completion_rate), counted again from the register as it is now, differs by "
    "more than [reports] restate_margin_points from what that month's first report said: a list of {month, key, "
    "first, current}.",
    "section_grade_counts": "For each section s1 … s9, the final section grades keyed by grade (a moderator's "
    "section grade replaces the auditor's).",
    "section_grade_counts_as_audited": "The auditors' section grades, same shape.",
    "audits_moderated": "Accepted audits of the month with an accepted moderation form.",
    "audits_moderated_rate": "audits_moderated ÷ audits_accepted.",
    "moderation_compared": "Moderated audits where both overall grades are known (agreement's denominator).",
    "moderation_agreement_rate": "Moderated audits whose moderator's overall grade equals the auditor's ÷ "
    "moderation_compared (a later Head of Service resolution does not change it).",
    "grades_raised": "Moderated audits where the moderator's overall grade is higher than the auditor's.",
    "grades_lowered": "Moderated audits where the moderator's overall grade is lower than the auditor's.",
    "section_grades_compared": "Section grade pairs (auditor, moderator) compared.",
    "section_agreement_rate": "Section grade pairs that agree ÷ section_grades_compared.",
    "section_kappa": "Cohen's kappa with quadratic weights between auditors' and moderators' section grades "
    "(null when undefined).",
    "moderation_sampled": "Audits of the month in the moderation sample.",
    "moderations_on_time": "Sampled audits moderated on or before the moderation due date.",
    "moderations_overdue": "Sampled audits not yet moderated whose moderation due date is before D.",
    "escalations_open": "Escalations open at D (raised on or before D, not resolved by D), whatever month their "
    "audit belongs to (issue 22).",
    "escalations_resolved": "Escalations of this month's audits that are resolved.",
    "escalations_resolved_in_month": "Escalations resolved during the month (any audit's).",
    "escalations_waiting": "Open escalations by the Staff ID of the Head of Service they wait on: {count, "
    "oldest_days} (age at D).",
    "escalations_overdue": "Escalations open at D whose due date ([moderation] escalation_working_days working days "
    "after they were raised, England) is before D.",
    "escalations_resolved_in_time_rate": "Of the escalations resolved by D or due on or before D, those resolved on "
    "or before their due date (null when there are none).",
    "actions_raised": "Actions from the month's audits and their moderations (No longer required excluded, as in "
    "every action measure).",
    "actions_due": "Actions due in the month, on or before D (issue 20: an action due after D is never counted as "
    "due or missed).",
    "actions_completed_on_time": "Of actions_due, those completed on or before their due date.",
    "actions_completed_late": "Of actions_due, those completed after their due date.",
    "actions_overdue": "Open actions with a due date before D.",
    "actions_overdue_30": "Of those, actions overdue by more than 30 days at D.",
    "action_completion_rate": "actions_completed_on_time ÷ actions_due (null when nothing is due by D).",
    "action_rag": 'Green, Amber or Red for action_completion_rate against the configured thresholds; "none due yet" '
    "when nothing is due by D (not a failure).",
    "actions_completed_in_month": "Actions completed during the month (by D).",
    "actions_signed_off": "Of those, actions signed off by the service manager.",
    "sm_oversight_rate": "Service Manager oversight: actions_signed_off ÷ actions_completed_in_month.",
    "safeguarding_alerts": "Audits of the month that raised a safeguarding alert.",
    "alerts_unacknowledged": "Safeguarding alerts (any month) QA has not yet acknowledged: what caseaudit alerts "
    "lists.",
    "files_accepted": "Audits-inbox files first seen in runs filed under the month, now accepted.",
    "files_returned": "… now returned to the auditor with errors.",
    "files_rejected": "… rejected (not a readable, safe caseaudit form).",
    "files_superseded": "… accepted, then replaced by a newer submission of the same audit.",
    "files_duplicate": "… identical to a file already seen.",
    "files_ignored": "… Excel lock files and temporary files.",
    "files_seen": "The sum of the six file counts.",
    "warnings": "Warnings recorded against the month's audit submissions.",
    "warnings_by_rule": "Warnings by rule code (bland phrases, re-telling, late, …), for coaching auditors.",
    "practice_standards": "For each practice standard ID (framework.toml [[practice_standard]]), over the month's "
    "accepted audits: met (answered Yes), applicable (Yes or No; Not applicable and forms made before the standards "
    "are left out) and rate (met ÷ applicable, null when none applies). Internal reports only.",
    "themes": "Issue 21: for each theme ID of themes.toml, the audits of the month mentioning it: {strengths, "
    "learning, findings}. Strengths and impact answers evidencing a difference for the child count as strengths; "
    "learning, recommendations, organisational learning and moderation rationale as learning; section findings, the "
    "diversity answer and other impact answers as findings (apart: they name each section's subject on nearly every "
    "audit).",
    "untagged_share": "Of the month's learning and organisational learning points (one sentence of one answer), the "
    "share that carry no theme (null when there are none).",
    "small_numbers": "The share keys whose denominator is between 1 and 4 (treat with caution).",
}
