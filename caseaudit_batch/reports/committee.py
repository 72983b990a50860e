"""The committee tier (issue 19): the month's figures for papers that are made public (scrutiny committees,
improvement boards). No case references, audit IDs, staff names or quotations; figures by service only, no team
rows; small numbers suppressed. Pure: a :class:`~caseaudit_batch.reports.metrics.Metrics` in, suppressed values and
tables out. The committee Word and Excel documents (:mod:`caseaudit_batch.reports.committee_docs`) only format them.

Suppression follows the usual statistical convention:

- **primary**: every count from 1 to 4 is shown as ``"c"``; 0 stays 0 (a zero identifies nobody);
- **shares**: a share whose denominator is under 5, or whose numerator or denominator is ``"c"``, is ``"c"`` (a
  shown share of a shown total would give the hidden count back);
- **secondary**: figures are tied by :class:`Relation` s, a total and its parts: a table's row or column with its
  total, or a sum the reports show (good or better = Outstanding + Good). Where a relation's total is shown and
  exactly one of its parts is ``"c"``, that part could be worked out by subtraction, so the smallest other non-zero
  shown part is suppressed too (the total itself when no such part is left). Repeated until nothing changes.

A relation that is not exactly true can only hide more, never show more, so every total a reader could add up is
given one. All of a month's figures are suppressed once, together, so that the JSON, the Word and the Excel versions
hide the same cells: a number hidden in one and shown in another would give it away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from caseaudit_batch.core.framework import GRADE_NAMES
from caseaudit_batch.followups.measures import ALL_SERVICES
from caseaudit_batch.reports.data import SECTION_KEYS
from caseaudit_batch.reports.frame import SMALL, UNKNOWN
from caseaudit_batch.reports.json_keys import JSON_KEYS
from caseaudit_batch.reports.metrics import FILE_OUTCOMES, Metrics
from caseaudit_batch.reports.themes import ThemeSummary

C = "c"  # what a suppressed figure shows, in every committee file (the JSON's string "c" too)
ALL = ALL_SERVICES

SUPPRESSION_NOTE = (
    "Committee version: no case references, audit references, staff names or quotations, and figures by service "
    f"only. Every count from 1 to {SMALL - 1}, and every share of fewer than {SMALL}, is shown as c; so is the next "
    "smallest figure wherever a shown total would let a c be worked out by subtraction."
)

#: Internal JSON keys the committee JSON leaves out: per-team, per-auditor and per-case detail. The internal JSON
#: holds none today. Any key not given a committee form below is left out too (fail closed); a test holds every
#: internal key to one or the other, so a new key needs a decision here.
#: Issue 20: ``escalations_waiting`` is by person (the Head of Service's Staff ID); ``restated`` repeats earlier months'
#: rates without their counts, so it could show a share of fewer than 5 (the committee trend shows those months
#: suppressed instead). Issue 24: ``practice_standards`` is for the internal reports only.
#: Issue 22: ``escalations_overdue`` and ``escalations_resolved_in_time_rate`` measure a handful of Heads of Service
#: (an escalation waits on one named person), so in public papers they would point at people.
#: Issue 21: ``themes`` and ``untagged_share`` are the PSW's (the committee has its own suppressed themes table).
DROPPED: frozenset[str] = frozenset(
    {
        "escalations_waiting",
        "restated",
        "escalations_overdue",
        "escalations_resolved_in_time_rate",
        "practice_standards",
        "themes",
        "untagged_share",
    }
)

Cell = int | str  # a count, or C
K = TypeVar("K", bound=Hashable)


# ------------------------------------------------------------------------------------------------------------
# Suppression
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Relation:
    """``total`` is the sum of ``parts`` (cell keys)."""

    total: Hashable
    parts: tuple[Hashable, ...]


def primary(count: int) -> Cell:
    """A count as the committee tier shows it: 1 to 4 as ``"c"``; 0 and 5 or more as they are."""
    return C if 0 < count < SMALL else count


def suppress(values: Mapping[K, int], relations: Sequence[Relation]) -> dict[K, Cell]:
    """Primary then secondary suppression of ``values`` (every key of ``relations`` must be in them).

    Relations are visited in order, again and again until a whole pass changes nothing; each pass can only add a
    ``"c"``, so it ends. Ties go to the part listed first (the same input always gives the same output)."""
    counts: Mapping[Any, int] = values  # relations name cells by any hashable key
    shown: dict[Any, Cell] = {key: primary(int(value)) for key, value in counts.items()}
    changed = True
    while changed:
        changed = False
        for relation in relations:
            if shown[relation.total] == C:
                continue
            hidden = [part for part in relation.parts if shown[part] == C]
            if len(hidden) != 1:
                continue
            # A zero stays shown (it identifies nobody, and a "c" means 1 or more): the smallest non-zero part.
            left = [part for part in relation.parts if shown[part] != C and counts[part] != 0]
            target = min(left, key=lambda part: counts[part]) if left else relation.total
            shown[target] = C
            changed = True
    return shown


def suppress_table(body: Sequence[Sequence[int]]) -> list[list[Cell]]:
    """A table of counts with its row totals (a last column) and column totals (a last row) added, suppressed as
    one: each row and each column, the totals' row and column included, is a relation."""
    rows, cols = len(body), len(body[0]) if body else 0
    values: dict[tuple[int, int], int] = {(i, j): int(body[i][j]) for i in range(rows) for j in range(cols)}
    for i in range(rows):
        values[(i, cols)] = sum(values[(i, j)] for j in range(cols))
    for j in range(cols + 1):
        values[(rows, j)] = sum(values[(i, j)] for i in range(rows))
    relations = [Relation((i, cols), tuple((i, j) for j in range(cols))) for i in range(rows + 1)]
    relations += [Relation((rows, j), tuple((i, j) for i in range(rows))) for j in range(cols + 1)]
    shown = suppress(values, relations)
    return [[shown[(i, j)] for j in range(cols + 1)] for i in range(rows + 1)]


