"""Reads of payments shared by pages."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from crm.models import Tenant
from finance.models import Classification, FeePayer, FinancialTransaction, TransactionState
from gateways.models import WebhookDelivery
from payments.models import GatewayPayment, GatewayRefund, Receipt, RefundStatus


def webhook_deliveries(*, tenant: Tenant, outcome: str = "") -> QuerySet[WebhookDelivery]:
    rows = WebhookDelivery.objects.filter(tenant=tenant).select_related("gateway_account")
    if outcome:
        rows = rows.filter(outcome=outcome)
    return rows.order_by("-received_at", "-id")


def get_webhook_delivery(*, tenant: Tenant, delivery_id: int) -> WebhookDelivery:
    try:
        return WebhookDelivery.objects.get(tenant=tenant, pk=delivery_id)
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such delivery.")) from None


def gateway_payments(*, tenant: Tenant, status: str = "", provider: str = "") -> QuerySet[GatewayPayment]:
    rows = GatewayPayment.objects.filter(tenant=tenant).select_related(
        "account__customer", "gateway_account", "invoice", "ledger_payment"
    )
    if status:
        rows = rows.filter(status=status)
    if provider:
        rows = rows.filter(provider=provider)
    return rows.order_by("-created_at", "-id")


def get_gateway_payment(*, tenant: Tenant, payment_id: int) -> GatewayPayment:
    try:
        return GatewayPayment.objects.select_related(
            "account__customer", "gateway_account", "invoice", "ledger_payment", "created_by", "receipt"
        ).get(tenant=tenant, pk=payment_id)
    except (GatewayPayment.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such payment.")) from None


def refunds_of(*, payment: GatewayPayment) -> QuerySet[GatewayRefund]:
    """The payment's refunds, oldest first, with who asked and the ledger refund each booked."""
    return GatewayRefund.objects.filter(tenant=payment.tenant_id, payment=payment).select_related(
        "created_by", "ledger_refund").order_by("created_at", "id")


def get_refund(*, payment: GatewayPayment, refund_id: int) -> GatewayRefund:
    """One of the payment's refunds; 404 for any other (another payment's, another tenant's)."""
    try:
        return GatewayRefund.objects.select_related("payment__gateway_account", "payment__account").get(
            tenant=payment.tenant_id, payment=payment, pk=refund_id)
    except (GatewayRefund.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such refund.")) from None


def left_to_refund(*, payment: GatewayPayment, leaving_out: GatewayRefund | None = None) -> Decimal:
    """What of a payment can still be refunded: its amount less every refund not refused by the
    provider (asked for or done), ``leaving_out`` one of them."""
    refunds = GatewayRefund.objects.filter(tenant=payment.tenant_id, payment=payment).exclude(
        status=RefundStatus.FAILED)
    if leaving_out is not None:
        refunds = refunds.exclude(pk=leaving_out.pk)
    return payment.amount - (refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0))


def get_receipt(*, tenant: Tenant, receipt_id: int) -> Receipt:
    try:
        return Receipt.objects.select_related("tenant").get(tenant=tenant, pk=receipt_id)
    except (Receipt.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such receipt.")) from None


def get_receipt_by_token(*, token: str) -> Receipt:
    """The receipt a customer's link names, found by the token's hash before any tenant is known."""
    receipt = (
        Receipt.objects.with_scopes_disabled().select_related("tenant")
        .filter(public_token_hash=Receipt.hash_token(token)).first()
    )
    if receipt is None:
        raise Http404
    return receipt


def _fees(tenant: Tenant) -> QuerySet[FinancialTransaction]:
    return FinancialTransaction.objects.filter(
        tenant=tenant, classification=Classification.INVOICE, state=TransactionState.POSTED,
    ).exclude(type__fee_payer=FeePayer.NONE)


def fees_of(*, tenant: Tenant, customer_id: int) -> QuerySet[FinancialTransaction]:
    """The customer's posted fee invoices, newest first: the fees on their own accounts and the fees
    about them that lenders or providers owe (booked on the lender's account).

    The two kinds are found apart and united by id: either condition alone is an index's, but their
    ``OR`` across the account's join read every transaction of every account of the tenant."""
    own = _fees(tenant).filter(account__customer_id=customer_id).values("pk")
    about = _fees(tenant).filter(for_customer_id=customer_id).values("pk")
    return FinancialTransaction.objects.filter(tenant=tenant, pk__in=own.union(about)).select_related(
        "type", "account__lender").order_by("-posted_at", "-id")


def get_fee(*, tenant: Tenant, invoice_id: int) -> FinancialTransaction:
    try:
        return _fees(tenant).select_related("type", "account__customer", "account__lender").get(pk=invoice_id)
    except (FinancialTransaction.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such fee.")) from None
