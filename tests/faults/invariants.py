"""The ledger invariants every fault test ends on, checked from the database rows themselves."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, Sum
from django_scopes import scopes_disabled

from finance.models import NUMBER_PREFIX, Account, Allocation, Classification, FinancialTransaction, TransactionState
from payments.models import GatewayPayment, PaymentStatus


def assert_ledger_invariants(tenant, *, manual_payments: int = 0) -> None:
    """Balance = posted debits − posted credits; active allocations never exceed a transaction's total
    and a posted one's open amount is what is left; numbers are unique and gapless; every succeeded
    gateway payment has its own posted ledger payment of its amount, and the ledger holds no other
    payment than those and ``manual_payments`` posted by the test itself (nothing doubled)."""
    with scopes_disabled():
        for account in Account.objects.filter(tenant=tenant):
            sums = FinancialTransaction.objects.filter(account=account, state=TransactionState.POSTED).aggregate(
                debits=Sum("total_amount", filter=Q(direction="debit"), default=Decimal(0)),
                credits=Sum("total_amount", filter=Q(direction="credit"), default=Decimal(0)),
            )
            assert account.balance == sums["debits"] - sums["credits"], account

        active = defaultdict(Decimal)
        for allocation in Allocation.objects.filter(tenant=tenant, reversed_at__isnull=True):
            active[allocation.credit_id] += allocation.amount
            active[allocation.debit_id] += allocation.amount
        for txn in FinancialTransaction.objects.filter(tenant=tenant):
            assert active[txn.pk] <= txn.total_amount, txn
            if txn.state == TransactionState.POSTED:
                assert txn.open_amount == txn.total_amount - active[txn.pk], txn
            else:
                assert active[txn.pk] == 0, txn

        numbers = defaultdict(list)
        for classification, number in FinancialTransaction.objects.filter(
            tenant=tenant, state=TransactionState.POSTED
        ).values_list("classification", "number"):
            numbers[classification].append(number)
        for classification, found in numbers.items():
            assert sorted(found) == [f"{NUMBER_PREFIX[classification]}-{n:06d}" for n in range(1, len(found) + 1)]

        succeeded = list(GatewayPayment.objects.filter(tenant=tenant, status=PaymentStatus.SUCCEEDED)
                         .select_related("ledger_payment"))
        booked = [payment.ledger_payment for payment in succeeded]
        assert all(txn is not None for txn in booked)
        assert len({txn.pk for txn in booked}) == len(booked)
        for payment, txn in zip(succeeded, booked, strict=True):
            assert (txn.state, txn.classification, txn.total_amount) == (
                TransactionState.POSTED, Classification.PAYMENT, payment.amount), payment
        assert GatewayPayment.objects.filter(tenant=tenant, ledger_payment__isnull=False).exclude(
            status=PaymentStatus.SUCCEEDED).count() == 0
        posted_payments = FinancialTransaction.objects.filter(
            tenant=tenant, classification=Classification.PAYMENT, state=TransactionState.POSTED).count()
        assert posted_payments == len(booked) + manual_payments
