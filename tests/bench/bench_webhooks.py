"""Webhook ingestion under load (``make bench``): Duly served by gunicorn on loopback, a real Celery
worker processing, and ``wrk`` (Debian's package; ``.ci/run`` installs it) in a second process sending
different signed Stripe "payment succeeded" events (a pool of ``DELIVERIES``) for ``SECONDS`` seconds as
fast as ``CONNECTIONS`` connections allow. Prints requests per second and p50/p95/p99 latency of the
answers, then waits for the worker to process every stored delivery and prints how many ledger
payments were booked against how many were expected (each stored delivery names its own payment:
they must be equal, and every distinct delivery answered 200 must be stored).

wrk is closed-loop: its connections send as fast as answers come, so the figures are those of a
saturated server, and latency includes the wait in gunicorn's queue.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Count
from django_scopes import scope, scopes_disabled

from finance import services as ledger_services
from finance.models import Classification, FinancialTransaction, TransactionState
from gateways import services as gateway_services
from gateways.base import CheckoutMode
from gateways.models import WebhookDelivery
from payments.models import GatewayPayment, PaymentStatus
from tests.bench.bench_ledger import emit
from tests.factories import CustomerFactory, TenantFactory
from tests.faults.processes import RedisServer, WebServer, Worker
from tests.gateways.test_inbox import SECRET, signed, stripe_event

DELIVERIES = int(os.environ.get("DULY_BENCH_WEBHOOKS", "4000"))
SECONDS = 10
CONNECTIONS = 8
WEB_WORKERS = 3
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LUA = Path(__file__).with_name("webhooks.lua")


@pytest.mark.django_db(transaction=True)
def bench_webhook_ingestion():
    wrk = shutil.which("wrk")
    assert wrk, "wrk is not installed (apt-get install wrk; .ci/run does)"
    tenant = TenantFactory()
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        account = ledger_services.open_account(customer=CustomerFactory(tenant=tenant), currency="EUR")
        stripe = gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                       secret="sk_test_bench", settings={"webhook_secret": SECRET})
        GatewayPayment.objects.bulk_create([
            GatewayPayment(tenant=tenant, reference=f"dp_bench_{n}", gateway_account=stripe, provider="stripe",
                           provider_reference=f"pi_bench_{n}", account=account, amount=Decimal("12.50"),
                           currency="EUR", mode=CheckoutMode.HOSTED_PAGE, description="Bench", created_at=AT,
                           updated_at=AT)
            for n in range(DELIVERIES)
        ], batch_size=1000)

    redis = RedisServer().start()
    web = WebServer(redis.url, workers=WEB_WORKERS)
    worker = Worker(redis.url, pool="prefork", concurrency=2)
    try:
        web.start()
        worker.start()
        with tempfile.NamedTemporaryFile("w", suffix=".tsv") as deliveries:
            for n in range(DELIVERIES):
                body = stripe_event(event_id=f"evt_bench_{n}", intent=f"pi_bench_{n}")
                deliveries.write(f"{signed(body)['HTTP_STRIPE_SIGNATURE']}\t{body.decode()}\n")
            deliveries.flush()
            run = subprocess.run(
                [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "5s", "-s", str(LUA), web.url, "--",
                 deliveries.name, "2", f"/webhooks/stripe/{stripe.webhook_token}/"],
                capture_output=True, text=True, check=True, timeout=300,
            )
        load = json.loads(run.stdout.strip().splitlines()[-1])
        emit(bench="webhooks.ingestion", deliveries=DELIVERIES, connections=CONNECTIONS, web_workers=WEB_WORKERS,
             requests_per_second=round(load["requests"] / load["seconds"], 1), answered_200=load["ok"],
             distinct_sent=load["distinct_sent"], errors=load["errors"], timeouts=load["timeouts"],
             p50_ms=load["p50_ms"], p95_ms=load["p95_ms"], p99_ms=load["p99_ms"], max_ms=load["max_ms"],
             target_per_second=500, target_p99_ms=100)

        started = time.monotonic()
        deadline = started + 900
        with scopes_disabled():
            while time.monotonic() < deadline:
                if not WebhookDelivery.objects.filter(tenant=tenant, outcome="received").exists():
                    break
                time.sleep(1)
            drained = time.monotonic() - started
            outcomes = dict(WebhookDelivery.objects.filter(tenant=tenant).values_list("outcome")
                            .annotate(n=Count("id")).values_list("outcome", "n"))
            booked = FinancialTransaction.objects.filter(tenant=tenant, classification=Classification.PAYMENT,
                                                         state=TransactionState.POSTED).count()
            succeeded = GatewayPayment.objects.filter(tenant=tenant, status=PaymentStatus.SUCCEEDED).count()
        stored = sum(outcomes.values())
        emit(bench="webhooks.ledger_payments", expected=stored, booked=booked, gateway_succeeded=succeeded,
             distinct_sent=load["distinct_sent"], outcomes=outcomes, equal=booked == stored == succeeded,
             processing_seconds_after_load=round(drained, 1))
        assert booked == succeeded == stored
        # the requests still in flight when wrk stopped may or may not have been stored
        assert load["distinct_sent"] - CONNECTIONS - load["timeouts"] <= stored <= load["distinct_sent"]
    finally:
        worker.stop()
        web.stop()
        redis.close()
