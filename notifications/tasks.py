"""Celery tasks of the notifications app: thin, named, keyword-only, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from crm.models import Tenant
from crm.scoping import tenant_task
from notifications import services


@tenant_task(name=services.DELIVER_TASK)
def deliver(*, tenant, notification_id: int, **kwargs) -> str:
    """Deliver one notification (``services.deliver`` retries a failed attempt with a new task)."""
    return services.deliver(tenant=tenant, notification_id=notification_id, at=timezone.now()).value


@tenant_task(name="notifications.sweep_tenant_outbox")
def sweep_tenant_outbox(*, tenant, **kwargs) -> None:
    services.sweep_outbox(tenant=tenant, at=timezone.now())


@shared_task(name="notifications.sweep_outbox", acks_late=True, ignore_result=True)
def sweep_outbox(**kwargs) -> None:
    """Every minute (``config.beat``): each tenant's outbox is swept in that tenant's scope."""
    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        sweep_tenant_outbox.delay(tenant_id=tenant_id)
