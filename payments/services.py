"""Collecting money through a provider: start a payment, apply what the provider says about it,
process webhook deliveries, re-poll stale payments, refund.

A provider is called outside any database transaction (its answer is stored in a second one), so a
slow provider holds no lock and a failing one leaves the payment pending and visible.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django_fsm import can_proceed

from crm.models import Tenant, User
from finance import services as ledger
from finance.models import Account, Classification, FinancialTransaction, PaymentMethod, RefundMethod
from gateways import inbox, registry
from gateways.base import (
    CheckoutMode,
    CheckoutRequest,
    GatewayError,
    GatewayUnavailable,
    PaymentDeclined,
    PaymentState,
    RefundRequest,
    from_minor_units,
    to_minor_units,
)
from gateways.base import PaymentStatus as Normalised
from gateways.models import GatewayAccount, WebhookDelivery, WebhookOutcome
from payments.models import GatewayPayment, GatewayRefund, PaymentEvent, PaymentStatus, RefundStatus

logger = logging.getLogger(__name__)
TRANSITIONS = {
    Normalised.PROCESSING: "mark_processing",
    Normalised.FAILED: "mark_failed",
    Normalised.CANCELLED: "mark_cancelled",
    Normalised.EXPIRED: "mark_expired",
}
DEFAULT_PAYMENT_METHOD = "Card"
DEFAULT_REFUND_METHOD = "Card refund"


def _new_reference(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


# --- starting a payment ------------------------------------------------------------------------


@transaction.atomic
def _create_payment(**fields) -> GatewayPayment:
    return GatewayPayment.objects.create(**fields)


def start_payment(
    *, gateway_account: GatewayAccount, account: Account, amount: Decimal, description: str, mode: str,
    return_url: str, webhook_url: str, at: datetime, invoice: FinancialTransaction | None = None,
    cancel_url: str = "", customer_email: str = "", expires_at: datetime | None = None, pay_in_4: bool = False,
    actor: User | None = None,
) -> GatewayPayment:
    """Record a payment, then ask the provider for a checkout (a hosted page or card fields).

    A provider that is unavailable leaves the payment pending with the reason shown; a refusal marks
    it failed with the provider's message. Neither raises.

    :raises ValueError: the provider cannot take this currency or mode (the pages offer only what it can).
    """
    capabilities = registry.capabilities_of(gateway_account.provider)
    if not capabilities.supports(mode=CheckoutMode(mode), currency=account.currency, pay_in_4=pay_in_4):
        raise ValueError(f"{gateway_account} cannot take {account.currency} this way.")
    payment = _create_payment(
        tenant=account.tenant, reference=_new_reference("dp"), gateway_account=gateway_account,
        provider=gateway_account.provider, account=account, invoice=invoice, amount=amount,
        currency=account.currency, mode=mode, description=description[:200], expires_at=expires_at,
        created_by=actor, created_at=at, updated_at=at,
    )
    request = CheckoutRequest(
        reference=payment.reference, amount_minor=to_minor_units(amount, account.currency),
        currency=account.currency, description=description, mode=CheckoutMode(mode), return_url=return_url,
        cancel_url=cancel_url, customer_email=customer_email, expires_at=expires_at, pay_in_4=pay_in_4,
        webhook_url=webhook_url,
    )
    try:
        checkout = registry.gateway_for(account=gateway_account).start_checkout(request)
    except GatewayUnavailable as error:
        return _note_problem(payment, f"The provider did not answer; the payment stays pending. ({error})", at)
    except PaymentDeclined as error:
        return apply_state(payment=payment, status=Normalised.FAILED, at=at, source="checkout",
                           failure_message=str(error))
    except GatewayError as error:
        return _note_problem(payment, f"The provider refused the request: {error}", at)
    with transaction.atomic():
        GatewayPayment.objects.filter(pk=payment.pk).update(
            provider_reference=checkout.provider_reference, redirect_url=checkout.redirect_url,
            expires_at=checkout.expires_at or expires_at, updated_at=at,
        )
    payment.refresh_from_db(fields=["provider_reference", "redirect_url", "expires_at", "updated_at"])
    # Card fields need the provider's client token, which is a secret of the moment: handed to the
    # page that asked, never stored.
    payment.client_token = checkout.client_token
    return payment


@transaction.atomic
def _note_problem(payment: GatewayPayment, message: str, at: datetime) -> GatewayPayment:
    GatewayPayment.objects.filter(pk=payment.pk).update(failure_message=message[:300], updated_at=at)
    payment.refresh_from_db(fields=["failure_message", "updated_at"])
    return payment


# --- applying what the provider says -------------------------------------------------------------


def _payment_method(payment: GatewayPayment) -> PaymentMethod:
    name = payment.gateway_account.settings.get("payment_method", DEFAULT_PAYMENT_METHOD)
    method, _ = PaymentMethod.objects.get_or_create(tenant=payment.tenant, name=name)
    return method


def _book(payment: GatewayPayment, at: datetime, *, actor: User | None = None,
          external_reference: str = "") -> FinancialTransaction:
    """Post the one ledger payment of a succeeded gateway payment, allocated to what it paid for."""
    invoice = payment.invoice
    targets = [invoice] if invoice is not None else []
    draft = ledger.create_transaction(
        account=payment.account, classification=Classification.PAYMENT, actor=actor or payment.created_by, at=at,
        amount=payment.amount, payment_method=_payment_method(payment), targets=targets,
        external_reference=external_reference or payment.provider_reference or payment.reference,
        issue_reason=f"{payment.gateway_account.get_provider_display()} payment {payment.reference}",
    )
    settle = None
    if invoice is not None:
        invoice = FinancialTransaction.objects.get(pk=invoice.pk)
        settle = invoice if invoice.open_amount > 0 else None
    return ledger.post_transaction(txn=draft, actor=actor or payment.created_by, at=at, settle=settle).transaction


@transaction.atomic
def apply_state(
    *, payment: GatewayPayment, status: str, at: datetime, source: str, failure_message: str = "",
    amount_minor: int | None = None, actor: User | None = None, external_reference: str = "",
) -> GatewayPayment:
    """Move a payment to what the provider says, once. A success books exactly one ledger payment;
    a success after a success, or anything after one, changes nothing; a status the payment cannot
    reach from where it is (a "processing" after a failure was final) is ignored.

    :raises ValueError: the provider reports a different amount for a success (nothing is booked).
    """
    locked = GatewayPayment.objects.select_for_update().select_related("gateway_account", "account").get(
        tenant=payment.tenant_id, pk=payment.pk
    )
    before = locked.status
    if before == PaymentStatus.SUCCEEDED or before == status:
        return locked
    if status == Normalised.SUCCEEDED:
        if amount_minor is not None and from_minor_units(amount_minor, locked.currency) != locked.amount:
            raise ValueError(
                f"{locked.reference}: the provider reports {from_minor_units(amount_minor, locked.currency)} "
                f"{locked.currency}, not {locked.amount}."
            )
        booked = _book(locked, at, actor=actor, external_reference=external_reference)
        locked.mark_succeeded(ledger_payment=booked, at=at)
    elif status in TRANSITIONS:
        move = getattr(locked, TRANSITIONS[status])
        if can_proceed(move) and status == Normalised.FAILED:
            move(message=failure_message or "The payment failed.")
        elif can_proceed(move):
            move()
    if locked.status == before:
        return locked
    locked.updated_at = at
    locked.save()
    PaymentEvent.objects.create(tenant_id=locked.tenant_id, payment=locked, from_status=before,
                                to_status=locked.status, source=source[:60], at=at)
    return locked


def record_bank_confirmation(
    *, payment: GatewayPayment, bank_reference: str, actor: User, at: datetime
) -> GatewayPayment:
    """The manual path of a bank email-pay provider (Credicorp): an accountant records the bank's
    confirmation, which books the same single ledger payment a callback would. A callback arriving
    afterwards, or a second confirmation, changes nothing.

    :raises ValidationError: no bank reference, or the payment already succeeded.
    """
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise ValidationError({"bank_reference": "Enter the bank's reference for the payment."})
    if payment.status == PaymentStatus.SUCCEEDED:
        raise ValidationError({"bank_reference": f"{payment.reference} is already paid."})
    return apply_state(payment=payment, status=Normalised.SUCCEEDED, at=at, actor=actor,
                       source=f"bank confirmation by {actor.get_username()}", external_reference=bank_reference)


def _confirm(payment: GatewayPayment) -> PaymentState:
    """Ask the provider (outside any transaction) where the payment stands."""
    return registry.gateway_for(account=payment.gateway_account).fetch_status(payment.provider_reference)


def refresh_payment(*, payment: GatewayPayment, at: datetime, source: str = "poll") -> GatewayPayment:
    """Fetch the payment's status from its provider and apply it.

    :raises GatewayUnavailable: the provider did not answer (the caller retries later).
    """
    if not payment.provider_reference:
        return payment
    state = _confirm(payment)
    GatewayPayment.objects.filter(pk=payment.pk).update(last_checked_at=at)
    return apply_state(payment=payment, status=state.status, at=at, source=source,
                       failure_message=state.failure_message, amount_minor=state.amount_minor)


# --- webhooks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str
    detail: str = ""


@transaction.atomic
def _finish(delivery: WebhookDelivery, outcome: str, detail: str, at: datetime) -> DeliveryResult:
    WebhookDelivery.objects.filter(pk=delivery.pk, outcome=WebhookOutcome.RECEIVED).update(
        outcome=outcome, detail=detail[:2000], processed_at=at
    )
    return DeliveryResult(outcome=outcome, detail=detail)


def process_webhook_delivery(*, tenant: Tenant, delivery_id: int, at: datetime) -> DeliveryResult:
    """Settle what a stored webhook delivery says. Safe to run twice: a delivery is processed once,
    and applying a status twice changes nothing.

    :raises GatewayUnavailable: confirming with the provider failed; the delivery stays received.
    """
    delivery = WebhookDelivery.objects.select_related("gateway_account").get(pk=delivery_id, tenant=tenant)
    if delivery.outcome != WebhookOutcome.RECEIVED:
        return DeliveryResult(outcome=delivery.outcome, detail="already processed")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    event = inbox.event_of(delivery, delivery.gateway_account)
    payment = _payment_for(tenant, delivery.provider, event.provider_reference)
    if payment is None:
        detail = f"No payment has the reference {event.provider_reference}."
        return _finish(delivery, WebhookOutcome.IGNORED, detail, at)
    if event.needs_confirmation:
        state = _confirm(payment)
        status, amount_minor, message = state.status, state.amount_minor, state.failure_message
    elif event.status is None:
        return _finish(delivery, WebhookOutcome.IGNORED, f"Event type {event.event_type} is not acted on.", at)
    else:
        status, amount_minor, message = event.status, event.amount_minor, ""
    try:
        apply_state(payment=payment, status=status, at=at, source=f"webhook {delivery.event_id}",
                    failure_message=message, amount_minor=amount_minor)
    except ValueError as error:
        return _finish(delivery, WebhookOutcome.FAILED, str(error), at)
    return _finish(delivery, WebhookOutcome.PROCESSED, f"{payment.reference}: {status}", at)


def _payment_for(tenant: Tenant, provider: str, reference: str) -> GatewayPayment | None:
    """The payment a provider reference names. A provider may refine a reference after the checkout
    (Cashflows: the job ``j`` becomes ``j/p`` once the payer pays); the payment then takes the fuller one."""
    payments = GatewayPayment.objects.select_related("gateway_account").filter(tenant=tenant, provider=provider)
    payment = payments.filter(provider_reference=reference).first()
    if payment is None and "/" in reference:
        payment = payments.filter(provider_reference=reference.split("/", 1)[0]).first()
        if payment is not None:
            GatewayPayment.objects.filter(pk=payment.pk).update(provider_reference=reference)
            payment.provider_reference = reference
    return payment


@transaction.atomic
def replay_webhook_delivery(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Process a delivery again (support's "replay"): back to received, enqueued after commit."""
    WebhookDelivery.objects.filter(pk=delivery.pk).exclude(outcome=WebhookOutcome.REJECTED).update(
        outcome=WebhookOutcome.RECEIVED, detail="", processed_at=None
    )
    transaction.on_commit(lambda: inbox.enqueue_processing(delivery_id=delivery.pk, tenant_id=delivery.tenant_id))
    delivery.refresh_from_db()
    return delivery


