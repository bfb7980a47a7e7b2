"""Email pay: the invoice page's panel (staff send the invoice with a pay-now link) and the
customer's public page ``/pay/invoice/<token>/``."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_scopes import scope

from core import throttle
from core.l10n import for_customer
from crm.access import staff_view
from finance import selectors as finance_selectors
from finance.models import Classification, FinancialTransaction, TransactionState
from gateways.base import GatewayError
from paylinks import forms
from paylinks.models import InvoicePayLink
from paylinks.services.invoice_pay import (
    invoice_gateway_account,
    link_for_token,
    send_invoice_pay_link,
    send_refusal,
    start_invoice_payment,
)
from payments.models import ConsentSource, GatewayPayment, PaymentStatus
from payments.pages import allow_provider, card_consent, card_offer, site_url, to_checkout, webhook_url
from payments.services.gateway_payments import AttemptRefused, refresh_payment

# --- staff: the invoice page's panel ----------------------------------------------------------------


def _invoice(request, invoice_id: int) -> FinancialTransaction:
    invoice = finance_selectors.get_transaction(tenant=request.tenant, transaction_id=invoice_id)
    if invoice.classification != Classification.INVOICE:
        raise Http404(_("No such invoice."))
    return invoice


def _panel(request, invoice: FinancialTransaction, *, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "paylinks/_invoice_pay_panel.html", {
        "txn": invoice, "refusal": send_refusal(invoice=invoice), "error": error,
        "links": InvoicePayLink.objects.filter(tenant=request.tenant, invoice=invoice).select_related("created_by"),
        "payments": GatewayPayment.objects.filter(tenant=request.tenant, invoice=invoice).select_related(
            "ledger_payment"),
        "now": timezone.now(),
    }, status=status)


@staff_view
@require_http_methods(["GET"])
def invoice_pay_panel(request, invoice_id: int):
    return _panel(request, _invoice(request, invoice_id))


@staff_view
@require_POST
def invoice_pay_send(request, invoice_id: int):
    invoice = _invoice(request, invoice_id)
    try:
        send_invoice_pay_link(invoice=invoice, actor=request.user, at=timezone.now())
    except ValidationError as error:
        text = " ".join(error.messages)
        if request.htmx:
            return _panel(request, invoice, error=text, status=422)
        messages.error(request, _("Nothing was sent. %(text)s") % {"text": text})
    else:
        customer = invoice.account.customer
        if request.htmx:
            return _panel(request, invoice)
        messages.success(request, _("Invoice %(number)s was emailed to %(name)s with a pay-now link.") % {
            "number": invoice.number, "name": customer.name})
    return redirect("finance:transaction_detail", invoice.pk)


# --- the customer's page ----------------------------------------------------------------------------


def _link_page(view):
    """As the payment request's page: the token is the capability to pay, so no caching and no
    referrer to another site; lookups are throttled per client address."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str) -> HttpResponse:
        if not throttle.allow(key=f"pay:{throttle.client_ip(request)}", limit=settings.PAY_LOOKUPS_PER_MINUTE,
                              window_seconds=60):
            response = render(request, "paylinks/pay_message.html",
                              {"message": _("Too many attempts. Wait a minute and try again.")}, status=429)
        else:
            link = link_for_token(token=token)
            if link is None:
                raise Http404(_("No such payment link."))
            with scope(tenant=link.tenant), for_customer(link.invoice.account.customer):
                response = view(request, link, token)
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "no-store"
        return response

    return wrapped


def _context(link: InvoicePayLink, token: str, *, at) -> dict:
    invoice = FinancialTransaction.objects.select_related("account").get(tenant=link.tenant_id, pk=link.invoice_id)
    gateway_account = invoice_gateway_account(invoice=invoice)
    paid = invoice.state == TransactionState.POSTED and invoice.open_amount <= 0
    expired = link.expires_at <= at
    notice = ""
    if paid:
        notice = _("This invoice has been paid. Thank you.")
    elif invoice.state != TransactionState.POSTED:
        notice = _("This invoice can no longer be paid online. Please contact us.")
    elif expired:
        notice = _("This link has expired. Ask for a new one if you still wish to pay.")
    elif gateway_account is None:
        notice = _("Online payment is not available at the moment. Please contact us.")
    return {
        "tenant_name": link.tenant.name, "invoice": invoice, "lines": list(invoice.lines.all()),
        "paid": paid, "notice": notice, "payable": not notice, "gateway_account": gateway_account,
        "amount_value": f"{invoice.open_amount:.2f}", "errors": {}, "expires_at": link.expires_at, "token": token,
        "save_card_text": card_offer(gateway_account, link.tenant.name),
    }


@require_http_methods(["GET", "POST"])
@_link_page
def invoice_pay_page(request, link: InvoicePayLink, token: str):
    now = timezone.now()
    context = _context(link, token, at=now)
    if request.method == "GET":
        return allow_provider(request, render(request, "paylinks/invoice_pay_page.html", context),
                              context["gateway_account"])
    if not context["payable"]:
        return render(request, "paylinks/invoice_pay_page.html", context, status=409)
    gateway_account = context["gateway_account"]
    amount = forms.EmailPayForm.read(request.POST)["amount"]
    try:
        attempt = start_invoice_payment(
            link=link, amount=amount, gateway_account=gateway_account, at=now,
            return_url=site_url(reverse("pay:invoice_done", kwargs={"token": token})),
            webhook_url=webhook_url(gateway_account),
            card_consent=card_consent(request, gateway_account, source=ConsentSource.EMAIL_PAY,
                                      tenant_name=link.tenant.name, at=now),
        )
    except ValidationError as error:
        return render(request, "paylinks/invoice_pay_page.html", context | {
            "errors": error.message_dict, "amount_value": amount[:20]}, status=422)
    except AttemptRefused as refusal:
        return render(request, "paylinks/invoice_pay_page.html", context | {"payable": False, "notice": str(refusal)},
                      status=409)
    return to_checkout(request, attempt.payment, template="paylinks/invoice_pay_page.html", context=context)


@require_http_methods(["GET"])
@_link_page
def invoice_pay_done(request, link: InvoicePayLink, token: str):
    """Where the provider sends the customer back; asking the provider here as well means the customer
    sees the outcome even if the webhook is late."""
    attempt = link.attempts.order_by("-created_at", "-id").first()
    if attempt is not None and attempt.status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        try:
            attempt = refresh_payment(payment=attempt, at=timezone.now(), source="payer returned").payment
        except (GatewayError, ValueError):
            pass  # the webhook or the janitor settles it
    context = _context(link, token, at=timezone.now())
    if attempt is not None and attempt.status == PaymentStatus.SUCCEEDED:
        context["thanks"] = _("Thank you: your payment was received.")
    elif attempt is not None and attempt.status == PaymentStatus.FAILED:
        context["thanks"] = _("The payment did not go through: %(reason)s You can try again.") % {
            "reason": attempt.failure_message}
    elif attempt is not None and attempt.status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        context["thanks"] = _("Your payment is being confirmed. You will not be charged twice.")
    return render(request, "paylinks/invoice_pay_page.html", context | {"done": True})
