"""SIGTERM, as Docker and an orchestrator stop a container: the web server finishes the requests it is
answering, and a worker the task it is running, before they exit. Each is caught in flight by a provider
that holds its answer (a local fake of Cashflows) until the signal has been sent."""

import signal
import time
from threading import Event, Thread

import httpx
import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scope

from gateways.models import WebhookDelivery, WebhookOutcome
from paylinks.services.requests import RequestData, request_payment
from payments.models import GatewayPayment, PaymentPurpose, PaymentStatus
from tests.factories import GatewayPaymentFactory, UserFactory
from tests.faults.invariants import assert_ledger_invariants
from tests.faults.processes import WebServer, Worker
from tests.faults.test_worker_killed import STARTUP, deliver_notification, hold_until
from tests.helpers import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def stuck_payment(shop, cashflows):
    with scope(tenant=shop.tenant):
        return GatewayPaymentFactory(gateway_account=cashflows, account=shop, amount="12.50",
                                     provider_reference="job1/pay1")


def test_a_worker_finishes_its_task_before_it_stops(shop, stuck_payment, fake_cashflows, httpserver):
    released = Event()
    fake_cashflows.answers = [hold_until(released, fake_cashflows.status("Paid"))]
    worker = Worker(settings.REDIS_URL, pool="prefork",  # as deployed
                    DULY_CASHFLOWS_BASE_URL=httpserver.url_for("").rstrip("/")).start()
    try:
        deliver_notification(stuck_payment.gateway_account)
        wait_for(fake_cashflows.first_call.is_set, timeout=STARTUP, what="the worker to ask the provider")

        worker.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        still_running = worker.process.poll() is None
        released.set()
        code = worker.process.wait(timeout=60)
    finally:
        released.set()
        worker.stop()

    assert still_running  # it waited for its task
    assert code == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.attempts) == (WebhookOutcome.PROCESSED, 1)
    with scope(tenant=shop.tenant):
        assert GatewayPayment.objects.get(pk=stuck_payment.pk).status == PaymentStatus.SUCCEEDED
    assert fake_cashflows.calls == 1
    assert_ledger_invariants(shop.tenant)


def test_the_web_server_answers_the_request_in_flight_before_it_stops(shop, cashflows, fake_cashflows, httpserver):
    """A payer back from the provider while the server is told to stop: the page asks the provider (held
    until the signal is sent) and is still answered."""
    with scope(tenant=shop.tenant):
        request, token = request_payment(
            customer=shop.customer, account=shop, actor=UserFactory(tenant=shop.tenant), at=timezone.now(),
            data=RequestData(amount="12.50", reference="INV-7", message="Your deposit", channels=["email"]))
        GatewayPaymentFactory(gateway_account=cashflows, account=shop, amount="12.50", provider_reference="job1/pay1",
                              payment_request=request, purpose=PaymentPurpose.REQUEST)
    released = Event()
    fake_cashflows.answers = [hold_until(released, fake_cashflows.status("Paid"))]
    web = WebServer(settings.REDIS_URL, workers=1,
                    DULY_CASHFLOWS_BASE_URL=httpserver.url_for("").rstrip("/")).start()
    answers = []
    payer = Thread(target=lambda: answers.append(httpx.get(f"{web.url}/pay/{token}/done/", timeout=60)))
    try:
        payer.start()
        wait_for(fake_cashflows.first_call.is_set, timeout=60, what="the page to ask the provider")

        web.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        still_running = web.process.poll() is None
        released.set()
        payer.join(timeout=60)
        code = web.process.wait(timeout=60)
    finally:
        released.set()
        web.stop()

    assert still_running
    assert [answer.status_code for answer in answers] == [200]
    assert "Thank you: your payment was received." in answers[0].text
    assert code == 0
