"""The customer portal: ``/portal/<tenant>/`` asks for an email address and sends magic links,
``/portal/link/<token>/`` signs the customer in (single-use), ``/portal/`` shows their obligation log and
calendar and pays one instalment at a time through the tenant's gateway.

The session holds one tenant and one customer; every object a portal page reaches is looked up through
a selector given both, so another customer's ids answer 404 like missing ones. Public pages are never
cached and send no referrer to another site; sign-in attempts are throttled per client address.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_scopes import scope

from core import throttle
from core.clock import months_back, tenant_today
from core.l10n import for_tenant
from crm.models import Customer, Tenant
from finance import selectors as finance_selectors
from gateways import selectors as gateway_selectors
from gateways.base import GatewayError
from gateways.models import Purpose
from obligations import forms, selectors
from obligations.portal_access import SESSION_KEY, portal_view, public
from obligations.services.portal import (
    PORTAL_SESSION_LIFETIME,
    instalment_gateway_account,
    send_magic_links,
    start_instalment_payment,
    use_magic_link,
)
from payments.models import ConsentSource, PaymentStatus, Receipt, RemovedVia
from payments.pages import allow_provider, card_consent, card_offer, site_url, to_checkout, webhook_url
from payments.services import saved_cards
from payments.services.gateway_payments import AttemptRefused, refresh_payment
from payments.services.receipts import receipt_link

LOOKUPS_PER_MINUTE = getattr(settings, "PAY_LOOKUPS_PER_MINUTE", 30)
SIGN_IN_ANSWER = gettext_lazy("If that address is one of our customers', a sign-in link is on its way. "
                              "It works once, for 30 minutes.")


def _throttled(request) -> HttpResponse | None:
    if throttle.allow(key=f"portal:{throttle.client_ip(request)}", limit=LOOKUPS_PER_MINUTE, window_seconds=60):
        return None
    return render(request, "obligations/portal_message.html",
                  {"message": _("Too many attempts. Wait a minute and try again.")}, status=429)


@require_http_methods(["GET", "POST"])
def portal_sign_in(request: HttpRequest, slug: str):
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise Http404(_("No such portal."))
    context = {"tenant": tenant, "sent": False}
    with for_tenant(tenant):
        return _sign_in(request, tenant, context)


def _sign_in(request: HttpRequest, tenant: Tenant, context: dict) -> HttpResponse:
    if request.method == "POST":
        if (refused := _throttled(request)) is not None:
            return public(refused)
        with scope(tenant=tenant):
            send_magic_links(tenant=tenant, email=forms.PortalSignInForm.read(request.POST)["email"],
                             at=timezone.now())
        context |= {"sent": True, "message": SIGN_IN_ANSWER}
    return public(render(request, "obligations/portal_sign_in.html", context))


@require_http_methods(["GET"])
def portal_enter(request: HttpRequest, token: str):
    if (refused := _throttled(request)) is not None:
        return public(refused)
    now = timezone.now()
    customer = use_magic_link(token=token, at=now)
    if customer is None:
        return public(render(request, "obligations/portal_message.html", {
            "message": _("This sign-in link has expired or was used already. Ask for a new one.")}, status=404))
    request.session.cycle_key()
    request.session[SESSION_KEY] = {"tenant": customer.tenant_id, "customer": customer.pk,
                                    "until": (now + PORTAL_SESSION_LIFETIME).isoformat()}
    return public(redirect("portal:home"))


@require_http_methods(["GET"])
@portal_view
def portal_home(request: HttpRequest, customer: Customer):
    tenant = customer.tenant
    today = tenant_today(tenant)
    obligations = selectors.obligations_of(customer=customer)
    year, month = selectors.month_of(request.GET.get("month", ""), today=today)
    first, last = selectors.month_bounds(year, month)
    rows = [i for o in obligations for i in o.instalments.all() if first <= i.due_on <= last]
    for obligation in obligations:
        for instalment in obligation.instalments.all():
            instalment.obligation = obligation  # already loaded: no query per row
    currencies = {o.currency for o in obligations}
    gateways = {c: instalment_gateway_account(tenant=tenant, currency=c) for c in currencies}
    # An instalment's invoice is shown with its obligation below, with its receipt: not twice.
    open_invoices, paid_invoices = finance_selectors.invoices_of_customer(
        customer=customer, excluding=selectors.instalment_invoice_ids(tenant=tenant))
    with_receipt = finance_selectors.paid_with_receipt(invoices=paid_invoices)
    accounts = list(finance_selectors.accounts_of(customer=customer))
    invoice_gateways = {
        c: gateway_selectors.gateway_account_for(tenant=tenant, purpose=Purpose.INVOICE_LINKS, currency=c)
        for c in {i.currency for i in open_invoices}}
    response = render(request, "obligations/portal_home.html", {
        "tenant": tenant, "customer": customer, "obligations": obligations, "today": today,
        "open_invoices": open_invoices, "paid_invoices": paid_invoices, "with_receipt": with_receipt,
        "invoices_payable": {c for c, g in invoice_gateways.items() if g},
        "statements": [(account, start, end) for start, end in months_back(today=today, count=6)
                       for account in accounts],
        "grid": selectors.month_grid(year=year, month=month, rows=rows),
        "payable": {c for c, g in gateways.items() if g},
        "notice": NOTICES.get(request.GET.get("notice", ""), ""),
        "cards": list(saved_cards.cards_of(customer=customer)),
        "save_card_text": card_offer(next((g for g in gateways.values() if g), None), tenant.name),
    })
    response = allow_provider(request, response, next((g for g in gateways.values() if g), None))
    if "Content-Security-Policy" in response:
        # Re-set under a plain ``str`` name: wsgiref refuses a header named by an enum member.
        response["Content-Security-Policy"] = str(response["Content-Security-Policy"])
    return response


@require_POST
@portal_view
def portal_card_remove(request: HttpRequest, customer: Customer, card_id: int):
    """The customer removes a card on file: never charged again."""
    card = saved_cards.cards_of(customer=customer).filter(pk=card_id).select_related("gateway_account").first()
    if card is None:
        raise Http404(_("No such card."))
    saved_cards.remove_card(card=card, via=RemovedVia.PORTAL, actor=None, at=timezone.now())
    return redirect(reverse("portal:home") + "?notice=card_removed#cards")


NOTICES = {
    "card_removed": gettext_lazy("The card was removed. It will not be charged again."),
    "paid": gettext_lazy("Thank you: your payment was received."),
    "pending": gettext_lazy("Your payment is being confirmed. You will not be charged twice."),
    "failed": gettext_lazy("The payment did not go through. You can try again."),
}


@require_POST
@portal_view
def portal_pay(request: HttpRequest, customer: Customer, instalment_id: int):
    instalment = selectors.get_instalment(tenant=customer.tenant, instalment_id=instalment_id, customer_id=customer.pk)
    currency = instalment.obligation.currency
    gateway_account = instalment_gateway_account(tenant=customer.tenant, currency=currency)
    context = {"tenant": customer.tenant}
    if gateway_account is None:
        return render(request, "obligations/portal_message.html", context | {
            "message": _("Online payment is not available at the moment. Please contact us.")}, status=409)
    try:
        attempt = start_instalment_payment(
            instalment=instalment, gateway_account=gateway_account, at=timezone.now(),
            return_url=site_url(reverse("portal:done", kwargs={"instalment_id": instalment.pk})),
            webhook_url=webhook_url(gateway_account),
            card_consent=card_consent(request, gateway_account, source=ConsentSource.PORTAL,
                                      tenant_name=customer.tenant.name, at=timezone.now()),
        )
    except AttemptRefused as refusal:
        return render(request, "obligations/portal_message.html", context | {"message": str(refusal)}, status=409)
    return to_checkout(request, attempt.payment, template="obligations/portal_message.html",
                       context=context | {"message": ""})


@require_http_methods(["GET"])
@portal_view
def portal_done(request: HttpRequest, customer: Customer, instalment_id: int):
    """Where the provider sends the customer back; asking the provider here as well means the customer sees
    the outcome even if the webhook is late."""
    instalment = selectors.get_instalment(tenant=customer.tenant, instalment_id=instalment_id, customer_id=customer.pk)
    attempt = instalment.attempts.order_by("-created_at", "-id").first()
    if attempt is not None and attempt.status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        try:
            attempt = refresh_payment(payment=attempt, at=timezone.now(), source="payer returned").payment
        except (GatewayError, ValueError):
            pass  # the webhook or the janitor settles it
    notice = "pending"
    if attempt is not None and attempt.status == PaymentStatus.SUCCEEDED:
        notice = "paid"
    elif attempt is not None and attempt.status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED,
                                                     PaymentStatus.EXPIRED):
        notice = "failed"
    return redirect(reverse("portal:home") + f"?notice={notice}&month={instalment.due_on:%Y-%m}")


@require_POST
@portal_view
def portal_receipt(request: HttpRequest, customer: Customer, instalment_id: int):
    """A fresh link to the receipt of an instalment paid through Duly (receipt links are stored hashed, so
    each visit makes a new one)."""
    instalment = selectors.get_instalment(tenant=customer.tenant, instalment_id=instalment_id, customer_id=customer.pk)
    receipt = Receipt.objects.filter(tenant=customer.tenant, ledger_payment_id=instalment.ledger_payment_id).first()
    if instalment.ledger_payment_id is None or receipt is None:
        raise Http404(_("No receipt."))
    return redirect("receipt_public", receipt_link(receipt=receipt))


@require_POST
def portal_sign_out(request: HttpRequest):
    request.session.pop(SESSION_KEY, None)
    return public(render(request, "obligations/portal_message.html", {"message": _("You are signed out.")}))

