"""Due-date rules of the accounts-receivable definition: pure date arithmetic.

Two rules: "X days after posting" and "the nth day, X months after posting". A rule may allow a
*proximity range* of days around the calculated date: negative (``-5``: up to five days before) or
positive (``+5``: up to five days after). Without one, the calculated date is the only one allowed.
When the user gives no due date, the earliest allowed date is used — for "X days, proximity −5"
that is five days before the calculated date, as the product document's scenario 5c says.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext as _

from core.l10n import day

DAYS_AFTER = "days_after"
NTH_DAY_MONTHS_AFTER = "nth_day_months_after"


@dataclass(frozen=True)
class DueDateRule:
    kind: str
    days: int = 0
    nth_day: int = 1
    months: int = 1
    proximity_days: int = 0

    def calculated(self, posted_on: date) -> date:
        if self.kind == DAYS_AFTER:
            return posted_on + timedelta(days=self.days)
        month_index = posted_on.month - 1 + self.months
        year, month = posted_on.year + month_index // 12, month_index % 12 + 1
        return date(year, month, min(self.nth_day, calendar.monthrange(year, month)[1]))

    def allowed_range(self, posted_on: date) -> tuple[date, date]:
        calculated = self.calculated(posted_on)
        shifted = calculated + timedelta(days=self.proximity_days)
        return (min(calculated, shifted), max(calculated, shifted))

    def default(self, posted_on: date) -> date:
        return self.allowed_range(posted_on)[0]

    def check(self, due_on: date, posted_on: date) -> str | None:
        """``None`` when ``due_on`` is allowed, else a message that names the allowed range."""
        earliest, latest = self.allowed_range(posted_on)
        if earliest <= due_on <= latest:
            return None
        if earliest == latest:
            return _("The due date must be %(day)s under the account's credit rule.") % {"day": day(earliest, 'long')}
        return (_("The due date must be between %(day)s and %(day2)s under the account's credit rule.") % {
            "day": day(earliest, 'long'), "day2": day(latest, 'long')})
