"""The worker's part: booking an import's lines, and the sweep that books what a lost task left waiting."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from banking.models import BankAccount, LineState, StatementImport, StatementLine
from banking.services.matching import book_waiting
from banking.services.refunds import propose_monthly
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


@tenant_task(name="banking.propose_refunds_for_tenant")
def propose_refunds_for_tenant(*, tenant: Tenant, as_of: str | None = None) -> int:
    at = datetime.fromisoformat(as_of) if as_of else timezone.now()
    return len(propose_monthly(tenant=tenant, at=at))


@shared_task(name="banking.propose_monthly_refunds", acks_late=True, ignore_result=True)
def propose_monthly_refunds(**kwargs) -> None:
    """Beat, every hour: the month's refund run of each tenant with a bank account that pays refunds, made
    once a month (a unique key per bank account and month), however often or late beat asks."""
    with scopes_disabled():
        tenant_ids = list(BankAccount.objects.filter(pays_refunds=True).values_list("tenant", flat=True).distinct())
    for tenant_id in tenant_ids:
        propose_refunds_for_tenant.delay(tenant_id=tenant_id)
