"""Refunds of gateway payments over the API: list, refund in full or in part, retry.

Amounts are decimal strings in the payment's currency. Another tenant's ids in the path answer 404;
refunding a payment that cannot be refunded answers 409.
"""

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.responses import Status

from crm.access import TenantApiKey
from payments import selectors
from payments.services import refunds

refunds_router = Router(tags=["refunds"], auth=TenantApiKey("payments"))


class PaymentRefundIn(Schema):
    amount: str = Field(..., examples=["20.00"],
                        description="In the payment's currency; at most what is left to refund.")


class RefundOut(Schema):
    id: int
    payment: int
    amount: str
    currency: str
    status: str = Field(..., description="requested (the provider has not confirmed it: retry), succeeded, "
                                         "or failed (the provider refused it: retry asks again)")
    provider_refund_reference: str
    failure_message: str
    ledger_refund: int | None = Field(..., description="The ledger refund booked once the provider refunded.")
    ledger_refund_number: str
    created_at: datetime
    created_by: int | None
    requested_via: str

    @staticmethod
    def resolve_payment(obj) -> int:
        return obj.payment_id

    @staticmethod
    def resolve_amount(obj) -> str:
        return f"{obj.amount:.2f}"

    @staticmethod
    def resolve_currency(obj) -> str:
        return obj.payment.currency

    @staticmethod
    def resolve_ledger_refund(obj) -> int | None:
        return obj.ledger_refund_id

    @staticmethod
    def resolve_ledger_refund_number(obj) -> str:
        return obj.ledger_refund.number if obj.ledger_refund_id else ""

    @staticmethod
    def resolve_created_by(obj) -> int | None:
        return obj.created_by_id


@refunds_router.get("/payments/{payment_id}/refunds", response=list[RefundOut])
def list_refunds(request: HttpRequest, payment_id: int):
    payment = selectors.get_gateway_payment(tenant=request.tenant, payment_id=payment_id)
    return list(selectors.refunds_of(payment=payment))


@refunds_router.post("/payments/{payment_id}/refunds", response={201: RefundOut})
def create_refund(request: HttpRequest, payment_id: int, payload: PaymentRefundIn):
    """Refund a succeeded gateway payment in full or in part. The answer is the refund as stored:
    ``succeeded`` (booked in the ledger), ``failed`` (the provider refused; retry) or ``requested`` (the
    provider did not answer; retry sends the same request, which never refunds twice)."""
    payment = selectors.get_gateway_payment(tenant=request.tenant, payment_id=payment_id)
    try:
        refund = refunds.refund_payment(payment=payment, amount=payload.amount, actor=None, at=timezone.now(),
                                         requested_via=request.api_key.name)
    except refunds.RefundUnconfirmed as unanswered:
        refund = unanswered.refund
    return Status(201, selectors.get_refund(payment=payment, refund_id=refund.pk))


@refunds_router.post("/payments/{payment_id}/refunds/{refund_id}/retry", response={200: RefundOut})
def retry_refund(request: HttpRequest, payment_id: int, refund_id: int):
    """Send a refund that is ``requested`` or ``failed`` to the provider again; a succeeded one is
    answered as it is."""
    payment = selectors.get_gateway_payment(tenant=request.tenant, payment_id=payment_id)
    refund = selectors.get_refund(payment=payment, refund_id=refund_id)
    try:
        refunds.retry_refund(refund=refund, at=timezone.now())
    except refunds.RefundUnconfirmed:
        pass  # the answer below says "requested", with why
    return selectors.get_refund(payment=payment, refund_id=refund.pk)