def share(value: Any, numerator: Cell, denominator: Cell) -> float | str | None:
    """A share as the committee tier shows it: ``None`` where there is none (a zero denominator), ``"c"`` where
    its denominator is under 5 or either count is hidden, else the share."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if numerator == C or denominator == C or int(denominator) < SMALL:
        return C
    return float(value)


# ------------------------------------------------------------------------------------------------------------
# The month's figures, tied together
# ------------------------------------------------------------------------------------------------------------
#: A cell: (measure, scope). A scope is a service, ALL, or one of those below, which start with "#" so that no
#: service's name can meet them.
Key = tuple[str, str]
FINAL, AS_AUDITED = "#final", "#as audited"


def _trend(month: str) -> str:
    return f"#trend {month}"


def _section(s: str) -> str:
    return f"#section {s}"


def _theme(name: str) -> str:
    return f"#theme {name}"


def _rule(code: str) -> str:
    return f"#rule {code}"


class _Cells:
    """The month's counts and the relations between them, collected before suppressing them all at once."""

    def __init__(self) -> None:
        self.values: dict[Key, int] = {}
        self.relations: list[Relation] = []

    def count(self, measure: str, scope: str, value: Any) -> Key:
        key = (measure, scope)
        if key in self.values:  # two figures under one name would hide or show each other's cells
            raise ValueError(f"counted twice: {key}")
        self.values[key] = 0 if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)
        return key

    def total(self, total: Key, parts: Sequence[Key]) -> None:
        """``total`` is the sum of ``parts``; a total not yet counted is their sum (a figure a reader can add up)."""
        if total not in self.values:
            self.values[total] = sum(self.values[p] for p in parts)
        self.relations.append(Relation(total, tuple(parts)))

    def rest(self, measure: str, total: Key, parts: Sequence[Key], scope: str | None = None) -> Key:
        """What ``total`` holds beyond ``parts`` (audits not yet completed, say): shown or not, a reader can work it
        out, so it is a count like any other. Its scope is the total's unless given."""
        key = (measure, total[1] if scope is None else scope)
        self.values[key] = self.values[total] - sum(self.values[p] for p in parts)
        self.relations.append(Relation(total, (*parts, key)))
        return key

    def across(self, measures: Iterable[str], scopes: Sequence[str]) -> None:
        """Each measure's ALL is the sum over ``scopes`` (a table's column with its total row)."""
        if scopes:
            for measure in measures:
                self.total((measure, ALL), [(measure, s) for s in scopes])


