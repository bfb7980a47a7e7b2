"""What a payment request's life writes down, shared by the request services and by a succeeded
attempt (in ``apply_state``'s transaction)."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext_lazy as _

from crm.models import User
from paylinks.models import PaymentRequest, PaymentRequestEvent, RequestStatus
from payments.models import GatewayPayment, PaymentEvent, PaymentStatus


def log_request(request: PaymentRequest, action: str, before: str, actor: User | None, at: datetime) -> None:
    PaymentRequestEvent.objects.create(tenant_id=request.tenant_id, request=request, action=action,
                                       from_status=before, to_status=request.status, actor=actor, at=at)


PAYER_STATUS_TEXT = {
    RequestStatus.EXPIRED: _("This link has expired. Ask for a new one if you still wish to pay."),
    RequestStatus.CANCELLED: _("This payment request was cancelled; there is nothing to pay."),
    RequestStatus.COMPLETE: _("This request has been paid. Thank you."),
    RequestStatus.COMPLETE_AFTER_FAILURE: _("This request has been paid. Thank you."),
}


def complete_request(*, attempt: GatewayPayment, at: datetime) -> None:
    """A succeeded attempt completes its request (in ``apply_state``'s transaction); ``apply_state``
    then tells the payer and the staff member who sent it. An earlier failed attempt makes it "complete (1)"."""
    locked = PaymentRequest.objects.select_for_update(of=("self",)).select_related(
        "tenant", "customer", "created_by"
    ).get(tenant=attempt.tenant_id, pk=attempt.payment_request_id)
    if locked.is_complete:
        return
    failed_before = PaymentEvent.objects.filter(
        tenant=attempt.tenant_id, payment__payment_request=locked, to_status=PaymentStatus.FAILED
    ).exists()
    before = locked.status
    if failed_before:
        locked.complete_after_failure(at=at)
    else:
        locked.complete(at=at)
    locked.save()
    log_request(locked, "complete", before, None, at)


def complete_by_transfer(*, request: PaymentRequest, actor: User | None, at: datetime) -> bool:
    """A bank transfer naming the request paid it (in the booking's transaction). ``False`` when it was
    already complete, so the caller books nothing twice."""
    locked = PaymentRequest.objects.select_for_update().get(tenant=request.tenant_id, pk=request.pk)
    if locked.is_complete:
        return False
    before = locked.status
    locked.complete(at=at)
    locked.save()
    log_request(locked, "paid_by_transfer", before, actor, at)
    return True
