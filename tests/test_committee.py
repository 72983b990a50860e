"""The committee tier (issue 19): suppression worked by hand, the committee JSON, and the committee files scanned for
case references, staff names and quotations."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date
from typing import Any
from xml.etree import ElementTree

import pandas as pd
import pytest
from test_metrics import (
    ACTIONS,
    ALERTS,
    ALLOCATIONS,
    AUDITS,
    MODERATIONS,
    NOTES,
    SECTION_GRADES,
    STAFF,
    D,
    month_data,
)
from test_reports import HOSTILE_STRENGTH, TEMPLATE, _data

from caseaudit_batch.core.config import TEMPLATES_DIR, load_config
from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.reports import build, committee, themes
from caseaudit_batch.reports.committee import C, Relation, primary, share, suppress, suppress_table
from caseaudit_batch.reports.json_keys import JSON_KEYS
from caseaudit_batch.reports.metrics import compute_metrics
from caseaudit_batch.reports.stage import report_tiers
from caseaudit_batch.reports.targets import Targets

COMMITTEE_FILES = [
    "Monthly-Case-File-Audit-Report-2026-09-committee.docx",
    "caseaudit-report-2026-09-committee.xlsx",
    "metrics-2026-09-committee.json",
]


# --------------------------------------------------------------------------------------------------------------
# Suppression, by hand
# --------------------------------------------------------------------------------------------------------------
def test_primary_suppression_hides_1_to_4_and_keeps_0() -> None:
    assert [primary(n) for n in range(7)] == [0, C, C, C, C, 5, 6]
    assert share(0.5, 3, 6) == 0.5
    assert share(0.75, 3, 4) == C  # a denominator under 5
    assert share(0.5, C, 10) == C and share(0.5, 5, C) == C  # a shown share of a shown total gives a c back
    assert share(None, 0, 0) is None  # nothing to count stays null


def test_secondary_suppression_holds_on_a_hand_worked_table() -> None:
    """Final grades by service, totals added. By hand: North's 3 Requires Improvement is a c (primary). North's row
    (total 33 shown) then has one c: its next smallest cell, Inadequate 10, goes too. The Requires Improvement
    column (total 20) has one c: its next smallest, West's 8. The Inadequate column (total 28) has one c: West's 6.
    Now every row and column with a c has two: nothing more changes."""
    #        Good  RI  Inadequate
    body = [
        [20, 3, 10],  # North
        [15, 9, 12],  # South
        [11, 8, 6],  # West
    ]
    assert suppress_table(body) == [
        [20, C, C, 33],
        [15, 9, 12, 36],
        [11, C, C, 25],
        [46, 20, 28, 94],
    ]


def test_secondary_suppression_goes_on_until_nothing_changes() -> None:
    """By hand, rows before columns, again until a pass changes nothing:
    pass 1: North RI 3 (primary); North's row -> its Inadequate 6; RI column -> West 6; Inadequate column -> South 7
    (West's 0 stays: a zero identifies nobody). Pass 2: South's row has one c -> its RI 8; West's row -> its Good 10;
    the Good column then has one c -> South's 9. Pass 3 changes nothing."""
    body = [
        [12, 3, 6],  # North
        [9, 8, 7],  # South
        [10, 6, 0],  # West
    ]
    assert suppress_table(body) == [
        [12, C, C, 21],
        [C, C, C, 24],
        [C, C, 0, 16],
        [31, 17, 13, 61],
    ]


def test_a_small_total_is_hidden_and_the_totals_column_protects_it() -> None:
    """By hand: South's 3 and its total 3 are c, and North's 4 (primary). Pass 1: North's row (total 9) has one c:
    its 5 goes. Column B (total 11) has one c: West's 7 (South's 0 stays). The totals column (grand total 25) has one
    c, South's 3: North's 9 goes. Pass 2: West's row (total 13) has one c: its 6 goes. Pass 3 changes nothing."""
    #        A  B
    body = [
        [5, 4],  # North
        [3, 0],  # South
        [6, 7],  # West
    ]
    assert suppress_table(body) == [
        [C, C, C],
        [C, 0, C],
        [C, C, 13],
        [14, 11, 25],
    ]


def test_when_only_zeros_are_left_the_total_is_hidden() -> None:
    # u = a + d hides a (7) to protect d (3). Then t = a + b has one c and only a zero left: t itself would give
    # a away, so t goes.
    relations = [Relation("t", ("a", "b")), Relation("u", ("a", "d"))]
    shown = suppress({"t": 7, "a": 7, "b": 0, "u": 10, "d": 3}, relations)
    assert shown == {"t": C, "a": C, "b": 0, "u": 10, "d": C}


# --------------------------------------------------------------------------------------------------------------
# The committee JSON
# --------------------------------------------------------------------------------------------------------------
def _numbers(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _numbers(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _numbers(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def _scaled(k: int):  # type: ignore[no-untyped-def]
    """The hand-worked month k times over (k copies of every case, audit and action): figures large enough to show."""
    from caseaudit_batch.reports.data import RegisterData

    def copies(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
        out = []
        for n in range(k):
            for row in rows:
                out.append({**row, **{key: f"{row[key]}-{n}" for key in keys if row.get(key) is not None}})
        return out

    audits = [{**row, "row_id": row["row_id"] * 100 + n, "audit_id": f"{row['audit_id']}-{n}"}
              for n in range(k) for row in AUDITS]  # fmt: skip
    grades = [(row_id * 100 + n, section, grade) for n in range(k) for row_id, section, grade in SECTION_GRADES]
    return RegisterData.build(
        month_data().month,
        staff=STAFF,
        allocations=copies(ALLOCATIONS, "audit_id", "case_ref"),
        audits=audits,
        section_grades=grades,
        moderations=copies(MODERATIONS, "audit_id"),
        # Issue 20: the three-way flags follow their audits' copies.
        notes=[
            (month, kind, staff, detail, f"{rest[0]}-{n}")
            for n in range(k)
            for month, kind, staff, detail, *rest in NOTES
            if kind == "three_way"
        ],
        actions=copies(ACTIONS, "action_id", "audit_id"),
        alerts=[(f"{a}-{n}", m, t) for n in range(k) for a, m, t in ALERTS],
    )


@pytest.fixture(scope="module")
def internal():  # type: ignore[no-untyped-def]
    return compute_metrics(month_data(), report_date=D, framework=load_framework(), generated_on=date(2026, 10, 5))


def test_the_committee_json_holds_no_count_from_1_to_4(internal) -> None:
    for metrics in (internal, compute_metrics(_scaled(3), report_date=D, framework=load_framework())):
        values = json.loads(json.dumps(committee.committee_metrics(metrics)))
        small = [(path, n) for path, n in _numbers(values) if isinstance(n, int) and 1 <= n <= 4]
        assert not small, small
        for key in ("completion_rate", "three_way_meeting_rate", "moderation_agreement_rate"):
            assert values[key] == C or isinstance(values[key], float)


def test_the_hand_worked_month_in_the_committee_json(internal) -> None:
    values = committee.committee_metrics(internal)
    # 6 allocated: 4 on time, 1 late, 1 outstanding: every part is a c, the total of 6 is shown.
    assert values["audits_allocated"] == 6
    assert [values[k] for k in ("audits_completed", "audits_completed_late", "audits_outstanding")] == [C, C, C]
    assert values["completion_rate"] == C  # 4 of 6: its numerator is a c
    # Graded 5: Outstanding 0 stays 0; Good 3, Requires Improvement 1 and Inadequate 1 are c.
    assert values["audits_graded"] == 5
    assert values["overall_grade_counts"] == {"Outstanding": 0, "Good": C, "Requires Improvement": C, "Inadequate": C}
    assert values["good_or_better_rate"] == C and values["good_or_better_ci_low"] == C
    assert values["action_rag"] == C  # the RAG would say where the hidden completion rate lies
    assert values["targets"] == internal.values["targets"] and values["month"] == "2026-09"
    assert "c" in values["suppression_note"] and "1 to 4" in values["suppression_note"]


def test_what_the_committee_json_shows_is_the_internal_figure() -> None:
    metrics = compute_metrics(_scaled(5), report_date=D, framework=load_framework())
    values = committee.committee_metrics(metrics)
    shown = 0

    def same(ours: Any, theirs: Any, path: str) -> None:
        nonlocal shown
        if isinstance(ours, dict):
            for key, value in ours.items():
                same(value, theirs[key], f"{path}.{key}")
        elif ours != C and not isinstance(ours, list):
            assert ours == theirs, path
            shown += 1

    same({k: v for k, v in values.items() if k != "suppression_note"}, metrics.values, "")
    assert shown > 100  # five times the hand-worked month: most figures are shown
    assert values["audits_allocated"] == 30 and values["audits_completed"] == 20
    assert values["good_or_better_rate"] == pytest.approx(0.6)


def test_the_committee_json_has_the_internal_keys_less_the_dropped(internal) -> None:
    values = committee.committee_metrics(internal)
    assert set(values) == set(committee.COMMITTEE_KEYS) and list(values)[-1] == "suppression_note"
    # Every internal key has a committee form, or is left out on purpose: a new key needs a decision.
    assert set(JSON_KEYS) == (set(committee.COMMITTEE_KEYS) - {"suppression_note"}) | committee.DROPPED
    assert set(internal.values) - committee.DROPPED == set(values) - {"suppression_note"}


# --------------------------------------------------------------------------------------------------------------
# The committee files
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def made() -> build.MonthReports:
    return build.build_month_reports(
        _data(),
        report_date=D,
        targets=Targets(),
        framework=load_framework(),
        taxonomy=themes.load_taxonomy(TEMPLATES_DIR / "themes.toml"),
        template=TEMPLATE,
        organisation="Testshire Council",
        generated_on=date(2026, 10, 5),
        tiers=("committee",),
    )


def _all_text(name: str, blob: bytes) -> str:
    """All the text of every XML part of a .docx or .xlsx (document, headers, sheets, shared strings, properties):
    each element's text and every attribute's value (alt text is one), unescaped; or the JSON."""
    if name.endswith(".json"):
        return blob.decode("utf-8")
    parts = []
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        for member in z.namelist():
            if member.endswith((".xml", ".rels")):
                for element in ElementTree.fromstring(z.read(member)).iter():
                    parts += [element.text or "", element.tail or "", *element.attrib.values()]
    return "\n".join(parts)


def test_committee_files_hold_no_case_reference_staff_name_or_quote(made) -> None:
    assert sorted(made.files) == sorted(COMMITTEE_FILES)  # --tier committee alone: no internal file
    data = _data()
    names = {str(n) for n in data.staff["name"]} | {"Tom Tate"}  # and the team manager on the actions
    texts = {str(t) for col in ("strengths", "learning", "recommendations", "org_learning") for t in data.audits[col]}
    quotes = {t for t in texts if t} | {HOSTILE_STRENGTH, "Interpreters are hard", "zebras", "HYPERLINK"}
    teams = {str(t) for t in data.allocations["team"]}
    for name, blob in made.files.items():
        text = _all_text(name, blob)
        assert not re.findall(r"\bC00\d\b", text), name  # case references
        assert "AUD-" not in text, name  # audit IDs
        for found in names | quotes | teams:
            assert found not in text, (name, found)
        assert "shown as c" in text, name  # the note explaining c


def test_committee_documents_show_services_and_the_same_figures_as_the_json(made) -> None:
    from openpyxl import load_workbook

    values = json.loads(made.files["metrics-2026-09-committee.json"])
    wb = load_workbook(io.BytesIO(made.files["caseaudit-report-2026-09-committee.xlsx"]))
    grades = wb["Services"].tables["GradesByService"]
    ws = wb["Services"]
    rows = [[c.value for c in row] for row in ws[grades.ref]]
    header, body = rows[0], rows[1:]
    assert [r[0] for r in body] == ["North", "South", "All services"]  # by service only, no team rows
    every = dict(zip(header, body[-1], strict=True))
    assert {g: every[g] for g in values["overall_grade_counts"]} == values["overall_grade_counts"]
    assert every["Graded"] == values["audits_graded"] == 5
    word = _all_text("x.docx", made.files["Monthly-Case-File-Audit-Report-2026-09-committee.docx"])
    assert "committee version" in word and "OFFICIAL:" in word and "OFFICIAL-SENSITIVE" not in word
    docx = zipfile.ZipFile(io.BytesIO(made.files["Monthly-Case-File-Audit-Report-2026-09-committee.docx"]))
    assert b"<wp:docPr" not in docx.read("word/document.xml")  # no charts: a bar's length would show a number


def test_committee_tier_from_the_config(workspace) -> None:  # type: ignore[no-untyped-def]
    path = workspace / "caseaudit.toml"
    config = load_config(path)
    assert config.reports.committee is False
    assert report_tiers(config) == ("internal",)
    assert report_tiers(config, "committee") == ("committee",)
    path.write_text(path.read_text("utf-8").replace("committee = false", "committee = true"), "utf-8")
    config = load_config(path)
    assert report_tiers(config) == ("internal", "committee")  # both tiers every time
    assert report_tiers(config, "committee") == ("committee",)


def test_a_service_pack_sized_month_still_suppresses(internal) -> None:
    """One service's figures (as small as a pack's): the same rules hold."""
    data = month_data()
    south = compute_metrics(data.for_service("South"), report_date=D, framework=load_framework())
    values = committee.committee_metrics(south)
    assert not [n for _, n in _numbers(values) if isinstance(n, int) and 1 <= n <= 4]
    frame = committee.committee_figures(south).tables["compliance"]
    assert isinstance(frame, pd.DataFrame) and frame["Service"].tolist() == ["South", "All services"]
