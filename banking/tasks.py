"""The worker's part: booking an import's lines, and the sweep that books what a lost task left waiting."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from banking.models import LineState, StatementImport, StatementLine
from banking.services.matching import book_waiting
from crm.models import Tenant
from crm.scoping import tenant_task


@tenant_task(name="banking.book_statement")
def book_statement(*, tenant: Tenant, statement_import_id: int | None = None) -> int:
    """Book an imported file's waiting lines (enqueued when the import commits), or all the tenant's."""
    statement_import = (StatementImport.objects.get(tenant=tenant, pk=statement_import_id)
                        if statement_import_id else None)
    return book_waiting(tenant=tenant, statement_import=statement_import, at=timezone.now())


@shared_task(name="banking.sweep_waiting_lines", acks_late=True, ignore_result=True)
def sweep_waiting_lines(**kwargs) -> None:
    """Lines still waiting a while after their import (the broker was down, a worker died) are booked
    (beat, every 5 minutes)."""
    with scopes_disabled():
        tenant_ids = list(StatementLine.objects.filter(state=LineState.NEW).values_list("tenant", flat=True)
                          .distinct())
    for tenant_id in tenant_ids:
        book_statement.delay(tenant_id=tenant_id)
