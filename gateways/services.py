"""Writes about providers: tenants' gateway accounts and their encrypted secrets."""

from __future__ import annotations

import hmac
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from crm.models import Tenant
from gateways import secrets
from gateways.base import Credentials
from gateways.models import GatewayAccount, Provider, Purpose, all_purposes

REQUIRED_SETTINGS = {
    Provider.STRIPE: ("webhook_secret",),
    Provider.CASHFLOWS: ("configuration_id",),
    Provider.CREDICORP: ("base_url", "callback_secret"),
    Provider.SANDBOX: (),
}


def check_gateway_account(
    *, tenant: Tenant, provider: str, live: bool, secret: str | None, settings: dict[str, Any] | None
) -> dict[str, str]:
    """Validate a gateway account's values; return its cleaned settings.

    :raises ValidationError: unknown provider, no secret for a new account, or a required setting missing.
    """
    if provider not in Provider.values:
        raise ValidationError({"provider": f"Unknown provider “{provider}”."})
    if not isinstance(settings or {}, dict):
        raise ValidationError({"settings": "Settings must be an object of names and values."})
    cleaned = {key: str(value).strip() for key, value in (settings or {}).items() if str(value).strip()}
    missing = [name for name in REQUIRED_SETTINGS[provider] if name not in cleaned]
    errors = {}
    if missing:
        errors["settings"] = f"{Provider(provider).label} needs: {', '.join(missing)}."
    exists = GatewayAccount.objects.filter(tenant=tenant, provider=provider, live=live).exists()
    if not (secret or "").strip() and not exists:
        errors["secret"] = "The secret (API key) is required."
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def save_gateway_account(
    *, tenant: Tenant, provider: str, live: bool, secret: str | None, settings: dict[str, Any] | None = None,
    enabled: bool = True, purposes: list[str] | None = None, currencies: list[str] | None = None,
) -> GatewayAccount:
    """Create or update the tenant's account with ``provider`` in test or live mode. A blank
    ``secret`` on an existing account keeps the stored one; ``purposes`` ``None`` means all of them.

    :raises ValidationError: as ``check_gateway_account``, or an unknown purpose (nothing is saved).
    """
    settings = check_gateway_account(tenant=tenant, provider=provider, live=live, secret=secret, settings=settings)
    purposes = all_purposes() if purposes is None else list(dict.fromkeys(purposes))
    if unknown := [p for p in purposes if p not in Purpose.values]:
        raise ValidationError({"purposes": f"Unknown purpose “{unknown[0]}”; one of {', '.join(Purpose.values)}."})
    secret = (secret or "").strip()
    existing = GatewayAccount.objects.filter(tenant=tenant, provider=provider, live=live).first()
    account = existing or GatewayAccount(tenant=tenant, provider=provider, live=live)
    if secret:
        account.secret_encrypted = secrets.encrypt(secret)
        account.secret_last4 = secret[-4:]
    account.settings = settings
    account.enabled = enabled
    account.purposes = purposes
    if currencies is not None:
        from gateways import registry  # the registry builds on these services: asked here, not at import

        takes = registry.capabilities_of(provider).currencies
        if refused := [c for c in currencies if c not in takes]:
            raise ValidationError({"currencies": gettext("%(provider)s does not take %(currencies)s.") % {
                "provider": Provider(provider).label, "currencies": ", ".join(refused)}})
        account.currencies = list(dict.fromkeys(currencies))
    account.save()
    return account


def credentials_for(*, account: GatewayAccount) -> Credentials:
    """The decrypted credentials, for one call to the provider; never stored or logged."""
    return Credentials(
        provider=account.provider, live=account.live, secret=secrets.decrypt(account.secret_encrypted),
        settings=dict(account.settings),
    )


def sandbox_account_for_secret(*, secret: str) -> GatewayAccount | None:
    """The enabled sandbox account whose secret is ``secret``, for the sandbox server to authenticate
    an API call; ``None`` when none matches, or when several do (never guess a tenant).

    Reads across tenants and decrypts every candidate: fine for the sandbox's handful of accounts, and
    the reason no real provider works this way.
    """
    if not secret:
        return None
    matches = []
    accounts = GatewayAccount.objects.with_scopes_disabled().select_related("tenant").filter(
        provider=Provider.SANDBOX, enabled=True
    )
    for account in accounts:
        try:
            candidate = secrets.decrypt(account.secret_encrypted)
        except secrets.InvalidToken:
            continue
        if hmac.compare_digest(candidate.encode(), secret.encode()):
            matches.append(account)
    return matches[0] if len(matches) == 1 else None


@transaction.atomic
def rotate_gateway_secrets() -> int:
    """Re-encrypt every stored secret with the newest key; return how many. A platform operation
    across tenants, so it reads without a tenant scope."""
    count = 0
    for account in GatewayAccount.objects.with_scopes_disabled().select_for_update():
        rotated = secrets.rotate(account.secret_encrypted)
        GatewayAccount.objects.with_scopes_disabled().filter(pk=account.pk).update(secret_encrypted=rotated)
        count += 1
    return count