def _scopes(table: pd.DataFrame) -> list[tuple[str, dict[Any, Any]]]:
    """A by-service table's rows other than its ALL row, each service named (a blank one as not recorded)."""
    rows = []
    for record in table.to_dict("records"):
        name = record.get("Service")
        name = UNKNOWN if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
        if name != ALL:
            rows.append((name, record))
    return rows


AUDIT_COLUMNS = {
    "allocated": "Allocated",
    "on_time": "Completed on time",
    "late": "Completed late",
    "outstanding": "Not yet accepted",
    **{grade: grade for grade in GRADE_NAMES},
}
AUDIT_MEASURES = (*AUDIT_COLUMNS, "accepted", "graded", "ungraded", "gob", "rib")


def _audit_relations(cells: _Cells, scope: str) -> None:
    """Within one service (or all, or a trend month): compliance and final grades, and the sums the reports show."""
    on_time, late, outstanding = ("on_time", scope), ("late", scope), ("outstanding", scope)
    cells.total(("allocated", scope), [on_time, late, outstanding])
    cells.total(("accepted", scope), [on_time, late])
    cells.total(("allocated", scope), [("accepted", scope), outstanding])
    grades = [(g, scope) for g in GRADE_NAMES]
    cells.total(("graded", scope), grades)
    cells.total(("gob", scope), grades[:2])  # good or better: Outstanding + Good
    cells.total(("rib", scope), [("gob", scope), grades[2]])  # requires improvement or better
    cells.total(("graded", scope), [("rib", scope), grades[3]])
    cells.rest("ungraded", ("accepted", scope), [("graded", scope)])  # accepted without a final grade (rare)


def _audits(cells: _Cells, metrics: Metrics) -> list[str]:
    v, t = metrics.values, metrics.tables
    services = _scopes(t["by_service"])
    for service, row in services:
        for measure, column in AUDIT_COLUMNS.items():
            cells.count(measure, service, row[column])
        _audit_relations(cells, service)
    for measure, key in (("allocated", "audits_allocated"), ("on_time", "audits_completed"),
                         ("late", "audits_completed_late"), ("outstanding", "audits_outstanding")):  # fmt: skip
        cells.count(measure, ALL, v[key])
    for grade in GRADE_NAMES:
        cells.count(grade, ALL, v["overall_grade_counts"][grade])
    _audit_relations(cells, ALL)
    names = [s for s, _ in services]
    cells.across(AUDIT_MEASURES, names)
    # The trend: this month's row is ALL; each earlier month is tied within itself.
    for row in t["trend"].to_dict("records"):
        if row["Month"] == metrics.month:
            continue
        scope = _trend(row["Month"])
        for measure in ("allocated", "on_time", "late", *GRADE_NAMES):
            cells.count(measure, scope, row[AUDIT_COLUMNS[measure]])
        cells.rest("outstanding", ("allocated", scope), [("on_time", scope), ("late", scope)])
        _audit_relations(cells, scope)
    # Who took part, and three-way meetings: each a part of a shown whole.
    cells.rest("sw_not", ("accepted", ALL), [cells.count("sw_part", ALL, v["sw_participation_count"])])
    needed = cells.count("twm_needed", ALL, v["three_way_meetings_needed"])
    cells.rest("twm_not_held", needed, [cells.count("twm_held", ALL, v["three_way_meetings_held"])])
    cells.count("exempt", ALL, v["audits_exempt"])
    cells.count("unallocated", ALL, v["audits_unallocated"])
    return names


def _sections(cells: _Cells, v: dict[str, Any]) -> None:
    """Each section's grades and their total (a reader can add them up), a part of the accepted audits."""
    for kind, key in ((FINAL, "section_grade_counts"), (AS_AUDITED, "section_grade_counts_as_audited")):
        for s in SECTION_KEYS:
            grades = [cells.count(f"{s} {g}", kind, v[key][s][g]) for g in GRADE_NAMES]
            cells.total((f"{s} graded", kind), grades)
            cells.total((f"{s} gob", kind), grades[:2])
            cells.rest(f"{s} ungraded", ("accepted", ALL), [(f"{s} graded", kind)], scope=kind)
    audited = [cells.count(g, AS_AUDITED, v["overall_grade_counts_as_audited"][g]) for g in GRADE_NAMES]
    cells.total(("graded", AS_AUDITED), audited)


