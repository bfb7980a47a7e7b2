"""The demo's recurring invoices: a monthly policy fee since the start of the month, and a quarterly
retainer from next month. Idempotent (by the schedule's name)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from billing.models import RecurringSchedule
from billing.services.runs import issue_for_tenant
from billing.services.schedules import LineInput, ScheduleData, create_schedule
from core.clock import tenant_today
from crm.models import Customer, Tenant
from finance.models import Account


def seed_billing(*, tenant: Tenant, customers: list[Customer]) -> None:
    today = tenant_today(tenant)
    plans = [
        (0, "Monthly policy fee", "monthly", today.replace(day=1), "Policy fee", "45.00"),
        (1, "Quarterly retainer", "quarterly", (today.replace(day=1) + timedelta(days=32)).replace(day=1),
         "Retainer", "300.00"),
    ]
    for index, name, frequency, start_on, line, price in plans:
        if index >= len(customers):
            continue
        account = Account.objects.filter(tenant=tenant, customer=customers[index],
                                         currency=tenant.default_currency).first()
        if account is None or RecurringSchedule.objects.filter(tenant=tenant, name=name).exists():
            continue
        create_schedule(account=account, actor=None, at=timezone.now(), data=ScheduleData(
            name=name, frequency=frequency, start_on=start_on, lines=[LineInput(description=line, unit_price=price)]))
    issue_for_tenant(tenant=tenant, at=timezone.now())