# --- the janitor ---------------------------------------------------------------------------------


def stale_payments(*, older_than: timedelta, at: datetime):
    """Payments still pending or processing, with a provider reference, untouched for ``older_than``."""
    return GatewayPayment.objects.filter(
        status__in=[PaymentStatus.PENDING, PaymentStatus.PROCESSING], updated_at__lt=at - older_than,
    ).exclude(provider_reference="").filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=at - older_than))


# --- refunds -------------------------------------------------------------------------------------


@transaction.atomic
def _request_refund(*, payment: GatewayPayment, amount: Decimal, actor: User | None, at: datetime) -> GatewayRefund:
    locked = GatewayPayment.objects.select_for_update().get(tenant=payment.tenant_id, pk=payment.pk)
    if locked.status != PaymentStatus.SUCCEEDED:
        raise ValueError("Only a succeeded payment can be refunded.")
    already = sum((r.amount for r in locked.refunds.exclude(status=RefundStatus.FAILED)), Decimal(0))
    if amount <= 0 or already + amount > locked.amount:
        raise ValueError(f"At most {locked.amount - already} {locked.currency} can still be refunded.")
    return GatewayRefund.objects.create(
        tenant_id=locked.tenant_id, payment=locked, amount=amount, idempotency_key=_new_reference("rf"),
        created_by=actor, created_at=at,
    )


