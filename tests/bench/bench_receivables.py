"""The dunning sweep against 100,000 open invoices, and a statement of account of 5,000 transactions as a PDF,
as JSON lines (``make bench BENCH=tests/bench/bench_receivables.py``). Not part of ``make test``.

The ledger is seeded by ``manage.py seed_bulk_ledger`` (425,000 transactions leave 100,000 open invoices,
spread over 450 days, so most are past every level). The sweep is timed as the worker runs it: the candidates'
selection, then one transaction per invoice (its notice, the passed-over levels, a pay link, the outbox). The
same is done first for a tenant with 1,000 open invoices: the queries per notice must be the same.
"""

import json
import os
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from django_scopes import scope

from finance import services
from finance.models import Account, Classification, FinancialTransaction, TransactionType
from receivables import selectors
from receivables.printing import statement_response
from receivables.services.dunning import Outcome, candidates, dun_invoice
from receivables.services.levels import LevelData, save_level
from tests.factories import TenantFactory

OPEN_INVOICES = int(os.environ.get("DULY_BENCH_OPEN_INVOICES", "100000"))
NOTICES = int(os.environ.get("DULY_BENCH_NOTICES", "2000"))
STATEMENT_TRANSACTIONS = int(os.environ.get("DULY_BENCH_STATEMENT_TRANSACTIONS", "5000"))


def emit(**figures):
    print(json.dumps({"cores": os.cpu_count(), **figures}), flush=True)


def seeded(slug: str, transactions: int, accounts: int = 5_000):
    tenant = TenantFactory(name=f"Receivables bench {slug}", slug=slug, default_currency="EUR")
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        started = time.perf_counter()
        call_command("seed_bulk_ledger", tenant.slug, transactions=transactions, accounts=accounts,
                     stdout=open(os.devnull, "w"))
        emit(figure="receivables bench seed", tenant=slug, transactions=transactions,
             seconds=round(time.perf_counter() - started, 1))
    return tenant


def sweep_figures(tenant, notices: int) -> dict:
    with scope(tenant=tenant):
        fee = TransactionType.objects.create(tenant=tenant, name="Late fee", classification=Classification.INVOICE,
                                             fee_payer="customer")
        levels = [save_level(tenant=tenant, data=LevelData(name="Reminder", days=-3)),
                  save_level(tenant=tenant, data=LevelData(name="First notice", days=7, fee_amount=Decimal("5.00"),
                                                           fee_type=fee)),
                  save_level(tenant=tenant, data=LevelData(name="Final notice", days=35))]
        open_count = FinancialTransaction.objects.filter(tenant=tenant, classification=Classification.INVOICE,
                                                         state="posted", open_amount__gt=0).count()
        at = timezone.now()
        today = at.date()
        started = time.perf_counter()
        ids = candidates(tenant=tenant, levels=levels, today=today)[:notices]
        selecting = time.perf_counter() - started
        counted, per_notice, outcome = [], {}, Outcome()
        started = time.perf_counter()
        with connection.execute_wrapper(lambda execute, *args: counted.append(1) or execute(*args)):
            for invoice_id in ids:
                before = len(counted)
                notice = dun_invoice(tenant=tenant, invoice_id=invoice_id, levels=levels, at=at, today=today,
                                     outcome=outcome)
                kind = f"{notice.level.name}{' + fee' if notice.late_fee_id else ''}" if notice else "nothing"
                per_notice.setdefault(kind, []).append(len(counted) - before)
        sending = time.perf_counter() - started
    return {"open_invoices": open_count, "notices": outcome.sent, "passed_over": outcome.passed,
            "late_fees": outcome.fees, "select_seconds": round(selecting, 3), "send_seconds": round(sending, 1),
            "notices_per_second": round(outcome.sent / sending, 1),
            "queries_per_notice": round(len(counted) / max(outcome.sent, 1), 2),
            "queries_per_notice_by_kind": {k: round(sum(q) / len(q), 2) for k, q in sorted(per_notice.items())}}


@pytest.mark.django_db(transaction=True)
def bench_dunning_sweep():
    small = seeded("dunsmall", 1_000 * 17 // 4)
    big = seeded("dunbig", OPEN_INVOICES * 17 // 4)
    few = sweep_figures(small, min(NOTICES, 1_000))
    emit(figure="dunning sweep", **few)
    many = sweep_figures(big, NOTICES)
    emit(figure="dunning sweep", **many)
    for kind, queries in many["queries_per_notice_by_kind"].items():
        if kind in few["queries_per_notice_by_kind"]:
            assert abs(queries - few["queries_per_notice_by_kind"][kind]) < 0.5, (kind, few, many)


@pytest.mark.django_db(transaction=True)
def bench_statement_pdf():
    tenant = seeded("stmtpdf", STATEMENT_TRANSACTIONS, accounts=1)
    with scope(tenant=tenant):
        account = Account.objects.select_related("tenant", "customer").get(tenant=tenant, customer__isnull=False)
        today = timezone.localdate()
        start = today - timedelta(days=460)
        request = RequestFactory().get("/statement/", secure=True)
        started = time.perf_counter()
        statement = selectors.statement_of(account=account, start=start, end=today)
        reading = time.perf_counter() - started
        started = time.perf_counter()
        response = statement_response(request, statement, as_pdf=True, pdf_url="")
        rendering = time.perf_counter() - started
    assert response.content[:5] == b"%PDF-"
    emit(figure="statement PDF", transactions=len(statement.rows), read_seconds=round(reading, 2),
         pdf_seconds=round(rendering, 1), megabytes=round(len(response.content) / 1e6, 1),
         opening=str(statement.opening), closing=str(statement.closing), since=str(start))
