"""Instalment schedules: pure arithmetic of dates and amounts. Nothing here reads the clock or the
database; the caller passes the tenant's country, its closing days and the values typed.

- **Amounts.** An automatic plan is ``count`` instalments of ``instalment_amount`` (or, when none is
  given, the total divided by the count, rounded down to the cent); the last instalment takes whatever
  makes the sum equal the total exactly. A plan whose last instalment would be nothing or negative
  (the others already reach the total) or would be more than a rounding difference larger than the
  others (they fall short) is refused with the difference named.
- **Dates.** Monthly instalments keep the first one's day of the month (the 31st becomes the last day
  of a shorter month: 31 Jan → 28/29 Feb → 31 Mar); weekly ones are seven days apart. A date on a
  weekend, a public holiday of the tenant's country (the ``holidays`` package) or a closing day the
  tenant added moves to the next business day, or the previous one when the obligation says so.
- **Collisions.** Due dates stay strictly increasing. When a moved date would reach the next
  instalment's date (or, moving back, the previous one's), it moves the other way instead; when both
  ways collide, the plan is refused naming the instalment.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import holidays
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.l10n import day as format_day
from core.l10n import money as format_money
from finance.amounts import NotAnAmount, parse_plain

CENT = Decimal("0.01")
MAX_INSTALMENTS = 120
MAX_AMOUNT = Decimal(10) ** 12
NEXT, PREVIOUS = "next", "previous"
MONTHLY, WEEKLY = "monthly", "weekly"
FREQUENCIES = {MONTHLY: gettext_lazy("Monthly"), WEEKLY: gettext_lazy("Weekly")}


@dataclass(frozen=True)
class PlannedInstalment:
    number: int
    amount: Decimal
    due_on: date


class Calendar:
    """Business days of one tenant: not Saturday or Sunday, not a public holiday of ``country`` (and of
    ``subdivision``, if given), not one of ``closing_days``."""

    def __init__(self, *, country: str, subdivision: str = "", closing_days: Collection[date] = ()):
        self.country, self.subdivision = country, subdivision or None
        self.closing_days = frozenset(closing_days)
        self._holidays: dict[int, holidays.HolidayBase] = {}

    def _year(self, year: int) -> holidays.HolidayBase:
        if year not in self._holidays:
            try:
                self._holidays[year] = holidays.country_holidays(self.country, subdiv=self.subdivision, years=year)
            except NotImplementedError:  # a country the package does not know: weekends and closing days only
                self._holidays[year] = holidays.HolidayBase(years=year)
        return self._holidays[year]

    def holiday_name(self, day: date) -> str:
        if day in self.closing_days:
            return _("closing day")
        return self._year(day.year).get(day) or ""

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.holiday_name(day)

    def move(self, day: date, direction: str) -> date:
        step = timedelta(days=1 if direction == NEXT else -1)
        for _step in range(400):
            if self.is_business_day(day):
                return day
            day += step
        raise ValueError("no business day within a year")


def add_months(day: date, months: int, *, anchor_day: int) -> date:
    """``day`` moved ``months`` months on, on ``anchor_day`` or the month's last day if shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def nominal_dates(*, first_due_on: date, count: int, frequency: str = MONTHLY) -> list[date]:
    if frequency == WEEKLY:
        return [first_due_on + timedelta(weeks=i) for i in range(count)]
    return [add_months(first_due_on, i, anchor_day=first_due_on.day) for i in range(count)]


def business_dates(*, nominal: Sequence[date], business: Calendar, direction: str = NEXT) -> list[date]:
    """Each nominal date moved off non-business days, keeping the dates strictly increasing.

    :raises ValidationError: keyed ``first_due_on``: an instalment cannot be moved either way without
        reaching its neighbour.
    """
    other = PREVIOUS if direction == NEXT else NEXT
    moved: list[date] = []
    for index, day in enumerate(nominal):
        previous = moved[-1] if moved else None
        following = business.move(nominal[index + 1], direction) if index + 1 < len(nominal) else None
        chosen = None
        for way in (direction, other):
            candidate = business.move(day, way)
            if (previous is None or candidate > previous) and (following is None or candidate < following):
                chosen = candidate
                break
        if chosen is None:
            raise ValidationError({"first_due_on": (
                _("Instalment %(value)s falls on %(format_day)s, which is not a business day, and moving it either "
                  "way reaches another instalment's date. Choose other dates.") % {
                      "value": index + 1, "format_day": format_day(day, 'long')}
            )})
        moved.append(chosen)
    return moved


