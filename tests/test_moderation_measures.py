"""Moderation measures over small readable tables, and weighted kappa against a hand-computed example."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from caseaudit_batch.moderation import measures as mm

G, RI, INAD, OUT = "Good", "Requires Improvement", "Inadequate", "Outstanding"


def test_quadratic_kappa_matches_the_hand_computed_example() -> None:
    # Categories in order O, G, RI, I (indices 0-3). Auditor: G G RI I -> 1 1 2 3; moderator: G RI RI I -> 1 2 2 3.
    # Observed disagreement: one pair one step apart: (1)^2 x 1/4 = 0.25.
    # Marginals: auditor p1=.5 p2=.25 p3=.25; moderator q1=.25 q2=.5 q3=.25.
    # Chance disagreement sum p_i q_j (i-j)^2:
    #   i=1: .5x.5x1 + .5x.25x4 = .75;  i=2: .25x.25x1 + .25x.25x1 = .125;  i=3: .25x.25x4 + .25x.5x1 = .375
    #   total 1.25, so kappa = 1 - .25 / 1.25 = 0.8.
    assert mm.weighted_kappa([G, G, RI, INAD], [G, RI, RI, INAD]) == pytest.approx(0.8)
    # Linear weights |i-j|: observed .25, chance .5 + .125 + .25 = .875, kappa = 1 - .25/.875.
    assert mm.weighted_kappa([G, G, RI, INAD], [G, RI, RI, INAD], weights="linear") == pytest.approx(1 - 0.25 / 0.875)


def test_kappa_edges() -> None:
    assert mm.weighted_kappa([G, RI, INAD], [G, RI, INAD]) == pytest.approx(1.0)
    assert mm.weighted_kappa([], []) is None
    assert mm.weighted_kappa([G, G], [G, G]) is None  # no chance disagreement: kappa is undefined
    # Complete reversal of two categories gives a negative kappa.
    assert mm.weighted_kappa([OUT, INAD], [INAD, OUT]) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        mm.weighted_kappa([G], [])


def frames() -> dict[str, pd.DataFrame]:
    audits = pd.DataFrame(
        [
            # id, audit_id, month, overall, current, auditor_service
            (1, "A1", "2026-09", G, True, "CIN"),
            (2, "A2", "2026-09", G, True, "CIN"),
            (3, "A3", "2026-09", RI, True, "LAC"),
            (4, "A4", "2026-09", INAD, True, "LAC"),
            (5, "A5", "2026-08", G, True, "LAC"),  # another month
        ],
        columns=["id", "audit_id", "month", "overall_grade", "current", "auditor_service"],
    )
    moderations = pd.DataFrame(
        [
            # id, audit_id, audit_row_id, overall, current, accepted_at
            (10, "A1", 1, G, False, "2026-09-20T10:00:00+01:00"),  # superseded version: ignored in the measures
            (11, "A1", 1, RI, True, "2026-09-22T10:00:00+01:00"),  # lowered
            (12, "A2", 2, G, True, "2026-09-30T10:00:00+01:00"),  # agreed, late
            (13, "A3", 3, G, True, "2026-09-18T10:00:00+01:00"),  # raised
        ],
        columns=["id", "audit_id", "audit_row_id", "overall_grade", "current", "accepted_at"],
    )
    grades = []
    auditor = {1: [G, G, G], 2: [G, G, RI], 3: [RI, RI, INAD]}
    moderator = {11: (1, [G, RI, RI]), 12: (2, [G, G, RI]), 13: (3, [G, RI, RI])}
    for row_id, gs in auditor.items():
        grades += [(row_id, n, g, "auditor", None) for n, g in enumerate(gs, start=1)]
    for mod_id, (row_id, gs) in moderator.items():
        grades += [(row_id, n, g, "moderator", mod_id) for n, g in enumerate(gs, start=1)]
    grades += [(1, 1, OUT, "moderator", 10)]  # from the superseded moderation
    section_grades = pd.DataFrame(grades, columns=["audit_row_id", "section", "grade", "source", "moderation_row_id"])
    sample = pd.DataFrame(
        [
            ("2026-09", "A1", "sampled", date(2026, 9, 25), "2026-09-11T09:00:00+01:00"),
            ("2026-09", "A2", "sampled", date(2026, 9, 25), "2026-09-11T09:00:00+01:00"),
            ("2026-09", "A3", "sampled", date(2026, 9, 25), "2026-09-11T09:00:00+01:00"),
            ("2026-09", "A4", "sampled", date(2026, 9, 25), "2026-09-11T09:00:00+01:00"),  # overdue
            ("2026-09", "A5", "removed", date(2026, 9, 25), "2026-09-11T09:00:00+01:00"),
        ],
        columns=["month", "audit_id", "status", "due_date", "created_at"],
    )
    escalations = pd.DataFrame(
        [
            (
                "ESC-0001",
                "A1",
                "grade",
                "Resolved",
                "Inadequate",
                "2026-09-25T09:00:00+01:00",
                "2026-10-01T09:00:00+01:00",
            ),
            ("ESC-0002", "A3", "actions", "Open", None, "2026-09-26T09:00:00+01:00", None),
        ],
        columns=["escalation_id", "audit_id", "kind", "status", "grade", "created_at", "resolved_at"],
    )
    return {
        "audits": audits,
        "moderations": moderations,
        "section_grades": section_grades,
        "sample": sample,
        "escalations": escalations,
    }


def test_pairs_agreement_raised_and_lowered() -> None:
    f = frames()
    pairs = mm.moderated_pairs(f["audits"], f["moderations"], "2026-09")
    assert list(pairs["audit_id"]) == ["A1", "A2", "A3"]
    assert list(pairs["direction"]) == ["lowered", "same", "raised"]
    assert list(pairs["difference"]) == [1, 0, -1]


def test_month_metrics() -> None:
    f = frames()
    m = mm.moderation_metrics(**f, month="2026-09", as_of=date(2026, 9, 30))
    assert m["audits_sampled"] == 4
    assert m["audits_moderated"] == 3
    assert m["moderation_share"] == pytest.approx(3 / 4)
    assert m["moderation_agreement_rate"] == pytest.approx(1 / 3)  # the later HoS grade does not change it
    assert m["grades_raised"] == 1 and m["grades_lowered"] == 1
    # Sections: A1 G/G G/RI G/RI... compare: (G,G) (G,RI) (G,RI) | (G,G) (G,G) (RI,RI) | (RI,G) (RI,RI) (INAD,RI)
    assert m["section_grades_compared"] == 9
    assert m["section_agreement_rate"] == pytest.approx(5 / 9)
    auditor = [G, G, G, G, G, RI, RI, RI, INAD]
    moderator = [G, RI, RI, G, G, RI, G, RI, RI]
    assert m["section_kappa_quadratic"] == pytest.approx(mm.weighted_kappa(auditor, moderator))
    # Open at D (issue 22): ESC-0002, and ESC-0001 too (resolved on 1 October, after D); resolved now: ESC-0001.
    assert m["escalations_open"] == 2 and m["escalations_resolved"] == 1
    assert mm.moderation_metrics(**f, month="2026-09", as_of=date(2026, 10, 1))["escalations_open"] == 1
    # Timeliness: A1 first returned 20th (on time), A2 30th (late), A3 18th (on time), A4 overdue.
    assert m["moderations_requested"] == 4
    assert m["moderations_returned"] == 3
    assert m["moderations_returned_on_time"] == 2
    assert m["moderations_returned_late"] == 1
    assert m["moderations_overdue"] == 1
    assert m["moderation_on_time_rate"] == pytest.approx(2 / 4)
    assert m["moderation_mean_days_to_return"] == pytest.approx((9 + 19 + 7) / 3)


def test_empty_month_gives_nulls_not_errors() -> None:
    f = frames()
    m = mm.moderation_metrics(**f, month="2026-01", as_of=date(2026, 1, 31))
    assert m["audits_moderated"] == 0
    assert m["moderation_share"] is None
    assert m["moderation_agreement_rate"] is None
    assert m["section_kappa_quadratic"] is None
    assert m["moderation_on_time_rate"] is None


def test_service_differences_show_who_grades_generously() -> None:
    f = frames()
    pairs = mm.moderated_pairs(f["audits"], f["moderations"], "2026-09")
    sections = mm.section_pairs(f["section_grades"], f["moderations"], f["audits"])
    table = mm.service_differences(pairs, sections).set_index("auditor_service")
    assert table.loc["CIN", "audits_moderated"] == 2
    assert table.loc["CIN", "mean_difference"] == pytest.approx(0.5)  # A1 lowered by one, A2 agreed
    assert table.loc["LAC", "mean_difference"] == pytest.approx(-1.0)  # A3 raised by one
    # CIN sections: differences 0 1 1 0 0 0 -> 2/6; LAC sections: -1 0 -1 -> -2/3.
    assert table.loc["CIN", "mean_section_difference"] == pytest.approx(2 / 6)
    assert table.loc["LAC", "mean_section_difference"] == pytest.approx(-2 / 3)


def test_final_grades_keep_both_and_prefer_the_head_of_service() -> None:
    f = frames()
    final = mm.final_grades(f["audits"], f["moderations"], f["escalations"]).set_index("audit_id")
    assert final.loc["A1", "auditor_grade"] == G
    assert final.loc["A1", "moderator_grade"] == RI
    assert final.loc["A1", "final_grade"] == INAD and final.loc["A1", "final_source"] == "head_of_service"
    assert final.loc["A3", "final_grade"] == G and final.loc["A3", "final_source"] == "moderation"
    assert final.loc["A4", "final_grade"] == INAD and final.loc["A4", "final_source"] == "auditor"


def test_timeliness_counts_a_form_returned_after_the_report_date() -> None:
    # Reports issue: every figure uses everything in the register when the command runs. A2 came back on the 30th,
    # after D (the 21st): it counts as returned, not overdue; A4 (due the 25th) is overdue only from the 26th.
    f = frames()
    t = mm.timeliness(f["sample"], f["moderations"], date(2026, 9, 21))
    assert (t["moderations_requested"], t["moderations_returned"], t["moderations_overdue"]) == (4, 3, 0)
    t = mm.timeliness(f["sample"], f["moderations"], date(2026, 9, 26))
    assert (t["moderations_returned_on_time"], t["moderations_overdue"]) == (2, 1)


def test_timeliness_before_any_form_is_returned_and_by_another_date() -> None:
    f = frames()
    nothing = mm.timeliness(f["sample"], f["moderations"].iloc[0:0], date(2026, 9, 30))
    assert (nothing["moderations_returned"], nothing["moderations_overdue"]) == (0, 4)
    # The reports judge by the moderation date the moderator gave (A2 dated the 24th: on time).
    dated = f["moderations"].assign(moderation_date=["2026-09-19", "2026-09-21", "2026-09-24", "2026-09-18"])
    t = mm.timeliness(f["sample"], dated, date(2026, 9, 30), returned_on="moderation_date")
    assert (t["moderations_returned_on_time"], t["moderations_returned_late"]) == (3, 0)


def test_agreement_counts_only_pairs_with_both_grades() -> None:
    f = frames()
    audits = f["audits"].assign(overall_grade=[G, None, RI, INAD, G])  # A2's overall grade unknown
    pairs = mm.moderated_pairs(audits, f["moderations"], "2026-09")
    figures = mm.agreement_figures(pairs, pd.DataFrame(columns=mm.SECTION_PAIR_COLUMNS), accepted=4)
    assert (figures["audits_moderated"], figures["moderation_compared"]) == (3, 2)
    assert figures["moderation_agreement_rate"] == 0.0  # A1 lowered, A3 raised
    assert figures["section_kappa_quadratic"] is None and figures["section_agreement_rate"] is None


def test_final_grade_takes_the_first_known() -> None:
    hos = pd.Series([None, None, INAD])
    moderator = pd.Series([None, RI, RI])
    auditor = pd.Series([G, G, G])
    assert mm.final_grade(hos, moderator, auditor).tolist() == [G, RI, INAD]
    assert mm.final_grade(pd.Series([None]), pd.Series([None])).tolist() == [None]
