"""Automatic collection: a recurring invoice whose customer has a card on file is charged on its due date,
then on each retry day of the tenant's setting (for example 1, 3 and 7 days after), each once.

**Each attempt once.** ``CollectionAttempt`` is unique per run and number; it is written (with the card
payment it charges, ``payments.services.saved_cards``) under the run's row lock before the provider is
called, outside any transaction. A charge whose provider did not answer is charged again by the next sweep
with the same reference, which the provider deduplicates.

**When it fails** (3-D Secure needed, declined, or no usable card any more) the customer is emailed one pay
link for what is outstanding and ``card_failed_at`` is set: from then on dunning chases the invoice like any
other. A decline is retried on the retry days; a charge that needs the customer is not (it would need them
again), nor is one with no card.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from billing import selectors
from billing.models import FAILED_RESULTS, AttemptResult, CollectionAttempt, ScheduleRun
from core.clock import tenant_today
from core.l10n import for_customer
from crm.models import Tenant
from finance.models import FinancialTransaction, TransactionState
from notifications.services import notify
from paylinks.services.invoice_pay import invoice_context, invoice_pay_link, new_invoice_pay_link, send_refusal
from payments.models import PaymentStatus
from payments.pages import webhook_url
from payments.services import saved_cards

logger = logging.getLogger(__name__)
BATCH = 500
RESULTS = {"succeeded": AttemptResult.SUCCEEDED, "processing": AttemptResult.PROCESSING,
           "authentication_required": AttemptResult.AUTHENTICATION_REQUIRED, "declined": AttemptResult.DECLINED,
           "removed": AttemptResult.NO_CARD, "unavailable": AttemptResult.UNAVAILABLE}


def attempt_days(due_on: date, retry_days: list[int]) -> list[date]:
    """The day of each attempt: the due date, then each retry day after it."""
    return [due_on] + [due_on + timedelta(days=days) for days in retry_days]


def _open_runs(tenant: Tenant, today: date):
    return ScheduleRun.objects.filter(
        tenant=tenant, collect_by_card=True, card_failed_at__isnull=True, invoice__state=TransactionState.POSTED,
        invoice__open_amount__gt=0, invoice__due_on__lte=today)


def _retryable_runs(tenant: Tenant, today: date):
    """Runs whose card was declined (not needing the customer) and that may have a retry due."""
    return ScheduleRun.objects.filter(
        tenant=tenant, collect_by_card=True, invoice__state=TransactionState.POSTED, invoice__open_amount__gt=0,
        invoice__due_on__lte=today, card_failed_at__isnull=False,
    ).exclude(attempts__result__in=[AttemptResult.AUTHENTICATION_REQUIRED, AttemptResult.NO_CARD])


def _next_attempt(run: ScheduleRun, today: date, retry_days: list[int]) -> int | None:
    """The number of the attempt to make now, or ``None``: an unanswered one first, else the latest day
    reached that has none (days missed while Duly was down are not made up one by one)."""
    attempts = {a.number: a for a in run.attempts.all()}
    if any(a.result in (AttemptResult.SUCCEEDED, AttemptResult.PROCESSING, AttemptResult.AUTHENTICATION_REQUIRED,
                        AttemptResult.NO_CARD) for a in attempts.values()):
        return None
    for number, attempt in attempts.items():
        if attempt.result in (AttemptResult.PENDING, AttemptResult.UNAVAILABLE):
            return number
    reached = [number for number, on in enumerate(attempt_days(run.invoice.due_on, retry_days)) if on <= today]
    if not reached or reached[-1] in attempts:
        return None
    return reached[-1]


def _record(run: ScheduleRun, number: int, at: datetime) -> CollectionAttempt | None:
    """The attempt ``number`` of ``run`` with its card payment, written once under the run's lock."""
    with transaction.atomic():
        locked = ScheduleRun.objects.select_for_update(of=("self",)).select_related(
            "invoice__account__customer", "schedule").get(tenant=run.tenant_id, pk=run.pk)
        attempt = CollectionAttempt.objects.filter(tenant=run.tenant_id, run=locked, number=number).first()
        invoice = FinancialTransaction.objects.get(tenant=run.tenant_id, pk=locked.invoice_id)
        if attempt is None:
            if invoice.open_amount <= 0:
                return None
            try:
                with transaction.atomic():
                    attempt = CollectionAttempt.objects.create(tenant_id=run.tenant_id, run=locked, number=number,
                                                               created_at=at)
            except IntegrityError:
                return None
        if attempt.payment_id is None:
            customer = invoice.account.customer
            card = saved_cards.card_to_charge(customer=customer, currency=invoice.currency, at=at)
            payment = None if card is None else saved_cards.record_card_charge(
                card=card, invoice=invoice, amount=invoice.open_amount, at=at,
                description=f"{invoice.account.tenant.name}: invoice {invoice.number}",
                reference=f"dc_{run.pk}_{number}")
            if payment is None:
                _answer(attempt, AttemptResult.NO_CARD, _("The customer has no usable card on file."), at)
                return attempt
            attempt.payment = payment
            attempt.save(update_fields=["payment"])
    return attempt


