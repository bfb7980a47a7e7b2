"""A model of allocation in plain Python: the oracle the ledger's state machine compares the posting
function (``finance/sql/posting_v3.sql``) with.

It is written from the seed's rules, not from the function: FIFO allocates the earliest posted open
credit to the earliest due open debit (ties by id) until one side runs out; a transaction posted to
settle another is allocated to it first (a cancellation ends the cancelled one's allocations
before); under Against Item & FIFO a credit goes to the invoices it names, in order, taking each
from whatever settled it, then FIFO.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass
class Item:
    pk: int
    account: int
    is_debit: bool
    open: Decimal
    posted_at: datetime
    due_on: date | None


@dataclass
class Allocation:
    credit: int
    debit: int
    amount: Decimal
    active: bool = True


class AllocationModel:
    def __init__(self, *, against_item: bool):
        self.against_item = against_item
        self.items: dict[int, Item] = {}
        self.allocations: list[Allocation] = []

    def post(self, txn, *, settle=None, unsettle: bool = False, targets=()) -> None:
        """``txn`` was posted (its row as the database has it now); work out what allocation should have done."""
        item = Item(txn.pk, txn.account_id, txn.direction == "debit", txn.total_amount, txn.posted_at, txn.due_on)
        self.items[item.pk] = item
        if settle is not None:
            other = self.items[settle.pk]
            if unsettle:
                self._unallocate(other)
            self._allocate(item, other)
        elif not item.is_debit and self.against_item:
            for target in targets:
                if item.open <= 0:
                    break
                invoice = self.items[target.pk]
                self._unallocate(invoice)
                self._allocate(item, invoice)
        self._fifo(item.account)

    def open_amounts(self) -> dict[int, Decimal]:
        return {pk: item.open for pk, item in self.items.items()}

    def active_allocations(self) -> Counter:
        return Counter((a.credit, a.debit, a.amount) for a in self.allocations if a.active)

    def _allocate(self, one: Item, other: Item) -> None:
        credit, debit = (other, one) if one.is_debit else (one, other)
        amount = min(credit.open, debit.open)
        if amount > 0:
            credit.open -= amount
            debit.open -= amount
            self.allocations.append(Allocation(credit.pk, debit.pk, amount))

    def _unallocate(self, item: Item) -> None:
        for allocation in self.allocations:
            if allocation.active and item.pk in (allocation.credit, allocation.debit):
                allocation.active = False
                self.items[allocation.credit].open += allocation.amount
                self.items[allocation.debit].open += allocation.amount

    def _fifo(self, account: int) -> None:
        while True:
            mine = [item for item in self.items.values() if item.account == account and item.open > 0]
            credits = sorted((i for i in mine if not i.is_debit), key=lambda i: (i.posted_at, i.pk))
            debits = sorted((i for i in mine if i.is_debit), key=lambda i: (i.due_on, i.pk))
            if not credits or not debits:
                return
            self._allocate(credits[0], debits[0])
