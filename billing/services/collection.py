"""Automatic collection: recurring invoices and instalments charged to the card on file on their due date and
retry days, each attempt once; the first failure sends one pay link. See ``docs/billing.md``."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from billing import selectors
from billing.models import FAILED_RESULTS, AttemptResult, CollectionAttempt, ScheduleRun
from core.clock import tenant_today
from core.l10n import day, for_customer
from core.l10n import money as format_money
from crm.models import Tenant
from finance.models import FinancialTransaction, TransactionState
from notifications.services import notify
from obligations.models import Instalment, InstalmentStatus
from obligations.services.obligations import portal_link
from obligations.services.portal import instalment_account
from paylinks.services.invoice_pay import invoice_context, invoice_pay_link, new_invoice_pay_link, send_refusal
from payments.models import GatewayPayment, PaymentStatus, SavedCard
from payments.pages import webhook_url
from payments.services import saved_cards
from payments.services.gateway_payments import AttemptRefused

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
    return _next_for({a.number: a for a in run.attempts.all()}, run.invoice.due_on, today, retry_days)


def _record(run: ScheduleRun, number: int, at: datetime) -> CollectionAttempt | None:
    """The attempt ``number`` of ``run`` with its card payment, written once under the run's lock."""
    with transaction.atomic():
        locked = ScheduleRun.objects.select_for_update(of=("self",)).get(tenant=run.tenant_id, pk=run.pk)
        invoice = FinancialTransaction.objects.select_related("account__customer", "account__tenant").get(
            tenant=run.tenant_id, pk=locked.invoice_id)
        paying = GatewayPayment.objects.filter(tenant=run.tenant_id, invoice=invoice,
                                               status=PaymentStatus.PROCESSING).exists()
        # Nothing outstanding, or the customer's own payment is being processed: no charge now.
        attempt = _attempt(locked.tenant_id, number, at, run=locked) if invoice.open_amount > 0 and not paying \
            else None
        if attempt is not None and attempt.payment_id is None and not attempt.result:
            customer = invoice.account.customer
            card = saved_cards.card_to_charge(customer=customer, currency=invoice.currency, at=at)
            payment = None if card is None else saved_cards.record_card_charge(
                card=card, account=invoice.account, invoice=invoice, amount=invoice.open_amount, at=at,
                description=f"{invoice.account.tenant.name}: invoice {invoice.number}",
                reference=f"dc_{run.pk}_{number}")
            _charge_with(attempt, payment, at)
    return attempt


def _record_instalment(instalment: Instalment, number: int, at: datetime) -> CollectionAttempt | None:
    """The attempt ``number`` of an instalment with its card payment, written once under the instalment's lock."""
    with transaction.atomic():
        locked = Instalment.objects.select_for_update(of=("self",)).select_related(
            "obligation__customer__tenant").get(tenant=instalment.tenant_id, pk=instalment.pk)
        paying = GatewayPayment.objects.filter(tenant=locked.tenant_id, instalment=locked,
                                               status=PaymentStatus.PROCESSING).exists()
        obligation = locked.obligation
        customer = obligation.customer
        try:
            account = instalment_account(customer=customer, currency=obligation.currency)
        except AttemptRefused:  # a suspended account: not charged, as the portal would not take it either
            return None
        attempt = None if locked.is_paid or paying else _attempt(locked.tenant_id, number, at, instalment=locked)
        if attempt is not None and attempt.payment_id is None and not attempt.result:
            card = saved_cards.card_to_charge(customer=customer, currency=obligation.currency, at=at)
            payment = None if card is None else saved_cards.record_card_charge(
                card=card, account=account, instalment=locked,
                amount=locked.amount, at=at, reference=f"di_{locked.pk}_{number}",
                description=f"{customer.tenant.name}: {obligation.payment_code} instalment {locked.number}")
            _charge_with(attempt, payment, at)
    return attempt


def _attempt(tenant_id: int, number: int, at: datetime, **subject) -> CollectionAttempt | None:
    """The attempt, created once (``None`` if a concurrent sweep just created it)."""
    attempt = CollectionAttempt.objects.filter(tenant=tenant_id, number=number, **subject).first()
    if attempt is None:
        try:
            with transaction.atomic():
                attempt = CollectionAttempt.objects.create(tenant_id=tenant_id, number=number, created_at=at,
                                                           **subject)
        except IntegrityError:
            return None
    return attempt


def _charge_with(attempt: CollectionAttempt, payment, at: datetime) -> None:
    if payment is None:
        _answer(attempt, AttemptResult.NO_CARD, _("The customer has no usable card on file."), at)
        return
    attempt.payment = payment
    attempt.save(update_fields=["payment"])


def _answer(attempt: CollectionAttempt, result: str, message: str, at: datetime) -> None:
    """Record the attempt's outcome; the first failure sends the one pay link (a recurring invoice then goes
    to dunning; an instalment to the obligation's overdue notices)."""
    attempt.result, attempt.message, attempt.answered_at = result, message[:300], at
    attempt.save(update_fields=["result", "message", "answered_at"])
    if result not in FAILED_RESULTS:
        return
    card = attempt.payment.saved_card if attempt.payment_id else None
    if attempt.instalment_id is not None:
        _tell_instalment_failed(attempt, card, at)
        return
    run = ScheduleRun.objects.select_for_update(of=("self",)).get(tenant=attempt.tenant_id, pk=attempt.run_id)
    if run.card_failed_at is not None:
        return
    ScheduleRun.objects.filter(pk=run.pk).update(card_failed_at=at)
    _send_pay_link(run, attempt, card, at)


