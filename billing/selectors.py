"""Reads of recurring billing that pages, the API, dunning and the reports share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from billing import periods
from billing.models import (
    FAILED_RESULTS,
    AttemptResult,
    BillingSettings,
    CollectionAttempt,
    Frequency,
    RecurringSchedule,
    ScheduleLine,
    ScheduleRun,
    ScheduleState,
)
from crm.models import Tenant
from finance import amounts
from finance.models import Account

ZERO = Decimal("0.00")
# A period's invoice in months of revenue: a week is 12/52 of a month.
MONTHLY_FACTOR = {Frequency.WEEKLY: Decimal(52) / Decimal(12), Frequency.MONTHLY: Decimal(1),
                  Frequency.QUARTERLY: Decimal(1) / Decimal(3), Frequency.YEARLY: Decimal(1) / Decimal(12)}


def settings_of(*, tenant: Tenant) -> BillingSettings:
    found = BillingSettings.objects.filter(tenant=tenant).first()
    return found or BillingSettings(tenant=tenant)


def get_schedule(*, tenant: Tenant, schedule_id: int) -> RecurringSchedule:
    found = RecurringSchedule.objects.select_related("account__customer", "due_date_rule").filter(
        tenant=tenant, pk=schedule_id).first()
    if found is None:
        raise Http404(_("No such schedule."))
    return found


def schedules_of(*, account: Account) -> QuerySet[RecurringSchedule]:
    return RecurringSchedule.objects.filter(tenant=account.tenant_id, account=account)


def schedules_for(*, tenant: Tenant) -> QuerySet[RecurringSchedule]:
    return RecurringSchedule.objects.filter(tenant=tenant).select_related("account__customer")


def period_on(schedule: RecurringSchedule, period: int) -> date:
    return periods.period_on(frequency=schedule.frequency, start_on=schedule.start_on,
                             day_of_month=schedule.day_of_month, period=period)


def last_period(schedule: RecurringSchedule) -> int | None:
    end_on = schedule.end_on
    if schedule.ended_on is not None:
        end_on = min(end_on, schedule.ended_on) if end_on else schedule.ended_on
    return periods.last_period(frequency=schedule.frequency, start_on=schedule.start_on,
                               day_of_month=schedule.day_of_month, end_after=schedule.end_after, end_on=end_on)


def next_on(schedule: RecurringSchedule) -> date | None:
    """The date of the schedule's next period, or ``None`` when it has none left (``RecurringSchedule.next_on``)."""
    last = last_period(schedule)
    if schedule.state == ScheduleState.ENDED or (last is not None and schedule.next_period > last):
        return None
    return period_on(schedule, schedule.next_period)


def lines_for(lines: list[ScheduleLine], period: int) -> list[ScheduleLine]:
    return [line for line in lines if line.from_period <= period and (line.until_period is None
                                                                       or period <= line.until_period)]


def _amounts(lines: list[ScheduleLine], currency: str) -> amounts.Amounts | None:
    figures = [amounts.line_amounts(amounts.LineInput(
        quantity=line.quantity, unit_price=line.unit_price, discount_percent=None, discount_amount=None,
        tax_percent=line.tax_rate.percent if line.tax_rate else Decimal(0), price_includes_tax=False), currency)
        for line in lines]
    return amounts.total_amounts(figures, currency) if figures else None


def total_of(lines: list[ScheduleLine], currency: str) -> Decimal:
    """What an invoice of these lines comes to, tax included."""
    found = _amounts(lines, currency)
    return found.total if found else ZERO


@dataclass(frozen=True)
class Upcoming:
    schedule: RecurringSchedule
    period: int
    on: date
    total: Decimal


def upcoming(schedule: RecurringSchedule, *, count: int = 6, until: date | None = None,
             lines: list[ScheduleLine] | None = None) -> list[Upcoming]:
    """The next invoices of the schedule (at most ``count``, or those on or before ``until``); none while it is
    paused (the periods it misses are skipped) or ended."""
    if schedule.state != ScheduleState.ACTIVE:
        return []
    lines = list(schedule.lines.select_related("tax_rate")) if lines is None else lines
    last, found, period = last_period(schedule), [], schedule.next_period
    while len(found) < count and (last is None or period <= last):
        on = period_on(schedule, period)
        if until is not None and on > until:
            break
        found.append(Upcoming(schedule, period, on, total_of(lines_for(lines, period), schedule.account.currency)))
        period += 1
    return found


def upcoming_for(*, tenant: Tenant, today: date, days: int = 30) -> list[Upcoming]:
    """Every active schedule's invoices in the next ``days`` days, by date."""
    schedules = list(schedules_for(tenant=tenant).filter(state=ScheduleState.ACTIVE).prefetch_related(
        "lines__tax_rate"))
    found = [item for schedule in schedules
             for item in upcoming(schedule, count=400, until=today + timedelta(days=days),
                                  lines=list(schedule.lines.all()))]
    return sorted(found, key=lambda item: (item.on, item.schedule.name, item.schedule.pk))


