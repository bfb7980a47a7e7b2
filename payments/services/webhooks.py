"""Processing stored webhook deliveries: settle the payment each one names, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from crm.models import Tenant
from gateways import inbox
from gateways.base import WebhookEvent
from gateways.models import WebhookDelivery, WebhookOutcome
from payments.models import GatewayPayment
from payments.services.gateway_payments import apply_state, fetch_provider_state

# --- webhooks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str
    detail: str = ""


@transaction.atomic(savepoint=False)
def _finish(delivery: WebhookDelivery, outcome: str, detail: str, at: datetime) -> DeliveryResult:
    WebhookDelivery.objects.filter(pk=delivery.pk, outcome=WebhookOutcome.RECEIVED).update(
        outcome=outcome, detail=detail[:2000], processed_at=at
    )
    return DeliveryResult(outcome=outcome, detail=detail)


def process_webhook_delivery(*, tenant: Tenant, delivery_id: int, at: datetime) -> DeliveryResult:
    """Settle what a stored webhook delivery says. Safe to run twice: a delivery is processed once,
    and applying a status twice changes nothing.

    Two transactions: the first counts the attempt (committed before anything can fail, so the
    inbox sweep knows processing started), the second finds the payment, applies the status and
    records the outcome together. A provider asked to confirm is called between the two, outside
    any transaction.

    :raises GatewayUnavailable: confirming with the provider failed; the delivery stays received.
    """
    delivery = _count_attempt(tenant=tenant, delivery_id=delivery_id)
    if delivery.outcome != WebhookOutcome.RECEIVED:
        return DeliveryResult(outcome=delivery.outcome, detail="already processed")
    event = inbox.event_of(delivery, delivery.gateway_account)
    if event.needs_confirmation:
        payment = _payment_for(tenant, delivery.provider, event.provider_reference)
        if payment is None:
            return _finish(delivery, WebhookOutcome.IGNORED, _no_payment(event), at)
        state = fetch_provider_state(payment)
        return _settle(delivery, payment, status=state.status, amount_minor=state.amount_minor,
                       message=state.failure_message, at=at)
    with transaction.atomic():
        payment = _payment_for(tenant, delivery.provider, event.provider_reference)
        if payment is None:
            return _finish(delivery, WebhookOutcome.IGNORED, _no_payment(event), at)
        if event.status is None:
            return _finish(delivery, WebhookOutcome.IGNORED, f"Event type {event.event_type} is not acted on.", at)
        return _settle(delivery, payment, status=event.status, amount_minor=event.amount_minor, message="", at=at)


@transaction.atomic
def _count_attempt(*, tenant: Tenant, delivery_id: int) -> WebhookDelivery:
    """The delivery, with one more attempt counted when it is still to be processed."""
    delivery = WebhookDelivery.objects.select_related("gateway_account").get(pk=delivery_id, tenant=tenant)
    if delivery.outcome == WebhookOutcome.RECEIVED:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    return delivery


@transaction.atomic(savepoint=False)
def _settle(delivery: WebhookDelivery, payment: GatewayPayment, *, status: str, amount_minor: int | None,
            message: str, at: datetime) -> DeliveryResult:
    try:
        apply_state(payment=payment, status=status, at=at, source=f"webhook {delivery.event_id}",
                    failure_message=message, amount_minor=amount_minor)
    except ValueError as error:  # nothing applied: apply_state's savepoint was rolled back
        return _finish(delivery, WebhookOutcome.FAILED, str(error), at)
    return _finish(delivery, WebhookOutcome.PROCESSED, f"{payment.reference}: {status}", at)


def _no_payment(event: WebhookEvent) -> str:
    return f"No payment has the reference {event.provider_reference}."


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
