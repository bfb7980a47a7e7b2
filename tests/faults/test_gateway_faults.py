"""A provider misbehaving while Duly confirms a webhook (Cashflows' notifications carry no status, so
Duly fetches it back): too slow, HTTP 500, a body that is not JSON, and a status that moved on between
the notification and the fetch-back. The provider is a local fake server; the timeout is shortened.

Whatever it does, the payment stays pending (or at what the provider really says) and visible on the
staff's payment list, nothing is booked, and the janitor's later poll settles it, once.
"""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope
from werkzeug import Response

from gateways.base import GatewayUnavailable
from gateways.models import WebhookDelivery, WebhookOutcome
from payments import tasks
from payments.models import GatewayPayment, PaymentStatus
from payments.services.gateway_payments import stale_payments
from payments.services.webhooks import process_webhook_delivery
from tests.factories import GatewayPaymentFactory
from tests.faults.conftest import CASHFLOWS_NOTIFICATION
from tests.faults.invariants import assert_ledger_invariants

TIMEOUT = 0.5
SLOW = 3.0  # far past the timeout, so that giving up at the timeout shows even on a loaded machine


def slow(request):
    time.sleep(SLOW)
    return Response('{"data": {"reference": "pay1", "status": "Paid", "amountToCollect": "12.50"}}',
                    content_type="application/json")


def server_error(request):
    return Response('{"errors": [{"code": "internal"}]}', status=500, content_type="application/json")


def malformed(request):
    return Response('{"data": {"reference": "pay1", "status": "Pa', content_type="application/json")


FAILURES = {"slow": slow, "500": server_error, "malformed JSON": malformed}


@pytest.fixture
def payment(shop, cashflows, settings):
    settings.GATEWAY_TIMEOUT_SECONDS = TIMEOUT
    with scope(tenant=shop.tenant):
        return GatewayPaymentFactory(gateway_account=cashflows, account=shop, amount="12.50",
                                     provider_reference="job1/pay1")


@pytest.fixture
def staff_sees(tenant, staff_client):
    def status_shown(payment) -> str:
        response = staff_client.get("/payments/")
        assert response.status_code == 200
        row = response.text.split(payment.reference, 1)[1].split("</tr>", 1)[0]
        return next(label for label in PaymentStatus.labels if f"<td>{label}" in row)

    return status_shown


def notify(cashflows, shop):
    response = Client().post(f"/webhooks/cashflows/{cashflows.webhook_token}/", data=CASHFLOWS_NOTIFICATION,
                             content_type="application/json")
    assert response.status_code == 200
    return WebhookDelivery.objects.get()


def janitor_poll(shop, payment):
    """The janitor's task, run here in the test's process (it succeeds, so no retry is involved)."""
    tasks.poll_payment.apply(kwargs={"tenant_id": shop.tenant.pk, "payment_id": payment.pk}).get()


def settled_once(shop, payment, delivery):
    with scope(tenant=shop.tenant):
        settled = GatewayPayment.objects.get(pk=payment.pk)
        assert settled.status == PaymentStatus.SUCCEEDED
        assert settled.ledger_payment.total_amount == payment.amount
        # the delivery's own retry comes after the poll and changes nothing
        process_webhook_delivery(tenant=shop.tenant, delivery_id=delivery.pk, at=timezone.now())
        assert WebhookDelivery.objects.get().outcome == WebhookOutcome.PROCESSED
        assert [e.to_status for e in settled.events.all()] == ["succeeded"]
    assert_ledger_invariants(shop.tenant)


@pytest.mark.django_db(transaction=True)
class TestProviderFailsTheFetchBack:
    @pytest.mark.parametrize("failure", list(FAILURES))
    def test_the_payment_stays_pending_and_visible_and_a_later_poll_settles_it(
        self, failure, shop, cashflows, payment, fake_cashflows, staff_sees
    ):
        fake_cashflows.answers = [FAILURES[failure], fake_cashflows.status("Paid")]
        delivery = notify(cashflows, shop)

        started = time.monotonic()
        with scope(tenant=shop.tenant), pytest.raises(GatewayUnavailable):
            process_webhook_delivery(tenant=shop.tenant, delivery_id=delivery.pk, at=timezone.now())
        took = time.monotonic() - started

        assert took < SLOW - 1
        assert fake_cashflows.calls == 1
        assert (WebhookDelivery.objects.get().outcome, WebhookDelivery.objects.get().attempts) == ("received", 1)
        with scope(tenant=shop.tenant):
            assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
            assert staff_sees(payment) == "Pending"
        assert_ledger_invariants(shop.tenant)
        if failure == "slow":
            time.sleep(SLOW - took + 0.1)  # the fake server answers one request at a time

        janitor_poll(shop, payment)

        assert fake_cashflows.calls == 2
        settled_once(shop, payment, delivery)

    def test_a_status_that_moved_on_is_taken_from_the_fetch_back_and_a_later_poll_settles_it(
        self, shop, cashflows, payment, fake_cashflows, staff_sees
    ):
        fake_cashflows.answers = [fake_cashflows.status("Reserved"), fake_cashflows.status("Paid")]
        delivery = notify(cashflows, shop)

        with scope(tenant=shop.tenant):
            result = process_webhook_delivery(tenant=shop.tenant, delivery_id=delivery.pk,
                                                       at=timezone.now())

            assert (result.outcome, result.detail) == ("processed", f"{payment.reference}: processing")
            assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.PROCESSING
            assert staff_sees(payment) == "Processing"
            stale = stale_payments(older_than=timedelta(minutes=15), at=timezone.now() + timedelta(hours=1))
            assert list(stale) == [payment]
        assert_ledger_invariants(shop.tenant)

        janitor_poll(shop, payment)

        with scope(tenant=shop.tenant):
            settled = GatewayPayment.objects.get(pk=payment.pk)
            assert settled.status == PaymentStatus.SUCCEEDED
            assert [e.to_status for e in settled.events.all()] == ["processing", "succeeded"]
        assert_ledger_invariants(shop.tenant)
