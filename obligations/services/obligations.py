"""Obligations and their instalments: create (automatic or manual plan), edit, mark paid outside Duly,
and the tenant's settings (reminder days, SMS, closing days).

Every change is one transaction and leaves an audit row (django-simple-history, with the staff member
or the API key named); the customer may be told by email. Manager comments are written here like any
field but are never put into anything a customer receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from djmoney.money import Money

from core.changes import UNCHANGED, given
from core.l10n import day, for_customer
from core.l10n import money as format_money
from crm.models import Customer, Tenant, User
from notifications.models import Channel
from notifications.services import notify
from obligations import selectors
from obligations.models import (
    ClosingDay,
    DateRule,
    Instalment,
    InstalmentStatus,
    Obligation,
    ObligationSettings,
    PayeeKind,
)
from obligations.services import schedules
from obligations.services.schedules import Calendar, PlannedInstalment

AUTOMATIC, MANUAL = "automatic", "manual"
FIRST_YEAR, LAST_YEAR = 2000, 2200
TEXT_LIMITS = {"payee": 200, "payment_code": 100, "description": 200, "manager_comments": 5000}


@dataclass(frozen=True)
class ObligationData:
    """What an obligation says, as a page or the API gives it (amounts as typed). An empty ``currency`` is
    the tenant's; empty choices are their first; ``manager_comments`` only from a manager."""

    payee: str = ""
    payment_code: str = ""
    description: str = ""
    total_amount: Decimal | str = ""
    currency: str = ""
    payee_kind: str = ""
    date_rule: str = ""
    manager_comments: str = ""


@dataclass(frozen=True)
class ObligationChanges:
    """The fields of an obligation to change; a field left ``UNCHANGED`` keeps its value."""

    payee: str = UNCHANGED
    payment_code: str = UNCHANGED
    description: str = UNCHANGED
    total_amount: Decimal | str = UNCHANGED
    currency: str = UNCHANGED
    payee_kind: str = UNCHANGED
    date_rule: str = UNCHANGED
    manager_comments: str = UNCHANGED


@dataclass(frozen=True)
class SettingsData:
    """A tenant's obligation settings as typed on the settings page."""

    reminder_days_before: int | str
    overdue_days_after: int | str
    sms_enabled: bool = False
    holiday_subdivision: str = ""


def business_calendar(*, tenant: Tenant, options: ObligationSettings | None = None) -> Calendar:
    """The tenant's business days: its country's public holidays (and its region's, if set) and its
    closing days."""
    options = options or selectors.obligation_settings(tenant=tenant)
    return Calendar(country=tenant.country.code or "GB", subdivision=options.holiday_subdivision,
                    closing_days=list(ClosingDay.objects.filter(tenant=tenant).values_list("day", flat=True)))


def portal_link(tenant: Tenant) -> str:
    return settings.DULY_SITE_URL.rstrip("/") + reverse("portal:sign_in", kwargs={"slug": tenant.slug})


def _date(value, *, field: str, errors: dict) -> date | None:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = _("Enter a date such as 2026-03-31.")
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors[field] = _("Choose a date between %(FIRST_YEAR)s and %(LAST_YEAR)s.") % {
            "FIRST_YEAR": FIRST_YEAR, "LAST_YEAR": LAST_YEAR}
        return None
    return day


def _texts(values: dict, errors: dict, *, partial: bool = False) -> dict[str, str]:
    cleaned = {}
    for field, limit in TEXT_LIMITS.items():
        if partial and field not in values:
            continue
        text = str(values.get(field) or "").strip()
        if "\x00" in text:
            errors[field] = _("Contains a character that is not allowed.")
        elif len(text) > limit:
            errors[field] = _("At most %(limit)s characters.") % {"limit": limit}
        elif not text and field in ("payee", "payment_code", "description"):
            errors[field] = {"payee": _("Who is it paid to?"), "payment_code": _("Enter the payment code (the debt's "
                             "payment ID)."), "description": _("Describe the obligation.")}[field]
        cleaned[field] = text
    return cleaned


def _choices(values: dict, errors: dict, *, partial: bool = False) -> dict[str, str]:
    cleaned = {}
    for field, choices in (("payee_kind", PayeeKind), ("date_rule", DateRule)):
        if partial and field not in values:
            continue
        value = values.get(field) or choices.values[0]
        if value not in choices.values:
            errors[field] = _("One of %(join)s.") % {"join": ', '.join(choices.values)}
        cleaned[field] = value
    return cleaned


