"""When reminders fall due, and who is reminded (guidance section 2). Pure: no files, no register.

"A reminder will be sent to auditors, with managers being copied in, a week before the end of the month for those who
have not completed their case file audit." The week is ``reminders.lead_days``; a date on a weekend or an England
bank holiday moves back to the working day before.
"""

from __future__ import annotations

from datetime import date, timedelta

from caseaudit_batch.core.clock import Month, working_day_on_or_before


def reminder_date(month: Month, lead_days: int = 7) -> date:
    """``lead_days`` before the last day of the month, moved back to a working day."""
    return working_day_on_or_before(month.last_day - timedelta(days=lead_days))


def reminders_due(month: Month, today: date, lead_days: int = 7) -> bool:
    return today >= reminder_date(month, lead_days)
