"""Sending hours: when a message that is not urgent may go out, in the tenant's time zone.

Pure functions of the moment they are given; nothing here reads the clock.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Collection
from datetime import UTC, datetime, time, timedelta

from django.utils.translation import gettext_lazy as _

DEFAULT_START = time(8, 0)
DEFAULT_END = time(20, 0)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)  # Monday is 0, as in ``date.weekday()``
DAY_NAMES = (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"))


def days_to_mask(days: Collection[int]) -> int:
    return sum(1 << day for day in set(days))


def mask_to_days(mask: int) -> tuple[int, ...]:
    return tuple(day for day in EVERY_DAY if mask & (1 << day))


def next_sending_time(*, at: datetime, time_zone: str, start: time, end: time, days: Collection[int]) -> datetime:
    """``at`` if it falls inside the sending hours, else the next moment they open (aware, UTC).

    The window is ``start`` (inclusive) to ``end`` (exclusive) local time on each of ``days``.
    """
    if not days or start >= end:
        raise ValueError("sending hours need at least one day and a start before the end")
    zone = zoneinfo.ZoneInfo(time_zone)
    local = at.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens = datetime.combine(day, start, tzinfo=zone)
        closes = datetime.combine(day, end, tzinfo=zone)
        if offset == 0 and opens <= local < closes:
            return at.astimezone(UTC)
        if local < opens:
            return opens.astimezone(UTC)
    raise AssertionError("unreachable: some day of the next week is a sending day")
