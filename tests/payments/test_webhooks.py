"""Webhooks from delivery to ledger: stored once, processed once, never doubling a payment."""

import hashlib
import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django_scopes import scope

from finance.models import Classification, FinancialTransaction
from gateways import services as gateway_services
from gateways.models import WebhookDelivery, WebhookOutcome
from payments import tasks
from payments.models import GatewayPayment, PaymentStatus
from payments.services.webhooks import process_webhook_delivery, replay_webhook_delivery
from tests.factories import AccountFactory, GatewayPaymentFactory
from tests.gateways.test_inbox import SECRET, signed, stripe_event
from tests.helpers import at_once, wait_for
from tests.payments.test_gateway_payments import AT

D = Decimal


@pytest.fixture
def stripe_account(ledger):
    return gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_test_1",
                                                 settings={"webhook_secret": SECRET})


@pytest.fixture
def gbp_account(ledger, customer):

    return AccountFactory(customer=customer, currency="GBP")


def deliver(account, body):
    return Client().post(f"/webhooks/{account.provider}/{account.webhook_token}/", data=body,
                         content_type="application/json", **signed(body))


def process_all(tenant):
    for delivery_id in WebhookDelivery.objects.filter(outcome=WebhookOutcome.RECEIVED).values_list("pk", flat=True):
        tasks.process_webhook_delivery.apply(kwargs={"tenant_id": tenant.pk, "delivery_id": delivery_id})


def ledger_payments():
    return FinancialTransaction.objects.filter(classification=Classification.PAYMENT)


@pytest.mark.django_db
class TestProcessing:
    def test_a_success_event_books_the_payment_once(self, ledger, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.50",
                                        provider_reference="pi_1")
        body = stripe_event(event_id="evt_ok", intent="pi_1")
        deliver(stripe_account, body)
        deliver(stripe_account, body)

        process_all(ledger)
        process_all(ledger)

        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
        assert ledger_payments().count() == 1
        delivery = WebhookDelivery.objects.get()
        assert delivery.outcome == WebhookOutcome.PROCESSED
        assert delivery.detail == f"{payment.reference}: succeeded"

    def test_out_of_order_events_change_nothing_after_the_success(self, ledger, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.50",
                                        provider_reference="pi_2")
        deliver(stripe_account, stripe_event(event_id="evt_paid", intent="pi_2"))
        process_all(ledger)

        deliver(stripe_account, stripe_event(event_id="evt_late", event_type="payment_intent.processing",
                                             intent="pi_2"))
        deliver(stripe_account, stripe_event(event_id="evt_failed", event_type="payment_intent.payment_failed",
                                             intent="pi_2"))
        process_all(ledger)

        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
        assert ledger_payments().count() == 1
        assert [e.to_status for e in payment.events.all()] == ["succeeded"]

    def test_an_unknown_reference_or_event_type_is_stored_and_ignored(self, ledger, stripe_account, gbp_account):
        GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.50",
                              provider_reference="pi_3")
        deliver(stripe_account, stripe_event(event_id="evt_other", intent="pi_nobody"))
        deliver(stripe_account, stripe_event(event_id="evt_type", event_type="customer.created", intent="pi_3"))

        process_all(ledger)

        outcomes = dict(WebhookDelivery.objects.values_list("event_id", "detail"))
        assert outcomes == {"evt_other": "No payment has the reference pi_nobody.",
                            "evt_type": "Event type customer.created is not acted on."}
        assert ledger_payments().count() == 0

    def test_a_replayed_delivery_is_processed_again_without_doubling(self, ledger, stripe_account, gbp_account,
                                                                    django_capture_on_commit_callbacks):
        GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.50",
                              provider_reference="pi_4")
        deliver(stripe_account, stripe_event(event_id="evt_replay", intent="pi_4"))
        process_all(ledger)
        delivery = WebhookDelivery.objects.get()

        with django_capture_on_commit_callbacks():
            replay_webhook_delivery(delivery=delivery)
        process_all(ledger)

        assert WebhookDelivery.objects.get().outcome == WebhookOutcome.PROCESSED
        assert ledger_payments().count() == 1


