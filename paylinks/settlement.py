"""How a payment through a pay link settles (registered with ``payments.settlement`` when Django starts)."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from paylinks.services.records import complete_request
from payments.models import GatewayPayment, PaymentPurpose
from payments.settlement import Settlement


class RequestSettlement(Settlement):
    """An attempt on a payment request's pay page."""

    purpose = PaymentPurpose.REQUEST
    # The payer who fails tries again on the request's pay page, and the request's list shows it.
    tells_staff_of_failure = False

    def settled(self, payment: GatewayPayment, at: datetime) -> None:
        complete_request(attempt=payment, at=at)

    def paid_for(self, payment: GatewayPayment) -> str:
        request, invoice = payment.payment_request, payment.invoice
        if request.reference:
            words = _("payment request %(reference)s") % {"reference": request.reference}
        else:
            words = _("payment request #%(pk)s") % {"pk": request.pk}
        return f"{words} (invoice {invoice.number})" if invoice is not None else words

    def payer_channels(self, payment: GatewayPayment, addresses: dict[str, bool]) -> list[str]:
        """By the channels the request went by."""
        return [channel for channel in payment.payment_request.channels if addresses.get(channel)]

    def subject_ref(self, payment: GatewayPayment) -> str:
        return f"payments.paymentrequest:{payment.payment_request_id}"


class EmailPaySettlement(Settlement):
    """A payment through an invoice's emailed pay-now link (Email Pay)."""

    purpose = PaymentPurpose.EMAIL_PAY

    def paid_for(self, payment: GatewayPayment) -> str:
        return f"invoice {payment.invoice.number}"
