"""Processing stored webhook deliveries: settle the payment each one names, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from crm.models import Tenant
from gateways import inbox
from gateways.models import WebhookDelivery, WebhookOutcome
from payments.models import (
    GatewayPayment,
)

# --- webhooks ------------------------------------------------------------------------------------
from payments.services.gateway_payments import apply_state, fetch_provider_state


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
        state = fetch_provider_state(payment)
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
