import pytest
from django_scopes import scope

from gateways import registry, services
from gateways.base import CheckoutMode
from gateways.cashflows import CashflowsGateway
from gateways.stripe import StripeGateway


@pytest.mark.django_db
class TestRegistry:
    def test_builds_the_providers_adapter_with_the_tenants_credentials(self, tenant, settings):
        settings.GATEWAY_BASE_URLS = {"cashflows": "http://127.0.0.1:9/"}
        settings.GATEWAY_TIMEOUT_SECONDS = 2.5
        with scope(tenant=tenant):
            cashflows = services.save_gateway_account(tenant=tenant, provider="cashflows", live=False,
                                                      secret="api-key-1", settings={"configuration_id": "cfg-9"})
            stripe = services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                   secret="sk_test_x", settings={"webhook_secret": "whsec_y"})

            cashflows_gateway = registry.gateway_for(account=cashflows)
            stripe_gateway = registry.gateway_for(account=stripe)

        assert isinstance(cashflows_gateway, CashflowsGateway)
        assert cashflows_gateway.base_url.rstrip("/") == "http://127.0.0.1:9"
        assert isinstance(stripe_gateway, StripeGateway)

    def test_tells_what_each_provider_can_do(self):
        assert registry.capabilities_of("credicorp").supports(mode=CheckoutMode.HOSTED_PAGE, currency="PAB")
        assert not registry.capabilities_of("credicorp").supports(mode=CheckoutMode.CARD_FIELDS, currency="PAB")
        assert registry.capabilities_of("stripe").supports(mode=CheckoutMode.HOSTED_PAGE, currency="GBP",
                                                           pay_in_4=True)
