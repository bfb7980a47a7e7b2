"""Fees on the customer file and Take Payment (permissions, tenancy, the status fragment)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from finance import services as ledger_services
from finance.models import Classification, Lender, TransactionType
from gateways import services as gateway_services
from tests.conftest import logged_in
from tests.factories import UserFactory
from tests.gateways.test_cashflows import API_KEY, CONFIGURATION_ID, JOB, cashflows
from tests.gateways.test_stripe import intent_json
from tests.helpers import assert_404_for_other_tenant


def post_fee(account, name, price, *, lender=None):
    kind = TransactionType.objects.get(tenant=account.tenant, classification=Classification.INVOICE, name=name)
    draft = ledger_services.create_transaction(
        account=account,
        classification=Classification.INVOICE,
        actor=None,
        at=timezone.now(),
        lender=lender,
        data=ledger_services.TransactionData(
            type=kind, lines=[ledger_services.LineData(name, Decimal(1), Decimal(price))]
        ),
    )
    return ledger_services.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction


@pytest.fixture
def fees(ledger, customer):
    account = ledger_services.open_account(customer=customer, currency="GBP")
    gateway_services.save_gateway_account(tenant=ledger, provider="sandbox", live=False, secret="sbx_fee_secret")
    lender = Lender.objects.create(tenant=ledger, name="Northbank Mortgages")
    return post_fee(account, "Broker fee", "150.00"), post_fee(account, "Procuration fee", "400.00", lender=lender)


@pytest.fixture
def cashier(tenant):
    return logged_in(UserFactory(tenant=tenant, role_keys=["staff", "can_take_payment"]))


@pytest.mark.django_db
class TestFeesPanel:
    def test_offers_take_payment_only_on_customer_fees_to_those_allowed(self, fees, cashier, staff_client,
                                                                       customer):
        broker, procuration = fees
        url = reverse("payments:fees_panel", args=[customer.pk])

        allowed = cashier.get(url).text
        others = staff_client.get(url).text

        assert reverse("payments:take_payment", args=[broker.pk]) in allowed
        assert reverse("payments:take_payment", args=[procuration.pk]) not in allowed
        assert "Due from Northbank Mortgages" in allowed
        assert "Take Payment" not in others

    def test_another_tenant_gets_404(self, fees, other_tenant, customer):
        other = logged_in(UserFactory(tenant=other_tenant, role_keys=["staff", "can_take_payment"]))
        broker, _ = fees

        assert_404_for_other_tenant(other, reverse("payments:fees_panel", args=[customer.pk]))
        assert_404_for_other_tenant(other, reverse("payments:take_payment", args=[broker.pk]))
        assert_404_for_other_tenant(other, reverse("payments:take_payment", args=[broker.pk]), method="post",
                                    data={})


@pytest.mark.django_db
class TestTakePaymentRefusals:
    def test_without_the_permission_the_page_is_refused(self, fees, staff_client):
        broker, _ = fees

        assert staff_client.get(reverse("payments:take_payment", args=[broker.pk])).status_code == 403
        assert staff_client.post(reverse("payments:take_payment", args=[broker.pk])).status_code == 403

    def test_a_fee_due_from_a_lender_is_never_taken_from_the_customer(self, fees, cashier):
        _, procuration = fees

        response = cashier.post(reverse("payments:take_payment", args=[procuration.pk]))

        assert response.status_code == 403
        with scope(tenant=procuration.tenant):
            from payments.models import GatewayPayment

            assert GatewayPayment.objects.count() == 0

    def test_an_ordinary_invoice_is_not_a_fee(self, ledger, customer, cashier):
        account = ledger_services.open_account(customer=customer, currency="EUR")
        draft = ledger_services.create_transaction(
            account=account,
            classification=Classification.INVOICE,
            actor=None,
            at=timezone.now(),
            data=ledger_services.TransactionData(lines=[ledger_services.LineData("x", Decimal(1), Decimal(5))]),
        )
        invoice = ledger_services.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction

        assert cashier.get(reverse("payments:take_payment", args=[invoice.pk])).status_code == 404


@pytest.fixture
def broker_fee(ledger, customer):
    return post_fee(ledger_services.open_account(customer=customer, currency="GBP"), "Broker fee", "150.00")


@pytest.mark.django_db
class TestEachGatewaysOwnCardFields:
    """The page mounts the provider's own fields: Stripe's Payment Element (Stripe.js must come from
    js.stripe.com), Cashflows' client library (served by Duly) over its intent token. No browser can
    reach those providers offline, so these tests check what the page hands the provider's script."""

    def test_stripe_gets_the_payment_intents_client_secret_and_the_publishable_key(
            self, ledger, broker_fee, cashier, settings, httpserver):
        settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
        gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_test_1",
                                              settings={"publishable_key": "pk_test_Duly", "webhook_secret": "whsec_1"})
        httpserver.expect_oneshot_request("/v1/payment_intents", method="POST").respond_with_json(
            intent_json(id="pi_3Fee", client_secret="pi_3Fee_secret_xyz", amount=15000))

        page = cashier.post(reverse("payments:take_payment", args=[broker_fee.pk])).content.decode()

        httpserver.check_assertions()
        assert 'data-provider="stripe"' in page
        assert 'data-client-token="pi_3Fee_secret_xyz"' in page
        assert 'data-publishable-key="pk_test_Duly"' in page
        assert '<script src="https://js.stripe.com/v3/"></script>' in page
        assert 'id="stripe-payment-element"' in page
        with scope(tenant=ledger):
            payment = broker_fee.gateway_payments.get()
        assert (payment.provider, payment.provider_reference, payment.amount) == (
            "stripe", "pi_3Fee", Decimal("150.00"))

    def test_cashflows_gets_the_intent_token_and_its_integration_host(
            self, ledger, broker_fee, cashier, settings, httpserver):
        settings.GATEWAY_BASE_URLS = {"cashflows": httpserver.url_for("").rstrip("/")}
        gateway_services.save_gateway_account(tenant=ledger, provider="cashflows", live=False, secret=API_KEY,
                                              settings={"configuration_id": CONFIGURATION_ID})
        httpserver.expect_oneshot_request("/api/gateway/payment-intents/", method="POST").respond_with_handler(
            cashflows({"data": {"token": "3f6e4a0c-intent-token", "paymentJobReference": int(JOB),
                                "paymentStatus": "Pending"}}, status=201))

        page = cashier.post(reverse("payments:take_payment", args=[broker_fee.pk])).content.decode()

        httpserver.check_assertions()
        assert 'data-provider="cashflows"' in page
        assert 'data-client-token="3f6e4a0c-intent-token"' in page
        assert 'data-integration="true"' in page
        assert "payments/vendor/cashflows-clientlib-1.0.51" in page
        for field in ("card-number", "card-name", "card-expiration", "card-cvc", "pay-with-card"):
            assert f'id="{field}"' in page
        with scope(tenant=ledger):
            payment = broker_fee.gateway_payments.get()
        assert (payment.provider, payment.provider_reference, payment.amount) == (
            "cashflows", JOB, Decimal("150.00"))

    def test_a_stripe_account_without_its_publishable_key_is_named_before_anything_starts(
            self, ledger, broker_fee, cashier, settings, httpserver):
        settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
        gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_test_1",
                                              settings={"webhook_secret": "whsec_1"})

        page = cashier.post(reverse("payments:take_payment", args=[broker_fee.pk])).content.decode()

        assert ("Stripe card fields need the account&#x27;s publishable key; support adds it to the gateway "
                "account.") in page
        assert httpserver.log == []
        with scope(tenant=ledger):
            assert not broker_fee.gateway_payments.exists()

    def test_a_tenant_with_only_credicorp_is_told_no_gateway_takes_cards_here(self, ledger, broker_fee, cashier):
        gateway_services.save_gateway_account(
            tenant=ledger, provider="credicorp", live=False, secret="cc_secret",
            settings={"base_url": "https://credicorp.test", "callback_secret": "cb_1"})

        page = cashier.get(reverse("payments:take_payment", args=[broker_fee.pk])).content.decode()

        assert "No payment gateway of yours takes GBP for card payments taken by staff." in page


