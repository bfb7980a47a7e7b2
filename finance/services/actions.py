"""The actions on posted transactions: cancel, write off, quick pay, move, refund.

Each creates new transactions (posted rows never change) and re-runs allocation, under the lock of
the account it touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.l10n import money as format_money
from crm.models import User
from finance.exceptions import ActionNotAllowed
from finance.models import (
    CANCELLATION_OF,
    Account,
    AccountKind,
    AccountState,
    Classification,
    FinancialTransaction,
    IssueReason,
    LedgerDefinition,
    PaymentMethod,
    RefundMethod,
    TransactionState,
    TransactionType,
)
from finance.services.setup import system_account
from finance.services.transactions import (
    LineData,
    PostingResult,
    TransactionData,
    create_transaction,
    post_transaction,
)


def _lock(txn: FinancialTransaction, classification: str, action: str) -> tuple[Account, FinancialTransaction]:
    account = Account.objects.select_for_update(no_key=True).get(tenant=txn.tenant_id, pk=txn.account_id)
    locked = FinancialTransaction.objects.get(tenant=txn.tenant_id, pk=txn.pk)
    if locked.classification != classification:
        raise ActionNotAllowed(_("Only a %(lower)s can be %(action)s.") % {
            "lower": Classification(classification).label.lower(), "action": action})
    if locked.state != TransactionState.POSTED:
        raise ActionNotAllowed(_("%(locked)s is %(lower)s; only a posted one can be %(action)s.") % {
            "locked": locked, "lower": locked.get_state_display().lower(), "action": action})
    return account, locked


def _already(related: FinancialTransaction, classification: str) -> FinancialTransaction | None:
    return (
        FinancialTransaction.objects.filter(
            tenant=related.tenant_id, related=related, classification=classification
        )
        .exclude(state=TransactionState.REJECTED)
        .first()
    )


def _refuse_if_terminated(account: Account, action: str) -> None:
    if account.state == AccountState.TERMINATED:
        raise ActionNotAllowed(_("The account %(account)s is terminated; its transactions cannot be %(action)s.") % {
            "account": account, "action": action})


def _cancel(
    txn: FinancialTransaction, classification: str, *, actor, at, type, issue_reason, issue_note=""
) -> FinancialTransaction:
    """Cancel ``txn`` with a transaction of the opposite direction for its total, settled against it;
    whatever ``txn`` was allocated to goes back to allocation."""
    account, txn = _lock(txn, classification, _("cancelled"))
    _refuse_if_terminated(account, _("cancelled"))
    if _already(txn, CANCELLATION_OF[classification]):
        raise ActionNotAllowed(_("%(txn)s is already cancelled.") % {"txn": txn})
    if _already(txn, Classification.WRITE_OFF):
        raise ActionNotAllowed(_("%(txn)s was written off; it cannot be cancelled.") % {"txn": txn})
    cancellation = create_transaction(
        account=account,
        classification=CANCELLATION_OF[classification],
        actor=actor,
        at=at,
        data=TransactionData(
            type=type, amount=txn.total_amount, related=txn, issue_reason=issue_reason, issue_note=issue_note
        ),
    )
    return post_transaction(txn=cancellation, actor=actor, at=at, settle=txn,
                            unsettle_reason=f"{txn} cancelled").transaction


@transaction.atomic
def cancel_invoice(
    *, invoice: FinancialTransaction, actor: User | None, at: datetime, type: TransactionType | None = None,
    issue_reason: IssueReason | None = None,
) -> FinancialTransaction:
    """Cancel a posted invoice with an invoice cancellation of its total, of ``type`` (the default
    invoice cancellation type when none), for one of the tenant's issue reasons (optional). Credits
    allocated to it are de-allocated and allocated again by FIFO.

    :raises ActionNotAllowed: not a posted invoice, already cancelled or written off, or its account
        is terminated.
    :raises ValidationError: a type of another classification or tenant, or another tenant's
        reason; nothing is saved.
    """
    return _cancel(invoice, Classification.INVOICE, actor=actor, at=at, type=type, issue_reason=issue_reason)


@transaction.atomic
def cancel_payment(
    *, payment: FinancialTransaction, actor: User | None, at: datetime, type: TransactionType | None = None,
    issue_reason: IssueReason | None = None, issue_note: str = "",
) -> FinancialTransaction:
    """Cancel a posted payment with a payment cancellation of its total, of ``type`` (the default
    payment cancellation type when none), for one of the tenant's issue reasons (optional). The
    invoices it paid are de-allocated and allocated again by FIFO from other credits.

    :raises ActionNotAllowed: not a posted payment, already cancelled, or its account is terminated.
    :raises ValidationError: a type of another classification or tenant, or another tenant's
        reason; nothing is saved.
    """
    return _cancel(payment, Classification.PAYMENT, actor=actor, at=at, type=type, issue_reason=issue_reason,
                   issue_note=issue_note)


@transaction.atomic
def write_off_invoice(
    *, invoice: FinancialTransaction, actor: User | None, at: datetime, type: TransactionType | None,
    issue_reason: IssueReason | None = None,
) -> tuple[FinancialTransaction, FinancialTransaction]:
    """Write off what is left unpaid of a posted invoice: a write-off of ``type`` (mandatory, seed
    004) for one of the tenant's issue reasons (optional) on the customer's account, allocated to the
    invoice, and an invoice of the same amount on the tenant's write-off account.

    :raises ActionNotAllowed: not a posted invoice, or already settled.
    :raises ValidationError: no type, a type of another classification or tenant, or another
        tenant's reason; nothing is saved.
    """
    if type is None:
        raise ValidationError({"type": _("Choose the type of write-off.")})
    account, invoice = _lock(invoice, Classification.INVOICE, _("written off"))
    if invoice.open_amount <= 0:
        raise ActionNotAllowed(_("%(invoice)s is settled; there is nothing to write off.") % {"invoice": invoice})
    if _already(invoice, Classification.INVOICE_CANCELLATION):
        raise ActionNotAllowed(_("%(invoice)s is cancelled.") % {"invoice": invoice})
    definition = LedgerDefinition.objects.select_related("default_write_off_product__default_tax_rate").get(
        tenant=account.tenant_id
    )
    product = definition.default_write_off_product
    # The line's total is the unpaid amount, tax included at the write-off product's rate.
    line = LineData(description=_("Write-off of %(invoice)s") % {
        "invoice": invoice}, quantity=Decimal(1), unit_price=invoice.open_amount,
                    product=product, tax_rate=product.default_tax_rate, price_includes_tax=True)
    write_off = create_transaction(account=account, classification=Classification.WRITE_OFF, actor=actor, at=at,
                                   data=TransactionData(type=type, lines=[line], related=invoice,
                                                        issue_reason=issue_reason))
    posted = post_transaction(txn=write_off, actor=actor, at=at, settle=invoice).transaction

    write_off_account = system_account(tenant=account.tenant, kind=AccountKind.WRITE_OFF, currency=account.currency)
    system_invoice = create_transaction(
        account=write_off_account,
        classification=Classification.INVOICE,
        actor=actor,
        at=at,
        data=TransactionData(lines=[line], related=invoice, issue_note=_("Written off from %(account)s") % {
            "account": account}),
    )
    return posted, post_transaction(txn=system_invoice, actor=actor, at=at).transaction


@transaction.atomic
def quick_pay(
    *, invoice: FinancialTransaction, payment_method: PaymentMethod, actor: User | None, at: datetime,
    external_reference: str = "", type: TransactionType | None = None,
) -> FinancialTransaction:
    """Pay exactly what is outstanding on an invoice, allocated to it.

    :raises ActionNotAllowed: not a posted invoice, or already settled.
    """
    account, invoice = _lock(invoice, Classification.INVOICE, _("paid"))
    if invoice.open_amount <= 0:
        raise ActionNotAllowed(_("%(invoice)s is settled; there is nothing to pay.") % {"invoice": invoice})
    payment = create_transaction(
        account=account,
        classification=Classification.PAYMENT,
        actor=actor,
        at=at,
        data=TransactionData(
            type=type,
            amount=invoice.open_amount,
            payment_method=payment_method,
            targets=[invoice],
            external_reference=external_reference,
        ),
    )
    return post_transaction(txn=payment, actor=actor, at=at, settle=invoice).transaction


@transaction.atomic
def move_payment(
    *, payment: FinancialTransaction, destination: Account, actor: User | None, at: datetime
) -> FinancialTransaction:
    """Move a posted payment to another account of the same currency (to or from a suspense
    account, say): cancelled on its account, posted again on the destination.

    :raises ActionNotAllowed: not a posted payment, already cancelled, or the destination is
        terminated, the same account, or in another currency.
    """
    if destination.pk == payment.account_id:
        raise ValidationError({"destination": _("Choose another account.")})
    if destination.tenant_id != payment.tenant_id:
        raise ValidationError({"destination": _("Unknown account.")})
    if destination.currency != payment.currency:
        raise ValidationError({"destination": _("The destination account is in %(currency)s, the payment in "
                                                "%(currency2)s.") % {
                                                    "currency": destination.currency, "currency2": payment.currency}})
    # Lock both accounts in id order, so two moves in opposite directions cannot deadlock.
    accounts = Account.objects.select_for_update(no_key=True).filter(
        pk__in=[payment.account_id, destination.pk]).order_by("pk")
    destination = {a.pk: a for a in accounts}[destination.pk]
    if destination.state == AccountState.TERMINATED:
        raise ActionNotAllowed(_("The account %(destination)s is terminated; it accepts no payments.") % {
            "destination": destination})
    _cancel(payment, Classification.PAYMENT, actor=actor, at=at, type=None, issue_reason=None,
            issue_note=_("Moved to %(destination)s") % {"destination": destination})
    moved = create_transaction(
        account=destination,
        classification=Classification.PAYMENT,
        actor=actor,
        at=at,
        data=TransactionData(
            type=payment.type,
            amount=payment.total_amount,
            payment_method=payment.payment_method,
            related=payment,
            external_reference=payment.external_reference,
            issue_note=_("Moved from %(account)s") % {"account": payment.account},
        ),
    )
    return post_transaction(txn=moved, actor=actor, at=at).transaction


@transaction.atomic
def refund(
    *, account: Account, amount: Decimal | str, refund_method: RefundMethod, actor: User | None, at: datetime,
    type: TransactionType | None = None, issue_reason: IssueReason | None = None, issue_note: str = "",
    external_reference: str = "",
) -> PostingResult:
    """Post a refund (a debit), for one of the tenant's issue reasons (optional). The result warns
    when it takes the balance past the credit limit.

    :raises ActionNotAllowed: the account is terminated.
    :raises ValidationError: a malformed amount, an unknown refund method or another tenant's reason.
    """
    draft = create_transaction(
        account=account,
        classification=Classification.REFUND,
        actor=actor,
        at=at,
        data=TransactionData(
            type=type,
            amount=amount,
            refund_method=refund_method,
            issue_reason=issue_reason,
            issue_note=issue_note,
            external_reference=external_reference,
        ),
    )
    return post_transaction(txn=draft, actor=actor, at=at)


@transaction.atomic
def split_payment(
    *, payment: FinancialTransaction, parts: Sequence[tuple[FinancialTransaction, Decimal]], actor: User | None,
    at: datetime,
) -> list[FinancialTransaction]:
    """Split a posted payment across invoices (off the suspense account, say): cancelled on its account,
    and one payment per part posted on its invoice's account, allocated to that invoice first.

    :raises ValidationError: the parts do not add up to the payment, or an invoice is not a posted invoice of
        the tenant in the payment's currency.
    :raises ActionNotAllowed: not a posted payment, already cancelled, or an invoice's account is terminated.
    """
    errors = {}
    if not parts:
        errors["parts"] = _("Name at least one invoice.")
    for invoice, amount in parts:
        if (invoice.tenant_id != payment.tenant_id or invoice.classification != Classification.INVOICE
                or invoice.state != TransactionState.POSTED):
            errors["parts"] = _("%(invoice)s is not a posted invoice.") % {"invoice": invoice}
        elif invoice.currency != payment.currency:
            errors["parts"] = _("%(invoice)s is in %(currency)s, the payment in %(currency2)s.") % {
                "invoice": invoice, "currency": invoice.currency, "currency2": payment.currency}
        elif amount <= 0:
            errors["parts"] = _("Each part must be more than zero.")
    if not errors and sum((amount for _invoice, amount in parts), Decimal(0)) != payment.total_amount:
        errors["parts"] = _("The parts add up to %(sum)s; the payment is %(total)s.") % {
            "sum": format_money(sum((amount for _invoice, amount in parts), Decimal(0)), payment.currency),
            "total": format_money(payment.total_amount, payment.currency)}
    if errors:
        raise ValidationError(errors)
    # Every account it touches, locked in id order so that two splits cannot deadlock.
    ids = sorted({payment.account_id, *(invoice.account_id for invoice, _amount in parts)})
    accounts = {a.pk: a for a in Account.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")}
    for invoice, _amount in parts:
        if accounts[invoice.account_id].state == AccountState.TERMINATED:
            raise ActionNotAllowed(_("The account %(destination)s is terminated; it accepts no payments.") % {
                "destination": accounts[invoice.account_id]})
    _cancel(payment, Classification.PAYMENT, actor=actor, at=at, type=None, issue_reason=None,
            issue_note=_("Split across %(count)s invoices") % {"count": len(parts)})
    posted = []
    for invoice, amount in parts:
        draft = create_transaction(
            account=accounts[invoice.account_id],
            classification=Classification.PAYMENT,
            actor=actor,
            at=at,
            data=TransactionData(
                type=payment.type, amount=amount, payment_method=payment.payment_method, related=payment,
                targets=[invoice], external_reference=payment.external_reference,
                issue_note=_("Split from %(payment)s") % {"payment": payment},
            ),
        )
        posted.append(post_transaction(txn=draft, actor=actor, at=at, settle=invoice).transaction)
    return posted