def parse_amount(value, *, field: str, errors: dict[str, str]) -> Decimal | None:
    """A positive amount of at most two decimal places, or ``None`` with the reason in ``errors``."""
    try:
        amount = parse_plain(value)
    except NotAnAmount as refusal:
        errors[field] = _("The amount is too large.") if refusal.too_large else _("Enter an amount such as 120.00.")
        return None
    if amount <= 0:
        errors[field] = _("The amount must be more than zero.")
    elif amount.as_tuple().exponent < -2:
        errors[field] = _("The amount has at most 2 decimal places.")
    elif amount >= MAX_AMOUNT:
        errors[field] = _("The amount is too large.")
    else:
        return amount.quantize(CENT)
    return None


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def automatic_amounts(*, total: Decimal, count: int, instalment_amount: Decimal | None, currency: str) -> list[Decimal]:
    """The amounts of ``count`` instalments summing to ``total`` exactly; the last absorbs the rounding.

    :raises ValidationError: keyed ``instalment_amount``: the plan overshoots or falls short of the total,
        with the difference named.
    """
    if instalment_amount is None:
        instalment_amount = (total / count).quantize(CENT, rounding=ROUND_DOWN)
        if instalment_amount <= 0:
            raise ValidationError({"count": _("%(total)s cannot be split into %(count)s instalments.") % {
                "total": _money(total, currency), "count": count}})
    last = total - instalment_amount * (count - 1)
    if last <= 0:
        over = instalment_amount * count - total
        raise ValidationError({"instalment_amount": (
            _("The plan overshoots the total %(total)s by %(difference)s: %(count)s instalments of %(amount)s come to "
              "%(sum)s. Lower the amount or the number of instalments.") % {
                  "total": _money(total, currency), "difference": _money(over, currency), "count": count,
                  "amount": _money(instalment_amount, currency), "sum": _money(instalment_amount * count, currency)}
        )})
    if last - instalment_amount >= CENT * count:
        short = total - instalment_amount * count
        raise ValidationError({"instalment_amount": (
            _("The plan falls %(difference)s short of the total %(total)s: %(count)s instalments of %(amount)s come "
              "to %(sum)s. Raise the amount or the number of instalments.") % {
                  "difference": _money(short, currency), "total": _money(total, currency), "count": count,
                  "amount": _money(instalment_amount, currency), "sum": _money(instalment_amount * count, currency)}
        )})
    return [instalment_amount] * (count - 1) + [last]


def automatic_schedule(
    *, total: Decimal, currency: str, first_due_on: date, count: int, instalment_amount: Decimal | None,
    business: Calendar, direction: str = NEXT, frequency: str = MONTHLY,
) -> list[PlannedInstalment]:
    """The schedule of an automatic plan.

    :raises ValidationError: keyed ``count``, ``instalment_amount`` or ``first_due_on``.
    """
    if not 1 <= count <= MAX_INSTALMENTS:
        raise ValidationError({"count": _("Between 1 and %(MAX_INSTALMENTS)s instalments.") % {
            "MAX_INSTALMENTS": MAX_INSTALMENTS}})
    if frequency not in FREQUENCIES:
        raise ValidationError({"frequency": _("Monthly or weekly.")})
    amounts = automatic_amounts(total=total, count=count, instalment_amount=instalment_amount, currency=currency)
    dates = business_dates(nominal=nominal_dates(first_due_on=first_due_on, count=count, frequency=frequency),
                           business=business, direction=direction)
    return [PlannedInstalment(number=number, amount=amount, due_on=day)
            for number, (amount, day) in enumerate(zip(amounts, dates, strict=True), 1)]


def manual_remaining(*, total: Decimal, amounts: Sequence[Decimal]) -> Decimal:
    """What the instalments entered so far leave to cover (negative when they overshoot)."""
    return total - sum(amounts, Decimal("0.00"))


def check_manual(*, total: Decimal, currency: str, rows: Sequence[tuple[date, Decimal]]) -> list[PlannedInstalment]:
    """A manual plan, as entered (dates are kept as staff chose them), in date order.

    :raises ValidationError: keyed ``instalments``: none entered, or the amounts do not add up to the total,
        with the difference named.
    """
    if not rows:
        raise ValidationError({"instalments": _("Add at least one instalment.")})
    if len(rows) > MAX_INSTALMENTS:
        raise ValidationError({"instalments": _("At most %(MAX_INSTALMENTS)s instalments.") % {
            "MAX_INSTALMENTS": MAX_INSTALMENTS}})
    remaining = manual_remaining(total=total, amounts=[amount for _, amount in rows])
    entered = _money(total - remaining, currency)
    if remaining > 0:
        raise ValidationError({"instalments": (
            _("The instalments add up to %(entered)s, %(_money)s short of the total %(_money2)s. Add an instalment "
              "or raise an amount.") % {
                  "entered": entered, "_money": _money(remaining, currency), "_money2": _money(total, currency)}
        )})
    if remaining < 0:
        raise ValidationError({"instalments": (
            _("The instalments add up to %(entered)s, %(_money)s more than the total %(_money2)s. Lower an amount.") % {
                "entered": entered, "_money": _money(-remaining, currency), "_money2": _money(total, currency)}
        )})
    ordered = sorted(rows, key=lambda row: row[0])
    return [PlannedInstalment(number=i, amount=amount, due_on=day) for i, (day, amount) in enumerate(ordered, 1)]
