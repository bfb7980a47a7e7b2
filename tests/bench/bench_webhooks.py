"""Webhook ingestion under load (``make bench``): Duly served by uWSGI on loopback, a real Celery
worker processing, and ``wrk`` (Debian's package; ``.ci/run`` installs it) in a second process sending
different signed Stripe "payment succeeded" events (a pool of ``DELIVERIES``) for ``SECONDS`` seconds as
fast as ``CONNECTIONS`` connections allow. Prints requests per second and p50/p95/p99 latency of the
answers, then waits for the worker to process every stored delivery and prints how many ledger
payments were booked against how many were expected (each stored delivery names its own payment:
they must be equal, and every distinct delivery answered 200 must be stored).

wrk is closed-loop: its connections send as fast as answers come, so the figures are those of a
saturated server, and latency includes the wait in the server's listen queue.

Served as it is deployed: uWSGI with ``uwsgi.ini`` (one request at a time per process, two processes per
core plus one; it says why uWSGI), and the worker at a lower CPU priority (``nice``, as in the Procfile),
so that processing takes what CPU the web processes leave. Every web process and the worker are warmed
up first (on another tenant).
The ingestion line also gives the CPU seconds each part used during the load, and the load average:
other work on the same machine shows there.
"""

import json
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from finance import services as ledger_services
from finance.models import Classification, FinancialTransaction, TransactionState
from gateways import inbox
from gateways import services as gateway_services
from gateways.base import CheckoutMode
from gateways.models import WebhookDelivery
from notifications.models import Notification
from payments.models import GatewayPayment, PaymentNotice, PaymentStatus
from payments.services.webhooks import process_waiting_deliveries
from tests.bench.bench_ledger import analyze, emit
from tests.factories import CustomerFactory, TenantFactory
from tests.faults.processes import RedisServer, WebServer, Worker, children
from tests.gateways.test_inbox import SECRET, signed, stripe_event
from tests.helpers import wait_for

