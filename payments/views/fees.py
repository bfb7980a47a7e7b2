"""Fees on the customer file and "Take Payment": staff type the customer's card into fields hosted
by the gateway (the sandbox's iframe in Duly), and the page follows the payment until it settles."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import selectors as crm_selectors
from crm.access import staff_view
from gateways import selectors as gateway_selectors
from gateways.base import CheckoutMode, GatewayUnavailable
from gateways.models import Provider, Purpose
from payments import selectors
from payments.models import ConsentSource, PaymentStatus
from payments.pages import allow_provider, card_consent, card_offer, webhook_url
from payments.services.gateway_payments import Checkout, refresh_payment, start_payment

TAKE_PAYMENT = "crm.take_payment"
POLL_SECONDS = 2
UNSETTLED = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)


@staff_view
def fees_panel(request, customer_id: int):
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    fees = selectors.fees_of(tenant=request.tenant, customer_id=customer.pk)
    return render(request, "payments/_fees_panel.html", {
        "customer": customer, "fees": fees, "can_take": request.user.has_perm(TAKE_PAYMENT),
    })


@staff_view
def take_payment(request, invoice_id: int):
    """GET shows the fee; POST starts a card-fields checkout for what is outstanding and embeds it."""
    if not request.user.has_perm(TAKE_PAYMENT):
        raise PermissionDenied(_("You may not take payments."))
    fee = selectors.get_fee(tenant=request.tenant, invoice_id=invoice_id)
    if refusal := fee.lender_fee_refusal():
        raise PermissionDenied(refusal)
    context = {"fee": fee, "payment": None, "problem": "", "paid": fee.open_amount <= 0}
    gateway_account = gateway_selectors.gateway_account_for(tenant=request.tenant, purpose=Purpose.TAKE_PAYMENT,
                                                            currency=fee.currency)
    if context["paid"]:
        return render(request, "payments/take_payment.html", context)
    if offer := card_offer(gateway_account, request.tenant.name):
        context["save_card_text"] = _("The customer agrees: %(consent)s") % {"consent": offer}
    if gateway_account is None:
        context["problem"] = gateway_selectors.refusal(tenant=request.tenant, purpose=Purpose.TAKE_PAYMENT,
                                                       currency=fee.currency)
    elif gateway_account.provider == Provider.STRIPE and not gateway_account.settings.get("publishable_key"):
        context["problem"] = (_("Stripe card fields need the account's publishable key; support adds it to the "
                              "gateway account."))
    elif request.method == "POST":
        checkout = start_payment(
            gateway_account=gateway_account, account=fee.account, amount=fee.open_amount, invoice=fee,
            description=f"{fee.type.name} {fee.number}", mode=CheckoutMode.CARD_FIELDS,
            return_url=request.build_absolute_uri(),
            webhook_url=webhook_url(gateway_account),
            at=timezone.now(), actor=request.user,
            card_consent=card_consent(request, gateway_account, source=ConsentSource.TAKE_PAYMENT,
                                      tenant_name=request.tenant.name, at=timezone.now()),
        )
        context["payment"] = checkout.payment
        context["fields"] = _card_fields(request, gateway_account, checkout) if checkout.client_token else None
    return allow_provider(request, render(request, "payments/take_payment.html", context), gateway_account)


def _card_fields(request, gateway_account, checkout: Checkout) -> dict:
    """What the page needs to mount the gateway's own card fields (templates/payments/_card_fields.html)."""
    return {
        "provider": gateway_account.provider, "client_token": checkout.client_token,
        "url": reverse("sandbox:fields", args=[checkout.client_token])
        if gateway_account.provider == Provider.SANDBOX else "",
        "publishable_key": gateway_account.settings.get("publishable_key", ""),
        "integration": not gateway_account.live, "return_url": request.build_absolute_uri(),
    }


@staff_view
def payment_status(request, payment_id: int):
    """The htmx fragment the Take Payment page polls: asks the provider while the payment is unsettled."""
    payment = selectors.get_gateway_payment(tenant=request.tenant, payment_id=payment_id)
    now = timezone.now()
    recently = payment.last_checked_at and now - payment.last_checked_at < timedelta(seconds=POLL_SECONDS)
    if payment.status in UNSETTLED and payment.provider_reference and not recently:
        try:
            payment = refresh_payment(payment=payment, at=now, source="take payment page").payment
        except GatewayUnavailable:
            pass  # still unsettled; the next poll asks again
    settled_fee = None
    if payment.status == PaymentStatus.SUCCEEDED and payment.invoice_id is not None:
        settled_fee = selectors.get_fee(tenant=request.tenant, invoice_id=payment.invoice_id)  # its open amount now
    return render(request, "payments/_payment_status.html", {
        "payment": payment, "polling": payment.status in UNSETTLED, "poll_seconds": POLL_SECONDS,
        "fee": settled_fee,
    })