def _moderation(cells: _Cells, v: dict[str, Any]) -> None:
    moderated = cells.count("moderated", ALL, v["audits_moderated"])
    cells.rest("not_moderated", ("accepted", ALL), [moderated])
    compared = cells.count("compared", ALL, v["moderation_compared"])
    cells.rest("not_compared", moderated, [compared])
    parts = [
        cells.count("grades_raised", ALL, v["grades_raised"]),
        cells.count("grades_lowered", ALL, v["grades_lowered"]),
    ]
    cells.rest("agreed", compared, parts)
    pairs = cells.count("section_pairs", ALL, v["section_grades_compared"])
    agreeing = round((v["section_agreement_rate"] or 0) * v["section_grades_compared"])
    cells.rest("section_pairs_differ", pairs, [cells.count("section_pairs_agreed", ALL, agreeing)])
    sampled = cells.count("sampled", ALL, v["moderation_sampled"])
    timely = [cells.count("moderated_on_time", ALL, v["moderations_on_time"]),
              cells.count("moderations_overdue", ALL, v["moderations_overdue"])]  # fmt: skip
    cells.rest("sampled_otherwise", sampled, timely)  # moderated late, or not yet due
    cells.count("escalations_open", ALL, v["escalations_open"])
    cells.count("escalations_resolved", ALL, v["escalations_resolved"])


ACTION_COLUMNS = {
    "raised": ("Raised", "actions_raised"),
    "due": ("Due", "actions_due"),
    "actions_on_time": ("Completed on time", "actions_completed_on_time"),
    "actions_late": ("Completed late", "actions_completed_late"),
    "overdue": ("Overdue", "actions_overdue"),
    "completed_in_month": ("Completed in month", "actions_completed_in_month"),
    "signed_off": ("Signed off", "actions_signed_off"),
}


def _actions(cells: _Cells, metrics: Metrics) -> list[str]:
    services = _scopes(metrics.tables["actions_by_service"])
    scopes = [(s, {m: row[c] for m, (c, _) in ACTION_COLUMNS.items()}) for s, row in services]
    scopes.append((ALL, {m: metrics.values[k] for m, (_, k) in ACTION_COLUMNS.items()}))
    for scope, counts in scopes:
        for measure, value in counts.items():
            cells.count(measure, scope, value)
        cells.rest("not_completed", ("due", scope), [("actions_on_time", scope), ("actions_late", scope)])
        cells.rest("not_signed_off", ("completed_in_month", scope), [("signed_off", scope)])
    names = [s for s, _ in services]
    cells.across([*ACTION_COLUMNS, "not_completed", "not_signed_off"], names)
    return names


THEME_COLUMNS = ("This month", "Strengths", "Learning", "Recommendations", "12 months")
FOLLOWUP_COLUMNS = {"fu_n": "Follow-ups", "fu_improved": "Improved", "fu_same": "Same", "fu_worse": "Worse",
                    "fu_closed_first": "Actions closed first"}  # fmt: skip
MOVEMENT_KEYS = {"improved": "fu_improved", "same": "fu_same", "worse": "fu_worse", "not_known": "fu_not_known"}


def _followups(cells: _Cells, metrics: Metrics) -> list[str]:
    v, t = metrics.values, metrics.tables
    due = cells.count("fu_due", ALL, v["followups_due"])
    cells.rest("fu_not_completed", due, [cells.count("fu_completed", ALL, v["followups_completed"])])
    table = t["followup_by_service"]
    services = _scopes(table)
    every = table[table["Service"] == ALL].to_dict("records") or [dict.fromkeys(FOLLOWUP_COLUMNS.values())]
    scopes = [*services, (ALL, every[0])]
    for scope, row in scopes:
        for measure, column in FOLLOWUP_COLUMNS.items():
            cells.count(measure, scope, row[column])
        moved = [("fu_improved", scope), ("fu_same", scope), ("fu_worse", scope)]
        cells.rest("fu_not_known", ("fu_n", scope), moved)
        cells.total(("fu_compared", scope), moved)
    names = [s for s, _ in services]
    cells.across([*FOLLOWUP_COLUMNS, "fu_not_known", "fu_compared"], names)
    # Each section's movement over the same follow-ups; the overall grade's row is the ALL row above.
    for s in SECTION_KEYS:
        movement = v["followups_section_movement"][s]
        parts = [cells.count(measure, _section(s), movement[key]) for key, measure in MOVEMENT_KEYS.items()]
        cells.total(("fu_n", ALL), parts)
    return names


