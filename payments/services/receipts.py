"""Receipts: one numbered receipt per succeeded payment, gapless per tenant."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _
from sequences import get_next_value

from core import tokens
from finance.models import (
    Account,
    Classification,
    FinancialTransaction,
    TransactionState,
)
from payments.models import GatewayPayment, Receipt

# --- receipts ------------------------------------------------------------------------------------


def _receipt_token() -> tuple[str, str]:
    return tokens.new_token(24)  # 192 random bits


@transaction.atomic
def issue_receipt(
    *, ledger_payment: FinancialTransaction, gateway_payment: GatewayPayment | None = None, at: datetime
) -> tuple[Receipt, str]:
    """Issue the receipt of a posted ledger payment, numbered RC-000001, RC-000002… without gaps per
    tenant, and return it with the token of the customer's link (shown once; only its hash is kept).

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
    if gateway_payment is not None and gateway_payment.account_id == locked.account_id:
        account = gateway_payment.account
    else:
        account = Account.objects.select_related("customer").get(tenant=locked.tenant_id, pk=locked.account_id)
    if gateway_payment is not None:  # its ledger payment names only the invoice it paid, if any
        invoice = gateway_payment.invoice
    else:
        target = locked.targets.select_related("invoice").first()
        invoice = target.invoice if target is not None else None
    token, token_hash = _receipt_token()
    receipt = Receipt.objects.create(
        tenant_id=locked.tenant_id,
        number=f"RC-{get_next_value(f'receipts:{locked.tenant_id}'):06d}",
        gateway_payment=gateway_payment, ledger_payment=locked, amount=locked.total_amount, currency=locked.currency,
        provider=gateway_payment.provider if gateway_payment is not None else "",
        provider_reference=locked.external_reference
        or (gateway_payment.provider_reference if gateway_payment is not None else ""),
        invoice_number=invoice.number if invoice is not None else "",
        description=gateway_payment.description if gateway_payment is not None else "",
        payer_name=account.customer.name if account.customer is not None else account.name,
        payer_email=account.customer.email if account.customer is not None else "",
        issued_at=at, public_token_hash=token_hash,
    )
    return receipt, token


@transaction.atomic
def receipt_link(*, receipt: Receipt) -> str:
    """Give the customer a new link to a receipt: return its token and store only the hash, so the
    previous link stops working. Raises nothing.
    """
    token, token_hash = _receipt_token()
    Receipt.objects.filter(tenant=receipt.tenant_id, pk=receipt.pk).update(public_token_hash=token_hash)
    receipt.public_token_hash = token_hash
    return token
