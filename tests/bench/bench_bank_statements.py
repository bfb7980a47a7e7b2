"""Importing and booking a 10,000-line CAMT.053 against a tenant with 100,000 open invoices, as JSON lines
(``make bench BENCH=tests/bench/bench_bank_statements.py``). Not part of ``make test``.

The ledger is seeded by ``manage.py seed_bulk_ledger`` (four invoices in ten stay open, so 425,000
transactions leave 100,000 open; ``DULY_BENCH_OPEN_INVOICES`` tries another size). The statement mixes what a
bank sends: 40 % name an open invoice and pay it exactly (matched), 20 % come from a customer by name with no
reference (suggested), 40 % name nothing (suspense). The same mix is booked first against a tenant with 1,000
open invoices: the queries per line must be the same, whatever the number of open invoices.

Import (parse and store, one transaction) and booking (one transaction per line, as the worker does) are
timed apart; booking is the ledger's posting for every line, so it moves with the posting's speed.
"""

import json
import os
import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_scopes import scope

from banking.models import BankAccount, LineState, StatementLine
from banking.services.imports import Upload, import_statement
from banking.services.matching import Booking, book_line
from finance import services
from finance.models import Classification, FinancialTransaction
from tests.banking.camt import Entry, statement
from tests.factories import TenantFactory

OPEN_INVOICES = int(os.environ.get("DULY_BENCH_OPEN_INVOICES", "100000"))
LINES = int(os.environ.get("DULY_BENCH_STATEMENT_LINES", "10000"))
IBAN = "DE89370400440532013000"


def emit(**figures):
    print(json.dumps({"cores": os.cpu_count(), **figures}), flush=True)


def seeded_tenant(slug: str, open_invoices: int):
    tenant = TenantFactory(name=f"Bank bench {slug}", slug=slug, default_currency="EUR")
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        started = time.perf_counter()
        transactions = open_invoices * 17 // 4
        call_command("seed_bulk_ledger", tenant.slug, transactions=transactions, stdout=open(os.devnull, "w"))
        open_count = FinancialTransaction.objects.filter(tenant=tenant, classification=Classification.INVOICE,
                                                         state="posted", open_amount__gt=0).count()
        emit(figure="bank bench seed", tenant=slug, transactions=transactions, open_invoices=open_count,
             seconds=round(time.perf_counter() - started, 1))
        BankAccount.objects.create(tenant=tenant, name="Main", iban=IBAN, currency="EUR", created_at=timezone.now())
    return tenant


def entries(tenant, count: int, prefix: str) -> list[Entry]:
    """The mix: an open invoice paid exactly, a customer by name, or nothing known."""
    invoices = list(FinancialTransaction.objects.filter(
        tenant=tenant, classification=Classification.INVOICE, state="posted", open_amount__gt=0, currency="EUR",
    ).select_related("account__customer").order_by("id").values_list("number", "open_amount",
                                                                       "account__customer__name")[:count])
    made = []
    for n in range(count):
        number, amount, name = invoices[n % len(invoices)]
        kind = n % 5
        if kind in (0, 1):
            made.append(Entry(reference=f"{prefix}-{n}", amount=amount, booked_on=date(2026, 12, 1),
                              remittance=f"Payment {number}", payer=name))
        elif kind == 2:
            made.append(Entry(reference=f"{prefix}-{n}", amount=Decimal("7.31"), booked_on=date(2026, 12, 1),
                              payer=name))
        else:
            made.append(Entry(reference=f"{prefix}-{n}", amount=Decimal("3.17"), booked_on=date(2026, 12, 1),
                              remittance=f"transfer {n}", payer=f"Stranger {n}"))
    return made


def run(tenant, lines: int, prefix: str) -> dict:
    with scope(tenant=tenant):
        data = statement(IBAN, entries(tenant, lines, prefix))
        started = time.perf_counter()
        record = import_statement(tenant=tenant, upload=Upload(data=data, file_name=f"{prefix}.xml"),
                                  bank_account=None, actor=None, at=timezone.now())
        imported = time.perf_counter() - started
        # As the worker's ``book_waiting`` does, one line at a time, counting each line's queries.
        ids = list(StatementLine.objects.filter(tenant=tenant, statement_import=record, state=LineState.NEW)
                   .order_by("booked_on", "id").values_list("id", flat=True))
        booking_run, counted, by_state = Booking.for_lines(tenant=tenant, at=timezone.now(), line_ids=ids), [], {}
        started = time.perf_counter()
        with connection.execute_wrapper(lambda execute, *args: counted.append(1) or execute(*args)):
            for line_id in ids:
                before = len(counted)
                line = book_line(tenant=tenant, line_id=line_id, at=booking_run.at, booking=booking_run)
                # Grouped by outcome and confidence, so that like is compared with like.
                outcome = f"{line.state}@{line.confidence}" if line.confidence else line.state
                by_state.setdefault(outcome, []).append(len(counted) - before)
        booking = time.perf_counter() - started
    booked = sum(len(queries) for queries in by_state.values())
    assert booked == lines
    return {"lines": lines, "megabytes": round(len(data) / 1e6, 1), "import_seconds": round(imported, 2),
            "booking_seconds": round(booking, 1), "lines_per_second": round(lines / booking, 1),
            "queries_per_line": round(len(counted) / lines, 2),
            "queries_per_line_by_state": {state: round(sum(q) / len(q), 2) for state, q in sorted(by_state.items())},
            "lines_by_state": {state: len(q) for state, q in sorted(by_state.items())}}


@pytest.mark.django_db(transaction=True)
def bench_bank_statement_import_and_matching():
    small = seeded_tenant("banksmall", 1_000)
    big = seeded_tenant("bankbig", OPEN_INVOICES)

    few = run(small, 1_000, "SMALL")
    emit(figure="bank statement booking", open_invoices=1_000, **few)
    many = run(big, LINES, "BIG")
    emit(figure="bank statement booking", open_invoices=OPEN_INVOICES, **many)

    # A line of each outcome takes as many queries whatever the number of open invoices.
    for outcome, queries in many["queries_per_line_by_state"].items():
        if outcome in few["queries_per_line_by_state"]:
            assert abs(queries - few["queries_per_line_by_state"][outcome]) < 0.5, (outcome, few, many)
