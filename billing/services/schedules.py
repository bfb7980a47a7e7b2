"""Setting up recurring schedules: create (after a preview), change the lines from the next period, pause,
resume, end; and the tenant's billing settings. Each write is one transaction; a refusal names its field and
saves nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing import periods, selectors
from billing.models import BillingSettings, Frequency, RecurringSchedule, ScheduleLine, ScheduleState
from core.clock import tenant_today
from crm.models import Tenant, User
from finance import amounts
from finance.models import Account, AccountKind, AccountState, DueDateRule, LedgerDefinition, Product, TaxRate

MAX_LINES = 20
MAX_START_BACK = timedelta(days=31)
MAX_RETRIES = 5


@dataclass(frozen=True)
class LineInput:
    description: str = ""
    quantity: Decimal | str = "1"
    unit_price: Decimal | str | None = None
    product: Product | None = None
    tax_rate: TaxRate | None = None


@dataclass(frozen=True)
class ScheduleData:
    name: str
    frequency: str
    start_on: date | None
    lines: Sequence[LineInput] = ()
    day_of_month: int | None = None
    end_after: int | None = None
    end_on: date | None = None
    due_date_rule: DueDateRule | None = None
    collect_by_card: bool = True
    errors: dict[str, str] = field(default_factory=dict)  # what the form could not read (dates, numbers)


def _amount(value, name: str, errors: dict, *, places: int, positive: bool) -> Decimal | None:
    try:
        number = amounts.parse_plain(value)
    except amounts.NotAnAmount as refusal:
        errors[name] = str(refusal) if refusal.too_large else _("Enter a number such as 12.50.")
        return None
    if number < 0 or (positive and number == 0):
        errors[name] = _("Enter a number above zero.") if positive else _("Enter zero or more.")
    elif number.as_tuple().exponent < -places:
        errors[name] = _("At most %(places)s decimal places.") % {"places": places}
    else:
        return number
    return None


def _clean_lines(tenant_id: int, lines: Sequence[LineInput], errors: dict) -> list[dict]:
    if not lines:
        errors["lines"] = _("Add at least one line.")
    if len(lines) > MAX_LINES:
        errors["lines"] = _("At most %(count)s lines.") % {"count": MAX_LINES}
    cleaned = []
    for index, line in enumerate(lines[:MAX_LINES]):
        prefix = f"lines[{index}]"
        product, tax_rate = line.product, line.tax_rate
        if product is not None and product.tenant_id != tenant_id:
            errors[f"{prefix}.product"] = _("Unknown product.")
            continue
        if tax_rate is not None and tax_rate.tenant_id != tenant_id:
            errors[f"{prefix}.tax_rate"] = _("Unknown tax rate.")
            continue
        description = (line.description or "").replace("\x00", "").strip() or (product.name if product else "")
        if not description:
            errors[f"{prefix}.description"] = _("Describe the line or choose a product.")
        elif len(description) > 200:
            errors[f"{prefix}.description"] = _("At most 200 characters.")
        price = line.unit_price
        if price in (None, "") and product is not None:
            price = product.unit_price
        if price in (None, ""):
            errors[f"{prefix}.unit_price"] = _("Enter the price, or choose a product that has one.")
            continue
        quantity = _amount(line.quantity, f"{prefix}.quantity", errors, places=3, positive=True)
        unit_price = _amount(price, f"{prefix}.unit_price", errors, places=2, positive=False)
        if quantity is None or unit_price is None or f"{prefix}.description" in errors:
            continue
        cleaned.append({"position": index + 1, "product": product, "description": description, "quantity": quantity,
                        "unit_price": unit_price, "tax_rate": tax_rate or (product.default_tax_rate if product
                                                                             else None)})
    return cleaned


def _rule_refusal(account: Account, rule: DueDateRule | None, data: ScheduleData) -> str:
    """Why the schedule's due-date rule would give due dates the account's rule refuses, or ``""``."""
    if rule is None:
        return ""
    own = account.due_date_rule or LedgerDefinition.objects.get(tenant=account.tenant_id).due_date_rule
    for period in range(1, 13):
        issued = periods.period_on(frequency=data.frequency, start_on=data.start_on,
                                             day_of_month=data.day_of_month, period=period)
        if message := own.as_rule().check(rule.as_rule().default(issued), issued):
            return _("This rule gives due dates the account's own rule (%(rule)s) refuses: %(message)s") % {
                "rule": own.name, "message": message}
    return ""


def check(*, account: Account, data: ScheduleData, today: date) -> tuple[dict[str, str], list[dict]]:
    """The refusals of ``data`` by field, and its lines cleaned."""
    errors = dict(data.errors)
    name = (data.name or "").replace("\x00", "").strip()
    if not name:
        errors["name"] = _("Name the schedule, for example “Monthly policy fee”.")
    elif len(name) > 100:
        errors["name"] = _("At most 100 characters.")
    if account.kind != AccountKind.CUSTOMER or account.customer_id is None:
        errors["account"] = _("Only a customer's account is billed on a schedule.")
    elif account.state != AccountState.ACTIVE:
        errors["account"] = _("The account is %(state)s; only an active account is billed.") % {
            "state": account.get_state_display().lower()}
    if data.frequency not in Frequency.values:
        errors["frequency"] = _("Choose how often: weekly, monthly, quarterly or yearly.")
    if data.start_on is None:
        errors.setdefault("start_on", _("Enter the date of the first invoice."))
    elif data.start_on < today - MAX_START_BACK:
        errors["start_on"] = _("A schedule starts at most a month back; enter older invoices by hand.")
    if data.day_of_month is not None:
        if data.frequency == Frequency.WEEKLY:
            errors["day_of_month"] = _("A weekly schedule repeats on the start date's weekday; leave the day empty.")
        elif not 1 <= data.day_of_month <= 31:
            errors["day_of_month"] = _("Enter a day from 1 to 31.")
    if data.end_after is not None and not 1 <= data.end_after <= 1000:
        errors["end_after"] = _("Enter a number of invoices from 1 to 1000.")
    if data.end_on is not None and data.start_on is not None and data.end_on < data.start_on:
        errors["end_on"] = _("The end date is before the start date.")
    if data.due_date_rule is not None and data.due_date_rule.tenant_id != account.tenant_id:
        errors["due_date_rule"] = _("Unknown due-date rule.")
    lines = _clean_lines(account.tenant_id, data.lines, errors)
    if not errors and not any(line["unit_price"] > 0 for line in lines):
        errors["lines"] = _("The invoice would be of zero; give a line a price.")
    if not errors and (refusal := _rule_refusal(account, data.due_date_rule, data)):
        errors["due_date_rule"] = refusal
    return errors, lines


def _unsaved(account: Account, data: ScheduleData, lines: list[dict]) -> tuple[RecurringSchedule, list[ScheduleLine]]:
    schedule = RecurringSchedule(
        tenant_id=account.tenant_id, account=account, name=data.name.replace("\x00", "").strip(),
        frequency=data.frequency, start_on=data.start_on, day_of_month=data.day_of_month, end_after=data.end_after,
        end_on=data.end_on, due_date_rule=data.due_date_rule, collect_by_card=data.collect_by_card)
    return schedule, [ScheduleLine(tenant_id=account.tenant_id, **line) for line in lines]


def preview(*, account: Account, data: ScheduleData, at: datetime, count: int = 6) -> list[selectors.Upcoming]:
    """The first invoices the schedule would issue, saving nothing.

    :raises ValidationError: by field, as ``create_schedule``.
    """
    errors, lines = check(account=account, data=data, today=tenant_today(account.tenant, at))
    if errors:
        raise ValidationError(errors)
    schedule, rows = _unsaved(account, data, lines)
    return selectors.upcoming(schedule, count=count, lines=rows)


@transaction.atomic
def create_schedule(*, account: Account, data: ScheduleData, actor: User | None, at: datetime) -> RecurringSchedule:
    """Save a schedule on a customer's account. Its first invoice is issued by the next sweep on or after the
    start date (at once when that is today or earlier).

    :raises ValidationError: by field (``name``, ``frequency``, ``start_on``, ``day_of_month``, ``end_after``,
        ``end_on``, ``due_date_rule``, ``lines`` and ``lines[i].<field>``); nothing is saved.
    """
    errors, lines = check(account=account, data=data, today=tenant_today(account.tenant, at))
    if errors:
        raise ValidationError(errors)
    schedule, rows = _unsaved(account, data, lines)
    schedule.created_by, schedule.created_at = actor, at
    schedule.next_on = selectors.next_on(schedule)
    schedule.save()
    for row in rows:
        row.schedule = schedule
    ScheduleLine.objects.bulk_create(rows)
    return schedule


def _locked(schedule: RecurringSchedule) -> RecurringSchedule:
    return RecurringSchedule.objects.select_for_update().select_related("account").get(
        tenant=schedule.tenant_id, pk=schedule.pk)


@transaction.atomic
def change_lines(*, schedule: RecurringSchedule, lines: Sequence[LineInput], at: datetime) -> RecurringSchedule:
    """New lines from the next period on; the invoices already issued keep theirs.

    :raises ValidationError: keyed ``lines`` or ``lines[i].<field>``, or ``state`` for an ended schedule.
    """
    locked = _locked(schedule)
    if locked.state == ScheduleState.ENDED:
        raise ValidationError({"state": _("The schedule has ended; its lines no longer change.")})
    errors: dict[str, str] = {}
    cleaned = _clean_lines(locked.tenant_id, lines, errors)
    if not errors and not any(line["unit_price"] > 0 for line in cleaned):
        errors["lines"] = _("The invoice would be of zero; give a line a price.")
    if errors:
        raise ValidationError(errors)
    start = locked.next_period
    ScheduleLine.objects.filter(tenant=locked.tenant_id, schedule=locked, from_period__gte=start).delete()
    ScheduleLine.objects.filter(tenant=locked.tenant_id, schedule=locked, until_period__isnull=True).update(
        until_period=start - 1)
    ScheduleLine.objects.bulk_create([ScheduleLine(tenant_id=locked.tenant_id, schedule=locked, from_period=start,
                                                   **line) for line in cleaned])
    return locked


@transaction.atomic
def pause(*, schedule: RecurringSchedule, at: datetime) -> RecurringSchedule:
    """No invoice is issued while paused; the periods it misses are skipped, not issued on resuming.

    :raises ValidationError: keyed ``state``: not active."""
    locked = _locked(schedule)
    if locked.state != ScheduleState.ACTIVE:
        raise ValidationError({"state": _("Only an active schedule can be paused.")})
    locked.state, locked.paused_on = ScheduleState.PAUSED, tenant_today(locked.account.tenant, at)
    locked.save(update_fields=["state", "paused_on"])
    return locked


@transaction.atomic
def resume(*, schedule: RecurringSchedule, at: datetime) -> RecurringSchedule:
    """Invoices again from the first period on or after today.

    :raises ValidationError: keyed ``state``: not paused."""
    locked = _locked(schedule)
    if locked.state != ScheduleState.PAUSED:
        raise ValidationError({"state": _("Only a paused schedule can be resumed.")})
    today = tenant_today(locked.account.tenant, at)
    while selectors.period_on(locked, locked.next_period) < today:
        locked.next_period += 1
    locked.state, locked.paused_on = ScheduleState.ACTIVE, None
    locked.next_on = selectors.next_on(locked)
    locked.save(update_fields=["state", "paused_on", "next_period", "next_on"])
    return locked


@transaction.atomic
def end(*, schedule: RecurringSchedule, at: datetime) -> RecurringSchedule:
    """No invoice after today; the ones issued stay as they are.

    :raises ValidationError: keyed ``state``: already ended."""
    locked = _locked(schedule)
    if locked.state == ScheduleState.ENDED:
        raise ValidationError({"state": _("The schedule has already ended.")})
    locked.state, locked.ended_on = ScheduleState.ENDED, tenant_today(locked.account.tenant, at)
    locked.next_on = None
    locked.save(update_fields=["state", "ended_on", "next_on"])
    return locked


def parse_retry_days(text: str) -> list[int]:
    """``"1, 3, 7"`` → ``[1, 3, 7]``. :raises ValidationError: keyed ``retry_days``."""
    parts = [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]
    try:
        days = [int(part) for part in parts]
    except ValueError:
        raise ValidationError({"retry_days": _("Enter whole days separated by commas, for example 1, 3, 7.")}) \
            from None
    if len(days) > MAX_RETRIES:
        raise ValidationError({"retry_days": _("At most %(count)s retries.") % {"count": MAX_RETRIES}})
    if any(not 1 <= day <= 60 for day in days) or days != sorted(set(days)):
        raise ValidationError({"retry_days": _("Each retry is 1 to 60 days after the due date, each later than "
                                               "the one before.")})
    return days


@transaction.atomic
def save_settings(*, tenant: Tenant, post_invoices: bool, retry_days: list[int]) -> BillingSettings:
    found, _created = BillingSettings.objects.update_or_create(
        tenant=tenant, defaults={"post_invoices": post_invoices, "retry_days": retry_days})
    return found
