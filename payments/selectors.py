"""Reads of payments shared by pages."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from crm.models import Tenant
from gateways.models import WebhookDelivery


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
