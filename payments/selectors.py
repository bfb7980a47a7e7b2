"""Reads of payments shared by pages."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from crm.models import Tenant
from gateways.models import WebhookDelivery
from payments.models import GatewayPayment


def webhook_deliveries(*, tenant: Tenant, outcome: str = "") -> QuerySet[WebhookDelivery]:
    rows = WebhookDelivery.objects.filter(tenant=tenant).select_related("gateway_account")
    if outcome:
        rows = rows.filter(outcome=outcome)
    return rows.order_by("-received_at", "-id")


def get_webhook_delivery(*, tenant: Tenant, delivery_id: int) -> WebhookDelivery:
    try:
        return WebhookDelivery.objects.get(tenant=tenant, pk=delivery_id)
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError):
        raise Http404("No such delivery.") from None


def gateway_payments(*, tenant: Tenant, status: str = "", provider: str = "") -> QuerySet[GatewayPayment]:
    rows = GatewayPayment.objects.filter(tenant=tenant).select_related(
        "account__customer", "gateway_account", "invoice", "ledger_payment"
    )
    if status:
        rows = rows.filter(status=status)
    if provider:
        rows = rows.filter(provider=provider)
    return rows.order_by("-created_at", "-id")


def get_gateway_payment(*, tenant: Tenant, payment_id: int) -> GatewayPayment:
    try:
        return GatewayPayment.objects.select_related(
            "account__customer", "gateway_account", "invoice", "ledger_payment", "created_by"
        ).get(tenant=tenant, pk=payment_id)
    except (GatewayPayment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such payment.") from None
