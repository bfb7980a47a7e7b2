"""What a payment made through an invoice's emailed pay link writes when it succeeds (in
``apply_state``'s transaction): the customer's confirmation email."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from djmoney.money import Money

from finance.models import FinancialTransaction
from notifications.services import notify
from payments.models import GatewayPayment
from payments.services.request_records import local_time


def confirm_invoice_payment(*, payment: GatewayPayment, receipt_token: str, at: datetime) -> None:
    """Email the customer that the payment of their invoice was received, with the receipt's link
    when one was just issued. Once per payment (the outbox's event key)."""
    invoice = FinancialTransaction.objects.select_related("account__customer").get(
        tenant=payment.tenant_id, pk=payment.invoice_id
    )
    ledger_payment = payment.ledger_payment
    receipt_link = (settings.DULY_SITE_URL.rstrip("/") + reverse("receipt_public", args=[receipt_token])
                    if receipt_token else "")
    notify(
        tenant=payment.tenant, event_key=f"gateway_payment:{payment.pk}:invoice_paid",
        template_key="payment_received", channels=["email"], customer=invoice.account.customer,
        context={
            "amount": str(Money(payment.amount, payment.currency)), "currency": payment.currency,
            "payment.number": ledger_payment.number if ledger_payment is not None else "",
            "payment.reference": payment.provider_reference or payment.reference,
            "payment.date": local_time(payment.tenant, at),
            "payment.method": ledger_payment.payment_method.name
            if ledger_payment is not None and ledger_payment.payment_method_id else "",
            "invoice.number": invoice.number, "invoice.reference": invoice.reference_number,
            "invoice.date": local_time(payment.tenant, invoice.posted_at or invoice.issued_at),
            "invoice.total": str(Money(invoice.total_amount, invoice.currency)),
            "invoice.outstanding": str(Money(invoice.open_amount, invoice.currency)),
            "receipt_link": receipt_link,
        },
        subject_ref=f"finance.financialtransaction:{invoice.pk}", urgent=True, at=at,
    )