def _currency(value, errors: dict) -> str:
    currency = (value or "").strip().upper()
    if currency not in settings.CURRENCIES:
        errors["currency"] = _("Currency must be one of %(join)s.") % {"join": ', '.join(settings.CURRENCIES)}
    return currency


@dataclass(frozen=True)
class ManualRow:
    due_on: date | str
    amount: Decimal | str


@dataclass(frozen=True)
class Plan:
    """How the total is split: ``automatic`` (first_due_on, count, instalment_amount or none, frequency)
    or ``manual`` (rows of due date and amount, adding up to the total)."""

    kind: str
    first_due_on: date | str | None = None
    count: int | str | None = None
    instalment_amount: Decimal | str | None = None
    frequency: str = schedules.MONTHLY
    rows: Sequence[ManualRow] = ()


def plan_instalments(
    *, tenant: Tenant, total: Decimal, currency: str, plan: Plan, date_rule: str = DateRule.NEXT,
) -> list[PlannedInstalment]:
    """The schedule an automatic or manual plan gives, without saving anything (the form's preview).

    :raises ValidationError: keyed ``plan``, ``first_due_on``, ``count``, ``instalment_amount``, ``frequency``
        or ``instalments`` (manual rows as ``instalments[2].amount``).
    """
    errors: dict[str, str] = {}
    if plan.kind == AUTOMATIC:
        first = _date(plan.first_due_on, field="first_due_on", errors=errors)
        try:
            number = int(str(plan.count).strip())
        except (TypeError, ValueError):
            errors["count"] = _("Enter the number of instalments.")
            number = 0
        amount = None
        if plan.instalment_amount not in (None, ""):
            amount = schedules.parse_amount(plan.instalment_amount, field="instalment_amount", errors=errors)
        if errors:
            raise ValidationError(errors)
        return schedules.automatic_schedule(
            total=total, currency=currency, first_due_on=first, count=number, instalment_amount=amount,
            business=business_calendar(tenant=tenant), direction=date_rule, frequency=plan.frequency,
        )
    if plan.kind == MANUAL:
        parsed = []
        for index, row in enumerate(plan.rows):
            due_on = _date(row.due_on, field=f"instalments[{index}].due_on", errors=errors)
            amount = schedules.parse_amount(row.amount, field=f"instalments[{index}].amount", errors=errors)
            parsed.append((due_on, amount))
        if errors:
            raise ValidationError(errors)
        return schedules.check_manual(total=total, currency=currency, rows=parsed)
    raise ValidationError({"plan": _("Choose an automatic or a manual plan.")})


def preview_plan(*, tenant: Tenant, data: ObligationData, plan: Plan) -> list[PlannedInstalment]:
    """The instalments ``plan`` would give the obligation ``data`` describes, without saving anything (the
    form's preview, which checks the total and the plan only).

    :raises ValidationError: keyed ``total_amount`` or as ``plan_instalments``.
    """
    errors: dict[str, str] = {}
    total = schedules.parse_amount(data.total_amount, field="total_amount", errors=errors)
    if errors:
        raise ValidationError(errors)
    return plan_instalments(tenant=tenant, total=total, currency=data.currency, plan=plan,
                            date_rule=data.date_rule or DateRule.NEXT)


def _tell_customer(obligation: Obligation, *, key: str, event: str, actor: User | None, at: datetime) -> None:
    instalments = list(obligation.instalments.order_by("due_on", "number"))
    unpaid = [i for i in instalments if not i.is_paid]
    first = (unpaid or instalments)[0]
    with for_customer(obligation.customer):
        notify(
            tenant=obligation.tenant, event_key=f"obligation:{obligation.pk}:{event}", template_key=key,
            channels=[Channel.EMAIL], customer=obligation.customer,
            context={"obligation.name": obligation.description, "instalment.count": str(len(instalments)),
                     "amount": format_money(obligation.total_amount, obligation.currency),
                     "currency": obligation.currency, "due_date": day(first.due_on, "long"),
                     "portal_link": portal_link(obligation.tenant)},
            subject_ref=f"payments.obligation:{obligation.pk}", actor=actor, urgent=True, at=at,
        )


def _audit(row, actor: User | None, reason: str) -> None:
    row._history_user = actor
    row._change_reason = reason


