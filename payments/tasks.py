"""Celery tasks of payments: thin, keyword-only, safe to run twice, retried only when a provider
did not answer."""

from __future__ import annotations

from celery import current_task, shared_task
from django.conf import settings
from django.utils import timezone
from django_scopes import scopes_disabled

from crm.scoping import tenant_task
from gateways.base import GatewayUnavailable
from payments.models import GatewayPayment
from payments.services import notices, saved_cards
from payments.services.gateway_payments import KEEP_CARD_TASK, refresh_payment, stale_payments
from payments.services.webhooks import process_waiting_deliveries
from payments.services.webhooks import process_webhook_delivery as process_delivery

RETRY = {"autoretry_for": (GatewayUnavailable,), "retry_backoff": 5, "retry_backoff_max": 600, "max_retries": 10}


@tenant_task(name="payments.process_webhook_delivery", **RETRY)
def process_webhook_delivery(*, tenant, delivery_id: int, **kwargs) -> None:
    process_delivery(tenant=tenant, delivery_id=delivery_id, at=timezone.now())


@tenant_task(name="payments.process_webhook_batch")
def process_webhook_batch(*, tenant, **kwargs) -> None:
    """Woken by a stored delivery (``gateways.inbox.wake_processing``): the tenant's waiting deliveries."""
    process_waiting_deliveries(tenant=tenant, claimer=current_task.request.id)


@tenant_task(name=notices.NOTICES_TASK)
def send_payment_notices(*, tenant, **kwargs) -> None:
    """Woken by a booked success (``notices.wake_after_commit``): the tenant's confirmations and staff notes."""
    notices.send_waiting_notices(tenant=tenant)


@shared_task(name="payments.sweep_payment_notices", acks_late=True, ignore_result=True)
def sweep_payment_notices(**kwargs) -> None:
    """Wake the notices task of every tenant with a notice whose task was lost."""
    with scopes_disabled():
        tenant_ids = notices.tenants_with_lost_notices(at=timezone.now())
    for tenant_id in tenant_ids:
        notices.enqueue(tenant_id=tenant_id)


@tenant_task(name="payments.poll_payment", **RETRY)
def poll_payment(*, tenant, payment_id: int, **kwargs) -> None:
    payment = GatewayPayment.objects.select_related("gateway_account").get(tenant=tenant, pk=payment_id)
    refresh_payment(payment=payment, at=timezone.now(), source="janitor")


@shared_task(name="payments.poll_stale_payments", acks_late=True, ignore_result=True)
def poll_stale_payments(**kwargs) -> None:
    """The janitor: re-poll, tenant by tenant, payments stuck pending or processing."""
    with scopes_disabled():
        stale = list(
            stale_payments(older_than=settings.PAYMENTS_STALE_AFTER, at=timezone.now())
            .values_list("tenant_id", "pk")[:1000]
        )
    for tenant_id, payment_id in stale:
        poll_payment.delay(tenant_id=tenant_id, payment_id=payment_id)
    with scopes_disabled():
        to_keep = list(saved_cards.payments_with_card_to_keep().values_list("tenant_id", "pk")[:1000])
        to_forget = list(saved_cards.cards_to_forget().values_list("tenant_id", "pk")[:1000])
    for tenant_id, payment_id in to_keep:
        keep_saved_card.delay(tenant_id=tenant_id, payment_id=payment_id)
    for tenant_id, card_id in to_forget:
        forget_saved_card.delay(tenant_id=tenant_id, card_id=card_id)


@tenant_task(name=KEEP_CARD_TASK, **RETRY)
def keep_saved_card(*, tenant, payment_id: int, **kwargs) -> None:
    """Record the card the provider kept for a payment whose customer agreed (after its success)."""
    payment = GatewayPayment.objects.select_related("gateway_account", "account__customer").get(
        tenant=tenant, pk=payment_id)
    saved_cards.keep_card_of(payment=payment, at=timezone.now())


@tenant_task(name="payments.forget_saved_card")
def forget_saved_card(*, tenant, card_id: int, **kwargs) -> None:
    """Ask the provider again to forget a removed card (it did not answer when it was removed)."""
    saved_cards.forget_at_provider(card=saved_cards.SavedCard.objects.select_related("gateway_account").get(
        tenant=tenant, pk=card_id))