@pytest.mark.django_db
def test_take_payment_saves_the_card_when_the_customer_agrees(ledger, broker_fee, cashier, settings, httpserver):
    """Staff tick that the customer agrees: Stripe gets a Customer and ``setup_future_usage``, and the consent
    is recorded as given at Take Payment."""
    settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
    gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_test_1",
                                          settings={"publishable_key": "pk_test_Duly", "webhook_secret": "whsec_1"})
    httpserver.expect_ordered_request("/v1/customers", method="POST").respond_with_json(
        {"id": "cus_Fee", "object": "customer"})
    httpserver.expect_ordered_request("/v1/payment_intents", method="POST").respond_with_json(
        intent_json(id="pi_3Fee", client_secret="pi_3Fee_secret_xyz", amount=15000))

    offer = cashier.get(reverse("payments:take_payment", args=[broker_fee.pk])).content.decode()
    cashier.post(reverse("payments:take_payment", args=[broker_fee.pk]), {"save_card": "1"})

    assert "The customer agrees: Save this card so that Acme Brokers" in offer
    intent = dict(httpserver.log[-1][0].form)
    assert (intent["customer"], intent["setup_future_usage"]) == ("cus_Fee", "off_session")
    with scope(tenant=ledger):
        consent = broker_fee.gateway_payments.get().card_consent
    assert (consent["source"], consent["text"][:38]) == ("take_payment", "Save this card so that Acme Brokers ca")
