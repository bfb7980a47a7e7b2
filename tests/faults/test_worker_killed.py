"""The Celery worker killed (SIGKILL) in the middle of processing a webhook.

Tasks are ``acks_late`` (acknowledged when they finish, not when they arrive) and
``task_reject_on_worker_lost``, both set in ``config.settings``. Two ways a worker dies:

* only the pool process running the task dies (prefork): the worker's main process sees it lost and,
  with ``task_reject_on_worker_lost``, hands the message straight back to the queue;
* the whole worker dies (solo pool, or the machine): nothing can hand the message back, so it stays
  in Redis's "unacked" set; a worker that starts restores every unacked message older than the
  broker's ``visibility_timeout`` (kombu's ``restore_visible`` at poll start). Production keeps an
  hour, longer than any task; these tests shorten it to one second through
  ``DULY_BROKER_VISIBILITY_TIMEOUT_SECONDS`` so the restarted worker takes the message back at once.

Either way the task runs again and the payment is booked once.
"""

import os
import signal
import time
from threading import Event

import pytest
from django.conf import settings
from django.test import Client
from django_scopes import scope

from gateways.models import WebhookDelivery, WebhookOutcome
from payments.models import GatewayPayment, PaymentStatus
from tests.factories import GatewayPaymentFactory
from tests.faults.conftest import CASHFLOWS_NOTIFICATION
from tests.faults.invariants import assert_ledger_invariants
from tests.faults.processes import Worker, children
from tests.helpers import wait_for

pytestmark = pytest.mark.worker
# A worker process imports all of Duly before it takes a task: seconds on an idle machine, over a minute
# on a loaded two-core one.
STARTUP = 240


def hold_until(released, then):
    """A provider that takes its time: the answer waits until the test has killed the worker."""

    def answer(request):
        released.wait(timeout=30)
        return then(request)

    return answer


def deliver_notification(cashflows):
    response = Client().post(f"/webhooks/cashflows/{cashflows.webhook_token}/", data=CASHFLOWS_NOTIFICATION,
                             content_type="application/json")
    assert response.status_code == 200, response.content


@pytest.fixture
def stuck_payment(shop, cashflows):
    with scope(tenant=shop.tenant):
        return GatewayPaymentFactory(gateway_account=cashflows, account=shop, amount="12.50",
                                     provider_reference="job1/pay1")


@pytest.fixture
def worker_env(httpserver):
    return {"DULY_CASHFLOWS_BASE_URL": httpserver.url_for("").rstrip("/"),
            "DULY_BROKER_VISIBILITY_TIMEOUT_SECONDS": "1"}


def assert_killed_mid_task(payment):
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.attempts) == (WebhookOutcome.RECEIVED, 1)
    with scope(tenant=payment.tenant):
        still = GatewayPayment.objects.get(pk=payment.pk)
        assert (still.status, still.ledger_payment_id) == (PaymentStatus.PENDING, None)
    assert_ledger_invariants(payment.tenant)


def assert_completed_once(shop, payment):
    with scope(tenant=shop.tenant):
        wait_for(lambda: GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED, timeout=STARTUP)
        wait_for(lambda: WebhookDelivery.objects.get().outcome == WebhookOutcome.PROCESSED, timeout=30)
        time.sleep(0.5)  # room for a second run to show itself
        delivery = WebhookDelivery.objects.get()
        assert (delivery.attempts, delivery.detail) == (2, f"{payment.reference}: succeeded")
        assert [e.to_status for e in GatewayPayment.objects.get(pk=payment.pk).events.all()] == ["succeeded"]
    assert_ledger_invariants(shop.tenant)


class TestWorkerKilledMidTask:
    def test_the_whole_worker_killed_and_restarted_runs_the_task_again_once(
        self, shop, stuck_payment, fake_cashflows, worker_env
    ):
        released = Event()
        fake_cashflows.answers = [hold_until(released, fake_cashflows.status("Paid")), fake_cashflows.status("Paid")]
        first = Worker(settings.REDIS_URL, pool="solo", **worker_env).start()
        try:
            deliver_notification(stuck_payment.gateway_account)
            wait_for(fake_cashflows.first_call.is_set, timeout=STARTUP, what="the worker to ask the provider")

            first.kill()
            released.set()
            assert_killed_mid_task(stuck_payment)

            time.sleep(1.2)  # past the shortened visibility timeout
            second = Worker(settings.REDIS_URL, pool="solo", **worker_env).start()
            try:
                assert_completed_once(shop, stuck_payment)
                assert fake_cashflows.calls == 2
            finally:
                second.stop()
        finally:
            released.set()
            first.stop()

    def test_the_pool_process_killed_is_replaced_and_the_task_handed_back_at_once(
        self, shop, stuck_payment, fake_cashflows, worker_env
    ):
        released = Event()
        fake_cashflows.answers = [hold_until(released, fake_cashflows.status("Paid")), fake_cashflows.status("Paid")]
        worker = Worker(settings.REDIS_URL, pool="prefork", **worker_env).start()
        try:
            deliver_notification(stuck_payment.gateway_account)
            wait_for(fake_cashflows.first_call.is_set, timeout=STARTUP, what="the worker to ask the provider")
            (pool_process,) = children(worker.process.pid)

            os.kill(pool_process, signal.SIGKILL)
            released.set()
            assert worker.process.poll() is None  # the worker's main process lives on

            assert_completed_once(shop, stuck_payment)
            assert fake_cashflows.calls == 2
        finally:
            released.set()
            worker.stop()
