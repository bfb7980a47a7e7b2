"""Sending statements of account: one account by hand, all of a list (a segment), or every account worth
one on the first days of the month from beat (a tenant setting). Each account gets one statement per
period: ``StatementSend`` is unique per account and period, written in the transaction that writes
the email into the outbox, whose event key is unique as well."""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from core.clock import tenant_today
from core.l10n import day, for_customer
from core.l10n import money as format_money
from crm.models import Tenant, User
from finance.models import Account
from notifications.services import notify
from receivables import selectors
from receivables.models import ReceivablesSettings, StatementSend
from receivables.printing import statement_token

# The monthly run sends last month's statements on the first days of a month only, so a tenant who turns
# the setting on mid-month does not get last month's sent out of the blue.
MONTHLY_RUN_DAYS = 5


def statement_link(*, account: Account, start: date, end: date) -> str:
    token = statement_token(tenant_id=account.tenant_id, account_id=account.pk, start=start, end=end)
    return settings.DULY_SITE_URL.rstrip("/") + reverse("statement_public", kwargs={"token": token})


def check_period(start: date | None, end: date | None, *, today: date) -> dict[str, str]:
    errors = {}
    if start is None:
        errors["start"] = _("Enter the first day of the period.")
    if end is None:
        errors["end"] = _("Enter the last day of the period.")
    if start and end and start > end:
        errors["end"] = _("The period ends before it starts.")
    elif end and end > today:
        errors["end"] = _("The period cannot end after today.")
    elif start and end and (end - start).days > 366:
        errors["end"] = _("A statement covers at most a year.")
    return errors


@transaction.atomic
def send_statement(*, account: Account, start: date, end: date, actor: User | None, at: datetime) -> StatementSend:
    """Email the account's customer their statement for ``start``..``end`` with a signed link, once per
    account and period.

    :raises ValidationError: a bad period, no customer or email address, or sent for this period already."""
    account = Account.objects.select_related("customer", "tenant").get(tenant=account.tenant_id, pk=account.pk)
    errors = check_period(start, end, today=tenant_today(account.tenant, at))
    if errors:
        raise ValidationError(errors)
    customer = account.customer
    if customer is None:
        raise ValidationError({"account": _("Only a customer's account has a statement to send.")})
    if not customer.email:
        raise ValidationError({"account": _("%(name)s has no email address. Add it to the customer's file first.")
                               % {"name": customer.name}})
    try:
        with transaction.atomic():
            sent = StatementSend.objects.create(tenant_id=account.tenant_id, account=account, period_start=start,
                                                period_end=end, sent_at=at, sent_by=actor)
    except IntegrityError:
        raise ValidationError({"__all__": _("The statement for this period was sent already.")}) from None
    statement = selectors.statement_of(account=account, start=start, end=end)
    with for_customer(customer):
        notify(
            tenant=account.tenant, event_key=f"statement:{account.pk}:{start.isoformat()}:{end.isoformat()}",
            template_key="statement", channels=["email"], customer=customer,
            context={"statement.period": f"{day(start)} – {day(end)}",
                     "statement.balance": format_money(statement.closing, account.currency),
                     "statement_link": statement_link(account=account, start=start, end=end),
                     "currency": account.currency},
            subject_ref=f"finance.account:{account.pk}", actor=actor, urgent=actor is not None, at=at,
        )
    return sent


def send_statements(*, accounts: list[Account], start: date, end: date, actor: User | None,
                    at: datetime) -> tuple[int, int]:
    """Send each account its statement (each its own transaction); returns (sent, skipped: sent already,
    or no address)."""
    sent = skipped = 0
    for account in accounts:
        try:
            send_statement(account=account, start=start, end=end, actor=actor, at=at)
        except ValidationError:
            skipped += 1
        else:
            sent += 1
    return sent, skipped


def send_monthly_statements(*, at: datetime) -> int:
    """Beat: on the first ``MONTHLY_RUN_DAYS`` days of a month, last month's statement to every account
    worth one, of each tenant that asked for it. Safe to run twice or late."""
    with scopes_disabled():
        tenant_ids = list(ReceivablesSettings.objects.filter(monthly_statements=True).values_list("tenant_id",
                                                                                                    flat=True))
    sent = 0
    for tenant in Tenant.objects.filter(pk__in=tenant_ids).order_by("pk"):
        with scope(tenant=tenant):
            today = tenant_today(tenant, at)
            if today.day > MONTHLY_RUN_DAYS:
                continue
            start, end = selectors.previous_month(today)
            done = set(StatementSend.objects.filter(tenant=tenant, period_start=start, period_end=end).values_list(
                "account_id", flat=True))
            accounts = [a for a in selectors.statement_accounts(tenant=tenant, start=start, end=end)
                        if a.pk not in done]
            sent += send_statements(accounts=accounts, start=start, end=end, actor=None, at=at)[0]
    return sent
