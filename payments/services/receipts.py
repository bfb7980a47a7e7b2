"""Receipts: one numbered receipt per succeeded payment, gapless per tenant."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils.translation import gettext as _

from core import tokens
from finance.models import (
    Classification,
    FinancialTransaction,
    TransactionState,
)
from payments.models import GatewayPayment, Receipt

# --- receipts ------------------------------------------------------------------------------------


def new_receipt_token() -> tuple[str, str]:
    """A receipt link's token and the hash the receipt keeps."""
    return tokens.new_token(24)  # 192 random bits


ISSUE = "SELECT payments_issue_receipt(%s, %s, %s, %s)"  # payments/sql/booking_v2.sql


@transaction.atomic
def issue_receipt(
    *, ledger_payment: FinancialTransaction, gateway_payment: GatewayPayment | None = None, at: datetime
) -> tuple[Receipt, str]:
    """Issue the receipt of a posted ledger payment, numbered RC-000001, RC-000002… without gaps per
    tenant, and return it with the token of the customer's link (shown once; only its hash is kept).
    A gateway payment's success issues its receipt in the booking itself (``payments_book_success``),
    with the same database function as here.

    Once per ledger payment: a second call returns the receipt already issued with an empty token and
    consumes no number (``receipt_link`` gives a new link).

    :raises ValueError: the transaction is not a posted payment, or the gateway payment booked another.
    """
    # The lock serializes concurrent issues for one payment, so only the first draws a number.
    locked = FinancialTransaction.objects.select_for_update(no_key=True).get(
        tenant=ledger_payment.tenant_id, pk=ledger_payment.pk)
    existing = Receipt.objects.filter(tenant=locked.tenant_id, ledger_payment=locked).first()
    if existing is not None:
        return existing, ""
    if locked.classification != Classification.PAYMENT or locked.state != TransactionState.POSTED:
        raise ValueError(_("%(locked)s is not a posted payment.") % {"locked": locked})
    if gateway_payment is not None and gateway_payment.ledger_payment_id != locked.pk:
        raise ValueError(_("%(reference)s did not book %(locked)s.") % {
            "reference": gateway_payment.reference, "locked": locked})
    token, token_hash = new_receipt_token()
    with connection.cursor() as cursor:
        cursor.execute(ISSUE, [locked.pk, getattr(gateway_payment, "pk", None), at, token_hash])
        receipt_id = cursor.fetchone()[0]
    return Receipt.objects.get(tenant=locked.tenant_id, pk=receipt_id), token


@transaction.atomic
def receipt_link(*, receipt: Receipt) -> str:
    """Give the customer a new link to a receipt: return its token and store only the hash, so the
    previous link stops working. Raises nothing.
    """
    token, token_hash = new_receipt_token()
    Receipt.objects.filter(tenant=receipt.tenant_id, pk=receipt.pk).update(public_token_hash=token_hash)
    receipt.public_token_hash = token_hash
    return token
