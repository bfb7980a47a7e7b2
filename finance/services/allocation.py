"""Allocation: assigning credits (payments, credit notes, write-offs, invoice cancellations) to
debits (invoices, refunds, payment cancellations) of the same account.

Every function here runs inside a posting or an action that already holds the account's row lock,
so allocations on one account never interleave. Allocations are rows; ``open_amount`` on each
transaction is kept in step with them by ``F()`` updates in the same transaction, and a database
check refuses an allocation that would take it below zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Value, When
from django.utils.translation import gettext as _

from finance.models import Account, Allocation, Direction, FinancialTransaction, TransactionState


def open_credits(account: Account):
    """The account's open credits; FIFO takes the earliest posted first."""
    return FinancialTransaction.objects.filter(
        tenant=account.tenant_id, account=account, state=TransactionState.POSTED, direction=Direction.CREDIT,
        open_amount__gt=0,
    )


def open_debits(account: Account):
    """The account's open debits; FIFO takes the earliest due first."""
    return FinancialTransaction.objects.filter(
        tenant=account.tenant_id, account=account, state=TransactionState.POSTED, direction=Direction.DEBIT,
        open_amount__gt=0,
    )


def allocate(
    *, credit: FinancialTransaction, debit: FinancialTransaction, amount: Decimal, at: datetime,
    posting: FinancialTransaction | None = None,
) -> Allocation:
    """Allocate ``amount`` of ``credit`` to ``debit``. ``posting``, if one of them, is a transaction
    being posted: its open amount changes in memory only, and the posting writes it."""
    allocation = Allocation.objects.create(
        tenant_id=credit.tenant_id, account_id=credit.account_id, currency=credit.currency, credit=credit,
        debit=debit, amount=amount, created_at=at,
    )
    FinancialTransaction.objects.filter(pk__in=[side.pk for side in (credit, debit) if side is not posting]).update(
        open_amount=F("open_amount") - amount
    )
    credit.open_amount -= amount
    debit.open_amount -= amount
    return allocation


FIFO_FIRST_BATCH = 2  # open items read by the first query; each next query reads four times as many


@dataclass(slots=True)
class _Open:
    """One open item in FIFO order: its id, its open amount, and where it stands in the order."""

    pk: int
    open_amount: Decimal
    order: tuple


def _in_fifo_order(queryset, order_by: str, posting: FinancialTransaction | None) -> Iterator[_Open]:
    """The open items of ``queryset`` by ``order_by`` then id, read in growing batches, with
    ``posting`` (a transaction being posted, its row still a draft) in its place."""
    mine = None if posting is None else _Open(posting.pk, posting.open_amount, (getattr(posting, order_by), posting.pk))
    start, size = 0, FIFO_FIRST_BATCH
    while True:
        batch = list(queryset.order_by(order_by, "id").values_list("id", "open_amount", order_by)[start:start + size])
        for pk, open_amount, position in batch:
            item = _Open(pk, open_amount, (position, pk))
            if mine is not None and mine.order < item.order:
                yield mine
                mine = None
            yield item
        if len(batch) < size:
            break
        start, size = start + size, size * 4
    if mine is not None:
        yield mine


def run_fifo(*, account: Account, at: datetime, posting: FinancialTransaction | None = None) -> list[Allocation]:
    """Allocate the earliest-posted open credit to the earliest-due open debit until one side runs out.

    The pairs are worked out in memory from the account's open items (the account is locked), then
    written with one insert and one update. ``posting`` is a transaction being posted whose row still
    says draft: it takes its place in the order, and only its in-memory ``open_amount`` changes; the
    caller writes it.
    """
    open_posting = {True: None, False: None}  # by is_debit
    if posting is not None and posting.open_amount > 0:
        open_posting[posting.is_debit] = posting
    credits = _in_fifo_order(open_credits(account), "posted_at", open_posting[False])
    debits = _in_fifo_order(open_debits(account), "due_on", open_posting[True])
    made: list[Allocation] = []
    taken: dict[int, Decimal] = defaultdict(Decimal)
    credit = next(credits, None)
    debit = None if credit is None else next(debits, None)
    while credit is not None and debit is not None:
        amount = min(credit.open_amount, debit.open_amount)
        made.append(Allocation(
            tenant_id=account.tenant_id, account_id=account.pk, currency=account.currency, credit_id=credit.pk,
            debit_id=debit.pk, amount=amount, created_at=at,
        ))
        for side in (credit, debit):
            side.open_amount -= amount
            if posting is not None and side.pk == posting.pk:
                posting.open_amount = side.open_amount
            else:
                taken[side.pk] += amount
        if credit.open_amount == 0:
            credit = next(credits, None)
        if credit is not None and debit.open_amount == 0:  # no read for a side no longer needed
            debit = next(debits, None)
    if made:
        Allocation.objects.bulk_create(made)
        FinancialTransaction.objects.filter(pk__in=list(taken)).update(open_amount=F("open_amount") - Case(
            *(When(pk=pk, then=Value(amount)) for pk, amount in taken.items()), output_field=DecimalField()
        ))
    return made


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
    """Against Item: settle the given debits from ``credit``, a transaction being posted, in order.
    Credits that settled them before are de-allocated first (they go back to FIFO)."""
    made = []
    for debit in debits:
        if credit.open_amount <= 0:
            break
        previous = [a for a in active_allocations_of(debit) if a.credit_id != credit.pk]
        reverse_allocations(allocations=previous, at=at, reason=_("re-allocated against %(reference_number)s") % {
            "reference_number": credit.reference_number})
        debit.refresh_from_db(fields=["open_amount"])
        amount = min(credit.open_amount, debit.open_amount)
        if amount > 0:
            made.append(allocate(credit=credit, debit=debit, amount=amount, at=at, posting=credit))
    return made
