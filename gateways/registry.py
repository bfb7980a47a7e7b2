"""The only door to the provider adapters: which class serves which provider, built with a
tenant's decrypted credentials for one call."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext

from gateways import services
from gateways.base import Capabilities, Gateway, GatewayError, GatewayUnavailable
from gateways.cashflows import INTEGRATION_URL as CASHFLOWS_INTEGRATION_URL
from gateways.cashflows import PRODUCTION_URL as CASHFLOWS_PRODUCTION_URL
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


@dataclass(frozen=True)
class BrowserOrigins:
    """Where a payer's browser goes for a provider: the scripts and frames of its hosted card fields,
    what those call, and where its hosted page takes a form. A page's Content-Security-Policy adds
    these and nothing else."""

    scripts: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()
    connect: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()


# From the providers' CSP guidance (Stripe: docs.stripe.com/security/guide#content-security-policy).
_KNOWN_ORIGINS = {
    Provider.STRIPE: BrowserOrigins(
        scripts=("https://js.stripe.com", "https://*.js.stripe.com"),
        frames=("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"),
        connect=("https://api.stripe.com",), forms=("https://checkout.stripe.com",),
    ),
}


def browser_origins(*, account: GatewayAccount) -> BrowserOrigins:
    """The origins a page that starts or embeds ``account``'s checkout must allow."""
    known = _KNOWN_ORIGINS.get(account.provider)
    if known is not None and account.provider not in settings.GATEWAY_BASE_URLS:
        return known
    if account.provider == Provider.SANDBOX and not account.settings.get("base_url"):
        return BrowserOrigins()  # served by Duly itself: 'self'
    base = _base_url(account)
    if account.provider == Provider.CASHFLOWS and not base:
        base = CASHFLOWS_PRODUCTION_URL if account.live else CASHFLOWS_INTEGRATION_URL
    if account.provider == Provider.CREDICORP and not base:
        base = account.settings.get("base_url", "")
    parts = urlsplit(base or "")
    if not parts.scheme or not parts.netloc:
        return BrowserOrigins()
    origin = f"{parts.scheme}://{parts.netloc}"
    return BrowserOrigins(scripts=(origin,), frames=(origin,), connect=(origin,), forms=(origin,))


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
        return gettext("%(account)s: the provider did not answer (%(error)s).") % {"account": account, "error": error}
    except GatewayError as error:
        return gettext("%(account)s: the provider refused the keys — %(error)s") % {"account": account, "error": error}
    return gettext("%(account)s: connected, the keys are accepted.") % {"account": account}