@pytest.mark.django_db
class TestCashflowsConfirmation:
    def test_an_unsigned_notification_is_confirmed_by_fetching_the_status(self, ledger, gbp_account, httpserver,
                                                                         settings):
        settings.GATEWAY_BASE_URLS = {"cashflows": httpserver.url_for("").rstrip("/")}
        account = gateway_services.save_gateway_account(tenant=ledger, provider="cashflows", live=False,
                                                        secret="cf-key", settings={"configuration_id": "cfg-1"})
        payment = GatewayPaymentFactory(gateway_account=account, account=gbp_account, amount="12.50",
                                        provider_reference="job1/pay1")
        httpserver.expect_request("/api/gateway/payment-jobs/job1/payments/pay1", method="GET").respond_with_json(
            {"data": {"reference": "pay1", "status": "Paid", "amountToCollect": "12.50"}})
        body = json.dumps({"paymentJobReference": "job1", "paymentReference": "pay1"}).encode()

        response = Client().post(f"/webhooks/cashflows/{account.webhook_token}/", data=body,
                                 content_type="application/json")
        process_all(ledger)

        assert response.status_code == 200, response.content
        assert WebhookDelivery.objects.get().detail == f"{payment.reference}: succeeded"
        request = httpserver.log[0][0]
        assert request.headers["Hash"] == hashlib.sha512(b"cf-key").hexdigest()
        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
        assert ledger_payments().count() == 1

    def test_a_job_reference_becomes_the_payments_once_the_payer_pays(self, ledger, gbp_account, httpserver,
                                                                      settings):
        settings.GATEWAY_BASE_URLS = {"cashflows": httpserver.url_for("").rstrip("/")}
        account = gateway_services.save_gateway_account(tenant=ledger, provider="cashflows", live=False,
                                                        secret="cf-key", settings={"configuration_id": "cfg-1"})
        payment = GatewayPaymentFactory(gateway_account=account, account=gbp_account, amount="12.50",
                                        provider_reference="job3")
        httpserver.expect_request("/api/gateway/payment-jobs/job3/payments/pay3", method="GET").respond_with_json(
            {"data": {"reference": "pay3", "status": "Paid", "amountToCollect": "12.50"}})
        body = json.dumps({"paymentJobReference": "job3", "paymentReference": "pay3"}).encode()

        Client().post(f"/webhooks/cashflows/{account.webhook_token}/", data=body, content_type="application/json")
        process_all(ledger)

        settled = GatewayPayment.objects.get(pk=payment.pk)
        assert (settled.provider_reference, settled.status) == ("job3/pay3", PaymentStatus.SUCCEEDED)

    def test_a_provider_down_during_confirmation_leaves_the_delivery_to_retry(self, ledger, gbp_account, settings):
        settings.GATEWAY_BASE_URLS = {"cashflows": "http://127.0.0.1:9"}
        account = gateway_services.save_gateway_account(tenant=ledger, provider="cashflows", live=False,
                                                        secret="cf-key", settings={"configuration_id": "cfg-1"})
        payment = GatewayPaymentFactory(gateway_account=account, account=gbp_account, amount="12.50",
                                        provider_reference="job2/pay2")
        body = json.dumps({"paymentJobReference": "job2", "paymentReference": "pay2"}).encode()
        Client().post(f"/webhooks/cashflows/{account.webhook_token}/", data=body, content_type="application/json")
        delivery = WebhookDelivery.objects.get()

        from gateways.base import GatewayUnavailable

        with pytest.raises(GatewayUnavailable):
            process_webhook_delivery(tenant=ledger, delivery_id=delivery.pk, at=AT)

        assert WebhookDelivery.objects.get().outcome == WebhookOutcome.RECEIVED
        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING


@pytest.mark.worker
class TestOnARealWorker:
    def test_ten_simultaneous_copies_of_a_success_post_one_ledger_payment(self, celery_worker, tenant):
        with scope(tenant=tenant):
            from finance import services as ledger_services
            from tests.factories import CustomerFactory

            ledger_services.set_up_ledger(tenant=tenant)
            account = ledger_services.open_account(customer=CustomerFactory(tenant=tenant), currency="GBP")
            stripe = gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                           secret="sk_test_1", settings={"webhook_secret": SECRET})
            payment = GatewayPaymentFactory(gateway_account=stripe, account=account, amount="12.50",
                                            provider_reference="pi_race")
        body = stripe_event(event_id="evt_race_worker", intent="pi_race")
        barrier = threading.Barrier(10)
        answers = []

        def send():
            try:
                barrier.wait(timeout=10)
                answers.append(deliver(stripe, body).status_code)
            finally:
                connection.close()

        at_once(send, times=10)

        with scope(tenant=tenant):
            wait_for(lambda: GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED)
            time.sleep(0.5)  # room for any second booking to show itself
            assert answers == [200] * 10
            assert ledger_payments().count() == 1
            assert WebhookDelivery.objects.get().outcome == WebhookOutcome.PROCESSED
