"""What the payment pages share: the public addresses a provider is given, and the answer to a
started checkout."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse

from gateways.models import GatewayAccount
from payments.models import GatewayPayment, PaymentStatus


def site_url(path: str) -> str:
    """``path`` on the site's public address (``DULY_SITE_URL``), as a provider must be given it."""
    return settings.DULY_SITE_URL.rstrip("/") + path


def webhook_url(gateway_account: GatewayAccount) -> str:
    return site_url(reverse("gateways:webhook", kwargs={
        "provider": gateway_account.provider, "token": gateway_account.webhook_token,
    }))


def to_checkout(request, attempt: GatewayPayment, *, template: str, context: dict):
    """Send the payer to the provider's page, or say why the payment could not start."""
    if attempt.status == PaymentStatus.PENDING and attempt.redirect_url:
        return redirect(attempt.redirect_url)
    return render(request, template, context | {
        "notice": attempt.failure_message or "The payment could not be started. Please try again."
    }, status=502)