def _answer(attempt: CollectionAttempt, result: str, message: str, at: datetime) -> None:
    """Record the attempt's outcome; a failure sends the one pay link and hands the invoice to dunning."""
    attempt.result, attempt.message, attempt.answered_at = result, message[:300], at
    attempt.save(update_fields=["result", "message", "answered_at"])
    if result not in FAILED_RESULTS:
        return
    run = ScheduleRun.objects.select_for_update(of=("self",)).select_related("invoice__account__customer").get(
        tenant=attempt.tenant_id, pk=attempt.run_id)
    if run.card_failed_at is not None:
        return
    ScheduleRun.objects.filter(pk=run.pk).update(card_failed_at=at)
    _send_pay_link(run, attempt, at)


def _send_pay_link(run: ScheduleRun, attempt: CollectionAttempt, at: datetime) -> None:
    invoice = FinancialTransaction.objects.select_related("account__customer", "account__tenant").get(
        tenant=run.tenant_id, pk=run.invoice_id)
    customer = invoice.account.customer
    if send_refusal(invoice=invoice):
        return
    card = attempt.payment.saved_card if attempt.payment_id else None
    with for_customer(customer):
        _link, token = new_invoice_pay_link(invoice=invoice, actor=None, at=at)
        notify(tenant=invoice.account.tenant, event_key=f"schedule_run:{run.pk}:card_failed",
               template_key="card_charge_failed", channels=["email"], customer=customer,
               context=invoice_context(invoice) | {"pay_link": invoice_pay_link(token),
                                                   "card": str(card) if card else _("card"),
                                                   "reason": attempt.message},
               subject_ref=f"finance.financialtransaction:{invoice.pk}", at=at)


def collect(*, run: ScheduleRun, number: int, at: datetime) -> CollectionAttempt | None:
    """Make attempt ``number`` of ``run``: record it, charge the card (outside any transaction), record
    the answer."""
    attempt = _record(run, number, at)
    if attempt is None or attempt.result not in (AttemptResult.PENDING, AttemptResult.UNAVAILABLE):
        return attempt
    payment = attempt.payment
    if payment.status == PaymentStatus.SUCCEEDED:
        outcome = saved_cards.ChargeOutcome("succeeded", payment)
    else:
        outcome = saved_cards.charge_saved_card(payment=payment, webhook_url=webhook_url(payment.gateway_account),
                                                at=at)
    with transaction.atomic():
        attempt = CollectionAttempt.objects.select_for_update().get(tenant=attempt.tenant_id, pk=attempt.pk)
        if attempt.result in (AttemptResult.PENDING, AttemptResult.UNAVAILABLE):
            _answer(attempt, RESULTS[outcome.result], outcome.message, at)
    return attempt


def collect_for_tenant(*, tenant: Tenant, at: datetime) -> int:
    """Every attempt due of the tenant's recurring invoices; the number made."""
    today = tenant_today(tenant, at)
    retry_days = list(selectors.settings_of(tenant=tenant).retry_days)
    made = 0
    for runs in (_open_runs(tenant, today), _retryable_runs(tenant, today)):
        for run in runs.select_related("invoice").prefetch_related("attempts").order_by("pk")[:BATCH]:
            number = _next_attempt(run, today, retry_days)
            if number is not None and collect(run=run, number=number, at=at) is not None:
                made += 1
    return made


def sweep(*, at: datetime) -> int:
    """Every tenant's card charges due (beat, hourly)."""
    with scopes_disabled():
        tenants = list(Tenant.objects.filter(pk__in=ScheduleRun.objects.filter(collect_by_card=True).values(
            "tenant_id")))
    made = 0
    for tenant in tenants:
        with scope(tenant=tenant):
            made += collect_for_tenant(tenant=tenant, at=at)
    return made
