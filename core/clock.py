"""The tenant's clock: its "today" and its local time, whatever zone the server runs in.

Duck-typed on ``tenant.time_zone`` so that it stays below ``crm``.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from core.l10n import moment


def tenant_today(tenant, at: datetime | None = None) -> date:
    """The date in the tenant's time zone at ``at`` (now by default)."""
    return (at or timezone.now()).astimezone(ZoneInfo(tenant.time_zone)).date()


def local_time(tenant, at: datetime) -> str:
    """``at`` in the tenant's time zone, as messages quote it ("5 December 2026 14:05" in the active language)."""
    with timezone.override(ZoneInfo(tenant.time_zone)):
        return moment(at, "long")


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last day of ``month``'s month."""
    return month.replace(day=1), month.replace(day=calendar.monthrange(month.year, month.month)[1])


def months_back(*, today: date, count: int) -> list[tuple[date, date]]:
    """This month so far and the ``count - 1`` before it, newest first, as (first day, last day or today)."""
    months, month = [], today.replace(day=1)
    for _n in range(count):
        start, end = month_bounds(month)
        months.append((start, min(end, today)))
        month = (month - timedelta(days=1)).replace(day=1)
    return months
