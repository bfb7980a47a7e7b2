"""Payment requests: the staff pages (the customer file's panel, "My payments", "Payment list") and the
payer's public page ``/pay/<token>/``."""

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
from core.pagination import page_of
from core.query import query_date, query_int
from crm import selectors as crm_selectors
from crm.access import require_permission, staff_view
from crm.models import User
from finance.models import Account
from gateways import registry
from gateways import selectors as gateway_selectors
from gateways.base import CheckoutMode, GatewayError
from gateways.models import Purpose
from paylinks import forms, selectors
from paylinks.models import COMPLETE_STATES, RequestChannel, RequestStatus
from paylinks.services.records import PAYER_STATUS_TEXT
from paylinks.services.requests import (
    cancel_payment_request,
    consolidate_payment_request,
    request_for_token,
    request_payment,
    resend_payment_request,
    start_request_attempt,
)
from payments.models import ConsentSource, PaymentStatus
from payments.pages import (
    allow_provider,
    card_consent,
    card_offer,
    receipt_response,
    site_url,
    to_checkout,
    webhook_url,
)
from payments.services.gateway_payments import AttemptRefused, refresh_payment

PER_PAGE = 50


def _flash(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(f"{field}: {m}" for field, msgs in error.message_dict.items() for m in msgs)
    return " ".join(error.messages)


# --- staff: the customer file's panel --------------------------------------------------------------


def _panel(request, customer, *, errors=None, values=None, status=200):
    accounts = Account.objects.filter(tenant=request.tenant, customer=customer, state="active").order_by("currency")
    return render(request, "paylinks/_customer_panel.html", {
        "customer": customer, "accounts": accounts, "requests": selectors.requests_of(customer=customer)[:20],
        "channels": RequestChannel.choices, "errors": errors or {}, "values": values or {},
        "chosen_channels": _chosen_channels(values), "open_status": RequestStatus.OPEN,
        "can_consolidate": request.user.has_perm("crm.manage_payments"),
    }, status=status)


@staff_view
def customer_panel(request, customer_id: int):
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    return _panel(request, customer)


@staff_view
@require_POST
def request_create(request, customer_id: int):
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    account = Account.objects.filter(tenant=request.tenant, customer=customer, pk=query_int(request.POST.get("account"))
                                     ).first()
    try:
        if account is None:
            raise ValidationError({"account": _("Choose one of the customer's accounts.")})
        request_payment(customer=customer, account=account, data=forms.request_data(request.POST),
                        actor=request.user, at=timezone.now())
    except ValidationError as error:
        if request.htmx:
            return _panel(request, customer, errors=error.message_dict, values=request.POST, status=422)
        messages.error(request, _("No request was sent. %(_flash)s") % {"_flash": _flash(error)})
        return redirect("crm:customer_detail", customer_id=customer.pk)
    if request.htmx:
        return _panel(request, customer)
    messages.success(request, _("The payment request was sent to %(name)s.") % {"name": customer.name})
    return redirect("crm:customer_detail", customer_id=customer.pk)


# --- staff: the invoice page's panel ----------------------------------------------------------------


def _invoice_panel(request, invoice, *, errors=None, values=None, status=200):
    if values is None:
        values = {"amount": f"{invoice.open_amount:.2f}", "reference": invoice.number}
    refusal = "" if invoice.open_amount > 0 else _("Nothing is outstanding on this invoice.")
    if not refusal and invoice.account.state != "active":
        refusal = _("The account is %(state)s; money cannot be requested into it.") % {"state": invoice.account.state}
    if not refusal:
        refusal = gateway_selectors.refusal(tenant=invoice.tenant_id, purpose=Purpose.PAYMENT_REQUESTS,
                                            currency=invoice.currency)
    return render(request, "paylinks/_invoice_request_panel.html", {
        "txn": invoice, "requests": selectors.requests_of_invoice(invoice=invoice), "refusal": refusal,
        "channels": RequestChannel.choices, "errors": errors or {}, "values": values,
        "chosen_channels": _chosen_channels(values),
    }, status=status)


def _chosen_channels(values) -> list[str]:
    """The channels ticked in a refused form, so it comes back as the user left it."""
    return values.getlist("channels") if hasattr(values, "getlist") else []


@staff_view
@require_http_methods(["GET"])
def invoice_request_panel(request, invoice_id: int):
    return _invoice_panel(request, selectors.get_posted_invoice(tenant=request.tenant, invoice_id=invoice_id))


@staff_view
@require_POST
def invoice_request_create(request, invoice_id: int):
    invoice = selectors.get_posted_invoice(tenant=request.tenant, invoice_id=invoice_id)
    try:
        request_payment(customer=invoice.account.customer, account=invoice.account, invoice=invoice,
                        data=forms.request_data(request.POST), actor=request.user, at=timezone.now())
    except ValidationError as error:
        if request.htmx:
            return _invoice_panel(request, invoice, errors=error.message_dict, values=request.POST, status=422)
        messages.error(request, _("No request was sent. %(_flash)s") % {"_flash": _flash(error)})
    else:
        if request.htmx:
            return _invoice_panel(request, invoice)
        messages.success(request, _("The payment request was sent to %(name)s.") % {
            "name": invoice.account.customer.name})
    return redirect("finance:transaction_detail", transaction_id=invoice.pk)


def _back(request, payment_request):
    if request.htmx:
        return _panel(request, payment_request.customer)
    target = request.POST.get("next", "")
    if target.startswith("/payments/requests/") or target.startswith("/customers/"):
        return redirect(target)
    return redirect("paylinks:request_list")


def _act(request, request_id: int, action, done: str):
    payment_request = selectors.get_payment_request(tenant=request.tenant, request_id=request_id)
    try:
        action(request=payment_request, actor=request.user, at=timezone.now())
    except ValidationError as error:
        messages.error(request, _flash(error))
    else:
        messages.success(request, done)
    return _back(request, payment_request)


@staff_view
@require_POST
def request_cancel(request, request_id: int):
    return _act(request, request_id, cancel_payment_request, _("The payment request is cancelled."))


@staff_view
@require_POST
def request_resend(request, request_id: int):
    return _act(request, request_id, resend_payment_request,
                _("A new link, valid for 24 hours, was sent; the old link no longer works."))


@staff_view
@require_POST
def request_consolidate(request, request_id: int):
    require_permission(request, "crm.manage_payments", _("Only payment managers consolidate payments."))
    return _act(request, request_id, consolidate_payment_request, _("The payment is consolidated."))


# --- staff: "My payments" and "Payment list" -------------------------------------------------------


@staff_view
def request_list(request):
    query = request.GET
    mine = query.get("mine") == "1"
    filters = selectors.RequestFilters(
        status=query.get("status", "") if query.get("status") in RequestStatus.values else "",
        created_from=query_date(query.get("from", "")), created_to=query_date(query.get("to", "")),
        created_by=request.user.pk if mine else query_int(query.get("staff")),
        customer=query_int(query.get("customer")), customer_name=query.get("customer_name", "").strip()[:100],
        reference=query.get("reference", "").strip()[:100],
        sort=query.get("sort", "-created") if query.get("sort") in selectors.REQUEST_SORTS else "-created",
    )
    page = page_of(request, selectors.payment_requests(tenant=request.tenant, filters=filters), PER_PAGE)
    params = query.copy()
    params.pop("page", None)
    return render(request, "paylinks/request_list.html", {
        "page": page, "filters": filters, "mine": mine, "statuses": RequestStatus.choices,
        "staff": User.objects.filter(tenant=request.tenant).order_by("username"),
        "can_consolidate": request.user.has_perm("crm.manage_payments"), "complete_states": COMPLETE_STATES,
        "open_status": RequestStatus.OPEN, "query": params.urlencode(),
    })


# --- the payer's page ------------------------------------------------------------------------------


def _payer_page(view):
    """The token in the URL is the capability to pay: no caching, and never sent in a Referer (the page's
    own form posts still pass CSRF protection: see core.csrf)."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str, **kwargs) -> HttpResponse:
        if not throttle.allow(key=f"pay:{throttle.client_ip(request)}", limit=settings.PAY_LOOKUPS_PER_MINUTE,
                              window_seconds=60):
            response = render(request, "paylinks/pay_message.html",
                              {"message": _("Too many attempts. Wait a minute and try again.")}, status=429)
        else:
            payment_request = request_for_token(token=token, at=timezone.now())
            if payment_request is None:
                raise Http404(_("No such payment link."))
            with scope(tenant=payment_request.tenant), for_customer(payment_request.customer):
                response = view(request, payment_request, token, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "no-store"
        return response

    return wrapped


def _pay_context(payment_request, gateway_account, token: str) -> dict:
    pay_in_4 = gateway_account is not None and registry.capabilities_of(gateway_account.provider).supports(
        mode=CheckoutMode.HOSTED_PAGE, currency=payment_request.currency, pay_in_4=True
    )
    return {
        "tenant_name": payment_request.tenant.name, "amount": payment_request.amount,
        "currency": payment_request.currency, "reference": payment_request.reference,
        "message": payment_request.message, "expires_at": payment_request.expires_at,
        "payable": payment_request.status == RequestStatus.OPEN and gateway_account is not None,
        "notice": str(PAYER_STATUS_TEXT.get(payment_request.status, "")), "pay_in_4": pay_in_4,
        "save_card_text": card_offer(gateway_account, payment_request.tenant.name),
        "receipt_url": reverse("pay:receipt", kwargs={"token": token})
        if payment_request.status in COMPLETE_STATES else "",
    }


@require_http_methods(["GET", "POST"])
@_payer_page
def pay_page(request, payment_request, token: str):
    gateway_account = gateway_selectors.gateway_account_for(
        tenant=payment_request.tenant, purpose=Purpose.PAYMENT_REQUESTS, currency=payment_request.currency)
    context = _pay_context(payment_request, gateway_account, token)
    if gateway_account is None and payment_request.status == RequestStatus.OPEN:
        context["notice"] = _("Online payment is not available at the moment. Please contact us.")
    if request.method == "GET" or not context["payable"]:
        response = render(request, "paylinks/pay_page.html", context, status=200 if request.method == "GET" else 409)
        return allow_provider(request, response, gateway_account)
    try:
        attempt = start_request_attempt(
            request=payment_request, gateway_account=gateway_account, at=timezone.now(),
            pay_in_4=context["pay_in_4"] and request.POST.get("pay_in_4") == "1",
            return_url=site_url(reverse("pay:done", kwargs={"token": token})),
            webhook_url=webhook_url(gateway_account),
            card_consent=card_consent(request, gateway_account, source=ConsentSource.PAY_LINK,
                                      tenant_name=payment_request.tenant.name, at=timezone.now()),
        )
    except AttemptRefused as refusal:
        return render(request, "paylinks/pay_page.html", context | {"payable": False, "notice": str(refusal)},
                      status=409)
    return to_checkout(request, attempt.payment, template="paylinks/pay_page.html", context=context)


@require_http_methods(["GET"])
@_payer_page
def pay_done(request, payment_request, token: str):
    """Where the provider sends the payer back. The webhook settles the attempt; asking the provider
    here as well means the payer sees the outcome even if the webhook is late."""
    attempt = payment_request.attempts.order_by("-created_at", "-id").first()
    if attempt is not None and attempt.status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        try:
            refresh_payment(payment=attempt, at=timezone.now(), source="payer returned")
        except (GatewayError, ValueError):
            pass  # the webhook or the janitor settles it
        payment_request = selectors.get_payment_request(tenant=payment_request.tenant, request_id=payment_request.pk)
    attempt = payment_request.attempts.order_by("-created_at", "-id").first()
    context = _pay_context(payment_request, None, token)
    if payment_request.status in COMPLETE_STATES:
        context["notice"] = _("Thank you: your payment was received.")
    elif attempt is not None and attempt.status == PaymentStatus.FAILED:
        context["notice"] = _("The payment did not go through: %(reason)s You can try again.") % {
            "reason": attempt.failure_message}
        context["payable"] = payment_request.status == RequestStatus.OPEN
    elif attempt is not None and attempt.status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        context["notice"] = _("Your payment is being confirmed. You will not be charged twice.")
    return render(request, "paylinks/pay_page.html", context | {"done": True})


@require_http_methods(["GET"])
@_payer_page
def pay_receipt(request, payment_request, token: str, as_pdf: bool = False):
    """The receipt of the request's payment, for the payer who holds the request's link (seed 002:
    "receive a confirmation of payment and print the receipt")."""
    receipt = selectors.request_receipt(payment_request=payment_request)
    if receipt is None:
        return render(request, "paylinks/pay_message.html",
                      {"message": _("There is no receipt yet: this request has not been paid.")})
    return receipt_response(request, receipt, public=True, as_pdf=as_pdf)