def _others(cells: _Cells, metrics: Metrics, themes: ThemeSummary | None) -> list[str]:
    v, t = metrics.values, metrics.tables
    alerts = t["alerts"]
    counted = alerts["Service"].map(lambda s: UNKNOWN if s is None or s != s else str(s)).value_counts()
    services = sorted(str(s) for s in counted.index)
    for service in services:
        cells.count("alerts", service, counted[service])
    cells.count("alerts", ALL, v["safeguarding_alerts"])
    cells.across(["alerts"], services)
    files = [cells.count(f"files_{o}", ALL, v[f"files_{o}"]) for o in FILE_OUTCOMES]
    cells.total(("files_seen", ALL), files)
    rules = [cells.count("warnings", _rule(rule), n) for rule, n in v["warnings_by_rule"].items()]
    cells.count("warnings", ALL, v["warnings"])
    if rules:
        cells.total(("warnings", ALL), rules)
    if themes is not None:
        for row in themes.table.to_dict("records"):
            for column in THEME_COLUMNS:
                cells.count(column, _theme(row["Theme"]), row[column])
        cells.count("org_learning", ALL, len(themes.org_learning))
    return services


def _trust(cells: _Cells, metrics: Metrics) -> list[str]:
    """Issue 20's counts: coverage by service (the committee tier's coverage table), overdue by more than 30 days,
    three-way meetings on unflagged cases, escalations resolved in the month, alerts waiting for QA."""
    v = metrics.values
    services = sorted(v["coverage_by_service"])
    for service in services:
        cells.count("cov_open", service, v["coverage_by_service"][service]["open_cases"])
        cells.count("cov_audited", service, v["coverage_by_service"][service]["audited"])
    cells.count("cov_open", ALL, v["coverage_open_cases"])
    cells.count("cov_audited", ALL, v["coverage_audited_cases"])
    for scope in [*services, ALL]:
        cells.rest("cov_not_audited", ("cov_open", scope), [("cov_audited", scope)])
    cells.across(["cov_open", "cov_audited", "cov_not_audited"], services)
    cells.count("overdue_30", ALL, v["actions_overdue_30"])
    cells.rest("overdue_up_to_30", ("overdue", ALL), [("overdue_30", ALL)])
    cells.count("twm_unflagged", ALL, v["three_way_meetings_unflagged"])
    cells.count("escalations_resolved_in_month", ALL, v["escalations_resolved_in_month"])
    cells.count("alerts_unacknowledged", ALL, v["alerts_unacknowledged"])
    return services


# ------------------------------------------------------------------------------------------------------------
# The committee figures: JSON values and tables
# ------------------------------------------------------------------------------------------------------------
@dataclass
class Committee:
    """A month's committee figures: ``values`` is ``metrics-YYYY-MM-committee.json``; ``tables`` are what the
    committee Word and Excel documents show (each by-service table with a last row for all services)."""

    month: str
    values: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def committee_metrics(metrics: Metrics) -> dict[str, Any]:
    """The committee JSON from the internal figures: the same keys less :data:`DROPPED`, every count from 1 to 4
    and every share of fewer than 5 as ``"c"`` (with secondary suppression), and ``suppression_note``."""
    return committee_figures(metrics).values


def committee_figures(metrics: Metrics, themes: ThemeSummary | None = None) -> Committee:
    """Every committee figure of the month, suppressed once, together (see the module's notes)."""
    cells = _Cells()
    scopes = {"audits": _audits(cells, metrics)}  # the services each by-service table has rows for
    _sections(cells, metrics.values)
    _moderation(cells, metrics.values)
    scopes["actions"] = _actions(cells, metrics)
    scopes["followups"] = _followups(cells, metrics)
    scopes["alerts"] = _others(cells, metrics, themes)
    scopes["coverage"] = _trust(cells, metrics)
    shown = suppress(cells.values, cells.relations)
    return Committee(
        month=metrics.month,
        values=_values(metrics, shown),
        tables=_tables(metrics, shown, scopes, themes),
    )


