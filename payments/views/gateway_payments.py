"""Staff pages of payments."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scope

from core.l10n import for_customer
from core.pagination import capped_page, page_of
from crm.access import require_permission, staff_view
from finance.exceptions import ActionNotAllowed
from gateways import registry
from gateways.models import Provider, WebhookOutcome
from payments import forms, selectors
from payments.models import PaymentStatus, RefundStatus
from payments.pages import receipt_response
from payments.services.gateway_payments import record_bank_confirmation
from payments.services.receipts import receipt_link
from payments.services.refunds import RefundUnconfirmed, may_refund, refund_payment, retry_refund
from payments.services.webhooks import replay_webhook_delivery

PER_PAGE = 50


@staff_view
def webhook_list(request):
    outcome = request.GET.get("outcome", "")
    if outcome not in WebhookOutcome.values:
        outcome = ""
    page = page_of(request, selectors.webhook_deliveries(tenant=request.tenant, outcome=outcome), PER_PAGE)
    return render(request, "payments/webhook_list.html",
                  {"page": page, "outcome": outcome, "outcomes": WebhookOutcome.choices})


@staff_view
@require_POST
def webhook_replay(request, delivery_id: int):
    require_permission(request, "crm.manage_payments", _("Only payment managers replay webhooks."))
    delivery = selectors.get_webhook_delivery(tenant=request.tenant, delivery_id=delivery_id)
    if delivery.outcome == WebhookOutcome.REJECTED:
        messages.error(request, _("A delivery refused for its signature cannot be replayed."))
    else:
        replay_webhook_delivery(delivery=delivery)
        messages.success(request, _("Delivery %(event_id)s will be processed again.") % {"event_id": delivery.event_id})
    return redirect("payments:webhook_list")


@staff_view
def payment_list(request):
    status = request.GET.get("status", "") if request.GET.get("status") in PaymentStatus.values else ""
    provider = request.GET.get("provider", "") if request.GET.get("provider") in Provider.values else ""
    # One database transaction for the page: row-level security sets its role and tenant once (core.rls).
    with transaction.atomic(savepoint=False):
        rows = selectors.gateway_payments(tenant=request.tenant, status=status, provider=provider)
        page = capped_page(request, rows, PER_PAGE)
        return render(request, "payments/payment_list.html", {
            "page": page, "status": status, "provider": provider, "statuses": PaymentStatus.choices,
            "providers": Provider.choices,
        })


def _can_confirm(request, payment) -> bool:
    return (payment.provider == Provider.CREDICORP and payment.status != PaymentStatus.SUCCEEDED
            and request.user.has_perm("crm.post_transactions"))


def _detail(request, payment, *, errors=None, refund_errors=None, refund_values=None, status=200) -> HttpResponse:
    refunder = may_refund(request.user)
    left = selectors.left_to_refund(payment=payment)
    refundable = (payment.status == PaymentStatus.SUCCEEDED and left > 0
                  and registry.capabilities_of(payment.provider).refunds)
    return render(request, "payments/payment_detail.html", {
        "payment": payment, "events": payment.events.all(), "refunds": selectors.refunds_of(payment=payment),
        "can_confirm": _can_confirm(request, payment), "errors": errors or {},
        "left_to_refund": left, "can_refund": refunder and refundable, "may_refund": refunder,
        "refund_errors": refund_errors or {}, "refund_values": refund_values or {"amount": f"{left:.2f}"},
    }, status=status)


@staff_view
def payment_detail(request, payment_id: int):
    payment = selectors.get_gateway_payment(tenant=request.tenant, payment_id=payment_id)
    return _detail(request, payment)


@staff_view
@require_POST
def payment_confirm(request, payment_id: int):
    require_permission(request, "crm.post_transactions", _("Only accountants record bank confirmations."))
    payment = selectors.get_gateway_payment(tenant=request.tenant, payment_id=payment_id)
    if payment.provider != Provider.CREDICORP:
        messages.error(request, _("Only bank email-pay payments are confirmed by hand."))
        return redirect("payments:payment_detail", payment_id=payment.pk)
    try:
        record_bank_confirmation(payment=payment, **forms.BankConfirmationForm.read(request.POST),
                                          actor=request.user, at=timezone.now())
    except ValidationError as error:
        return _detail(request, payment, errors=error.message_dict, status=422)
    messages.success(request, _("The bank's confirmation is recorded and the payment is booked."))
    return redirect("payments:payment_detail", payment_id=payment.pk)


# --- refunds -------------------------------------------------------------------------------------

REFUNDERS_ONLY = gettext_lazy("Only payment managers and accountants refund payments.")


def _refund_outcome(request, refund) -> None:
    amount = f"{refund.amount} {refund.payment.currency}"
    if refund.status == RefundStatus.SUCCEEDED:
        messages.success(request, _("%(amount)s is refunded (%(reference)s) and booked as %(number)s.") % {
            "amount": amount, "reference": refund.provider_refund_reference, "number": refund.ledger_refund.number})
    else:
        messages.error(request, _("The refund of %(amount)s did not go through: %(failure_message)s It is listed "
                                  "under Refunds with a Retry button.") % {
                                      "amount": amount, "failure_message": refund.failure_message})


@staff_view
@require_POST
def refund_create(request, payment_id: int):
    payment = selectors.get_gateway_payment(tenant=request.tenant, payment_id=payment_id)
    if not may_refund(request.user):
        raise PermissionDenied(REFUNDERS_ONLY)
    try:
        refund = refund_payment(payment=payment, **forms.RefundForm.read(request.POST),
                                         actor=request.user, at=timezone.now())
    except ActionNotAllowed as refusal:
        messages.error(request, " ".join(refusal.messages))
    except ValidationError as error:
        return _detail(request, payment, refund_errors=error.message_dict, refund_values=request.POST, status=422)
    except RefundUnconfirmed:
        messages.error(request, _("The provider did not answer. The refund is recorded as requested; Retry it under "
                                "Refunds, which asks the provider again without refunding twice."))
    else:
        _refund_outcome(request, refund)
    return redirect("payments:payment_detail", payment_id=payment.pk)


@staff_view
@require_POST
def refund_retry(request, payment_id: int, refund_id: int):
    payment = selectors.get_gateway_payment(tenant=request.tenant, payment_id=payment_id)
    refund = selectors.get_refund(payment=payment, refund_id=refund_id)
    if not may_refund(request.user):
        raise PermissionDenied(REFUNDERS_ONLY)
    try:
        refund = retry_refund(refund=refund, actor=request.user, at=timezone.now())
    except ValidationError as error:  # ActionNotAllowed included
        messages.error(request, " ".join(error.messages))
    except RefundUnconfirmed:
        messages.error(request, _("The provider did not answer again. The refund stays requested; retry later."))
    else:
        _refund_outcome(request, refund)
    return redirect("payments:payment_detail", payment_id=payment.pk)


# --- receipts ------------------------------------------------------------------------------------


@staff_view
def receipt_detail(request, receipt_id: int):
    receipt = selectors.get_receipt(tenant=request.tenant, receipt_id=receipt_id)
    return receipt_response(request, receipt, public=False, as_pdf=request.GET.get("format") == "pdf")


@staff_view
@require_POST
def receipt_new_link(request, receipt_id: int):
    receipt = selectors.get_receipt(tenant=request.tenant, receipt_id=receipt_id)
    token = receipt_link(receipt=receipt)
    response = receipt_response(
        request, receipt, public=False, link=request.build_absolute_uri(reverse("receipt_public", args=[token]))
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def receipt_public(request, token: str, as_pdf: bool = False):
    """The customer's receipt, reached by the link's token alone: no login, and no tenant until found."""
    receipt = selectors.get_receipt_by_token(token=token)
    with scope(tenant=receipt.tenant), for_customer(receipt.ledger_payment.account.customer):
        response = receipt_response(request, receipt, public=True, as_pdf=as_pdf)
    # The token is the key: keep it out of caches and out of the Referer of any link followed.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
