"""Opening accounts and moving them through their states."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from crm.models import Customer, User
from finance.amounts import NotAnAmount, parse_plain
from finance.models import Account, AccountKind, DueDateRule, Lender

ACCOUNT_ACTIONS = ("suspend", "reactivate", "terminate")


@transaction.atomic
def open_account(
    *, customer: Customer, currency: str, credit_limit: Decimal | str = "0", due_date_rule: DueDateRule | None = None,
    name: str = "",
) -> Account:
    """Open an accounts-receivable account for ``customer`` in ``currency``.

    :raises ValidationError: unknown currency, a negative or malformed credit limit, or a rule of
        another tenant.
    """
    errors = {}
    if currency not in settings.CURRENCIES:
        errors["currency"] = _("Currency must be one of %(join)s.") % {"join": ', '.join(settings.CURRENCIES)}
    elif Account.objects.filter(tenant=customer.tenant, customer=customer, currency=currency).exists():
        errors["currency"] = _("%(customer)s already has an account in %(currency)s.") % {
            "customer": customer, "currency": currency}
    try:
        limit = parse_plain(credit_limit)
        if limit < 0 or limit != limit.quantize(Decimal("0.01")):
            raise NotAnAmount("")
    except NotAnAmount:
        errors["credit_limit"] = _("The credit limit must be an amount of zero or more, with at most two decimals.")
        limit = Decimal(0)
    if due_date_rule is not None and due_date_rule.tenant_id != customer.tenant_id:
        errors["due_date_rule"] = _("Unknown due-date rule.")
    if errors:
        raise ValidationError(errors)
    return Account.objects.create(
        tenant=customer.tenant, kind=AccountKind.CUSTOMER, customer=customer, currency=currency,
        credit_limit=limit, due_date_rule=due_date_rule, name=name or f"{customer.name} ({currency})",
    )


@transaction.atomic
def lender_account(*, lender: Lender, currency: str) -> Account:
    """The lender's or provider's account in ``currency``, opened the first time a fee needs it.

    :raises ValidationError: keyed ``currency``: not a currency Duly keeps accounts in.
    """
    if currency not in settings.CURRENCIES:
        raise ValidationError({"currency": _("Currency must be one of %(join)s.") % {
            "join": ', '.join(settings.CURRENCIES)}})
    account, _created = Account.objects.get_or_create(
        tenant=lender.tenant, kind=AccountKind.LENDER, lender=lender, currency=currency,
        defaults={"name": f"{lender.name} ({currency})"},
    )
    return account


@transaction.atomic
def change_account_state(*, account: Account, action: str, actor: User | None, at: datetime) -> Account:
    """Suspend, reactivate or terminate an account.

    :raises ValidationError: the action is unknown or not allowed from the account's state.
    """
    if action not in ACCOUNT_ACTIONS:
        raise ValidationError({"action": _("Unknown action “%(action)s”.") % {"action": action}})
    locked = Account.objects.select_for_update(no_key=True).get(tenant=account.tenant, pk=account.pk)
    method = getattr(locked, action)
    if not can_proceed(method):
        verbs = {"suspend": _("be suspended"), "reactivate": _("be reactivated"), "terminate": _("be terminated")}
        raise ValidationError({"action": _("The account is %(state)s; it cannot %(action)s.") % {
            "state": locked.get_state_display().lower(), "action": verbs[action]}})
    method()
    locked.save(update_fields=["state"])
    return locked
