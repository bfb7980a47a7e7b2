"""Gateway payments end to end on the ledger, with Stripe as a local fake server."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scope

from crm.models import Customer
from finance import services as ledger
from finance.models import Account, Allocation, Classification, FinancialTransaction
from gateways import services as gateway_services
from gateways.base import GatewayUnavailable
from notifications.models import Notification
from payments.models import GatewayPayment, GatewayRefund, PaymentStatus, RefundStatus
from payments.services.gateway_payments import apply_state, refresh_payment, stale_payments, start_payment
from payments.services.notices import send_waiting_notices
from payments.services.refunds import refund_payment, retry_refund
from tests.factories import GatewayPaymentFactory, InvoiceFactory
from tests.gateways.test_stripe import intent_json, session_json

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
D = Decimal


@pytest.fixture
def stripe_account(ledger, settings, httpserver):
    settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
    return gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_test_1",
                                                 settings={"webhook_secret": "whsec_1"})


@pytest.fixture
def gbp_account(ledger, customer):
    return ledger_account(customer, "GBP")


def ledger_account(customer, currency):
    return ledger.open_account(customer=customer, currency=currency)


def ledger_payments():
    return FinancialTransaction.objects.filter(classification=Classification.PAYMENT)


@pytest.mark.django_db
class TestApplyState:
    def test_a_success_books_one_ledger_payment_allocated_to_the_invoice(self, stripe_account, gbp_account):
        invoice = InvoiceFactory(account=gbp_account, price="120.00")
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, invoice=invoice)

        settled = apply_state(payment=payment, status="succeeded", at=AT, source="test",
                                       amount_minor=12000).payment

        booked = ledger_payments().get()
        assert settled.status == PaymentStatus.SUCCEEDED
        assert settled.ledger_payment == booked
        assert booked.external_reference == "cs_test_a1B2c3"
        assert booked.total_amount == D("120.00")
        assert list(Allocation.objects.values_list("credit_id", "debit_id", "amount")) == [
            (booked.pk, invoice.pk, D("120.00"))]
        assert Account.objects.get(pk=gbp_account.pk).balance == D("0.00")
        assert [(e.from_status, e.to_status) for e in settled.events.all()] == [("pending", "succeeded")]

    def test_a_success_twice_or_a_late_processing_changes_nothing(self, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)
        apply_state(payment=payment, status="succeeded", at=AT, source="test")

        apply_state(payment=payment, status="succeeded", at=AT, source="duplicate")
        after = apply_state(payment=payment, status="processing", at=AT, source="late").payment

        assert after.status == PaymentStatus.SUCCEEDED
        assert ledger_payments().count() == 1
        assert after.events.count() == 1

    def test_a_failure_then_a_success_books_the_success(self, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)

        apply_state(payment=payment, status="failed", at=AT, source="test", failure_message="Declined")
        after = apply_state(payment=payment, status="succeeded", at=AT, source="test").payment

        assert after.status == PaymentStatus.SUCCEEDED
        assert [(e.from_status, e.to_status) for e in after.events.all()] == [
            ("pending", "failed"), ("failed", "succeeded")]

    def test_money_arriving_after_expiry_is_still_booked(self, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)
        apply_state(payment=payment, status="expired", at=AT, source="sweep")

        after = apply_state(payment=payment, status="succeeded", at=AT, source="late webhook").payment

        assert after.status == PaymentStatus.SUCCEEDED
        assert ledger_payments().count() == 1

    def test_a_different_amount_is_refused_and_nothing_is_booked(self, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)

        with pytest.raises(ValueError, match=r"reports 100\.00 GBP, not 120\.00"):
            apply_state(payment=payment, status="succeeded", at=AT, source="test", amount_minor=10000)

        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
        assert ledger_payments().count() == 0


@pytest.mark.django_db(transaction=True)
class TestConcurrentSuccess:
    def test_ten_simultaneous_successes_book_one_payment(self, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)
        tenant = gbp_account.tenant
        barrier = threading.Barrier(10)
        errors = []

        def succeed():
            try:
                with scope(tenant=tenant):
                    barrier.wait(timeout=10)
                    apply_state(payment=payment, status="succeeded", at=AT, source="race")
            except BaseException as error:
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=succeed) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert errors == []
        assert ledger_payments().count() == 1
        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


@pytest.mark.django_db
class TestStartPayment:
    def test_stores_the_providers_reference_and_hosted_page(self, stripe_account, gbp_account, httpserver):
        httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(session_json())

        payment = start_payment(
            gateway_account=stripe_account, account=gbp_account, amount=D("12.34"), description="Broker fee",
            mode="hosted_page", return_url="https://duly.test/paid", webhook_url="https://duly.test/hook", at=AT,
        ).payment

        assert payment.status == PaymentStatus.PENDING
        assert payment.provider_reference == "cs_test_a1B2c3"
        assert payment.redirect_url.startswith("https://checkout.stripe.com/c/pay/cs_test_a1B2c3")
        sent = dict(httpserver.log[0][0].form)
        assert sent["line_items[0][price_data][unit_amount]"] == "1234"
        assert sent["client_reference_id"] == payment.reference

    def test_a_provider_that_does_not_answer_leaves_it_pending_and_visible(self, ledger, gbp_account, settings):
        settings.GATEWAY_BASE_URLS = {"stripe": "http://127.0.0.1:9"}
        account = gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_1",
                                                        settings={"webhook_secret": "whsec_1"})

        payment = start_payment(
            gateway_account=account, account=gbp_account, amount=D("12.34"), description="Broker fee",
            mode="hosted_page", return_url="https://duly.test/paid", webhook_url="https://duly.test/hook", at=AT,
        ).payment

        stored = GatewayPayment.objects.get(pk=payment.pk)
        assert stored.status == PaymentStatus.PENDING
        assert stored.provider_reference == ""
        assert stored.failure_message.startswith("The provider did not answer; the payment stays pending.")

    def test_a_currency_the_provider_cannot_take_is_refused(self, ledger, customer):
        settings_account = gateway_services.save_gateway_account(
            tenant=ledger, provider="credicorp", live=False, secret="k",
            settings={"base_url": "http://127.0.0.1:9", "callback_secret": "s"})
        eur = ledger_account(customer, "EUR")

        with pytest.raises(ValueError, match="cannot take EUR"):
            start_payment(gateway_account=settings_account, account=eur, amount=D(1), description="x",
                                   mode="hosted_page", return_url="https://x", webhook_url="https://x", at=AT)

        assert GatewayPayment.objects.count() == 0


@pytest.mark.django_db
class TestJanitor:
    def test_a_stale_payment_is_settled_from_the_providers_answer(self, stripe_account, gbp_account, httpserver):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                        provider_reference="pi_3Duly", amount="12.34")
        httpserver.expect_request("/v1/payment_intents/pi_3Duly", method="GET").respond_with_json(
            intent_json(status="succeeded", amount_received=1234))

        stale = list(stale_payments(older_than=timedelta(minutes=15), at=AT + timedelta(hours=1)))
        settled = refresh_payment(payment=stale[0], at=AT + timedelta(hours=1), source="janitor").payment

        assert stale == [payment]
        assert settled.status == PaymentStatus.SUCCEEDED
        assert ledger_payments().count() == 1

    def test_a_fresh_or_settled_payment_is_left_alone(self, stripe_account, gbp_account):
        fresh = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                      provider_reference="pi_fresh")
        done = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, provider_reference="pi_done")
        apply_state(payment=done, status="succeeded", at=AT, source="test")

        assert list(stale_payments(older_than=timedelta(minutes=15), at=AT + timedelta(minutes=5))) == []
        assert fresh.status == PaymentStatus.PENDING

    def test_an_unavailable_provider_raises_for_a_retry_and_changes_nothing(self, ledger, gbp_account, settings):
        settings.GATEWAY_BASE_URLS = {"stripe": "http://127.0.0.1:9"}
        account = gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_1",
                                                        settings={"webhook_secret": "whsec_1"})
        payment = GatewayPaymentFactory(gateway_account=account, account=gbp_account, provider_reference="pi_down")

        with pytest.raises(GatewayUnavailable):
            refresh_payment(payment=payment, at=AT, source="janitor")

        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING


@pytest.mark.django_db
class TestRefunds:
    def test_a_refund_is_recorded_sent_with_its_key_and_booked(self, stripe_account, gbp_account, httpserver):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                        provider_reference="pi_3Duly")
        apply_state(payment=payment, status="succeeded", at=AT, source="test")
        httpserver.expect_request("/v1/refunds", method="POST").respond_with_json(
            {"id": "re_1", "object": "refund", "amount": 5000, "currency": "gbp", "status": "succeeded",
             "payment_intent": "pi_3Duly"})

        refund = refund_payment(payment=payment, amount=D("50.00"), actor=None, at=AT)

        assert refund.status == RefundStatus.SUCCEEDED
        assert refund.ledger_refund.total_amount == D("50.00")
        assert refund.ledger_refund.external_reference == "re_1"
        assert httpserver.log[0][0].headers["Idempotency-Key"] == refund.idempotency_key
        assert Account.objects.get(pk=gbp_account.pk).balance == D("-70.00")
        assert retry_refund(refund=refund, at=AT) == refund
        assert len(httpserver.log) == 1

    def test_more_than_is_left_is_refused(self, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                        provider_reference="pi_3Duly")
        apply_state(payment=payment, status="succeeded", at=AT, source="test")

        with pytest.raises(ValidationError) as refused:
            refund_payment(payment=payment, amount=D("120.01"), actor=None, at=AT)

        assert refused.value.message_dict == {"amount": ["At most £120.00 can still be refunded."]}

        assert GatewayRefund.objects.count() == 0

    def test_an_unavailable_provider_keeps_the_refund_requested_and_the_retry_uses_the_same_key(
        self, stripe_account, gbp_account, httpserver, settings
    ):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                        provider_reference="pi_3Duly")
        apply_state(payment=payment, status="succeeded", at=AT, source="test")
        httpserver.expect_ordered_request("/v1/refunds", method="POST").respond_with_data("boom", status=500)
        httpserver.expect_ordered_request("/v1/refunds", method="POST").respond_with_json(
            {"id": "re_2", "object": "refund", "amount": 12000, "currency": "gbp", "status": "succeeded"})

        with pytest.raises(GatewayUnavailable):
            refund_payment(payment=payment, amount=D("120.00"), actor=None, at=AT)
        refund = GatewayRefund.objects.get()
        assert refund.status == RefundStatus.REQUESTED

        retried = retry_refund(refund=refund, at=AT)

        keys = [entry[0].headers["Idempotency-Key"] for entry in httpserver.log]
        assert keys == [refund.idempotency_key, refund.idempotency_key]
        assert retried.status == RefundStatus.SUCCEEDED
        assert FinancialTransaction.objects.filter(classification=Classification.REFUND).count() == 1


@pytest.fixture
def eager_tasks():
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.django_db
class TestJanitorTask:
    def test_the_beat_task_polls_each_stale_payment_in_its_tenant(self, stripe_account, gbp_account, httpserver,
                                                                  eager_tasks, settings):
        from payments import tasks

        settings.PAYMENTS_STALE_AFTER = timedelta(minutes=15)
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                        provider_reference="pi_3Duly", amount="12.34")
        GatewayPayment.objects.filter(pk=payment.pk).update(updated_at=AT - timedelta(days=1))
        httpserver.expect_request("/v1/payment_intents/pi_3Duly", method="GET").respond_with_json(
            intent_json(status="succeeded", amount_received=1234))

        tasks.poll_stale_payments.apply()

        settled = GatewayPayment.objects.get(pk=payment.pk)
        assert settled.status == PaymentStatus.SUCCEEDED
        assert [e.source for e in settled.events.all()] == ["janitor"]
        assert ledger_payments().count() == 1


@pytest.mark.django_db
class TestStaffHearWhenTheProviderFinishes:
    def test_the_staff_member_who_took_it_gets_an_in_app_notice_of_a_failure_then_of_the_success(
        self, stripe_account, gbp_account, staff
    ):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.34")
        GatewayPayment.objects.filter(pk=payment.pk).update(created_by=staff)

        apply_state(payment=payment, status="failed", at=AT, source="test",
                             failure_message="Your card was declined.")
        apply_state(payment=payment, status="succeeded", at=AT, source="test")
        send_waiting_notices(tenant=payment.tenant)  # the notifications worker's part

        notices = Notification.objects.filter(recipient_user=staff, channel="in_app").order_by("id")
        what = payment.description or payment.reference
        assert [n.subject for n in notices] == ["A payment of £12.34 failed", "Harriet Holloway paid £12.34"]
        assert notices[0].body == (
            f"The payment of £12.34 by Harriet Holloway for {what} failed: Your card was declined.")
        assert notices[1].body == f"Harriet Holloway paid £12.34 for {what} (ref {payment.provider_reference})."
        assert notices[1].link == f"/payments/{payment.pk}/"


@pytest.mark.django_db
class TestThePayerIsConfirmed:
    def test_by_email_with_the_receipts_link_once_however_often_the_success_arrives(
        self, stripe_account, gbp_account, staff, customer,
    ):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.34")

        apply_state(payment=payment, status="succeeded", at=AT, source="webhook")
        send_waiting_notices(tenant=payment.tenant)
        apply_state(payment=payment, status="succeeded", at=AT, source="the same webhook again")
        send_waiting_notices(tenant=payment.tenant)

        [confirmation] = Notification.objects.filter(template_key="payment_received")
        assert (confirmation.channel, confirmation.recipient) == ("email", customer.email)
        assert confirmation.subject == "We received your payment of £12.34"
        assert "/receipts/" in confirmation.body

    def test_by_sms_when_the_customer_has_only_a_phone(self, stripe_account, gbp_account, customer):
        Customer.objects.filter(pk=customer.pk).update(email="", phone="+447911123456")
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.34")

        apply_state(payment=payment, status="succeeded", at=AT, source="webhook")
        assert send_waiting_notices(tenant=payment.tenant) == [payment.pk]

        [confirmation] = Notification.objects.filter(template_key="payment_received")
        assert (confirmation.channel, confirmation.recipient) == ("sms", "+447911123456")
        assert confirmation.body == f"Acme Brokers: thank you, we received £12.34 (ref {payment.provider_reference})."

    def test_not_at_all_when_the_customer_has_no_address(self, stripe_account, gbp_account, customer):
        Customer.objects.filter(pk=customer.pk).update(email="", phone="")
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.34")

        apply_state(payment=payment, status="succeeded", at=AT, source="webhook")
        assert send_waiting_notices(tenant=payment.tenant) == [payment.pk]

        assert not Notification.objects.filter(template_key="payment_received").exists()
