"""The metrics page (``config.metrics``) with ``TENANTS`` tenants (``make bench``): each with ``HISTORY`` sent
messages and processed webhook deliveries behind it, and a little waiting (messages due, deliveries not
processed, payments pending past the janitor's threshold). Served by uWSGI as deployed (``bin/serve``, one
process), asked ``SAMPLES`` times in a row as Prometheus would; prints p50/p95/max and the statements one
answer runs. Target: under 50 ms."""

import os
import statistics
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from core import tallies
from gateways import services as gateway_services
from gateways.base import CheckoutMode
from gateways.models import WebhookDelivery
from notifications.models import Notification
from payments.models import GatewayPayment
from tests.bench.bench_ledger import emit
from tests.factories import AccountFactory, CustomerFactory, TenantFactory
from tests.faults.processes import WebServer
from tests.helpers import clear_tallies

TENANTS = int(os.environ.get("DULY_BENCH_METRICS_TENANTS", "100"))
HISTORY = int(os.environ.get("DULY_BENCH_METRICS_HISTORY", "1000"))
SAMPLES = 200
TOKEN = "bench-metrics"


def seed(now):
    with scopes_disabled():
        for number in range(TENANTS):
            tenant = TenantFactory()
            account = AccountFactory(customer=CustomerFactory(tenant=tenant))
            stripe = gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                           secret="sk_test_bench", settings={"webhook_secret": "x"})
            Notification.objects.bulk_create([
                Notification(tenant=tenant, event_key=f"bench:{n}", channel="email", recipient="a@example.com",
                             body="Hello", state="sent" if n >= 3 else "pending",
                             due_at=now - timedelta(minutes=n), created_at=now - timedelta(minutes=n))
                for n in range(HISTORY)], batch_size=1000)
            WebhookDelivery.objects.bulk_create([
                WebhookDelivery(provider="stripe", tenant=tenant, gateway_account=stripe, event_id=f"evt_{n}",
                                body="{}", received_at=now - timedelta(seconds=n),
                                outcome="processed" if n >= 2 else "received")
                for n in range(HISTORY)], batch_size=1000)
            GatewayPayment.objects.bulk_create([
                GatewayPayment(tenant=tenant, reference=f"dp_{n}", gateway_account=stripe, provider="stripe",
                               provider_reference=f"pi_{n}", account=account, amount=Decimal("12.50"),
                               currency=account.currency, mode=CheckoutMode.HOSTED_PAGE, description="Bench",
                               status="pending" if n < 3 else "failed", created_at=now - timedelta(hours=n),
                               updated_at=now - timedelta(hours=n))
                for n in range(20)])
            for classification in ("invoice", "payment", "credit_note", "refund", "write_off", "adjustment",
                                   "transfer"):
                tallies.add("postings", number + 1, classification=classification)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) notifications_notification, gateways_webhookdelivery, payments_gatewaypayment")


@pytest.mark.django_db(transaction=True)
def bench_metrics_page():
    seed(timezone.now())
    with CaptureQueriesContext(connection) as captured:
        assert Client().get("/metrics/").status_code == 200
    web = WebServer(settings.REDIS_URL, workers=1, DULY_METRICS_TOKEN=TOKEN).start()
    try:
        times = []
        with httpx.Client(base_url=web.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
            for n in range(SAMPLES + 10):
                started = time.perf_counter()
                response = client.get("/metrics/")
                if n >= 10:  # the first answers warm the process up
                    times.append(time.perf_counter() - started)
                assert response.status_code == 200
        body = response.text
    finally:
        web.stop()
        clear_tallies()
    assert f"duly_webhook_deliveries_unprocessed {float(2 * TENANTS)}" in body
    p95 = statistics.quantiles(times, n=20)[18]
    emit(bench="metrics.page", tenants=TENANTS, history_per_tenant=HISTORY, samples=SAMPLES,
         p50_ms=round(statistics.median(times) * 1000, 2), p95_ms=round(p95 * 1000, 2),
         max_ms=round(max(times) * 1000, 2), statements=len(captured), answer_bytes=len(body), target_ms=50)
