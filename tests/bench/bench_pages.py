"""Page latency and query count on a large tenant (``make bench``).

A tenant with 100 customers and ``TRANSACTIONS`` posted transactions (1,000,000 unless
``DULY_BENCH_PAGE_TRANSACTIONS`` says otherwise; half invoices, half payments, each payment allocated
to its invoice, one payment in five taken through a gateway) is seeded with SQL (a minute or two at
1,000,000); the rows are consistent as posting would leave them (numbered gaplessly, balances =
debits − credits, open amounts = total − allocations), so the ledger's triggers and constraints
accept them. The same pages are measured on a tenant of 1,000 transactions: the query
count must not grow with the data.

Pages (a logged-in staff member, Django's test client, no network): the customer file and the two
panels it loads with it (ledger, fees), the transactions summary, the payment list. Each page is
fetched twice to warm up, then ``SAMPLES`` times.
"""

import os
import statistics
import time
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from finance import services
from finance.models import Account, Classification, Counter, PaymentMethod, TransactionType
from gateways import services as gateway_services
from tests.bench.bench_ledger import emit
from tests.conftest import logged_in
from tests.factories import CustomerFactory, TenantFactory, UserFactory

TRANSACTIONS = int(os.environ.get("DULY_BENCH_PAGE_TRANSACTIONS", "1000000"))
SMALL = 1_000
CUSTOMERS = 100
GATEWAY_SHARE = 5  # one payment in five came through a gateway
SAMPLES = 30
AT = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)

SEED_TRANSACTIONS = """
INSERT INTO finance_financialtransaction (
  tenant_id, account_id, currency, classification, direction, type_id, state, reference_number, number,
  back_office_code, external_reference, issued_at, posted_at, due_on, payment_method_id, issue_note,
  net_amount, discount_amount, tax_amount, total_amount, open_amount, created_at)
SELECT %(tenant)s, (%(accounts)s::bigint[])[1 + (g / 2) %% %(customers)s], 'EUR',
  CASE WHEN g %% 2 = 0 THEN 'invoice' ELSE 'payment' END,
  CASE WHEN g %% 2 = 0 THEN 'debit' ELSE 'credit' END,
  CASE WHEN g %% 2 = 0 THEN %(invoice_type)s ELSE %(payment_type)s END,
  'posted', 'SEED' || g,
  CASE WHEN g %% 2 = 0 THEN 'INV-' ELSE 'PAY-' END
    || CASE WHEN g / 2 + 1 < 1000000 THEN lpad((g / 2 + 1)::text, 6, '0') ELSE (g / 2 + 1)::text END,
  '', '', %(at)s - (%(count)s - g) * interval '5 minutes', %(at)s - (%(count)s - g) * interval '5 minutes',
  (%(at)s - (%(count)s - g) * interval '5 minutes')::date,
  CASE WHEN g %% 2 = 1 THEN %(card)s END, '', 10.00, 0, 0, 10.00, 0.00, %(at)s
FROM generate_series(0, %(count)s - 1) g
"""
SEED_ALLOCATIONS = """
INSERT INTO finance_allocation (tenant_id, account_id, currency, credit_id, debit_id, amount, created_at,
                                reversal_reason)
SELECT p.tenant_id, p.account_id, 'EUR', p.id, i.id, 10.00, p.posted_at, ''
FROM finance_financialtransaction p
JOIN finance_financialtransaction i
  ON i.tenant_id = p.tenant_id AND i.classification = 'invoice' AND i.number = 'INV-' || substr(p.number, 5)
WHERE p.tenant_id = %(tenant)s AND p.classification = 'payment'
"""
SEED_GATEWAY_PAYMENTS = """
INSERT INTO payments_gatewaypayment (
  tenant_id, reference, gateway_account_id, provider, provider_reference, purpose, account_id, amount, currency,
  mode, description, status, redirect_url, failure_message, ledger_payment_id, created_at, updated_at, settled_at)
SELECT p.tenant_id, 'dp_seed_' || p.id, %(gateway_account)s, 'stripe', 'pi_seed_' || p.id, 'fee', p.account_id, 10.00,
  'EUR', 'hosted_page', 'Seeded', 'succeeded', '', '', p.id, p.posted_at, p.posted_at, p.posted_at
FROM finance_financialtransaction p
WHERE p.tenant_id = %(tenant)s AND p.classification = 'payment' AND p.id %% %(share)s = 0
"""


