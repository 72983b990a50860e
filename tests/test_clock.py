from __future__ import annotations

from datetime import date, datetime

import pytest

from caseaudit_batch.core.clock import LONDON, Clock, Month, is_bank_holiday, working_day_on_or_before
from caseaudit_batch.core.errors import ConfigError


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 8, 25),  # summer bank holiday: England only (needs subdiv ENG)
        date(2023, 5, 8),  # coronation of King Charles III
        date(2022, 12, 27),  # substitute day: Christmas 2022 fell on a Sunday
        date(2026, 12, 28),  # substitute day: Boxing Day 2026 falls on a Saturday
        date(2026, 4, 3),  # Good Friday
    ],
)
def test_awkward_bank_holidays(day: date) -> None:
    assert is_bank_holiday(day)


def test_st_andrews_day_is_not_an_english_bank_holiday() -> None:
    assert not is_bank_holiday(date(2025, 12, 1))


def test_working_day_moves_back_over_weekends_and_holidays() -> None:
    assert working_day_on_or_before(date(2025, 8, 25)) == date(2025, 8, 22)  # Monday holiday -> Friday
    assert working_day_on_or_before(date(2026, 11, 22)) == date(2026, 11, 20)  # Sunday -> Friday
    assert working_day_on_or_before(date(2026, 11, 24)) == date(2026, 11, 24)


def test_months() -> None:
    m = Month.parse("2026-02")
    assert (m.first_day, m.last_day) == (date(2026, 2, 1), date(2026, 2, 28))
    assert str(m.shift(-2)) == "2025-12" and str(m.shift(11)) == "2027-01"
    assert m.label == "February 2026"


@pytest.mark.parametrize("bad", ["2026-13", "2026-9", "Sept", "", "2026-09-01"])
def test_bad_months_are_usage_errors(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        Month.parse(bad)
    assert info.value.code == "CFG020" and info.value.exit_code == 2


def test_report_date() -> None:
    clock = Clock(date(2026, 9, 15))
    assert clock.report_date(Month(2026, 9)) == date(2026, 9, 15)  # the current month: today
    assert clock.report_date(Month(2026, 8)) == date(2026, 8, 31)  # an earlier month: its last day
    assert clock.report_date(Month(2026, 8), date(2026, 9, 10)) == date(2026, 9, 10)
    assert clock.timestamp().startswith("20260915-")


def test_now_iso_is_the_london_time_to_the_second_on_the_programs_date() -> None:
    """Made once a second (issue 25): the same stamp as working it out afresh, for each date asked, with that date's
    London offset."""
    for day in (date(2026, 1, 15), date(2026, 7, 15), date(2026, 1, 15)):
        for _ in range(5):  # a second may tick over between the two readings: then read both again
            before = datetime.now(LONDON).replace(microsecond=0)
            stamp = Clock(day).now_iso()
            if datetime.now(LONDON).replace(microsecond=0) == before:
                break
        expected = datetime.combine(day, before.time(), tzinfo=LONDON).isoformat()
        assert stamp == expected
        assert stamp.endswith("+00:00" if day.month == 1 else "+01:00")