def refund_payment(*, payment: GatewayPayment, amount: Decimal, actor: User | None, at: datetime) -> GatewayRefund:
    """Refund part or all of a succeeded payment: our record first, then the provider (with the
    record's idempotency key), then the ledger refund.

    :raises ValueError: the payment did not succeed, or the amount is more than is left to refund.
    :raises GatewayUnavailable: the provider did not answer; ``retry_refund`` sends the same key again.
    """
    return retry_refund(refund=_request_refund(payment=payment, amount=amount, actor=actor, at=at), at=at)


def retry_refund(*, refund: GatewayRefund, at: datetime) -> GatewayRefund:
    """Send a requested refund to the provider (again); the same idempotency key never refunds twice."""
    if refund.status != RefundStatus.REQUESTED:
        return refund
    payment = refund.payment
    try:
        result = registry.gateway_for(account=payment.gateway_account).refund(RefundRequest(
            provider_reference=payment.provider_reference, amount_minor=to_minor_units(refund.amount, payment.currency),
            currency=payment.currency, idempotency_key=refund.idempotency_key,
        ))
    except (PaymentDeclined, GatewayError) as error:
        if isinstance(error, GatewayUnavailable):
            raise
        return _refund_failed(refund, str(error))
    return _refund_done(refund, result.refund_reference, result.succeeded, at)


@transaction.atomic
def _refund_failed(refund: GatewayRefund, message: str) -> GatewayRefund:
    GatewayRefund.objects.filter(pk=refund.pk, status=RefundStatus.REQUESTED).update(
        status=RefundStatus.FAILED, failure_message=message[:300]
    )
    refund.refresh_from_db()
    return refund


@transaction.atomic
def _refund_done(refund: GatewayRefund, reference: str, succeeded: bool, at: datetime) -> GatewayRefund:
    locked = GatewayRefund.objects.select_for_update().select_related("payment__account").get(pk=refund.pk)
    if locked.status != RefundStatus.REQUESTED:
        return locked
    if not succeeded:
        return _refund_failed(locked, "The provider did not accept the refund.")
    method, _ = RefundMethod.objects.get_or_create(tenant_id=locked.tenant_id, name=DEFAULT_REFUND_METHOD)
    posted = ledger.refund(
        account=locked.payment.account, amount=locked.amount, refund_method=method, actor=locked.created_by, at=at,
        external_reference=reference, issue_reason=f"Refund of {locked.payment.reference}",
    ).transaction
    locked.status = RefundStatus.SUCCEEDED
    locked.provider_refund_reference = reference
    locked.ledger_refund = posted
    locked.save()
    return locked
