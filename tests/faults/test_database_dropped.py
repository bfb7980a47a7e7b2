"""PostgreSQL drops Duly's connection in the middle of a posting.

The posting is made to wait, half written (balance moved, allocation inserted), in its update of the
invoice's open amount, on a row lock another connection holds on the invoice it is allocating to; a third
connection then terminates its backend (``pg_terminate_backend``, what a failover or an
administrator does). The transaction must be gone whole, and the caller's retry posts it once.
"""

import threading

import psycopg
import pytest
from django.db import OperationalError, connection
from django_scopes import scope

from finance import services
from finance.models import (
    Account,
    Allocation,
    Classification,
    Counter,
    FinancialTransaction,
    PaymentMethod,
    TransactionState,
)
from tests.factories import InvoiceFactory
from tests.faults.invariants import assert_ledger_invariants
from tests.faults.processes import SCALE, database_url
from tests.finance.conftest import AT
from tests.helpers import wait_for


def posting_killed_while_it_waits(draft, invoice):
    """Post ``draft`` in a thread; once it waits for the lock on ``invoice``, terminate its connection.
    Returns the error the posting raised."""
    outcome = {}
    started = threading.Event()

    def post():
        try:
            with scope(tenant=draft.tenant), connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                outcome["pid"] = cursor.fetchone()[0]
                started.set()
                services.post_transaction(txn=draft, actor=None, at=AT)
        except Exception as error:
            outcome["error"] = error
        finally:
            started.set()
            connection.close()

    with psycopg.connect(database_url()) as holder, psycopg.connect(database_url(), autocommit=True) as killer:
        holder.execute("SELECT id FROM finance_financialtransaction WHERE id = %s FOR UPDATE", [invoice.pk])
        thread = threading.Thread(target=post)
        thread.start()
        started.wait(timeout=30)

        def waiting_for_the_lock():
            row = killer.execute("SELECT wait_event_type, query FROM pg_stat_activity WHERE pid = %s",
                                 [outcome["pid"]]).fetchone()
            return row is not None and row[0] == "Lock" and "finance_post" in row[1]

        wait_for(waiting_for_the_lock, timeout=30, what="the posting to wait on the invoice's lock")
        assert killer.execute("SELECT pg_terminate_backend(%s)", [outcome["pid"]]).fetchone() == (True,)
        thread.join(timeout=30)
        holder.rollback()
    return outcome["error"]


@pytest.mark.django_db(transaction=True)
class TestConnectionDroppedDuringPosting:
    def test_the_posting_is_rolled_back_whole_and_the_retry_posts_it_once(self, shop):
        tenant = shop.tenant
        for round_number in range(1, SCALE + 1):
            with scope(tenant=tenant):
                invoice = InvoiceFactory(account=shop, price="100.00")
                card = PaymentMethod.objects.get(tenant=tenant, name="Card")
                draft = services.create_transaction(
                    account=shop,
                    classification=Classification.PAYMENT,
                    actor=None,
                    at=AT,
                    data=services.TransactionData(amount=invoice.total_amount, payment_method=card),
                )
                balance_before = Account.objects.get(pk=shop.pk).balance

            error = posting_killed_while_it_waits(draft, invoice)

            assert isinstance(error, OperationalError), repr(error)
            assert "terminat" in str(error)
            with scope(tenant=tenant):
                after = FinancialTransaction.objects.get(pk=draft.pk)
                assert (after.state, after.number, after.open_amount) == (TransactionState.DRAFT, "", 0)
                assert Account.objects.get(pk=shop.pk).balance == balance_before
                assert FinancialTransaction.objects.get(pk=invoice.pk).open_amount == invoice.total_amount
                assert Allocation.objects.filter(credit=draft).count() == 0
                assert Counter.objects.filter(tenant=tenant, series=Classification.PAYMENT).values_list(
                    "last", flat=True).first() in (None, round_number - 1)
            assert_ledger_invariants(tenant, manual_payments=round_number - 1)

            with scope(tenant=tenant):
                posted = services.post_transaction(txn=FinancialTransaction.objects.get(pk=draft.pk), actor=None,
                                                   at=AT).transaction

                assert posted.number == f"PAY-{round_number:06d}"
                assert FinancialTransaction.objects.get(pk=invoice.pk).open_amount == 0
                assert Account.objects.get(pk=shop.pk).balance == balance_before - invoice.total_amount
            assert_ledger_invariants(tenant, manual_payments=round_number)
