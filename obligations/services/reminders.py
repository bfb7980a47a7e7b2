"""Instalment reminders: before an unpaid instalment falls due, and an overdue notice after.

The sweep (beat, ``payments.send_instalment_reminders``) selects by a window of dates, never "exactly
N days before today", so a run that comes late — the worker was down — still sends what became due
while it was away:

- a **reminder** for each unpaid instalment due between today and ``reminder_days_before`` days from
  now (the tenant's local date), once per instalment and due date;
- an **overdue notice** for each unpaid instalment due ``overdue_days_after`` days ago or earlier, once
  per instalment and due date.

Messages go by email, and by SMS when the tenant turned SMS on, through the outbox, which holds them
for the tenant's sending hours. Once is guaranteed by the outbox's unique event key
(``instalment:<id>:reminder:<due date>``); the instalment's ``reminded_for`` / ``overdue_notice_for``
only spare the sweep from looking at them again. Each instalment is its own transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django_scopes import scope, scopes_disabled

from core.clock import tenant_today
from core.l10n import day, for_customer
from core.l10n import money as format_money
from crm.models import Tenant
from notifications.models import Channel
from notifications.services import notify
from obligations import selectors
from obligations.models import Instalment, InstalmentStatus
from obligations.services.obligations import portal_link

REMINDER, OVERDUE = "reminder", "overdue"
BATCH = 1000


def _candidates(tenant: Tenant, at: datetime) -> list[tuple[int, str]]:
    options = selectors.obligation_settings(tenant=tenant)
    today = tenant_today(tenant, at)
    unpaid = Instalment.objects.filter(tenant=tenant, status=InstalmentStatus.UNPAID)
    reminders = unpaid.filter(due_on__gte=today, due_on__lte=today + timedelta(days=options.reminder_days_before)
                              ).filter(Q(reminded_for__isnull=True) | ~Q(reminded_for=F("due_on")))
    overdue = unpaid.filter(due_on__lte=today - timedelta(days=options.overdue_days_after)).filter(
        Q(overdue_notice_for__isnull=True) | ~Q(overdue_notice_for=F("due_on")))
    return ([(pk, REMINDER) for pk in reminders.order_by("due_on", "pk").values_list("pk", flat=True)[:BATCH]]
            + [(pk, OVERDUE) for pk in overdue.order_by("due_on", "pk").values_list("pk", flat=True)[:BATCH]])


@transaction.atomic
def send_instalment_notice(*, instalment: Instalment, kind: str, sms: bool, at: datetime) -> bool:
    """Write the reminder or overdue notice of one instalment into the outbox, once per due date.
    Returns whether anything was written (``False``: paid meanwhile, or already done)."""
    locked = Instalment.objects.select_for_update(skip_locked=True).select_related(
        "obligation__customer", "obligation__tenant").filter(tenant=instalment.tenant_id, pk=instalment.pk).first()
    if locked is None or locked.is_paid:
        return False
    marker = "reminded_for" if kind == REMINDER else "overdue_notice_for"
    if getattr(locked, marker) == locked.due_on:
        return False
    obligation = locked.obligation
    count = Instalment.objects.filter(tenant=locked.tenant_id, obligation_id=obligation.pk).count()
    with for_customer(obligation.customer):
        notify(
            tenant=obligation.tenant, event_key=f"instalment:{locked.pk}:{kind}:{locked.due_on.isoformat()}",
            template_key="instalment_reminder" if kind == REMINDER else "instalment_overdue",
            channels=[Channel.EMAIL, Channel.SMS] if sms else [Channel.EMAIL], customer=obligation.customer,
            context={"obligation.name": obligation.description, "instalment.number": str(locked.number),
                     "instalment.count": str(count), "amount": format_money(locked.amount, obligation.currency),
                     "currency": obligation.currency, "due_date": day(locked.due_on, "long"),
                     "pay_link": portal_link(obligation.tenant)},
            subject_ref=f"payments.obligation:{obligation.pk}", at=at,
        )
    Instalment.objects.filter(tenant=locked.tenant_id, pk=locked.pk).update(**{marker: locked.due_on})
    return True


def send_instalment_reminders(*, at: datetime) -> int:
    """The sweep, across tenants: returns how many notices it wrote. Safe to run twice or late."""
    with scopes_disabled():
        tenant_ids = list(Instalment.objects.filter(status=InstalmentStatus.UNPAID)
                          .values_list("tenant_id", flat=True).distinct())
    written = 0
    for tenant in Tenant.objects.filter(pk__in=tenant_ids).order_by("pk"):
        with scope(tenant=tenant):
            sms = selectors.obligation_settings(tenant=tenant).sms_enabled
            for pk, kind in _candidates(tenant, at):
                written += send_instalment_notice(instalment=Instalment(pk=pk, tenant_id=tenant.pk), kind=kind,
                                                  sms=sms, at=at)
    return written
