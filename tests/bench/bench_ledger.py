"""Ledger benchmarks, printed as JSON lines (``make bench``). Not part of ``make test``.

* postings per second: invoice posts, and payment posts with FIFO allocation, with 1 and 4
  concurrent clients (threads, one PostgreSQL connection each, each client on its own account of
  one tenant — so they share the tenant's gapless number sequence, as real clients would);
* one hot account: four clients posting payments to the same account, which its row lock serialises;
* the cost of posting one payment on an account that already has 10, 1,000 and 10,000 open
  invoices: mean time and queries per posting.
"""

import json
import os
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from finance import services
from finance.models import (
    Account,
    Classification,
    Counter,
    Direction,
    FinancialTransaction,
    PaymentMethod,
    TransactionState,
    TransactionType,
)
from tests.factories import CustomerFactory, TenantFactory

AT = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)
POSTINGS = 240


def emit(**figures):
    print(json.dumps({"cores": os.cpu_count(), **figures}), flush=True)


def drafts(account, classification, count, method):
    kwargs = (
        {"amount": Decimal("10.00"), "payment_method": method}
        if classification == Classification.PAYMENT
        else {"lines": [services.LineData("Fee", Decimal(1), Decimal("10.00"))]}
    )
    return [
        services.create_transaction(account=account, classification=classification, actor=None, at=AT,
                                    data=services.TransactionData(**kwargs))
        for _ in range(count)
    ]


def analyze(*tables: str) -> None:
    """Statistics on ``tables``, as autovacuum keeps them: as the tables' owner, since the application's
    role, which a tenant scope sets, may not ANALYZE (PostgreSQL skips it with a warning)."""
    with scopes_disabled(), connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")


def account_with_open_invoices(count):
    """A new tenant's customer account with ``count`` open invoices, analysed, and the tenant's card method."""
    tenant = TenantFactory()
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        method = PaymentMethod.objects.get(tenant=tenant, name="Card")
        account = services.open_account(customer=CustomerFactory(tenant=tenant), currency="EUR")
        bulk_open_invoices(account, count)
    analyze("finance_financialtransaction")
    return account, method


def bulk_open_invoices(account, count):
    """Posted, open invoices inserted in bulk (without lines), numbered and counted in the balance."""
    tenant = account.tenant
    kind = TransactionType.objects.get(tenant=tenant, classification=Classification.INVOICE, is_default=True)
    counter = {"tenant": tenant, "series": Classification.INVOICE}
    start = Counter.objects.filter(**counter).values_list("last", flat=True).first() or 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('finance_reference_seq', nextval('finance_reference_seq') + %s)", [count])
        first_reference = cursor.fetchone()[0] - count
    rows = [
        FinancialTransaction(
            tenant=tenant, account=account, currency=account.currency, classification=Classification.INVOICE,
            direction=Direction.DEBIT, type=kind, state=TransactionState.POSTED,
            reference_number=f"R{first_reference + n}", number=f"INV-{start + n:06d}", issued_at=AT,
            posted_at=AT, due_on=AT.date() + timedelta(days=n), net_amount=Decimal("10.00"),
            total_amount=Decimal("10.00"), open_amount=Decimal("10.00"),
        )
        for n in range(1, count + 1)
    ]
    FinancialTransaction.objects.bulk_create(rows, batch_size=2000)
    Counter.objects.update_or_create(**counter, defaults={"last": start + count})
    Account.objects.filter(pk=account.pk).update(balance=Decimal("10.00") * count)


def post_all(tenant, batches):
    """Post every draft of every batch, one thread per batch; return the wall time."""
    barrier = threading.Barrier(len(batches))
    errors = []

    def client(batch):
        try:
            with scope(tenant=tenant):
                barrier.wait(timeout=60)
                for draft in batch:
                    services.post_transaction(txn=draft, actor=None, at=AT)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(batch,)) for batch in batches]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert errors == [], errors
    return elapsed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("clients", [1, 4])
@pytest.mark.parametrize("classification", [Classification.INVOICE, Classification.PAYMENT])
def bench_postings_per_second(clients, classification):
    tenant = TenantFactory()
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        method = PaymentMethod.objects.get(tenant=tenant, name="Card")
        batches = []
        for _ in range(clients):
            account = services.open_account(customer=CustomerFactory(tenant=tenant), currency="EUR")
            if classification == Classification.PAYMENT:
                bulk_open_invoices(account, POSTINGS // clients)
            batches.append(drafts(account, classification, POSTINGS // clients, method))
    elapsed = post_all(tenant, batches)
    name = "invoice_post" if classification == Classification.INVOICE else "payment_post_fifo"
    emit(bench=f"ledger.{name}", clients=clients, postings=POSTINGS, seconds=round(elapsed, 3),
         postings_per_second=round(POSTINGS / elapsed, 1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("clients", [1, 4])
def bench_hot_account(clients):
    """Payments with FIFO allocation posted by ``clients`` at once to one account (a lender's or a large
    customer's), against its open invoices: the account's row lock makes them wait on each other."""
    account, method = account_with_open_invoices(POSTINGS)
    tenant = account.tenant
    with scope(tenant=tenant):
        batches = [drafts(account, Classification.PAYMENT, POSTINGS // clients, method) for _ in range(clients)]
    elapsed = post_all(tenant, batches)
    with scope(tenant=tenant):
        open_left = FinancialTransaction.objects.filter(account=account, classification=Classification.INVOICE,
                                                        open_amount__gt=0).count()
    assert open_left == 0  # every payment paid one invoice: nothing lost or allocated twice
    emit(bench="ledger.payment_post_hot_account", clients=clients, postings=POSTINGS, seconds=round(elapsed, 3),
         postings_per_second=round(POSTINGS / elapsed, 1))


POSTING_MEDIANS: dict[int, float] = {}  # by open invoices; the first case, 10, is what the others compare with


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("open_invoices", [10, 1_000, 10_000])
def bench_payment_posting_cost_by_open_invoices(open_invoices):
    account, method = account_with_open_invoices(open_invoices)
    with scope(tenant=account.tenant):
        payments = drafts(account, Classification.PAYMENT, 10, method)
        times, queries = [], []
        for payment in payments:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                services.post_transaction(txn=payment, actor=None, at=AT)
                times.append(time.perf_counter() - started)
            queries.append(len(captured))
    POSTING_MEDIANS[open_invoices] = statistics.median(times)
    baseline = POSTING_MEDIANS.get(10)
    emit(bench="ledger.payment_post_cost", open_invoices=open_invoices, postings=len(times),
         mean_ms=round(statistics.mean(times) * 1000, 2), median_ms=round(statistics.median(times) * 1000, 2),
         queries_per_posting=max(queries),
         ratio_to_10=round(POSTING_MEDIANS[open_invoices] / baseline, 2) if baseline else None, target_ratio=1.5)
