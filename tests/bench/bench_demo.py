"""``make run``'s demo (``make bench``): the seconds ``seed_demo`` takes to load the two tenants with a year of
history for a few hundred customers, the records it makes, and the seconds a second run takes (nothing)."""

import io
import time

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from crm.models import Customer
from finance.models import FinancialTransaction
from notifications.models import Notification
from paylinks.models import PaymentRequest
from tests.bench.bench_ledger import emit


@pytest.mark.django_db(transaction=True)
def bench_seed_demo():
    started = time.perf_counter()
    call_command("seed_demo", stdout=io.StringIO())
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    call_command("seed_demo", stdout=io.StringIO())
    again = time.perf_counter() - started
    with scopes_disabled():
        emit(bench="seed_demo", seconds=round(seconds, 1), again_seconds=round(again, 2),
             customers=Customer.objects.count(), transactions=FinancialTransaction.objects.count(),
             payment_requests=PaymentRequest.objects.count(), messages=Notification.objects.count())
