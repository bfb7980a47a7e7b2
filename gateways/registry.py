"""The only door to the provider adapters: which class serves which provider, built with a
tenant's decrypted credentials for one call."""

from __future__ import annotations

from django.conf import settings

from gateways import services
from gateways.base import Capabilities, Gateway, GatewayError, GatewayUnavailable
from gateways.cashflows import CashflowsGateway
from gateways.credicorp import CredicorpGateway
from gateways.models import GatewayAccount, Provider
from gateways.sandbox import SandboxGateway
from gateways.stripe import StripeGateway

ADAPTERS = {
    Provider.STRIPE: StripeGateway,
    Provider.CASHFLOWS: CashflowsGateway,
    Provider.CREDICORP: CredicorpGateway,
    Provider.SANDBOX: SandboxGateway,
}


def capabilities_of(provider: str) -> Capabilities:
    """What ``provider`` can do, for the pages to offer only that."""
    return ADAPTERS[provider].capabilities


def gateway_for(*, account: GatewayAccount) -> Gateway:
    """An adapter for ``account``. ``GATEWAY_BASE_URLS`` may point a provider elsewhere (a local
    fake server in tests); every call times out after ``GATEWAY_TIMEOUT_SECONDS``."""
    adapter = ADAPTERS[account.provider]
    return adapter(
        services.credentials_for(account=account),
        base_url=_base_url(account),
        timeout=settings.GATEWAY_TIMEOUT_SECONDS,
    )


def _base_url(account: GatewayAccount) -> str | None:
    configured = settings.GATEWAY_BASE_URLS.get(account.provider)
    if configured:
        return configured
    if account.provider == Provider.SANDBOX:
        # The sandbox's server is Duly itself.
        return account.settings.get("base_url") or settings.DULY_SITE_URL
    return None


def check_connection(*, account: GatewayAccount) -> str:
    """Try the account's credentials with one cheap call; say what happened, in words for support."""
    try:
        gateway_for(account=account).check_connection()
    except GatewayUnavailable as error:
        return f"{account}: the provider did not answer ({error})."
    except GatewayError as error:
        return f"{account}: refused — {error}"
    return f"{account}: connected, the credentials are accepted."