def seed(count: int):
    """A tenant of ``count`` posted transactions; returns it, a staff member and a customer of it."""
    tenant = TenantFactory()
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        customers = [CustomerFactory(tenant=tenant) for _ in range(CUSTOMERS)]
        accounts = [services.open_account(customer=customer, currency="EUR").pk for customer in customers]
        stripe = gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                       secret="sk_test_pages", settings={"webhook_secret": "whsec"})
        types = {t.classification: t.pk for t in TransactionType.objects.filter(tenant=tenant, is_default=True)}
        card = PaymentMethod.objects.get(tenant=tenant, name="Card").pk
    params = {"tenant": tenant.pk, "accounts": accounts, "customers": CUSTOMERS, "count": count, "at": AT,
              "invoice_type": types[Classification.INVOICE], "payment_type": types[Classification.PAYMENT],
              "card": card, "gateway_account": stripe.pk, "share": GATEWAY_SHARE}
    with connection.cursor() as cursor:
        cursor.execute(SEED_TRANSACTIONS, params)
        cursor.execute("ANALYZE finance_financialtransaction")
        cursor.execute(SEED_ALLOCATIONS, params)
        cursor.execute(SEED_GATEWAY_PAYMENTS, params)
        # As autovacuum leaves a table some time after a bulk insert (the pages are measured in that steady
        # state, not while it works): statistics, and the visibility map that index-only scans read.
        cursor.execute("VACUUM (ANALYZE) finance_financialtransaction, finance_allocation, payments_gatewaypayment")
    with scope(tenant=tenant):
        for classification in (Classification.INVOICE, Classification.PAYMENT):
            Counter.objects.update_or_create(tenant=tenant, series=classification, defaults={"last": count // 2})
    return tenant, UserFactory(tenant=tenant), customers[0]


def measure(client, url):
    for _ in range(2):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return statistics.quantiles(times, n=20)[18] * 1000, statistics.median(times) * 1000, len(captured)


@pytest.mark.django_db(transaction=True)
def bench_pages_on_a_large_tenant():
    tenants = {}
    for count in (SMALL, TRANSACTIONS):
        started = time.perf_counter()
        tenants[count] = seed(count)
        emit(bench="pages.seed", transactions=count, seconds=round(time.perf_counter() - started, 1))
    tenant = tenants[TRANSACTIONS][0]
    with scope(tenant=tenant):
        for account in Account.objects.filter(tenant=tenant, customer__isnull=False)[:3]:
            assert account.balance == 0 and account.transactions.count() == TRANSACTIONS // CUSTOMERS
    pages = {
        "customer_file": "/customers/{customer}/",
        "customer_file.ledger_panel": "/finance/customers/{customer}/panel/",
        "customer_file.fees_panel": "/payments/customers/{customer}/fees/",
        "transactions_summary": "/finance/transactions/",
        "payment_list": "/payments/",
    }
    for name, pattern in pages.items():
        figures = {}
        for count, (_, staff, customer) in tenants.items():
            client = logged_in(staff)
            figures[count] = measure(client, pattern.format(customer=customer.pk))
        p95, median, queries = figures[TRANSACTIONS]
        emit(bench=f"pages.{name}", transactions=TRANSACTIONS, p95_ms=round(p95, 1), median_ms=round(median, 1),
             queries=queries, queries_at_1000=figures[SMALL][2], target_p95_ms=100)