#: Each committee count key and its cell.
_COUNTS: dict[str, Key] = {
    "audits_allocated": ("allocated", ALL),
    "audits_exempt": ("exempt", ALL),
    "audits_unallocated": ("unallocated", ALL),
    "audits_accepted": ("accepted", ALL),
    "audits_completed": ("on_time", ALL),
    "audits_completed_late": ("late", ALL),
    "audits_outstanding": ("outstanding", ALL),
    "followups_due": ("fu_due", ALL),
    "followups_completed": ("fu_completed", ALL),
    "followups_compared": ("fu_compared", ALL),
    "followups_improved": ("fu_improved", ALL),
    "followups_same": ("fu_same", ALL),
    "followups_worse": ("fu_worse", ALL),
    "followups_actions_closed_first": ("fu_closed_first", ALL),
    "sw_participation_count": ("sw_part", ALL),
    "three_way_meetings_needed": ("twm_needed", ALL),
    "three_way_meetings_held": ("twm_held", ALL),
    "audits_graded": ("graded", ALL),
    "audits_moderated": ("moderated", ALL),
    "moderation_compared": ("compared", ALL),
    "grades_raised": ("grades_raised", ALL),
    "grades_lowered": ("grades_lowered", ALL),
    "section_grades_compared": ("section_pairs", ALL),
    "moderation_sampled": ("sampled", ALL),
    "moderations_on_time": ("moderated_on_time", ALL),
    "moderations_overdue": ("moderations_overdue", ALL),
    "escalations_open": ("escalations_open", ALL),
    "escalations_resolved": ("escalations_resolved", ALL),
    "escalations_resolved_in_month": ("escalations_resolved_in_month", ALL),
    "three_way_meetings_unflagged": ("twm_unflagged", ALL),
    "actions_overdue_30": ("overdue_30", ALL),
    "alerts_unacknowledged": ("alerts_unacknowledged", ALL),
    "coverage_open_cases": ("cov_open", ALL),
    "coverage_audited_cases": ("cov_audited", ALL),
    "safeguarding_alerts": ("alerts", ALL),
    "files_seen": ("files_seen", ALL),
    "warnings": ("warnings", ALL),
    **{f"files_{o}": (f"files_{o}", ALL) for o in FILE_OUTCOMES},
    **{key: (measure, ALL) for measure, (_, key) in ACTION_COLUMNS.items()},
}
#: Each committee share key: its numerator's and denominator's cells.
_SHARES: dict[str, tuple[Key, Key]] = {
    "completion_rate": (("on_time", ALL), ("allocated", ALL)),
    "followups_improved_rate": (("fu_improved", ALL), ("fu_compared", ALL)),
    "sw_participation_rate": (("sw_part", ALL), ("accepted", ALL)),
    "three_way_meeting_rate": (("twm_held", ALL), ("twm_needed", ALL)),
    "good_or_better_rate": (("gob", ALL), ("graded", ALL)),
    "good_or_better_ci_low": (("gob", ALL), ("graded", ALL)),
    "good_or_better_ci_high": (("gob", ALL), ("graded", ALL)),
    "ri_or_better_rate": (("rib", ALL), ("graded", ALL)),
    "inadequate_rate": (("Inadequate", ALL), ("graded", ALL)),
    "audits_moderated_rate": (("moderated", ALL), ("accepted", ALL)),
    "moderation_agreement_rate": (("agreed", ALL), ("compared", ALL)),
    "section_agreement_rate": (("section_pairs_agreed", ALL), ("section_pairs", ALL)),
    # Kappa is read from the moderated audits' section pairs: shown only where the agreement it measures is.
    "section_kappa": (("agreed", ALL), ("compared", ALL)),
    "action_completion_rate": (("actions_on_time", ALL), ("due", ALL)),
    "sm_oversight_rate": (("signed_off", ALL), ("completed_in_month", ALL)),
    "coverage_rate": (("cov_audited", ALL), ("cov_open", ALL)),
}
_AS_IS = ("month", "report_date", "generated_on", "targets", "provisional")