@transaction.atomic
def create_obligation(
    *, customer: Customer, data: ObligationData, plan: Plan, actor: User | None, at: datetime,
    send_email: bool = False, reason: str = "",
) -> Obligation:
    """Register an obligation of ``customer`` with its instalments split as ``plan`` says, and email the
    customer if asked.

    :raises ValidationError: naming each field that is wrong (and the difference, for a plan that does not
        add up). Nothing is saved.
    """
    errors: dict[str, str] = {}
    values = asdict(data)
    texts = _texts(values, errors)
    choices = _choices(values, errors)
    currency = _currency(values.get("currency") or customer.tenant.default_currency, errors)
    total = schedules.parse_amount(values.get("total_amount", ""), field="total_amount", errors=errors)
    if send_email and not customer.email:
        errors["send_email"] = _("%(name)s has no email address. Add it to the customer's file first.") % {
            "name": customer.name}
    planned: list[PlannedInstalment] = []
    if total is not None and not errors.get("currency"):
        try:
            planned = plan_instalments(
                tenant=customer.tenant, total=total, currency=currency, plan=plan, date_rule=choices["date_rule"])
        except ValidationError as error:
            errors |= {field: " ".join(messages) for field, messages in error.message_dict.items()}
    if errors:
        raise ValidationError(errors)
    obligation = Obligation(tenant=customer.tenant, customer=customer, total_amount=total, currency=currency,
                            created_by=actor, created_at=at, updated_at=at, **texts, **choices)
    _audit(obligation, actor, reason)
    obligation.save()
    for step in planned:
        instalment = Instalment(tenant=customer.tenant, obligation=obligation, number=step.number, amount=step.amount,
                                due_on=step.due_on)
        _audit(instalment, actor, reason)
        instalment.save()
    if send_email:
        _tell_customer(obligation, key="obligation_created", event="created", actor=actor, at=at)
    return obligation


def _lock(obligation: Obligation) -> Obligation:
    return Obligation.objects.select_for_update(of=("self",)).select_related("tenant", "customer").get(
        tenant=obligation.tenant_id, pk=obligation.pk)


@transaction.atomic
def update_obligation(
    *, obligation: Obligation, changes: ObligationChanges, actor: User | None, at: datetime,
    notify_customer: bool = False,
    reason: str = "",
) -> Obligation:
    """Change any of the obligation's fields. A new total is absorbed by the last unpaid instalment (as the
    last instalment absorbs rounding); the currency cannot change once an instalment is paid.

    :raises ValidationError: naming the field; nothing is saved.
    """
    locked = _lock(obligation)
    errors: dict[str, str] = {}
    changes = given(changes)
    fields = _texts(changes, errors, partial=True) | _choices(changes, errors, partial=True)
    instalments = list(locked.instalments.select_for_update().order_by("due_on", "number"))
    if "currency" in changes:
        fields["currency"] = _currency(changes["currency"], errors)
        if fields["currency"] != locked.currency and any(i.is_paid for i in instalments):
            errors["currency"] = _("An instalment is paid already; the currency cannot change.")
    new_total = None
    if changes.get("total_amount") not in (None, ""):
        new_total = schedules.parse_amount(changes["total_amount"], field="total_amount", errors=errors)
    last = None
    if new_total is not None and new_total != locked.total_amount:
        unpaid = [i for i in instalments if not i.is_paid]
        if not unpaid:
            errors["total_amount"] = _("Every instalment is paid; the total cannot change.")
        else:
            last = unpaid[-1]
            was = last.amount
            last.amount = was + new_total - locked.total_amount
            if last.amount <= 0:
                errors["total_amount"] = (
                    _("The last unpaid instalment (%(amount)s) cannot absorb a reduction of %(reduction)s; change the "
                      "instalments first.") % {
                          "amount": Money(was, locked.currency),
                          "reduction": Money(locked.total_amount - new_total, locked.currency)})
    if errors:
        raise ValidationError(errors)
    for field, value in fields.items():
        setattr(locked, field, value)
    if new_total is not None:
        locked.total_amount = new_total
    locked.updated_at = at
    _audit(locked, actor, reason)
    locked.save()
    if last is not None:
        _audit(last, actor, reason)
        last.save()
    if notify_customer:
        _tell_customer(locked, key="obligation_changed", event=f"changed:{at.isoformat()}", actor=actor, at=at)
    return locked


