"""'Test connection': one cheap authenticated call per provider, and the admin action that makes it."""

import hashlib

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from gateways import registry, services
from gateways.base import GatewayError, GatewayUnavailable
from gateways.cashflows import CashflowsGateway
from gateways.credicorp import CredicorpGateway
from gateways.models import GatewayAccount
from gateways.stripe import StripeGateway
from tests.gateways.conftest import closed_port_url
from tests.gateways.test_cashflows import API_KEY, CONFIGURATION_ID
from tests.gateways.test_cashflows import CREDENTIALS as CASHFLOWS
from tests.gateways.test_credicorp import credentials as credicorp_credentials
from tests.gateways.test_stripe import CREDENTIALS as STRIPE
from tests.sandbox.conftest import OTHER_SECRET, SECRET
from tests.sandbox.test_adapter import InProcessTransport, gateway_with

STRIPE_AUTH_ERROR = {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***"}}


class TestStripe:
    def test_reads_the_balance_with_the_key(self, base_url, httpserver):
        httpserver.expect_request("/v1/balance", method="GET", headers={"Authorization": "Bearer sk_test_51Duly"}) \
            .respond_with_json({"object": "balance", "available": [], "pending": [], "livemode": False})

        StripeGateway(STRIPE, base_url=base_url).check_connection()

        assert [entry[0].path for entry in httpserver.log] == ["/v1/balance"]

    def test_a_refused_key_is_a_gateway_error(self, base_url, httpserver):
        httpserver.expect_request("/v1/balance").respond_with_json(STRIPE_AUTH_ERROR, status=401)

        with pytest.raises(GatewayError, match="Invalid API Key"):
            StripeGateway(STRIPE, base_url=base_url).check_connection()

    def test_no_answer_is_unavailable(self):
        with pytest.raises(GatewayUnavailable):
            StripeGateway(STRIPE, base_url=closed_port_url(), timeout=1).check_connection()


class TestCashflows:
    def test_a_signed_get_answered_404_means_the_credentials_are_accepted(self, base_url, httpserver):
        httpserver.expect_request("/api/gateway/payment-jobs/duly-connection-check", method="GET").respond_with_json(
            {"errorReport": {"errors": [{"code": "NotFound", "message": "No such job"}]}}, status=404)

        CashflowsGateway(CASHFLOWS, base_url=base_url).check_connection()

        sent = httpserver.log[0][0].headers
        assert (sent["ConfigurationId"], sent["Hash"]) == (CONFIGURATION_ID,
                                                          hashlib.sha512(API_KEY.encode()).hexdigest())

    def test_refused_credentials_are_a_gateway_error(self, base_url, httpserver):
        httpserver.expect_request("/api/gateway/payment-jobs/duly-connection-check").respond_with_json(
            {"errorReport": {"errors": [{"code": "Unauthorized", "message": "Invalid hash"}]}}, status=401)

        with pytest.raises(GatewayError, match="Invalid hash"):
            CashflowsGateway(CASHFLOWS, base_url=base_url).check_connection()


class TestCredicorp:
    def test_reads_the_account(self, base_url, httpserver):
        httpserver.expect_request("/v1/account", method="GET").respond_with_json({"id": "acc_1", "name": "Merchant"})

        CredicorpGateway(credicorp_credentials(), base_url=base_url).check_connection()

        assert httpserver.log[0][0].headers["Authorization"].startswith("Bearer ")

    def test_a_refused_key_is_a_gateway_error(self, base_url, httpserver):
        httpserver.expect_request("/v1/account").respond_with_json(
            {"error": {"code": "unauthorized", "message": "Unknown API key"}}, status=401)

        with pytest.raises(GatewayError, match="Unknown API key"):
            CredicorpGateway(credicorp_credentials(), base_url=base_url).check_connection()


@pytest.mark.django_db
class TestSandbox:
    @pytest.fixture(autouse=True)
    def sandbox_account(self, tenant):
        with scope(tenant=tenant):
            return services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret=SECRET)

    def test_the_accounts_secret_is_accepted(self):
        gateway_with(InProcessTransport()).check_connection()

    def test_an_unknown_secret_is_refused(self):
        with pytest.raises(GatewayError):
            gateway_with(InProcessTransport(), secret=OTHER_SECRET).check_connection()


@pytest.mark.django_db
class TestAdminAction:
    def test_support_tests_the_connection_of_the_selected_accounts(self, support_client, tenant, settings,
                                                                  httpserver):
        settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/"), "credicorp": closed_port_url()}
        httpserver.expect_request("/v1/balance").respond_with_json({"object": "balance"})
        with scope(tenant=tenant):
            stripe = services.save_gateway_account(tenant=tenant, provider="stripe", live=False, secret="sk_test_1",
                                                   settings={"webhook_secret": "whsec_1"})
            credicorp = services.save_gateway_account(tenant=tenant, provider="credicorp", live=False, secret="k",
                                                      settings={"base_url": "http://x", "callback_secret": "s"})

        response = support_client.post(
            reverse("admin:gateways_gatewayaccount_changelist"),
            {"action": "test_connection", "_selected_action": [stripe.pk, credicorp.pk]}, follow=True,
        )

        shown = [str(message) for message in response.context["messages"]]
        assert "Stripe (test): connected, the keys are accepted." in shown
        assert any(m.startswith("Credicorp Bank (Email Pago) (test): the provider did not answer") for m in shown)
        with scopes_disabled():
            assert GatewayAccount.objects.count() == 2

    def test_the_registry_reports_a_refusal_in_words(self, tenant, settings, httpserver):
        settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
        httpserver.expect_request("/v1/balance").respond_with_json(STRIPE_AUTH_ERROR, status=401)
        with scope(tenant=tenant):
            stripe = services.save_gateway_account(tenant=tenant, provider="stripe", live=False, secret="sk_bad",
                                                   settings={"webhook_secret": "whsec_1"})

            outcome = registry.check_connection(account=stripe)

        assert outcome.startswith(
            "Stripe (test): the provider refused the keys — Stripe refused the request: Invalid API Key")
