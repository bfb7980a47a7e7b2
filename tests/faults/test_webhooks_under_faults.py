"""Webhooks against Duly served by uWSGI, with a real Celery worker, both on a Redis of the test's
own: Redis stopped while deliveries arrive, and one delivery sent 50 times at once.

When the broker is down the inbox still stores each delivery and answers 200 (enqueueing runs
``on_commit(robust=True)``, so its failure is logged, not answered); the ``gateways.sweep_webhook_inbox``
beat task enqueues again every delivery whose processing never started once Redis is back. The test
sends that task the way beat would (``celery call``), asking it not to wait the usual five minutes.
"""

import json
import subprocess
import sys
import threading
import time

import httpx
import pytest
import redis
from django.conf import settings
from django_scopes import scope, scopes_disabled

from gateways import services as gateway_services
from gateways.models import WebhookDelivery, WebhookOutcome
from notifications.models import Notification
from notifications.states import PENDING, SENDING
from payments.models import GatewayPayment, PaymentStatus
from tests.factories import GatewayPaymentFactory
from tests.faults.invariants import assert_ledger_invariants
from tests.faults.processes import ROOT, SCALE, RedisServer, WebServer, Worker, service_env
from tests.gateways.test_inbox import SECRET, signed, stripe_event
from tests.helpers import every_queue, wait_for

pytestmark = pytest.mark.worker
COPIES = 50


class Site:
    def __init__(self) -> None:
        self.redis = RedisServer().start()
        self.web = WebServer(self.redis.url, workers=2)
        self.worker = Worker(self.redis.url, pool="prefork")
        try:
            self.web.start()
            self.worker.start()
        except BaseException:
            self.close()
            raise

    def sweep(self) -> None:
        """What beat sends every minute, without the five-minute grace."""
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "config", "call", "gateways.sweep_webhook_inbox",
             "--kwargs", json.dumps({"older_than_seconds": 0}), "--queue", settings.CELERY_TASK_DEFAULT_QUEUE],
            cwd=ROOT, env=service_env(self.redis.url), check=True, stdout=subprocess.DEVNULL, timeout=60,
        )

    def close(self) -> None:
        self.worker.stop()
        self.web.stop()
        self.redis.close()


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        running = Site()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def settled(site, shop):
    """After each test, wait until the worker has nothing queued or running and the outbox has nothing
    it is sending now, so that the test database is emptied while no other process writes to it."""
    yield
    client = redis.Redis.from_url(site.redis.url)

    def quiet():
        with scopes_disabled():
            busy = Notification.objects.filter(state__in=[PENDING, SENDING]).exists()
        queued = sum(client.llen(queue) for queue in every_queue())
        return not busy and queued == 0 and client.hlen("unacked") == 0

    wait_for(lambda: quiet() and (time.sleep(0.5) or quiet()), timeout=60, what="the worker to settle")


@pytest.fixture
def stripe(shop):
    with scope(tenant=shop.tenant):
        return gateway_services.save_gateway_account(tenant=shop.tenant, provider="stripe", live=False,
                                                     secret="sk_test_1", settings={"webhook_secret": SECRET})


def post(site, account, body):
    headers = {"Content-Type": "application/json", "Stripe-Signature": signed(body)["HTTP_STRIPE_SIGNATURE"]}
    started = time.monotonic()
    response = httpx.post(f"{site.web.url}/webhooks/stripe/{account.webhook_token}/", content=body, headers=headers,
                          timeout=30)
    return response, time.monotonic() - started


def all_succeeded(tenant, payments):
    with scope(tenant=tenant):
        return GatewayPayment.objects.filter(pk__in=[p.pk for p in payments], status=PaymentStatus.SUCCEEDED).count() \
            == len(payments)


class TestRedisStopped:
    def test_deliveries_are_stored_and_answered_and_processed_once_redis_returns(self, site, shop, stripe):
        count = 5 * SCALE
        with scope(tenant=shop.tenant):
            payments = [GatewayPaymentFactory(gateway_account=stripe, account=shop, amount="12.50",
                                              provider_reference=f"pi_down_{n}") for n in range(count)]
        site.redis.stop()
        try:
            answers = [post(site, stripe, stripe_event(event_id=f"evt_down_{n}", intent=f"pi_down_{n}"))
                       for n in range(count)]
        finally:
            site.redis.start()

        stored_and_answered = (200, {"received": True, "duplicate": False})
        assert [(r.status_code, r.json()) for r, _ in answers] == [stored_and_answered] * count
        # each answer waits for Celery's publish retries (about a second when idle) before it goes out
        assert max(seconds for _, seconds in answers) < 15
        assert sorted(WebhookDelivery.objects.values_list("event_id", "outcome", "attempts")) == sorted(
            (f"evt_down_{n}", WebhookOutcome.RECEIVED, 0) for n in range(count))
        assert_ledger_invariants(shop.tenant)  # nothing booked yet

        site.sweep()

        wait_for(lambda: all_succeeded(shop.tenant, payments), timeout=240)
        wait_for(lambda: not WebhookDelivery.objects.exclude(outcome=WebhookOutcome.PROCESSED).exists(), timeout=30)
        assert WebhookDelivery.objects.count() == count
        assert_ledger_invariants(shop.tenant)
        with scope(tenant=shop.tenant):
            assert {p.ledger_payment.total_amount for p in GatewayPayment.objects.select_related("ledger_payment")} \
                == {payments[0].amount}


class TestOneDeliveryFiftyTimesAtOnce:
    def test_one_delivery_is_stored_and_one_ledger_payment_booked(self, site, shop, stripe):
        with scope(tenant=shop.tenant):
            payments = [GatewayPaymentFactory(gateway_account=stripe, account=shop, amount="12.50",
                                              provider_reference=f"pi_storm_{n}") for n in range(SCALE)]
        answers = []
        for n in range(SCALE):
            body = stripe_event(event_id=f"evt_storm_{n}", intent=f"pi_storm_{n}")
            barrier = threading.Barrier(COPIES)

            def send(body=body, barrier=barrier):
                barrier.wait(timeout=30)
                response, _ = post(site, stripe, body)
                answers.append((response.status_code, response.json()["duplicate"]))

            threads = [threading.Thread(target=send) for _ in range(COPIES)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

        assert sorted(answers) == sorted([(200, False)] * SCALE + [(200, True)] * (COPIES - 1) * SCALE)
        wait_for(lambda: all_succeeded(shop.tenant, payments), timeout=240)
        wait_for(lambda: not WebhookDelivery.objects.exclude(outcome=WebhookOutcome.PROCESSED).exists(), timeout=30)
        time.sleep(0.5)  # room for a second booking to show itself
        assert WebhookDelivery.objects.count() == SCALE
        assert_ledger_invariants(shop.tenant)