def _send_pay_link(run: ScheduleRun, attempt: CollectionAttempt, card, at: datetime) -> None:
    invoice = FinancialTransaction.objects.select_related("account__customer", "account__tenant").get(
        tenant=run.tenant_id, pk=run.invoice_id)
    customer = invoice.account.customer
    if send_refusal(invoice=invoice):
        return
    with for_customer(customer):
        _link, token = new_invoice_pay_link(invoice=invoice, actor=None, at=at)
        notify(tenant=invoice.account.tenant, event_key=f"schedule_run:{run.pk}:card_failed",
               template_key="card_charge_failed", channels=["email"], customer=customer,
               context=invoice_context(invoice) | {"pay_link": invoice_pay_link(token),
                                                   "card": str(card) if card else _("card"),
                                                   "reason": attempt.message},
               subject_ref=f"finance.financialtransaction:{invoice.pk}", at=at)


def _tell_instalment_failed(attempt: CollectionAttempt, card, at: datetime) -> None:
    """Once per instalment (the outbox's event key): pay it from the portal."""
    instalment = Instalment.objects.select_related("obligation__customer__tenant").get(
        tenant=attempt.tenant_id, pk=attempt.instalment_id)
    obligation = instalment.obligation
    customer = obligation.customer
    with for_customer(customer):
        notify(tenant=customer.tenant, event_key=f"instalment:{instalment.pk}:card_failed",
               template_key="instalment_card_failed", channels=["email"], customer=customer,
               context={"obligation.name": obligation.description, "instalment.number": str(instalment.number),
                        "amount": format_money(instalment.amount, obligation.currency),
                        "currency": obligation.currency, "due_date": day(instalment.due_on, "long"),
                        "pay_link": portal_link(customer.tenant), "card": str(card) if card else _("card"),
                        "reason": attempt.message},
               subject_ref=f"obligations.instalment:{instalment.pk}", at=at)


def _charge(attempt: CollectionAttempt, at: datetime) -> CollectionAttempt:
    """Charge the attempt's card payment (outside any transaction) and record the answer."""
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


def collect(*, run: ScheduleRun, number: int, at: datetime) -> CollectionAttempt | None:
    """Make attempt ``number`` of ``run``: record it, charge the card, record the answer."""
    attempt = _record(run, number, at)
    if attempt is None or attempt.result not in (AttemptResult.PENDING, AttemptResult.UNAVAILABLE):
        return attempt
    return _charge(attempt, at)


def collect_instalment(*, instalment: Instalment, number: int, at: datetime) -> CollectionAttempt | None:
    """Make attempt ``number`` of an obligation's instalment, as ``collect`` does for a recurring invoice."""
    attempt = _record_instalment(instalment, number, at)
    if attempt is None or attempt.result not in (AttemptResult.PENDING, AttemptResult.UNAVAILABLE):
        return attempt
    return _charge(attempt, at)


def _instalments_due(tenant: Tenant, today: date):
    """Unpaid instalments due by today whose customer, before the due date, kept a card on file (their consent
    names instalments), and no charge of which needed the customer or found no card."""
    cards = SavedCard.objects.filter(customer=OuterRef("obligation__customer"), removed_at__isnull=True,
                                     consent_at__date__lte=OuterRef("due_on"))
    return Instalment.objects.filter(tenant=tenant, status=InstalmentStatus.UNPAID, due_on__lte=today).filter(
        Exists(cards)).exclude(card_attempts__result__in=[AttemptResult.AUTHENTICATION_REQUIRED,
                                                          AttemptResult.NO_CARD])


def _next_for(attempts: dict, due_on: date, today: date, retry_days: list[int]) -> int | None:
    if any(a.result in (AttemptResult.SUCCEEDED, AttemptResult.PROCESSING, AttemptResult.AUTHENTICATION_REQUIRED,
                        AttemptResult.NO_CARD) for a in attempts.values()):
        return None
    for number, attempt in attempts.items():
        if attempt.result in (AttemptResult.PENDING, AttemptResult.UNAVAILABLE):
            return number
    reached = [number for number, on in enumerate(attempt_days(due_on, retry_days)) if on <= today]
    if not reached or reached[-1] in attempts:
        return None
    return reached[-1]


def collect_for_tenant(*, tenant: Tenant, at: datetime) -> int:
    """Every attempt due of the tenant's recurring invoices; the number made."""
    today = tenant_today(tenant, at)
    retry_days = list(selectors.settings_of(tenant=tenant).retry_days)
    made = 0
    for runs in (_open_runs(tenant, today), _retryable_runs(tenant, today)):
        for run in runs.select_related("invoice").prefetch_related("attempts").order_by("pk").iterator(BATCH):
            number = _next_attempt(run, today, retry_days)
            if number is not None and collect(run=run, number=number, at=at) is not None:
                made += 1
    for instalment in _instalments_due(tenant, today).prefetch_related("card_attempts").order_by("pk").iterator(
            BATCH):
        attempts = {a.number: a for a in instalment.card_attempts.all()}
        number = _next_for(attempts, instalment.due_on, today, retry_days)
        if number is not None and collect_instalment(instalment=instalment, number=number, at=at) is not None:
            made += 1
    return made


def sweep(*, at: datetime) -> int:
    """Every tenant's card charges due (beat, hourly)."""
    with scopes_disabled():
        tenants = list(Tenant.objects.filter(
            Q(pk__in=SavedCard.objects.filter(removed_at__isnull=True).values("tenant_id"))
            | Q(pk__in=ScheduleRun.objects.filter(collect_by_card=True).values("tenant_id"))))
    made = 0
    for tenant in tenants:
        with scope(tenant=tenant):
            made += collect_for_tenant(tenant=tenant, at=at)
    return made
