"""The program's one clock: the date (``--today``), months, London time stamps and England's working days."""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from caseaudit_batch.core.errors import ConfigError

LONDON = ZoneInfo("Europe/London")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
#: The months caseaudit works with: 2000-01 to 2099-12.
FIRST_YEAR, LAST_YEAR = 2000, 2099


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, written ``YYYY-MM`` on the command line and in file names."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH_RE.match(text.strip()) if isinstance(text, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ConfigError("CFG020", found=text)
        if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            # Dates far outside an audit's life overflow the calendar arithmetic (0001-01 has no month before it).
            raise ConfigError("CFG022", found=text, first=f"{FIRST_YEAR}-01", last=f"{LAST_YEAR}-12")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def coerce(cls, value: Month | str) -> Month:
        """``value`` as a Month: the CLI passes Months; Python callers of a stage may still pass ``YYYY-MM``."""
        return value if isinstance(value, Month) else cls.parse(value)

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def shift(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    @property
    def label(self) -> str:
        """``September 2026``."""
        return self.first_day.strftime("%B %Y")


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ConfigError("CFG021", found=text) from None


def london_now() -> datetime:
    return datetime.now(LONDON)


_last_stamp: tuple[int, date, str] | None = None  # Clock.now_iso's last (second, date, stamp)


@dataclass(frozen=True)
class Clock:
    """``today`` comes from ``--today`` (default: today in Europe/London); the time of day is the wall clock's."""

    today: date

    @classmethod
    def from_option(cls, text: str | None) -> Clock:
        return cls(parse_date(text) if text else london_now().date())

    def timestamp(self) -> str:
        """``YYYYMMDD-HHMMSS``: the program's date with the London wall-clock time."""
        return f"{self.today:%Y%m%d}-{london_now():%H%M%S}"

    def now_iso(self) -> str:
        """ISO 8601 time on the program's date, London offset (to the second)."""
        global _last_stamp
        # Made once a second: the action register stamps every row it writes (issue 25: a thousand forms' actions
        # spent a sixth of their catch-up on the time zone). A second's London time is the floor of its epoch time.
        second = math.floor(time.time())
        last = _last_stamp
        if last is not None and last[0] == second and last[1] == self.today:
            return last[2]
        now = datetime.fromtimestamp(second, LONDON)
        stamped = datetime.combine(self.today, now.time(), tzinfo=LONDON).isoformat()
        _last_stamp = (second, self.today, stamped)
        return stamped

    def report_date(self, month: Month, as_of: date | None = None) -> date:
        """D: ``--as-of``, else the last day of the month, or today while it is the current month."""
        if as_of is not None:
            return as_of
        if Month.of(self.today) == month:
            return self.today
        return month.last_day


@lru_cache(maxsize=8)
def _england(years: tuple[int, ...]) -> Container[date]:
    # Imported here: about a tenth of a second at the start of every command, most of which never count working
    # days (issue 25). subdiv="ENG" is needed for England-only days such as the August bank holiday (field notes).
    import holidays

    return holidays.country_holidays("GB", subdiv="ENG", years=list(years))


def is_bank_holiday(day: date) -> bool:
    return day in _england((day.year - 1, day.year, day.year + 1))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_bank_holiday(day)


def working_day_on_or_before(day: date) -> date:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


@lru_cache(maxsize=4096)
def working_days_after(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (England: weekends and bank holidays skipped); ``count`` 0 is
    ``day`` itself. Used for an escalation's due date (issue 22). Remembered: every report, and each service pack,
    dates every escalation again (issue 25: a day-by-day walk with a bank-holiday lookup per day)."""
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day
