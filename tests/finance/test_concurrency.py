"""Concurrent postings on one account, on real PostgreSQL connections (one per thread)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django_scopes import scope

from finance import services
from finance.models import Account, Allocation, Classification, FinancialTransaction, PaymentMethod
from tests.factories import InvoiceFactory
from tests.finance.conftest import AT

PAYMENTS = 8


def post_payments_concurrently(tenant, account, method, amount) -> list[BaseException]:
    barrier = threading.Barrier(PAYMENTS)
    errors: list[BaseException] = []

    def pay():
        try:
            with scope(tenant=tenant):
                draft = services.create_transaction(
                    account=account,
                    classification=Classification.PAYMENT,
                    actor=None,
                    at=AT,
                    data=services.TransactionData(amount=amount, payment_method=method),
                )
                barrier.wait(timeout=30)
                services.post_transaction(txn=draft, actor=None, at=AT)
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(PAYMENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def snapshot(account):
    invoices = FinancialTransaction.objects.filter(account=account, classification=Classification.INVOICE)
    return {
        "balance": Account.objects.get(pk=account.pk).balance,
        "open": sorted(invoices.values_list("open_amount", flat=True)),
        "allocated": sum(Allocation.objects.filter(account=account, reversed_at__isnull=True)
                         .values_list("amount", flat=True), Decimal(0)),
    }


@pytest.mark.django_db(transaction=True)
class TestConcurrentPostings:
    def test_payments_posted_at_once_end_as_the_serial_run_does(self, ledger, account, second_account):
        method = PaymentMethod.objects.get(tenant=ledger, name="Card")
        for target in (account, second_account):
            for price in ("30.00", "45.00", "60.00", "25.00"):
                InvoiceFactory(account=target, price=price)

        errors = post_payments_concurrently(ledger, account, method, Decimal("20.00"))
        for _ in range(PAYMENTS):
            draft = services.create_transaction(
                account=second_account,
                classification=Classification.PAYMENT,
                actor=None,
                at=AT,
                data=services.TransactionData(amount=Decimal("20.00"), payment_method=method),
            )
            services.post_transaction(txn=draft, actor=None, at=AT)

        assert errors == []
        concurrent, serial = snapshot(account), snapshot(second_account)
        assert concurrent == serial
        assert concurrent["balance"] == Decimal("0.00")
        numbers = sorted(FinancialTransaction.objects.filter(classification=Classification.PAYMENT)
                         .values_list("number", flat=True))
        assert numbers == [f"PAY-{n:06d}" for n in range(1, 2 * PAYMENTS + 1)]
