"""Issuing recurring invoices: each period of each active schedule once, on or after its date (posted and
emailed with a pay link, or drafted). See ``docs/billing.md``."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from billing import selectors
from billing.models import RecurringSchedule, ScheduleRun, ScheduleState
from core.clock import tenant_today
from core.l10n import day, for_customer
from crm.models import Tenant, User
from finance import services as ledger
from finance.exceptions import ActionNotAllowed
from finance.models import Classification, FinancialTransaction, TransactionState
from notifications.services import notify
from paylinks.services.invoice_pay import invoice_context, invoice_pay_link, new_invoice_pay_link, send_refusal
from payments.services.saved_cards import card_to_charge

logger = logging.getLogger(__name__)
BATCH = 500


def _due_periods(schedule: RecurringSchedule, today: date) -> bool:
    return schedule.state == ScheduleState.ACTIVE and schedule.next_on is not None and schedule.next_on <= today


def _invoice_lines(schedule: RecurringSchedule, period: int) -> list[ledger.LineData]:
    start = selectors.period_on(schedule, period)
    end = selectors.period_on(schedule, period + 1)
    span = _("%(start)s to %(end)s") % {"start": day(start), "end": day(end - timedelta(days=1))}
    lines = selectors.lines_for(list(schedule.lines.select_related("product", "tax_rate")), period)
    return [ledger.LineData(description=f"{line.description} ({span})"[:200], quantity=line.quantity,
                            unit_price=line.unit_price, product=line.product, tax_rate=line.tax_rate)
            for line in lines]


def issue_next(*, schedule: RecurringSchedule, at: datetime) -> ScheduleRun | None:
    """Issue the schedule's next period if its date has come; ``None`` when there is none to issue.

    :raises ValidationError | ActionNotAllowed: the ledger refused the invoice (the account was suspended,
        a product removed): nothing is saved, and the period stays next.
    """
    with transaction.atomic():
        locked = RecurringSchedule.objects.select_for_update(of=("self",)).select_related(
            "account__tenant", "account__customer", "due_date_rule").get(tenant=schedule.tenant_id, pk=schedule.pk)
        today = tenant_today(locked.account.tenant, at)
        if not _due_periods(locked, today):
            return None
        period = locked.next_period
        account, customer = locked.account, locked.account.customer
        with for_customer(customer):
            lines = _invoice_lines(locked, period)
        settings = selectors.settings_of(tenant=account.tenant)
        due_on = locked.due_date_rule.as_rule().default(today) if locked.due_date_rule and \
            settings.post_invoices else None
        data = ledger.TransactionData(lines=lines, due_on=due_on,
                                      issue_note=f"{locked.name}, period {period}"[:200])
        invoice = ledger.create_transaction(account=account, classification=Classification.INVOICE, actor=None,
                                            at=at, data=data)
        card = card_to_charge(customer=customer, currency=account.currency, at=at) if locked.collect_by_card \
            else None
        run = ScheduleRun.objects.create(
            tenant_id=locked.tenant_id, schedule=locked, period=period,
            period_on=selectors.period_on(locked, period), invoice=invoice, collect_by_card=card is not None,
            created_at=at)
        locked.next_period = period + 1
        locked.next_on = selectors.next_on(locked)
        locked.save(update_fields=["next_period", "next_on"])
        if settings.post_invoices:
            _post_and_send(run, at=at, actor=None)
    return run


def _post_and_send(run: ScheduleRun, *, at: datetime, actor: User | None) -> None:
    """Post the run's draft invoice and email it with its pay link, in the caller's transaction. A draft
    posted later is due under the schedule's rule from the day it is posted."""
    schedule = run.schedule
    invoice = run.invoice
    if invoice.due_on is None and schedule.due_date_rule is not None:
        due_on = schedule.due_date_rule.as_rule().default(tenant_today(schedule.account.tenant, at))
        invoice = ledger.update_draft(txn=invoice, actor=actor, at=at, changes=ledger.DraftChanges(due_on=due_on))
    posted = ledger.post_transaction(txn=invoice, actor=actor, at=at).transaction
    run.invoice = posted
    customer = schedule.account.customer
    if not customer.email:
        return
    with for_customer(customer):
        context = invoice_context(posted) | {"schedule.name": schedule.name, "pay_link": "", "card_note": ""}
        if not send_refusal(invoice=posted):
            _link, token = new_invoice_pay_link(invoice=posted, actor=actor, at=at)
            context["pay_link"] = invoice_pay_link(token)
        if run.collect_by_card:
            card = card_to_charge(customer=customer, currency=posted.currency, at=at)
            if card is not None:
                context["card_note"] = _("We will charge your %(card)s on %(day)s.") % {
                    "card": card, "day": day(posted.due_on, "long")}
        notify(tenant=schedule.account.tenant, event_key=f"schedule_run:{run.pk}:invoice",
               template_key="recurring_invoice", channels=["email"], customer=customer, context=context,
               subject_ref=f"finance.financialtransaction:{posted.pk}", actor=actor, at=at)


@transaction.atomic
def post_run(*, run: ScheduleRun, actor: User | None, at: datetime) -> ScheduleRun:
    """Post a drafted recurring invoice and email it with its pay link.

    :raises ValidationError: keyed ``invoice``: it is no longer a draft.
    :raises ActionNotAllowed: the ledger refused to post it.
    """
    run = ScheduleRun.objects.select_related("schedule__account__customer", "schedule__account__tenant",
                                             "schedule__due_date_rule").get(
        tenant=run.tenant_id, pk=run.pk)
    run.invoice = FinancialTransaction.objects.get(tenant=run.tenant_id, pk=run.invoice_id)
    if run.invoice.state != TransactionState.DRAFT:
        raise ValidationError({"invoice": _("The invoice is %(state)s, not a draft.") % {
            "state": run.invoice.get_state_display().lower()}})
    _post_and_send(run, at=at, actor=actor)
    return run


def issue_for_tenant(*, tenant: Tenant, at: datetime) -> int:
    """Every period due of the tenant's active schedules, each once, oldest first, in batches; the count issued.
    A schedule the ledger refuses (its account suspended) is left for the next sweep."""
    issued, refused = 0, set()
    today = tenant_today(tenant, at)
    while True:
        due = list(RecurringSchedule.objects.filter(
            tenant=tenant, state=ScheduleState.ACTIVE, next_on__lte=today).exclude(pk__in=refused).order_by(
            "next_on", "pk")[:BATCH])
        if not due:
            return issued
        for schedule in due:
            try:
                run = issue_next(schedule=schedule, at=at)
            except (ValidationError, ActionNotAllowed) as refusal:
                logger.warning("Schedule %s not issued: %s", schedule.pk, refusal)
                refused.add(schedule.pk)
                continue
            if run is None:  # issued by a concurrent sweep meanwhile
                refused.add(schedule.pk)
            else:
                issued += 1


def sweep(*, at: datetime) -> int:
    """Every tenant's recurring invoices due (beat, hourly)."""
    with scopes_disabled():
        tenants = list(Tenant.objects.filter(pk__in=RecurringSchedule.objects.filter(
            state=ScheduleState.ACTIVE).values("tenant_id")))
    issued = 0
    for tenant in tenants:
        with scope(tenant=tenant):
            issued += issue_for_tenant(tenant=tenant, at=at)
    return issued
