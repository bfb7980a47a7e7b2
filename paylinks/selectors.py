"""Reads of payment requests shared by pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from crm.models import Tenant
from finance.models import Classification, FinancialTransaction, TransactionState
from paylinks.models import PaymentRequest
from payments.models import PaymentStatus, Receipt


def request_receipt(*, payment_request: PaymentRequest) -> Receipt | None:
    """The receipt of the payment that completed ``payment_request``, or ``None`` until one did."""
    return Receipt.objects.select_related("tenant").filter(
        tenant=payment_request.tenant_id, gateway_payment__payment_request=payment_request,
        gateway_payment__status=PaymentStatus.SUCCEEDED,
    ).first()


REQUEST_SORTS = {
    "created": ("created_at", "id"), "-created": ("-created_at", "-id"),
    "amount": ("amount", "id"), "-amount": ("-amount", "-id"),
    "status": ("status", "-created_at", "-id"), "-status": ("-status", "-created_at", "-id"),
}


@dataclass(frozen=True)
class RequestFilters:
    status: str = ""
    created_from: date | None = None
    created_to: date | None = None
    created_by: int | None = None
    customer: int | None = None
    customer_name: str = ""
    reference: str = ""
    sort: str = "-created"


def payment_requests(*, tenant: Tenant, filters: RequestFilters = RequestFilters()) -> QuerySet[PaymentRequest]:
    """Payment requests of ``tenant`` for the lists: "My payments" (``created_by``) and "Payment list"."""
    rows = PaymentRequest.objects.filter(tenant=tenant).select_related(
        "customer", "created_by", "consolidated_by"
    ).annotate(attempt_count=Count("attempts"))
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.created_from:
        rows = rows.filter(created_at__date__gte=filters.created_from)
    if filters.created_to:
        rows = rows.filter(created_at__date__lte=filters.created_to)
    if filters.created_by:
        rows = rows.filter(created_by=filters.created_by)
    if filters.customer:
        rows = rows.filter(customer=filters.customer)
    if filters.customer_name:
        rows = rows.filter(customer__name__icontains=filters.customer_name)
    if filters.reference:
        rows = rows.filter(reference__icontains=filters.reference)
    return rows.order_by(*REQUEST_SORTS.get(filters.sort, REQUEST_SORTS["-created"]))


def requests_of(*, customer) -> QuerySet[PaymentRequest]:
    return payment_requests(tenant=customer.tenant, filters=RequestFilters(customer=customer.pk))


def requests_of_invoice(*, invoice: FinancialTransaction) -> QuerySet[PaymentRequest]:
    return PaymentRequest.objects.filter(tenant=invoice.tenant_id, invoice=invoice).select_related(
        "created_by").order_by("-created_at", "-id")


def get_posted_invoice(*, tenant: Tenant, invoice_id: int) -> FinancialTransaction:
    """A posted invoice of ``tenant`` with its account and customer; 404 for anything else."""
    try:
        return FinancialTransaction.objects.select_related("account__customer").get(
            tenant=tenant, pk=invoice_id, classification=Classification.INVOICE, state=TransactionState.POSTED)
    except (FinancialTransaction.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such invoice.")) from None


def get_payment_request(*, tenant: Tenant, request_id: int) -> PaymentRequest:
    try:
        return PaymentRequest.objects.select_related("customer", "account", "created_by", "consolidated_by").get(
            tenant=tenant, pk=request_id
        )
    except (PaymentRequest.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such payment request.")) from None
