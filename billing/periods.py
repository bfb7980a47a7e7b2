"""The dates of a schedule's periods: pure arithmetic, no database.

Period 1 is on the start date, or on the first ``day_of_month`` on or after it. Each next period is a week,
or 1, 3 or 12 months, later, on the same day of the month (the month's last day when it is shorter).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


def _on_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = month - 1 + months
    return year + index // 12, index % 12 + 1


def period_on(*, frequency: str, start_on: date, day_of_month: int | None, period: int) -> date:
    """The date of ``period`` (1 for the first)."""
    if frequency == "weekly":
        return start_on + timedelta(weeks=period - 1)
    day = day_of_month or start_on.day
    year, month = start_on.year, start_on.month
    if _on_day(year, month, day) < start_on:
        year, month = _add_months(year, month, 1)
    year, month = _add_months(year, month, MONTHS[frequency] * (period - 1))
    return _on_day(year, month, day)


def last_period(*, frequency: str, start_on: date, day_of_month: int | None, end_after: int | None,
                end_on: date | None) -> int | None:
    """The number of the last period (``None``: no end), the earlier of ``end_after`` and ``end_on``."""
    last = end_after
    if end_on is not None:
        count = 0
        while period_on(frequency=frequency, start_on=start_on, day_of_month=day_of_month, period=count + 1) <= end_on:
            count += 1
            if last is not None and count >= last:
                break
        last = count if last is None else min(last, count)
    return last