def _values(metrics: Metrics, shown: dict[Key, Cell]) -> dict[str, Any]:
    v = metrics.values
    out: dict[str, Any] = {}
    for key, value in v.items():
        if key in DROPPED:
            continue
        if key in _AS_IS:
            out[key] = value
        elif key in _COUNTS:
            out[key] = shown[_COUNTS[key]]
        elif key in _SHARES:
            numerator, denominator = _SHARES[key]
            out[key] = share(value, shown[numerator], shown[denominator])
        elif key in _NESTED:
            out[key] = _NESTED[key](metrics, shown)
        elif key in _LATER:
            out[key] = None  # its place in the order; set below, once every share is known
    if "action_rag" in out:  # the RAG says where the completion rate lies: hidden with it
        out["action_rag"] = C if out.get("action_completion_rate") == C else v["action_rag"]
    if "targets_status" in out:  # whether a target is met says where its rate lies: hidden with it
        out["targets_status"] = {k: C if out.get(k) == C else s for k, s in v["targets_status"].items()}
    if "small_numbers" in out:  # the shares shown as c, whatever the reason
        out["small_numbers"] = sorted(k for k in _SHARES if out.get(k) == C)
    out["suppression_note"] = SUPPRESSION_NOTE
    return out


def _grade_counts(shown: dict[Key, Cell], scope: str) -> dict[str, Cell]:
    return {g: shown[(g, scope)] for g in GRADE_NAMES}


def _by_service_rates(metrics: Metrics, shown: dict[Key, Cell]) -> dict[str, Any]:
    rates = metrics.values["followups_improved_rate_by_service"]
    return {s: share(r, shown[("fu_improved", s)], shown[("fu_compared", s)]) for s, r in rates.items()}


def _movement(metrics: Metrics, shown: dict[Key, Cell]) -> dict[str, dict[str, Cell]]:
    scopes = {"overall": ALL, **{s: _section(s) for s in SECTION_KEYS}}
    return {key: {k: shown[(m, scope)] for k, m in MOVEMENT_KEYS.items()} for key, scope in scopes.items()}


_NESTED: dict[str, Callable[[Metrics, dict[Key, Cell]], Any]] = {
    "overall_grade_counts": lambda m, shown: _grade_counts(shown, ALL),
    "overall_grade_counts_as_audited": lambda m, shown: _grade_counts(shown, AS_AUDITED),
    "section_grade_counts": lambda m, shown: {
        s: {g: shown[(f"{s} {g}", FINAL)] for g in GRADE_NAMES} for s in SECTION_KEYS
    },
    "section_grade_counts_as_audited": lambda m, shown: {
        s: {g: shown[(f"{s} {g}", AS_AUDITED)] for g in GRADE_NAMES} for s in SECTION_KEYS
    },
    "followups_section_movement": _movement,
    "followups_improved_rate_by_service": _by_service_rates,
    "coverage_by_service": lambda m, shown: {
        s: {
            "open_cases": shown[("cov_open", s)],
            "audited": shown[("cov_audited", s)],
            "coverage_rate": share(r["coverage_rate"], shown[("cov_audited", s)], shown[("cov_open", s)]),
        }
        for s, r in m.values["coverage_by_service"].items()
    },
    "warnings_by_rule": lambda m, shown: {
        rule: shown[("warnings", _rule(rule))] for rule in m.values["warnings_by_rule"]
    },
}
_LATER = ("action_rag", "targets_status", "small_numbers")

#: The keys of ``metrics-YYYY-MM-committee.json`` (docs/reference/metrics-json.md lists the same).
COMMITTEE_KEYS: tuple[str, ...] = (
    *(
        k
        for k in JSON_KEYS
        if k not in DROPPED and any(k in known for known in (_AS_IS, _COUNTS, _SHARES, _NESTED, _LATER))
    ),
    "suppression_note",
)


