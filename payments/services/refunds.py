"""Refunds: our record first, its idempotency key to the provider, then the ledger refund."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from crm.models import User
from finance import services as ledger
from finance.models import (
    RefundMethod,
)
from gateways import registry
from gateways.base import (
    GatewayError,
    GatewayUnavailable,
    PaymentDeclined,
    RefundRequest,
    to_minor_units,
)
from payments.models import (
    GatewayPayment,
    GatewayRefund,
    PaymentStatus,
    RefundStatus,
)
from payments.services.gateway_payments import new_reference

DEFAULT_REFUND_METHOD = "Card refund"

# --- refunds -------------------------------------------------------------------------------------


@transaction.atomic
def _request_refund(*, payment: GatewayPayment, amount: Decimal, actor: User | None, at: datetime) -> GatewayRefund:
    locked = GatewayPayment.objects.select_for_update().get(tenant=payment.tenant_id, pk=payment.pk)
    if locked.status != PaymentStatus.SUCCEEDED:
        raise ValueError("Only a succeeded payment can be refunded.")
    already = sum((r.amount for r in locked.refunds.exclude(status=RefundStatus.FAILED)), Decimal(0))
    if amount <= 0 or already + amount > locked.amount:
        raise ValueError(f"At most {locked.amount - already} {locked.currency} can still be refunded.")
    return GatewayRefund.objects.create(
        tenant_id=locked.tenant_id, payment=locked, amount=amount, idempotency_key=new_reference("rf"),
        created_by=actor, created_at=at,
    )


def refund_payment(*, payment: GatewayPayment, amount: Decimal, actor: User | None, at: datetime) -> GatewayRefund:
    """Refund part or all of a succeeded payment: our record first, then the provider (with the
    record's idempotency key), then the ledger refund.

    :raises ValueError: the payment did not succeed, or the amount is more than is left to refund.
    :raises GatewayUnavailable: the provider did not answer; ``retry_refund`` sends the same key again.
    """
    return retry_refund(refund=_request_refund(payment=payment, amount=amount, actor=actor, at=at), at=at)


def retry_refund(*, refund: GatewayRefund, at: datetime) -> GatewayRefund:
    """Send a requested refund to the provider (again); the same idempotency key never refunds twice."""
    if refund.status != RefundStatus.REQUESTED:
        return refund
    payment = refund.payment
    try:
        result = registry.gateway_for(account=payment.gateway_account).refund(RefundRequest(
            provider_reference=payment.provider_reference, amount_minor=to_minor_units(refund.amount, payment.currency),
            currency=payment.currency, idempotency_key=refund.idempotency_key,
        ))
    except (PaymentDeclined, GatewayError) as error:
        if isinstance(error, GatewayUnavailable):
            raise
        return _refund_failed(refund, str(error))
    return _refund_done(refund, result.refund_reference, result.succeeded, at)


@transaction.atomic
def _refund_failed(refund: GatewayRefund, message: str) -> GatewayRefund:
    GatewayRefund.objects.filter(pk=refund.pk, status=RefundStatus.REQUESTED).update(
        status=RefundStatus.FAILED, failure_message=message[:300]
    )
    refund.refresh_from_db()
    return refund


@transaction.atomic
def _refund_done(refund: GatewayRefund, reference: str, succeeded: bool, at: datetime) -> GatewayRefund:
    locked = GatewayRefund.objects.select_for_update().select_related("payment__account").get(pk=refund.pk)
    if locked.status != RefundStatus.REQUESTED:
        return locked
    if not succeeded:
        return _refund_failed(locked, "The provider did not accept the refund.")
    method, _ = RefundMethod.objects.get_or_create(tenant_id=locked.tenant_id, name=DEFAULT_REFUND_METHOD)
    posted = ledger.refund(
        account=locked.payment.account, amount=locked.amount, refund_method=method, actor=locked.created_by, at=at,
        external_reference=reference, issue_reason=f"Refund of {locked.payment.reference}",
    ).transaction
    locked.status = RefundStatus.SUCCEEDED
    locked.provider_refund_reference = reference
    locked.ledger_refund = posted
    locked.save()
    return locked