def runs_of(*, schedule: RecurringSchedule) -> QuerySet[ScheduleRun]:
    return ScheduleRun.objects.filter(tenant=schedule.tenant_id, schedule=schedule).select_related("invoice")


def invoices_awaiting_card(*, tenant: Tenant) -> QuerySet[ScheduleRun]:
    """Runs whose invoice the card on file is still to collect (no charge has failed yet): dunning leaves
    them alone until it does."""
    return ScheduleRun.objects.filter(tenant=tenant, collect_by_card=True, card_failed_at__isnull=True)


def attempts_of(*, schedule: RecurringSchedule) -> QuerySet[CollectionAttempt]:
    return CollectionAttempt.objects.filter(tenant=schedule.tenant_id, run__schedule=schedule).select_related(
        "run__invoice", "payment")


# --- reports -----------------------------------------------------------------------------------------


def period_at(schedule: RecurringSchedule, day: date) -> int | None:
    """The period ``day`` falls in (the last one on or before it), or ``None`` before the first."""
    if period_on(schedule, 1) > day:
        return None
    period = 1
    while period_on(schedule, period + 1) <= day:
        period += 1
    return period


def monthly_value(schedule: RecurringSchedule, lines: list[ScheduleLine], day: date) -> Decimal:
    """The schedule's monthly recurring revenue on ``day``: the lines in force in its period then, without tax,
    as a month's worth; nothing before its first period, after it was ended, or after its last period ran out."""
    period = period_at(schedule, day)
    last = last_period(schedule)
    if period is None or (schedule.ended_on is not None and schedule.ended_on < day) or (
            last is not None and period > last) or (last is not None and period == last
                                                    and period_on(schedule, last + 1) <= day):
        return ZERO
    found = _amounts(lines_for(lines, period), schedule.account.currency)
    revenue = found.total_without_tax if found else ZERO
    return (revenue * MONTHLY_FACTOR[schedule.frequency]).quantize(Decimal("0.01"))


@dataclass
class MrrMonth:
    month: date
    currency: str
    mrr: Decimal = ZERO
    new: Decimal = ZERO
    expansion: Decimal = ZERO
    contraction: Decimal = ZERO
    churn: Decimal = ZERO

    @property
    def growth(self) -> Decimal:
        return self.new + self.expansion - self.contraction - self.churn


def mrr_movement(*, tenant: Tenant, months: list[tuple[date, date]]) -> list[MrrMonth]:
    """Monthly recurring revenue (without tax) at each month's end, by currency, and how it moved from the month
    before: new (a schedule that had none), expansion and contraction (its lines changed), churn (it ended)."""
    schedules = list(schedules_for(tenant=tenant).prefetch_related("lines__tax_rate"))
    ends = [months[0][0] - timedelta(days=1)] + [end for _start, end in months]
    table: dict[tuple[date, str], MrrMonth] = {}
    for start, _end in months:
        for currency in {s.account.currency for s in schedules}:
            table[(start, currency)] = MrrMonth(start, currency)
    for schedule in schedules:
        lines = list(schedule.lines.all())
        values = [monthly_value(schedule, lines, end) for end in ends]
        for index, (start, _end) in enumerate(months):
            before, now = values[index], values[index + 1]
            row = table[(start, schedule.account.currency)]
            row.mrr += now
            if before == 0 and now > 0:
                row.new += now
            elif before > 0 and now == 0:
                row.churn += before
            elif now > before:
                row.expansion += now - before
            elif now < before:
                row.contraction += before - now
    return sorted(table.values(), key=lambda row: (row.month, row.currency))


@dataclass
class CollectionMonth:
    month: date
    charged: int = 0
    succeeded: int = 0

    @property
    def rate(self) -> Decimal | None:
        return (Decimal(self.succeeded * 100) / self.charged).quantize(Decimal("0.1")) if self.charged else None


def collection_success(*, tenant: Tenant, months: list[tuple[date, date]]) -> list[CollectionMonth]:
    """Charges of cards on file answered in each month, and how many were paid."""
    rows = {start: CollectionMonth(start) for start, _end in months}
    answered = CollectionAttempt.objects.filter(
        tenant=tenant, answered_at__date__gte=months[0][0], answered_at__date__lte=months[-1][1],
        result__in=[AttemptResult.SUCCEEDED, *FAILED_RESULTS]).values_list("answered_at", "result")
    for at, result in answered:
        for start, end in months:
            if start <= at.date() <= end:
                rows[start].charged += 1
                rows[start].succeeded += result == AttemptResult.SUCCEEDED
    return list(rows.values())