def _tables(
    metrics: Metrics, shown: dict[Key, Cell], scopes: dict[str, list[str]], themes: ThemeSummary | None
) -> dict[str, pd.DataFrame]:
    """The committee documents' tables: each by-service table has a last row for all services."""
    t = metrics.tables
    titles = dict(zip(t["sections"]["Section"], t["sections"]["Title"], strict=True))
    trend = [_audit_row(shown, ALL if m == metrics.month else _trend(m), Month=m) for m in t["trend"]["Month"]]
    tables = {
        "compliance": _by_service(scopes["audits"], lambda s: _compliance_row(shown, s)),
        "grades": _by_service(scopes["audits"], lambda s: _grades_row(shown, s)),
        "sections": pd.DataFrame.from_records([_section_row(shown, s, titles.get(s, s)) for s in SECTION_KEYS]),
        "trend": pd.DataFrame.from_records(trend),
        "actions": _by_service(scopes["actions"], lambda s: _actions_row(shown, s)),
        "followups": _by_service(scopes["followups"], lambda s: _followups_row(shown, s)),
        "followup_sections": _movement_table(_movement(metrics, shown), {"overall": "Overall grade", **titles}),
        "alerts": _by_service(scopes["alerts"], lambda s: {"Service": s, "Safeguarding alerts": shown[("alerts", s)]}),
        "files": pd.DataFrame({"Outcome": FILE_OUTCOMES, "Files": [shown[(f"files_{o}", ALL)] for o in FILE_OUTCOMES]}),
        # Issue 20: coverage of the open caseload by service (suppressed like every committee figure).
        "coverage": _by_service(
            scopes["coverage"],
            lambda s: {
                "Service": s,
                "Open cases": shown[("cov_open", s)],
                "Audited in 12 months": shown[("cov_audited", s)],
                "Coverage": _rate_of(shown, ("cov_audited", s), ("cov_open", s)),
            },
        ),
    }
    if themes is not None:
        names: list[str] = list(themes.table["Theme"]) if len(themes.table) else []
        tables["themes"] = pd.DataFrame.from_records(
            [{"Theme": name, **{c: shown[(c, _theme(name))] for c in THEME_COLUMNS}} for name in names],
            columns=["Theme", *THEME_COLUMNS],
        )
        tables["org_learning"] = pd.DataFrame({"Organisational learning points": [shown[("org_learning", ALL)]]})
    return tables


def _by_service(services: list[str], row: Callable[[str], dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records([row(s) for s in [*services, ALL]])


def _movement_table(movement: dict[str, dict[str, Cell]], titles: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [{"Section": titles.get(key, key), **{k.replace("_", " ").capitalize(): n for k, n in moved.items()}}
         for key, moved in movement.items()]
    )  # fmt: skip


def _compliance_row(shown: dict[Key, Cell], s: str) -> dict[str, Any]:
    counts = {title: shown[(m, s)] for m, title in AUDIT_COLUMNS.items() if m not in GRADE_NAMES}
    return {"Service": s, **counts, "Completion rate": _rate_of(shown, ("on_time", s), ("allocated", s))}


def _grades_row(shown: dict[Key, Cell], s: str) -> dict[str, Any]:
    return {
        "Service": s,
        **_grade_counts(shown, s),
        "Graded": shown[("graded", s)],
        "Good or better": _rate_of(shown, ("gob", s), ("graded", s)),
        "Inadequate share": _rate_of(shown, ("Inadequate", s), ("graded", s)),
    }


def _audit_row(shown: dict[Key, Cell], scope: str, **first: str) -> dict[str, Any]:
    """A trend month's compliance and grades in one row."""
    row = {**first, **_compliance_row(shown, scope), **_grades_row(shown, scope)}
    del row["Service"]
    return row


def _section_row(shown: dict[Key, Cell], s: str, title: str) -> dict[str, Any]:
    return {
        "Section": s,
        "Title": title,
        **{g: shown[(f"{s} {g}", FINAL)] for g in GRADE_NAMES},
        "Graded": shown[(f"{s} graded", FINAL)],
        "Good or better": _rate_of(shown, (f"{s} gob", FINAL), (f"{s} graded", FINAL)),
    }


def _actions_row(shown: dict[Key, Cell], s: str) -> dict[str, Any]:
    return {
        "Service": s,
        **{title: shown[(m, s)] for m, (title, _) in ACTION_COLUMNS.items()},
        "Completion rate": _rate_of(shown, ("actions_on_time", s), ("due", s)),
        "Oversight rate": _rate_of(shown, ("signed_off", s), ("completed_in_month", s)),
    }


def _followups_row(shown: dict[Key, Cell], s: str) -> dict[str, Any]:
    return {
        "Service": s,
        **{title: shown[(m, s)] for m, title in FOLLOWUP_COLUMNS.items()},
        "Share improved": _rate_of(shown, ("fu_improved", s), ("fu_compared", s)),
    }


def _rate_of(shown: dict[Key, Cell], numerator: Key, denominator: Key) -> float | str | None:
    return shown_share(shown[numerator], shown[denominator])


def shown_share(numerator: Cell, denominator: Cell) -> float | str | None:
    """A share worked out from two committee counts (whole numbers, so it is exact), shown by :func:`share`."""
    if denominator == 0:
        return None
    if numerator == C or denominator == C:
        return C
    return share(int(numerator) / int(denominator), numerator, denominator)
