"""Reads about providers: which of a tenant's gateway accounts serves a purpose in a currency.

How the choice is made: ``docs/decisions/gateway-selection.md``.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant
from gateways import registry
from gateways.base import CheckoutMode
from gateways.models import GatewayAccount, Provider, Purpose

# Staff type the card into the provider's fields on Duly's page; payers go to the provider's page.
MODE_OF = {
    Purpose.TAKE_PAYMENT: CheckoutMode.CARD_FIELDS,
    Purpose.PAYMENT_REQUESTS: CheckoutMode.HOSTED_PAGE,
    Purpose.INVOICE_LINKS: CheckoutMode.HOSTED_PAGE,
    Purpose.PORTAL: CheckoutMode.HOSTED_PAGE,
}


PURPOSE_WORDS = {
    Purpose.TAKE_PAYMENT: _("card payments taken by staff"),
    Purpose.PAYMENT_REQUESTS: _("payment requests"),
    Purpose.INVOICE_LINKS: _("invoice pay links"),
    Purpose.PORTAL: _("the customer portal"),
}


def _preference(account: GatewayAccount) -> tuple:
    # Live money before test money; among test accounts the offline sandbox; then the oldest account.
    return (not account.live, account.provider != Provider.SANDBOX, account.created_at, account.pk)


def gateway_account_for(*, tenant: Tenant | int, purpose: str, currency: str) -> GatewayAccount | None:
    """Of the tenant's enabled accounts that serve ``purpose`` and whose provider takes ``currency`` in
    the purpose's checkout mode, the preferred one, or ``None``: the one door every payment page, pay
    link and the portal go through."""
    mode = MODE_OF[Purpose(purpose)]
    accounts = [
        account for account in GatewayAccount.objects.filter(tenant=tenant, enabled=True, purposes__contains=[purpose])
        if registry.capabilities_of(account.provider).supports(mode=mode, currency=currency)
        and (not account.currencies or currency in account.currencies)
    ]
    return min(accounts, key=_preference, default=None)


def refusal(*, tenant: Tenant | int, purpose: str, currency: str) -> str:
    """Why money in ``currency`` cannot be collected for ``purpose``, or ``""`` when it can."""
    if gateway_account_for(tenant=tenant, purpose=purpose, currency=currency) is not None:
        return ""
    return (gettext("No payment gateway of yours takes %(currency)s for %(PURPOSE_WORDS)s. Use an account in another "
              "currency, or ask support to set up a gateway that takes %(currency)s.") % {
                  "currency": currency, "PURPOSE_WORDS": PURPOSE_WORDS[Purpose(purpose)]})
