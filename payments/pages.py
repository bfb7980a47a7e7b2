"""What every page that takes a payment shares (Take Payment, pay links, the portal): the public
addresses a provider is given, the provider's scripts and frames in the page's policy, the answer to
a started checkout, and the receipt (as a page or a PDF)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csp import get_nonce
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.csp import CSP, build_policy
from django.utils.translation import gettext as _

from core import throttle
from finance import printing
from gateways import registry
from gateways.models import GatewayAccount
from payments.models import GatewayPayment, PaymentStatus
from payments.services.saved_cards import consent, consent_text


def site_url(path: str) -> str:
    """``path`` on the site's public address (``DULY_SITE_URL``), as a provider must be given it."""
    return settings.DULY_SITE_URL.rstrip("/") + path


def webhook_url(gateway_account: GatewayAccount) -> str:
    return site_url(reverse("gateways:webhook", kwargs={
        "provider": gateway_account.provider, "token": gateway_account.webhook_token,
    }))


def allow_provider(request, response: HttpResponse, gateway_account: GatewayAccount | None) -> HttpResponse:
    """The site's Content-Security-Policy plus the origins of ``gateway_account``'s hosted card fields
    and hosted page, and nothing else: for the pages that embed or start a checkout."""
    if gateway_account is None:
        return response
    origins = registry.browser_origins(account=gateway_account)
    extra = {"script-src": origins.scripts, "frame-src": origins.frames, "connect-src": origins.connect,
             "form-action": origins.forms}
    policy = {directive: list(values) for directive, values in settings.SECURE_CSP.items()}
    for directive, values in extra.items():
        policy[directive] = policy.get(directive, []) + [v for v in values if v not in policy.get(directive, [])]
    response[str(CSP.HEADER_ENFORCE)] = build_policy(policy, get_nonce(request))
    return response


def card_offer(gateway_account: GatewayAccount | None, tenant_name: str) -> str:
    """The consent a page shows beside "Save this card" (``""``: the provider keeps no cards)."""
    if gateway_account is None or not registry.capabilities_of(gateway_account.provider).saved_cards:
        return ""
    return consent_text(tenant_name=tenant_name)


def card_consent(request, gateway_account: GatewayAccount | None, *, source: str, tenant_name: str,
                 at) -> dict | None:
    """The customer's consent to keep the card, when they ticked "Save this card": the text they were shown
    (rendered again in the same language), the page and their address."""
    text = card_offer(gateway_account, tenant_name)
    if request.POST.get("save_card") != "1" or not text:
        return None
    return consent(source=source, text=text, at=at, ip=throttle.client_ip(request))


def to_checkout(request, attempt: GatewayPayment, *, template: str, context: dict):
    """Send the payer to the provider's page, or say why the payment could not start."""
    if attempt.status == PaymentStatus.PENDING and attempt.redirect_url:
        return redirect(attempt.redirect_url)
    return render(request, template, context | {
        "notice": attempt.failure_message or _("The payment could not be started. Please try again.")
    }, status=502)


def receipt_response(request, receipt, *, public: bool, link: str = "", as_pdf: bool = False) -> HttpResponse:
    pdf_url = request.path.rstrip("/") + ".pdf" if public else "?format=pdf"
    context = {"receipt": receipt, "tenant": receipt.tenant, "public": public, "link": link, "as_pdf": as_pdf,
               "pdf_url": pdf_url}
    if not as_pdf:
        return render(request, "payments/receipt.html", context)
    html = render_to_string("payments/receipt.html", context, request=request)
    return printing.pdf_response(request, html=html, filename=f"receipt-{receipt.number}.pdf")
