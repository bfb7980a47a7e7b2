"""Report and dashboard latency over 1,000,000 posted transactions in one tenant, as JSON lines
(``make bench``). Not part of ``make test``.

The ledger is seeded by ``manage.py seed_bulk_ledger`` (set ``DULY_BENCH_TRANSACTIONS`` to try a
smaller one). Each page is requested through the test client as a logged-in staff member: once to
warm up, then ``RUNS`` times; the median and the slowest run are printed with the target
(report pages and dashboards under 1 s) and the number of queries. The first, cold request
is printed too. The dashboard, the revenue report and the transaction reports' totals and counts read
the daily figures that the posting triggers keep (``reports.models.DailyFigure``); at the end the
bench checks that the dashboard's figures for the year equal the aggregates over the ledger's rows,
and prints how long each took.
"""

import json
import os
import statistics
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from crm.models import Role
from finance import services
from finance.models import Account
from paylinks.models import PaymentRequest, RequestStatus
from reports import selectors
from tests.conftest import logged_in
from tests.factories import TenantFactory, UserFactory

TRANSACTIONS = int(os.environ.get("DULY_BENCH_TRANSACTIONS", "1000000"))
RUNS = 3


def emit(**figures):
    print(json.dumps({"cores": os.cpu_count(), **figures}), flush=True)


def payment_requests(tenant, staff, count):
    now = timezone.now()
    accounts = list(Account.objects.filter(tenant=tenant, kind="customer").select_related("customer")[:200])
    statuses = [RequestStatus.OPEN, RequestStatus.EXPIRED, RequestStatus.CANCELLED, RequestStatus.COMPLETE]
    PaymentRequest.objects.bulk_create(
        PaymentRequest(
            tenant=tenant, customer=accounts[n % len(accounts)].customer, account=accounts[n % len(accounts)],
            amount=Decimal("10.00") + n % 50, currency=accounts[n % len(accounts)].currency, channels=["email"],
            status=statuses[n % 4], token_hash=f"{n:064x}", expires_at=now + timedelta(hours=n % 48),
            created_by=staff[n % len(staff)], created_at=now - timedelta(days=n % 300),
            completed_at=now if statuses[n % 4] == RequestStatus.COMPLETE else None,
        )
        for n in range(count)
    )


def measure(client, url):
    started = time.perf_counter()
    client.get(url)  # cold: the URL conf, templates, PostgreSQL's caches, the dashboard's closed months
    cold = time.perf_counter() - started
    timings = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, url
    return cold, statistics.median(timings), max(timings), len(queries)


@pytest.mark.django_db(transaction=True)
def bench_reports_and_dashboards():
    tenant = TenantFactory(name="Bench Brokers", slug="bench")
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        started = time.perf_counter()
        call_command("seed_bulk_ledger", tenant.slug, transactions=TRANSACTIONS, stdout=open(os.devnull, "w"))
        emit(figure="seed_bulk_ledger", transactions=TRANSACTIONS, seconds=round(time.perf_counter() - started, 1))
        staff = [UserFactory(tenant=tenant, username=f"bench{n}", role_keys=[Role.STAFF, Role.ACCOUNTANT])
                 for n in range(5)]
        payment_requests(tenant, staff, 20_000)
    client = logged_in(staff[0])
    today = timezone.now().date()
    year = f"start={today - timedelta(days=365)}&end={today}"
    pages = [
        ("report", "transactions", "this month", reverse("reports:report", args=["transactions"]), 1.0),
        ("report", "transactions", "12 months", reverse("reports:report", args=["transactions"]) + f"?{year}", 1.0),
        ("report", "documents", "this month", reverse("reports:report", args=["documents"]), 1.0),
        ("report", "documents", "12 months", reverse("reports:report", args=["documents"]) + f"?{year}", 1.0),
        ("report", "revenue", "this month", reverse("reports:report", args=["revenue"]), 1.0),
        ("report", "revenue", "12 months", reverse("reports:report", args=["revenue"]) + f"?{year}", 1.0),
        ("report", "aged", "today", reverse("reports:report", args=["aged"]), 1.0),
        ("report", "requests", "12 months", reverse("reports:report", args=["requests"]) + f"?{year}", 1.0),
        ("dashboard", "dashboard", "12 months + this month", reverse("reports:dashboard"), 1.0),
    ]
    for kind, name, period, url, target in pages:
        cold, median, slowest, queries = measure(client, url)
        emit(figure=f"{kind}_latency", page=name, period=period, transactions=TRANSACTIONS, cold_s=round(cold, 3),
             median_s=round(median, 3), slowest_s=round(slowest, 3), queries=queries, target_s=target,
             within_target=slowest < target)
    with scope(tenant=tenant):
        year = selectors.last_twelve_months(tenant=tenant, today=today)
        timings = {}
        for source, functions in (
            ("daily_figures", (selectors.rolled_up_receipts_by_month, selectors.rolled_up_revenue_by_month)),
            ("ledger_rows", (selectors.receipts_by_month, selectors.revenue_by_month)),
        ):
            started = time.perf_counter()
            timings[source] = [months(compute(tenant=tenant, period=year)) for compute in functions]
            timings[source + "_s"] = round(time.perf_counter() - started, 3)
        assert timings["daily_figures"] == timings["ledger_rows"]
        emit(figure="dashboard_year_figures", transactions=TRANSACTIONS,
             from_daily_figures_s=timings["daily_figures_s"], from_ledger_rows_s=timings["ledger_rows_s"], equal=True)


def months(rows):
    return [(r["currency"], r["month"].date() if isinstance(r["month"], datetime) else r["month"], r["amount"])
            for r in rows]
