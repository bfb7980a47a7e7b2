"""What staff decide about a credit the matching could not place: confirm its suggestion, move it to an
account ("move to account", seed 004 scenario 3), or split it across invoices. Each is one transaction
under the line's lock, audited, and re-posts through the ledger's own actions (the suspense payment is
cancelled, the new payment posted), so posted rows never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from banking.models import UNDECIDED, LineState, MatchedBy, StatementLine
from core import l10n
from crm.models import User
from crm.staff import audit
from finance import services as ledger
from finance.exceptions import ActionNotAllowed
from finance.models import Account, FinancialTransaction


def _lock(line: StatementLine, *, states=UNDECIDED) -> StatementLine:
    locked = (StatementLine.objects.select_for_update(of=("self",)).select_related("payment", "tenant")
              .get(tenant=line.tenant_id, pk=line.pk))
    if locked.state not in states:
        raise ActionNotAllowed(_("This line is already decided (%(state)s).") % {
            "state": locked.get_state_display().lower()})
    return locked


def _decided(line: StatementLine, *, payment: FinancialTransaction, how: str, actor: User | None, at: datetime,
             detail: str) -> StatementLine:
    line.payment, line.state, line.matched_by = payment, LineState.MATCHED, how
    line.decided_by, line.decided_at = actor, at
    line.save(update_fields=["payment", "state", "matched_by", "decided_by", "decided_at"])
    subject = _("Bank line of %(day)s, %(amount)s") % {
        "day": line.booked_on.isoformat(), "amount": l10n.money(line.amount, line.currency)}
    audit(tenant=line.tenant, actor=actor, at=at, action=f"bank.{how}", subject=subject, detail=detail)
    return line


@transaction.atomic
def confirm_suggestion(*, line: StatementLine, actor: User | None, at: datetime) -> StatementLine:
    """Move the payment to the suggested account, allocated to the suggested invoice first.

    :raises ActionNotAllowed: already decided, no suggestion, or the account refuses it."""
    line = _lock(line, states=[LineState.SUGGESTED])
    if line.suggested_invoice_id:
        invoice = FinancialTransaction.objects.get(tenant=line.tenant_id, pk=line.suggested_invoice_id)
        payment = ledger.split_payment(payment=line.payment, parts=[(invoice, line.amount)], actor=actor, at=at)[0]
        detail = _("to %(invoice)s") % {"invoice": invoice}
    else:
        account = Account.objects.get(tenant=line.tenant_id, pk=line.suggested_account_id)
        payment = ledger.move_payment(payment=line.payment, destination=account, actor=actor, at=at)
        detail = _("to %(account)s") % {"account": account}
    return _decided(line, payment=payment, how=MatchedBy.CONFIRMED, actor=actor, at=at, detail=detail)


@transaction.atomic
def move_to_account(*, line: StatementLine, account: Account, actor: User | None, at: datetime) -> StatementLine:
    """Move the payment off the suspense account onto ``account`` (FIFO or the tenant's principle allocates it).

    :raises ValidationError: another currency, or the same account.
    :raises ActionNotAllowed: already decided, or the account is terminated."""
    line = _lock(line)
    payment = ledger.move_payment(payment=line.payment, destination=account, actor=actor, at=at)
    return _decided(line, payment=payment, how=MatchedBy.MOVED, actor=actor, at=at,
                    detail=_("to %(account)s") % {"account": account})


@transaction.atomic
def split_across_invoices(
    *, line: StatementLine, parts: Sequence[tuple[FinancialTransaction, Decimal]], actor: User | None, at: datetime,
) -> StatementLine:
    """Split the payment across invoices (of one customer or several); the parts must add up to the line.

    :raises ValidationError: the parts do not add up, or name something that is not a posted invoice.
    :raises ActionNotAllowed: already decided, or an invoice's account is terminated."""
    line = _lock(line)
    payments = ledger.split_payment(payment=line.payment, parts=parts, actor=actor, at=at)
    detail = ", ".join(f"{invoice.number} {l10n.money(amount, line.currency)}" for invoice, amount in parts)
    return _decided(line, payment=payments[0], how=MatchedBy.SPLIT, actor=actor, at=at, detail=detail)


def payments_of(line: StatementLine) -> list[FinancialTransaction]:
    """The ledger payments a credit line stands for now: one, or the parts of a split."""
    if line.payment is None:
        return []
    if line.matched_by == MatchedBy.SPLIT and line.payment.related_id:
        return list(FinancialTransaction.objects.filter(tenant=line.tenant_id, related=line.payment.related_id,
                                                        classification=line.payment.classification))
    return [line.payment]
