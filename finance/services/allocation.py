"""Allocation: assigning credits (payments, credit notes, write-offs, invoice cancellations) to
debits (invoices, refunds, payment cancellations) of the same account.

Every function here runs inside a posting or an action that already holds the account's row lock,
so allocations on one account never interleave. Allocations are rows; ``open_amount`` on each
transaction is kept in step with them by ``F()`` updates in the same transaction, and a database
check refuses an allocation that would take it below zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db.models import F

from finance.models import Account, Allocation, Direction, FinancialTransaction, TransactionState


def open_credits(account: Account):
    """FIFO order for credits: the earliest posted first."""
    return FinancialTransaction.objects.filter(
        tenant=account.tenant_id, account=account, state=TransactionState.POSTED, direction=Direction.CREDIT,
        open_amount__gt=0,
    ).order_by("posted_at", "id")


def open_debits(account: Account):
    """FIFO order for debits: the earliest due first."""
    return FinancialTransaction.objects.filter(
        tenant=account.tenant_id, account=account, state=TransactionState.POSTED, direction=Direction.DEBIT,
        open_amount__gt=0,
    ).order_by("due_on", "id")


def allocate(*, credit: FinancialTransaction, debit: FinancialTransaction, amount: Decimal, at: datetime) -> Allocation:
    allocation = Allocation.objects.create(
        tenant_id=credit.tenant_id, account_id=credit.account_id, currency=credit.currency, credit=credit,
        debit=debit, amount=amount, created_at=at,
    )
    FinancialTransaction.objects.filter(pk__in=[credit.pk, debit.pk]).update(open_amount=F("open_amount") - amount)
    credit.open_amount -= amount
    debit.open_amount -= amount
    return allocation


def run_fifo(*, account: Account, at: datetime) -> list[Allocation]:
    """Allocate the earliest-posted open credit to the earliest-due open debit until one side runs out."""
    made = []
    while True:
        credit = open_credits(account).first()
        if credit is None:
            return made
        debit = open_debits(account).first()
        if debit is None:
            return made
        made.append(allocate(credit=credit, debit=debit, amount=min(credit.open_amount, debit.open_amount), at=at))


def reverse_allocations(*, allocations: Iterable[Allocation], at: datetime, reason: str) -> list[Allocation]:
    """End these allocations and give their amounts back to both sides."""
    allocations = [a for a in allocations if a.reversed_at is None]
    if not allocations:
        return []
    Allocation.objects.filter(pk__in=[a.pk for a in allocations], reversed_at__isnull=True).update(
        reversed_at=at, reversal_reason=reason
    )
    given_back: dict[int, Decimal] = defaultdict(Decimal)
    for allocation in allocations:
        given_back[allocation.credit_id] += allocation.amount
        given_back[allocation.debit_id] += allocation.amount
        allocation.reversed_at = at
    for transaction_id, amount in given_back.items():
        FinancialTransaction.objects.filter(pk=transaction_id).update(open_amount=F("open_amount") + amount)
    return allocations


def active_allocations_of(txn: FinancialTransaction) -> list[Allocation]:
    side = "credit" if txn.direction == Direction.CREDIT else "debit"
    return list(Allocation.objects.filter(tenant=txn.tenant_id, reversed_at__isnull=True, **{side: txn}))


def allocate_against_items(
    *, credit: FinancialTransaction, debits: Iterable[FinancialTransaction], at: datetime
) -> list[Allocation]:
    """Against Item: settle the given debits from ``credit`` in order. Credits that settled them
    before are de-allocated first (they go back to FIFO)."""
    made = []
    for debit in debits:
        if credit.open_amount <= 0:
            break
        previous = [a for a in active_allocations_of(debit) if a.credit_id != credit.pk]
        reverse_allocations(allocations=previous, at=at, reason=f"re-allocated against {credit.reference_number}")
        debit.refresh_from_db(fields=["open_amount"])
        amount = min(credit.open_amount, debit.open_amount)
        if amount > 0:
            made.append(allocate(credit=credit, debit=debit, amount=amount, at=at))
    return made