@transaction.atomic
def update_instalment(
    *, instalment: Instalment, actor: User | None, at: datetime, amount: Decimal | str | None = None,
    due_on: date | str | None = None, notify_customer: bool = False, reason: str = "",
) -> Instalment:
    """Change an unpaid instalment's amount and/or due date. The obligation's total follows the sum of its
    instalments.

    :raises ValidationError: keyed ``amount`` or ``due_on``, or ``__all__`` when it is paid already.
    """
    obligation = _lock(instalment.obligation)
    locked = Instalment.objects.select_for_update().get(tenant=instalment.tenant_id, pk=instalment.pk)
    if locked.is_paid:
        raise ValidationError(_("This instalment is paid; it cannot be changed."))
    errors: dict[str, str] = {}
    new_amount = locked.amount
    if amount not in (None, ""):
        new_amount = schedules.parse_amount(amount, field="amount", errors=errors)
    new_due = locked.due_on
    if due_on not in (None, ""):
        new_due = _date(due_on, field="due_on", errors=errors)
    if errors:
        raise ValidationError(errors)
    if (new_amount, new_due) == (locked.amount, locked.due_on):
        return locked
    difference = new_amount - locked.amount
    locked.amount, locked.due_on = new_amount, new_due
    _audit(locked, actor, reason)
    locked.save()
    if difference:
        obligation.total_amount += difference
        obligation.updated_at = at
        _audit(obligation, actor, reason)
        obligation.save()
    if notify_customer:
        _tell_customer(obligation, key="obligation_changed", event=f"changed:{at.isoformat()}", actor=actor, at=at)
    return locked


@transaction.atomic
def mark_instalment_paid(*, instalment: Instalment, actor: User, at: datetime) -> Instalment:
    """Record that an instalment was paid outside Duly: who said so and when. No ledger entry is made.

    :raises ValidationError: it is paid already.
    """
    locked = Instalment.objects.select_for_update().get(tenant=instalment.tenant_id, pk=instalment.pk)
    if locked.is_paid:
        raise ValidationError(_("Instalment %(number)s is paid already.") % {"number": locked.number})
    locked.status, locked.paid_at, locked.paid_by, locked.paid_outside = InstalmentStatus.PAID, at, actor, True
    _audit(locked, actor, _("paid outside Duly"))
    locked.save()
    return locked


# --- settings --------------------------------------------------------------------------------------


@transaction.atomic
def save_obligation_settings(*, tenant: Tenant, data: SettingsData, actor: User | None) -> ObligationSettings:
    """:raises ValidationError: keyed ``reminder_days_before``, ``overdue_days_after`` or ``holiday_subdivision``."""
    errors: dict[str, str] = {}
    values = asdict(data)
    numbers = {}
    for field, limit in (("reminder_days_before", 60), ("overdue_days_after", 60)):
        try:
            numbers[field] = int(str(values.get(field, "")).strip())
            if not 0 <= numbers[field] <= limit:
                raise ValueError
        except ValueError:
            errors[field] = _("A number of days from 0 to %(limit)s.") % {"limit": limit}
    subdivision = (values.get("holiday_subdivision") or "").strip().upper()
    if subdivision:
        try:
            holidays.country_holidays(tenant.country.code, subdiv=subdivision)
        except NotImplementedError:
            errors["holiday_subdivision"] = _("“%(subdivision)s” is not a region of %(name)s.") % {
                "subdivision": subdivision, "name": tenant.country.name}
    if errors:
        raise ValidationError(errors)
    options, _created = ObligationSettings.objects.select_for_update().get_or_create(tenant=tenant)
    options.reminder_days_before = numbers["reminder_days_before"]
    options.overdue_days_after = numbers["overdue_days_after"]
    options.sms_enabled = bool(values.get("sms_enabled"))
    options.holiday_subdivision = subdivision
    options.save()
    return options


@transaction.atomic
def add_closing_day(*, tenant: Tenant, day: date | str, description: str = "") -> ClosingDay:
    """:raises ValidationError: keyed ``day``: not a date, or already a closing day."""
    errors: dict[str, str] = {}
    parsed = _date(day, field="day", errors=errors)
    if parsed is not None and ClosingDay.objects.filter(tenant=tenant, day=parsed).exists():
        errors["day"] = _("%(day)s is already a closing day.") % {"day": day(parsed, 'long')}
    if errors:
        raise ValidationError(errors)
    return ClosingDay.objects.create(tenant=tenant, day=parsed, description=(description or "").strip()[:100])


@transaction.atomic
def remove_closing_day(*, closing_day: ClosingDay) -> None:
    ClosingDay.objects.filter(tenant=closing_day.tenant_id, pk=closing_day.pk).delete()
