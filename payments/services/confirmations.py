"""What a settled gateway payment tells, in ``apply_state``'s transaction: the payer a confirmation with
the receipt's link, and the staff who should know an in-app note of who paid, how much and for what.
Each once per payment (the outbox's event keys)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.urls import reverse

from core.clock import local_time
from core.l10n import for_customer, for_tenant
from core.l10n import money as format_money
from crm.models import User
from finance.models import FinancialTransaction
from notifications.models import Channel
from notifications.services import notify
from payments.models import GatewayPayment, PaymentStatus
from payments.settlement import settlement_for

PAYMENT_MANAGER = "crm.manage_payments"


def confirm_to_payer(*, payment: GatewayPayment, receipt_token: str, at: datetime) -> None:
    """Tell the customer their payment was received, with the receipt's link when one was just issued:
    by the channels a payment request went by, otherwise by email, or by SMS when they have no email."""
    customer = payment.account.customer
    if customer is None:
        return
    channels = _payer_channels(payment, customer)
    if not channels:
        return
    receipt_link = (settings.DULY_SITE_URL.rstrip("/") + reverse("receipt_public", args=[receipt_token])
                    if receipt_token else "")
    with for_customer(customer):
        notify(
            tenant=payment.tenant, event_key=f"gateway_payment:{payment.pk}:payer_confirmation",
            template_key="payment_received", channels=channels, customer=customer,
            context=_payment_context(payment, at) | _invoice_context(payment) | {"receipt_link": receipt_link},
            subject_ref=_subject_ref(payment), urgent=True, at=at,
        )


def tell_staff(*, payment: GatewayPayment, at: datetime, managers: Callable[[int], list[User]] | None = None) -> None:
    """An in-app note for the staff member behind the payment (who took it, sent the request or the
    invoice's link), or for the tenant's payment managers when nobody was (the portal, the API);
    ``managers``: who they are, when the caller already knows."""
    users = [payment.created_by] if payment.created_by_id else (managers or payment_managers)(payment.tenant_id)
    if not users:
        return
    with for_tenant(payment.tenant):  # staff read it in the tenant's language and time
        context = _payment_context(payment, at) | {"paid_for": paid_for(payment)}
        if payment.status == PaymentStatus.SUCCEEDED:
            template_key = "staff_payment_received"
        else:
            template_key, context["reason"] = "payment_failed", payment.failure_message
        notify(
            tenant=payment.tenant, event_key=f"gateway_payment:{payment.pk}:{payment.status}",
            template_key=template_key, channels=[Channel.IN_APP], users=users, customer=payment.account.customer,
            context=context, subject_ref=_subject_ref(payment), urgent=True, at=at,
            link=reverse("payments:payment_detail", args=[payment.pk]),
        )


def paid_for(payment: GatewayPayment) -> str:
    """What the payment paid, in words staff recognise: the request, the instalment, the invoice or the fee."""
    return settlement_for(payment).paid_for(payment)


def _payer_channels(payment: GatewayPayment, customer) -> list[str]:
    addresses = {Channel.EMAIL: bool(customer.email), Channel.SMS: bool(customer.phone)}
    return settlement_for(payment).payer_channels(payment, addresses)


def payment_managers(tenant_id: int) -> list[User]:
    """The tenant's staff who manage payments."""
    users = User.objects.with_perm(PAYMENT_MANAGER, backend="django.contrib.auth.backends.ModelBackend")
    return list(users.filter(tenant=tenant_id).order_by("pk"))


def _payment_context(payment: GatewayPayment, at: datetime) -> dict[str, str]:
    ledger_payment = payment.ledger_payment
    return {
        "amount": format_money(payment.amount, payment.currency), "currency": payment.currency,
        "payment.number": ledger_payment.number if ledger_payment is not None else "",
        "payment.reference": payment.provider_reference or payment.reference,
        "payment.date": local_time(payment.tenant, at),
        "payment.method": ledger_payment.payment_method.name
        if ledger_payment is not None and ledger_payment.payment_method_id else "",
    }


def _invoice_context(payment: GatewayPayment) -> dict[str, str]:
    if payment.invoice_id is None:
        return {}
    invoice = FinancialTransaction.objects.get(tenant=payment.tenant_id, pk=payment.invoice_id)
    return {
        "invoice.number": invoice.number, "invoice.reference": invoice.reference_number,
        "invoice.date": local_time(payment.tenant, invoice.posted_at or invoice.issued_at),
        "invoice.total": format_money(invoice.total_amount, invoice.currency),
        "invoice.outstanding": format_money(invoice.open_amount, invoice.currency),
    }


def _subject_ref(payment: GatewayPayment) -> str:
    return settlement_for(payment).subject_ref(payment)
