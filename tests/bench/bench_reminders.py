"""The instalment reminder sweep over ``INSTALMENTS`` instalments (``make bench``).

One tenant, 10,000 obligations of 10 monthly instalments each (bulk-inserted), their due dates spread
from five months ago to fourteen months ahead, none paid. One run of the beat task's service
(``obligations.services.reminders.send_instalment_reminders``) selects what is due from all of them and writes up
to ``reminders.BATCH`` reminders and as many overdue notices into the outbox (the next runs take the
rest). Prints the run's time, the notices written, the time per notice and the queries per notice,
and the same for the next run right after (the reminders are done; it takes the next batch of the
overdue backlog).
"""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from notifications.models import Notification
from obligations.models import Instalment, InstalmentStatus, Obligation
from obligations.services import reminders
from tests.bench.bench_ledger import emit
from tests.factories import CustomerFactory, TenantFactory

OBLIGATIONS = 10_000
PER_OBLIGATION = 10
INSTALMENTS = OBLIGATIONS * PER_OBLIGATION
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def bench_reminder_sweep():
    tenant = TenantFactory()
    today = AT.date()
    started = time.perf_counter()
    with scope(tenant=tenant):
        customers = [CustomerFactory(tenant=tenant) for _ in range(100)]
        obligations = Obligation.objects.bulk_create([
            Obligation(tenant=tenant, customer=customers[k % 100], payee="Tax office", payment_code=f"PC-{k}",
                       description=f"Obligation {k}", total_amount=Decimal("1000.00"), currency="EUR",
                       created_at=AT, updated_at=AT)
            for k in range(OBLIGATIONS)
        ], batch_size=2000)
        Instalment.objects.bulk_create([
            Instalment(tenant=tenant, obligation=obligation, number=n, amount=Decimal("100.00"),
                       due_on=today - timedelta(days=150 - k % 300) + timedelta(days=30 * (n - 1)))
            for k, obligation in enumerate(obligations) for n in range(1, PER_OBLIGATION + 1)
        ], batch_size=5000)
        with scopes_disabled(), connection.cursor() as cursor:  # only the tables' owner may ANALYZE
            cursor.execute("ANALYZE payments_instalment")
        unpaid = Instalment.objects.filter(tenant=tenant, status=InstalmentStatus.UNPAID)
        due_for_reminder = unpaid.filter(due_on__gte=today, due_on__lte=today + timedelta(days=3)).count()
        overdue = unpaid.filter(due_on__lte=today - timedelta(days=1)).count()
    emit(bench="reminders.seed", instalments=INSTALMENTS, seconds=round(time.perf_counter() - started, 1))

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        written = reminders.send_instalment_reminders(at=AT)
        first = time.perf_counter() - started
    started = time.perf_counter()
    again = reminders.send_instalment_reminders(at=AT)
    second = time.perf_counter() - started

    expected = min(due_for_reminder, reminders.BATCH) + min(overdue, reminders.BATCH)
    with scope(tenant=tenant):
        assert written == expected
        assert Notification.objects.filter(tenant=tenant).count() >= written
    emit(bench="reminders.sweep", instalments=INSTALMENTS, due_for_reminder=due_for_reminder, overdue=overdue,
         notices_written=written, seconds=round(first, 2), ms_per_notice=round(first / max(written, 1) * 1000, 2),
         queries_per_notice=round(len(captured) / max(written, 1), 1))
    emit(bench="reminders.sweep_next_run", instalments=INSTALMENTS, notices_written=again, seconds=round(second, 2))
