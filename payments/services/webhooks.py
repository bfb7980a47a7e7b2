"""Processing stored webhook deliveries: settle the payment each one names, once; in batches of a
tenant's waiting deliveries (docs/gateways.md, "Webhooks")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from core import tallies
from crm.models import Tenant
from gateways import inbox
from gateways.base import GatewayUnavailable, WebhookEvent
from gateways.models import GatewayAccount, WebhookDelivery, WebhookOutcome
from payments.models import GatewayPayment
from payments.services.gateway_payments import (
    BookingSetup,
    apply_state,
    apply_to_locked,
    fetch_provider_state,
    lock_payments,
)

logger = logging.getLogger(__name__)
BATCH_SIZE = 100  # deliveries one batch task processes at most; another task takes the rest
RETRY_AFTER_SECONDS = 5  # a delivery the provider could not confirm is retried by a task of its own

# --- webhooks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str
    detail: str = ""


@transaction.atomic(savepoint=False)
def _finish(delivery: WebhookDelivery, outcome: str, detail: str, at: datetime) -> DeliveryResult:
    if WebhookDelivery.objects.filter(pk=delivery.pk, outcome=WebhookOutcome.RECEIVED).update(
            outcome=outcome, detail=detail[:2000], processed_at=at):
        tallies.add_on_commit("webhook_deliveries_processed", outcome=outcome)
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
    return _process(tenant, _count_attempt(tenant=tenant, delivery_id=delivery_id), at)


@dataclass
class Batch:
    processed: list[int] = field(default_factory=list)
    handed_over: list[int] = field(default_factory=list)  # failed here: each is now a task of its own


def process_waiting_deliveries(*, tenant: Tenant, claimer: str, limit: int = BATCH_SIZE,
                               clock: Callable[[], datetime] = timezone.now) -> Batch:
    """Process the tenant's waiting deliveries for batch task ``claimer`` (its task id), oldest first, up
    to ``limit``: first those the same task claimed and did not finish (it was killed and runs again),
    then each claimed on its own (``inbox.claim_waiting``, which counts its attempt), each processed in
    transactions of its own, so that one failure blocks none of the rest. A delivery that fails is
    handed to a ``process_webhook_delivery`` task, which retries while the provider is unavailable and
    otherwise fails where monitoring shows it. Having found work, the batch first wakes another, so
    that every worker process takes part in a burst.
    """
    with tallies.gathered():  # the batch's counts go to the metrics in one round trip
        return _process_waiting(tenant=tenant, claimer=claimer, limit=limit, clock=clock)


def _process_waiting(*, tenant: Tenant, claimer: str, limit: int, clock: Callable[[], datetime]) -> Batch:
    inbox.batch_started(tenant_id=tenant.pk)
    batch, setup, gateway_accounts = Batch(), BookingSetup(), {}
    unfinished = inbox.reclaim_unfinished(tenant_id=tenant.pk, claimer=claimer)
    while len(batch.processed) + len(batch.handed_over) < limit:
        delivery = unfinished.pop(0) if unfinished else inbox.claim_waiting(tenant_id=tenant.pk, claimer=claimer)
        if delivery is None:
            break
        delivery_id = delivery.pk
        if not (batch.processed or batch.handed_over):
            inbox.wake_processing(tenant_id=tenant.pk)
        try:
            if delivery.gateway_account_id not in gateway_accounts:  # a tenant's few, read once a batch
                gateway_accounts[delivery.gateway_account_id] = GatewayAccount.objects.get(
                    tenant=tenant, pk=delivery.gateway_account_id)
            delivery.gateway_account = gateway_accounts[delivery.gateway_account_id]
            _process(tenant, delivery, clock(), setup)
        except Exception as error:
            unavailable = isinstance(error, GatewayUnavailable)
            if not unavailable:
                logger.exception("Webhook delivery %s failed in a batch; handed to a task of its own", delivery_id)
            inbox.enqueue_processing(delivery_id=delivery_id, tenant_id=tenant.pk,
                                     countdown=RETRY_AFTER_SECONDS if unavailable else None)
            batch.handed_over.append(delivery_id)
        else:
            batch.processed.append(delivery_id)
    return batch


def _process(tenant: Tenant, delivery: WebhookDelivery, at: datetime,
             setup: BookingSetup | None = None) -> DeliveryResult:
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
        payment = _payment_for(tenant, delivery.provider, event.provider_reference, lock=True)
        if payment is None:
            return _finish(delivery, WebhookOutcome.IGNORED, _no_payment(event), at)
        if event.status is None:
            return _finish(delivery, WebhookOutcome.IGNORED, f"Event type {event.event_type} is not acted on.", at)
        return _settle(delivery, payment, status=event.status, amount_minor=event.amount_minor, message="", at=at,
                       locked=True, setup=setup)


@transaction.atomic
def _count_attempt(*, tenant: Tenant, delivery_id: int) -> WebhookDelivery:
    """The delivery, with one more attempt counted when it is still to be processed."""
    delivery = WebhookDelivery.objects.select_related("gateway_account").get(pk=delivery_id, tenant=tenant)
    if delivery.outcome == WebhookOutcome.RECEIVED:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    return delivery


@transaction.atomic(savepoint=False)
def _settle(delivery: WebhookDelivery, payment: GatewayPayment, *, status: str, amount_minor: int | None,
            message: str, at: datetime, locked: bool = False, setup: BookingSetup | None = None) -> DeliveryResult:
    """Apply ``status`` to ``payment`` (already ``locked`` in this transaction, or locked here) and record the
    delivery's outcome, together."""
    apply = partial(apply_to_locked, locked=payment, setup=setup) if locked else partial(apply_state, payment=payment)
    try:
        apply(status=status, at=at, source=f"webhook {delivery.event_id}", failure_message=message,
              amount_minor=amount_minor)
    except ValueError as error:  # nothing applied: nothing is written before it can raise
        return _finish(delivery, WebhookOutcome.FAILED, str(error), at)
    return _finish(delivery, WebhookOutcome.PROCESSED, f"{payment.reference}: {status}", at)


def _no_payment(event: WebhookEvent) -> str:
    return f"No payment has the reference {event.provider_reference}."


def _payment_for(tenant: Tenant, provider: str, reference: str, *, lock: bool = False) -> GatewayPayment | None:
    """The payment a provider reference names (``lock``: locked for ``apply_to_locked``). A provider may
    refine a reference after the checkout (Cashflows: the job ``j`` becomes ``j/p`` once the payer pays);
    the payment then takes the fuller one."""
    payments = GatewayPayment.objects.filter(tenant=tenant, provider=provider)
    payments = lock_payments(payments) if lock else payments.select_related("gateway_account")
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