DELIVERIES = int(os.environ.get("DULY_BENCH_WEBHOOKS", "8000"))
# The customers the payments are spread over: a burst is many customers paying. With one, every booking
# waits for the one before on that account's row (bench_ledger measures such a hot account on its own).
ACCOUNTS = int(os.environ.get("DULY_BENCH_WEBHOOK_ACCOUNTS", "500"))
# Long enough to send every one of DELIVERIES at 500/s; a thread that has sent its slice repeats its last
# delivery (a provider's retry: answered, stored once) until the end.
SECONDS = int(os.environ.get("DULY_BENCH_WEBHOOK_SECONDS", str(-(-DELIVERIES // 500))))
CONNECTIONS = 8
# None: as many web processes as uwsgi.ini starts
WEB_WORKERS = int(os.environ["DULY_BENCH_WEB_WORKERS"]) if os.environ.get("DULY_BENCH_WEB_WORKERS") else None
# The worker runs at a lower CPU priority, as the Procfile deploys it: answering a provider comes first,
# processing takes the CPU the web processes leave (its deliveries are safe in the inbox meanwhile).
WORKER_NICENESS = int(os.environ.get("DULY_BENCH_WORKER_NICENESS", "10"))
# "shared": one worker for every queue; "deployed": one per queue, as docker-compose.yml runs them
WORKERS = os.environ.get("DULY_BENCH_WORKERS", "shared")
# the notifications worker's, when there is one (docker-compose.yml: nice 19, one process)
NOTIFICATIONS_NICENESS = int(os.environ.get("DULY_BENCH_NOTIFICATIONS_NICENESS", "19"))
NOTIFICATIONS_CONCURRENCY = int(os.environ.get("DULY_BENCH_NOTIFICATIONS_CONCURRENCY", "1"))
WARM_UP = 64
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LUA = Path(__file__).with_name("webhooks.lua")


@pytest.mark.django_db(transaction=True)
def bench_webhook_ingestion():
    wrk = shutil.which("wrk")
    assert wrk, "wrk is not installed (apt-get install wrk; .ci/run does)"
    tenant = TenantFactory()
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        accounts = [ledger_services.open_account(customer=CustomerFactory(tenant=tenant), currency="EUR")
                    for _ in range(ACCOUNTS)]
        stripe = gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                       secret="sk_test_bench", settings={"webhook_secret": SECRET})
        GatewayPayment.objects.bulk_create([
            GatewayPayment(tenant=tenant, reference=f"dp_bench_{n}", gateway_account=stripe, provider="stripe",
                           provider_reference=f"pi_bench_{n}", account=accounts[n % ACCOUNTS],
                           amount=Decimal("12.50"), currency="EUR", mode=CheckoutMode.HOSTED_PAGE, description="Bench",
                           created_at=AT, updated_at=AT)
            for n in range(DELIVERIES)
        ], batch_size=1000)
    analyze("crm_customer", "finance_account", "payments_gatewaypayment")  # as autovacuum would have

    # A tenant of its own for the warm-up deliveries, so that the counts below see only the measured ones.
    other = TenantFactory()
    with scope(tenant=other):
        warm_up = gateway_services.save_gateway_account(tenant=other, provider="stripe", live=False,
                                                        secret="sk_test_warm", settings={"webhook_secret": SECRET})

    redis = RedisServer().start()
    web = WebServer(redis.url, workers=WEB_WORKERS)
    workers = start_workers(redis.url)
    watch = MetricWatch(web)
    try:
        web.start()
        for each, niceness in workers.items():
            each.start()
            renice(each, niceness)
        warm(web, warm_up)
        watch.start()
        with tempfile.NamedTemporaryFile("w", suffix=".tsv") as deliveries:
            for n in range(DELIVERIES):
                body = stripe_event(event_id=f"evt_bench_{n}", intent=f"pi_bench_{n}")
                deliveries.write(f"{signed(body)['HTTP_STRIPE_SIGNATURE']}\t{body.decode()}\n")
            deliveries.flush()
            reference_loop = reference_loop_seconds()
            cpu_before, wrk_before = cpu_seconds(web, workers), resource.getrusage(resource.RUSAGE_CHILDREN)
            run = subprocess.run(
                [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "5s", "-s", str(LUA), web.url, "--",
                 deliveries.name, "2", f"/webhooks/stripe/{stripe.webhook_token}/"],
                capture_output=True, text=True, check=True, timeout=300,
            )
            cpu_after, wrk_after = cpu_seconds(web, workers), resource.getrusage(resource.RUSAGE_CHILDREN)
        load = json.loads(run.stdout.strip().splitlines()[-1])
        cpu = {name: round(cpu_after[name] - cpu_before[name], 2) for name in cpu_after}
        cpu["wrk"] = round(wrk_after.ru_utime + wrk_after.ru_stime - wrk_before.ru_utime - wrk_before.ru_stime, 2)
        emit(bench="webhooks.ingestion", deliveries=DELIVERIES, accounts=ACCOUNTS, connections=CONNECTIONS,
             web_workers=web.workers, worker_niceness=WORKER_NICENESS, workers=WORKERS,
             notifications_niceness=NOTIFICATIONS_NICENESS if WORKERS == "deployed" else WORKER_NICENESS,
             notifications_concurrency=NOTIFICATIONS_CONCURRENCY if WORKERS == "deployed" else None,
             requests_per_second=round(load["requests"] / load["seconds"], 1), answered_200=load["ok"],
             distinct_sent=load["distinct_sent"], errors=load["errors"], timeouts=load["timeouts"],
             p50_ms=load["p50_ms"], p95_ms=load["p95_ms"], p99_ms=load["p99_ms"], max_ms=load["max_ms"],
             target_per_second=500, target_p99_ms=100, cpu_seconds_during_load=cpu,
             web_cpu_ms_per_request=round(cpu["web"] * 1000 / max(load["requests"], 1), 2),
             reference_loop_seconds=reference_loop,
             load_average=round(os.getloadavg()[0], 2))

        started = time.monotonic()
        deadline = started + 900
        with scopes_disabled():
            while time.monotonic() < deadline:
                if not WebhookDelivery.objects.filter(tenant=tenant, outcome="received").exists():
                    break
                time.sleep(1)
            drained = time.monotonic() - started
            cpu_drained = cpu_seconds(web, workers)
            outcomes = dict(WebhookDelivery.objects.filter(tenant=tenant).values_list("outcome")
                            .annotate(n=Count("id")).values_list("outcome", "n"))
            booked = FinancialTransaction.objects.filter(tenant=tenant, classification=Classification.PAYMENT,
                                                         state=TransactionState.POSTED).count()
            succeeded = GatewayPayment.objects.filter(tenant=tenant, status=PaymentStatus.SUCCEEDED).count()
            stored_ids = set(WebhookDelivery.objects.filter(tenant=tenant).values_list("event_id", flat=True))
        stored = sum(outcomes.values())
        not_stored = sorted(set(f"evt_bench_{n}" for n in range(DELIVERIES)) - stored_ids,
                            key=lambda event_id: int(event_id.rsplit("_", 1)[1]))
        emit(bench="webhooks.ledger_payments", accounts=ACCOUNTS, expected=stored, booked=booked,
             gateway_succeeded=succeeded, distinct_sent=load["distinct_sent"], outcomes=outcomes,
             equal=booked == stored == succeeded, not_stored=not_stored[:10],
             processing_seconds_after_load=round(drained, 1),
             # not PostgreSQL's: a backend that ends meanwhile takes its CPU time with it
             cpu_seconds_after_load={name: round(cpu_drained[name] - cpu_after[name], 2)
                                     for name in ("web", "worker")},
             target_seconds=60)
        watch.stop()
        emit(bench="webhooks.oldest_unprocessed_metric", scrapes=len(watch.readings),
             peak_seconds=max(watch.readings, default=None), after_drain_seconds=watch.readings[-1],
             readings_every_5th=watch.readings[::5])
        assert booked == succeeded == stored
        # the payers' confirmations, rendered by the notifications worker after the bookings
        with scopes_disabled():
            while time.monotonic() < deadline and PaymentNotice.objects.filter(tenant=tenant).exists():
                time.sleep(1)
            told = time.monotonic() - started
            confirmations = Notification.objects.filter(tenant=tenant, template_key="payment_received").count()
        emit(bench="webhooks.confirmations", booked=booked, confirmations=confirmations,
             seconds_after_load=round(told, 1))
        assert confirmations == booked
        if load["distinct_sent"] == DELIVERIES and load["requests"] > DELIVERIES + CONNECTIONS:  # all answered
            assert not_stored == [] and stored == DELIVERIES
        else:  # the requests still in flight when wrk stopped may or may not have been stored
            assert load["distinct_sent"] - CONNECTIONS - load["timeouts"] <= stored <= load["distinct_sent"]
    finally:
        watch.stop()
        for each in workers:
            each.stop()
        web.stop()
        redis.close()


class MetricWatch(threading.Thread):
    """Reads ``duly_webhook_oldest_unprocessed_seconds`` off the server's metrics page every second, as
    Prometheus would, until stopped; and once more then."""

    def __init__(self, web: WebServer):
        super().__init__(daemon=True)
        self.web, self.readings, self.done = web, [], threading.Event()

    def read(self) -> float:
        text = httpx.get(f"{self.web.url}/metrics/", timeout=10).text
        return next(float(line.split()[1]) for line in text.splitlines()
                    if line.startswith("duly_webhook_oldest_unprocessed_seconds "))

    def run(self) -> None:
        while not self.done.wait(1):
            self.readings.append(self.read())

    def stop(self) -> None:
        if self.ident is not None and not self.done.is_set():
            self.done.set()
            self.join()
            self.readings.append(self.read())


@pytest.mark.django_db
def bench_booking_cost():
    """What one booking costs the worker, in process: CPU seconds and statements per delivery, over
    batches of 100 (a batch reads the ledger set-up once)."""
    tenant = TenantFactory()
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        account = ledger_services.open_account(customer=CustomerFactory(tenant=tenant), currency="EUR")
        stripe = gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                       secret="sk_test_bench", settings={"webhook_secret": SECRET})
        count = 300
        GatewayPayment.objects.bulk_create([
            GatewayPayment(tenant=tenant, reference=f"dp_cost_{n}", gateway_account=stripe, provider="stripe",
                           provider_reference=f"pi_cost_{n}", account=account, amount=Decimal("12.50"),
                           currency="EUR", mode=CheckoutMode.HOSTED_PAGE, description="Bench", created_at=AT,
                           updated_at=AT)
            for n in range(count)
        ])
        for n in range(count):
            body = stripe_event(event_id=f"evt_cost_{n}", intent=f"pi_cost_{n}")
            inbox.receive_webhook(account=stripe, body=body, at=timezone.now(),
                                  headers={"Stripe-Signature": signed(body)["HTTP_STRIPE_SIGNATURE"]})
        process_waiting_deliveries(tenant=tenant, claimer="warm-up", limit=100)
        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            processed = sum(len(process_waiting_deliveries(tenant=tenant, claimer=f"batch-{n}").processed)
                            for n in range(2))
            cpu = time.process_time() - started
    emit(bench="webhooks.booking_cost", bookings=processed, batch_size=100,
         cpu_ms_per_booking=round(cpu * 1000 / processed, 2), statements_per_booking=round(
             len(queries) / processed, 2), target_cpu_ms=8, target_statements=12)
    assert processed == 200


def reference_loop_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop, taken just before the load: this machine's speed varies
    from run to run (by a third on an idle machine within a minute), and the figures with it."""
    started, total = time.process_time(), 0
    for number in range(3_000_000):
        total += number
    return round(time.process_time() - started, 3)


def start_workers(redis_url: str) -> dict[Worker, int]:
    """The Celery workers and each one's niceness. ``shared``: one worker takes every queue; ``deployed``: a
    worker per queue as ``docker-compose.yml`` runs them (the notifications' last, in one process)."""
    if WORKERS == "shared":
        return {Worker(redis_url, pool="prefork", concurrency=2): WORKER_NICENESS}
    queues = settings.DULY_QUEUES
    return {
        Worker(redis_url, pool="prefork", concurrency=2, queues=[queues["webhooks"]]): WORKER_NICENESS,
        Worker(redis_url, pool="prefork", concurrency=NOTIFICATIONS_CONCURRENCY,
               queues=[queues["notifications"]]): NOTIFICATIONS_NICENESS,
        Worker(redis_url, pool="prefork", concurrency=1, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]): WORKER_NICENESS,
    }


def renice(worker: Worker, niceness: int) -> None:
    """The worker and, once it has forked them, its pool processes."""
    if not niceness:
        return
    pid = worker.process.pid
    os.setpriority(os.PRIO_PROCESS, pid, niceness)
    pool = wait_for(lambda: len(found := children(pid)) >= worker.concurrency and found, timeout=120,
                      what="the worker's pool processes")
    for child in pool:
        os.setpriority(os.PRIO_PROCESS, child, niceness)


def warm(web: WebServer, account) -> None:
    """Every web process pays for its first delivery (the first publish imports and connects
    Celery's producer; without bytecode caches that takes seconds): send a few per thread before
    anything is measured, and let the worker process them (and warm up too) before the load starts."""
    def post(n: int) -> int:
        body = stripe_event(event_id=f"evt_warm_{n}", intent=f"pi_warm_{n}")
        headers = {"Content-Type": "application/json", "Stripe-Signature": signed(body)["HTTP_STRIPE_SIGNATURE"]}
        return httpx.post(f"{web.url}/webhooks/stripe/{account.webhook_token}/", content=body, headers=headers,
                          timeout=120).status_code

    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        assert list(pool.map(post, range(WARM_UP))) == [200] * WARM_UP
    with scopes_disabled():
        wait_for(lambda: not WebhookDelivery.objects.filter(tenant=account.tenant_id, outcome="received").exists(),
                   timeout=300, what="the warm-up deliveries to be processed")


def cpu_seconds(web: WebServer, workers) -> dict[str, float]:
    """CPU time used so far by the web processes, the Celery worker's processes and the
    PostgreSQL backends serving the test database (other work may share the machine)."""
    tick = os.sysconf("SC_CLK_TCK")
    web_pids = set(children(web.process.pid))
    worker_pids = {pid for worker in workers for pid in (worker.process.pid, *children(worker.process.pid))}
    database = connection.settings_dict["NAME"]
    used = {"web": 0.0, "worker": 0.0, "postgres": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        seconds = (int(stat[11]) + int(stat[12])) / tick
        if int(entry.name) in web_pids:
            used["web"] += seconds
        elif int(entry.name) in worker_pids:
            used["worker"] += seconds
        elif command.startswith("postgres: ") and f" {database} " in command:
            used["postgres"] += seconds
    return used
