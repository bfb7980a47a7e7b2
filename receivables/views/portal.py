"""The customer portal's pages for the whole account: pay one invoice (all or part, on the Email Pay page),
a receipt of a paid invoice, and a statement of account to read or download. The session and the
sign-in are obligations' (``obligations.portal_access``); every object is looked up through the signed-in
customer, so another customer's ids answer 404 like missing ones."""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.clock import tenant_today
from crm.models import Customer
from finance.models import Account, Allocation, Classification, FinancialTransaction, TransactionState
from obligations.portal_access import portal_view
from paylinks.services.invoice_pay import invoice_gateway_account, new_invoice_pay_link, send_refusal
from payments.models import Receipt
from payments.services.receipts import receipt_link
from receivables import selectors
from receivables.printing import statement_response


def _invoice(customer: Customer, invoice_id: int) -> FinancialTransaction:
    invoice = FinancialTransaction.objects.filter(
        tenant=customer.tenant_id, pk=invoice_id, account__customer=customer, classification=Classification.INVOICE,
        state=TransactionState.POSTED).select_related("account__customer", "account__tenant").first()
    if invoice is None:
        raise Http404(_("No such invoice."))
    return invoice


@require_POST
@portal_view
def portal_invoice_pay(request: HttpRequest, customer: Customer, invoice_id: int):
    """A fresh pay link to the invoice, and on to its page, where the customer pays all or part of it."""
    invoice = _invoice(customer, invoice_id)
    refusal = send_refusal(invoice=invoice) if invoice_gateway_account(invoice=invoice) else _(
        "Online payment is not available at the moment. Please contact us.")
    if refusal:
        return render(request, "obligations/portal_message.html", {"tenant": customer.tenant, "message": refusal},
                      status=409)
    _link, token = new_invoice_pay_link(invoice=invoice, actor=None, at=timezone.now())
    return redirect("pay:invoice", token=token)


@require_POST
@portal_view
def portal_invoice_receipt(request: HttpRequest, customer: Customer, invoice_id: int):
    """A fresh link to the receipt of the latest payment through Duly that paid the invoice."""
    invoice = _invoice(customer, invoice_id)
    paid_by = Allocation.objects.filter(tenant=customer.tenant_id, debit=invoice, reversed_at__isnull=True).values(
        "credit_id")
    receipt = Receipt.objects.filter(tenant=customer.tenant_id, ledger_payment__in=paid_by).order_by("-id").first()
    if receipt is None:
        raise Http404(_("No receipt."))
    return redirect("receipt_public", receipt_link(receipt=receipt))


@require_http_methods(["GET"])
@portal_view
def portal_statement(request: HttpRequest, customer: Customer, account_id: int):
    """The customer's statement for ``?start=…&end=…`` (a period of at most a year up to today)."""
    account = Account.objects.filter(tenant=customer.tenant_id, pk=account_id, customer=customer).select_related(
        "tenant", "customer").first()
    if account is None:
        raise Http404(_("No such account."))
    try:
        start, end = date.fromisoformat(request.GET.get("start", "")), date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        raise Http404(_("No such statement.")) from None
    if start > end or end > tenant_today(customer.tenant) or (end - start).days > 366:
        raise Http404(_("No such statement."))
    statement = selectors.statement_of(account=account, start=start, end=end)
    url = reverse("portal:statement", args=[account.pk]) + f"?start={start}&end={end}"
    return statement_response(request, statement, as_pdf=request.GET.get("format") == "pdf",
                              pdf_url=url + "&format=pdf", back_url=reverse("portal:home"), public=True)
