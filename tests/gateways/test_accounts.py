import re

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from gateways import services
from gateways.models import GatewayAccount

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRET = "sk_test_51ExampleSecretKey9876"


@pytest.fixture
def keys(settings):
    settings.DULY_SECRETS_KEYS = [OLD_KEY]
    return settings


@pytest.mark.django_db
class TestGatewayAccounts:
    def test_the_secret_is_stored_encrypted_and_decrypts_for_a_call(self, keys, tenant):
        with scope(tenant=tenant):
            account = services.save_gateway_account(
                tenant=tenant, provider="stripe", live=False, secret=SECRET, settings={"webhook_secret": "whsec_1"}
            )

            credentials = services.credentials_for(account=account)

        stored = GatewayAccount.objects.with_scopes_disabled().values_list("secret_encrypted", flat=True).get()
        assert SECRET not in stored
        assert account.secret_last4 == "9876"
        assert credentials.secret == SECRET
        assert credentials.settings == {"webhook_secret": "whsec_1"}

    def test_a_blank_secret_keeps_the_stored_one(self, keys, tenant):
        with scope(tenant=tenant):
            services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret=SECRET)
            account = services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret="",
                                                    enabled=False)

            assert services.credentials_for(account=account).secret == SECRET
            assert GatewayAccount.objects.count() == 1

    @pytest.mark.parametrize(("values", "errors"), [
        ({"provider": "paypal", "secret": "x"}, {"provider": ["Unknown provider “paypal”."]}),
        ({"provider": "sandbox", "secret": ""}, {"secret": ["The secret (API key) is required."]}),
        ({"provider": "cashflows", "secret": "k"}, {"settings": ["Cashflows needs: configuration_id."]}),
    ])
    def test_bad_input_names_the_field_and_saves_nothing(self, keys, tenant, values, errors):
        with scope(tenant=tenant), pytest.raises(ValidationError) as raised:
            services.save_gateway_account(tenant=tenant, live=False, **values)

        assert raised.value.message_dict == errors
        with scopes_disabled():
            assert GatewayAccount.objects.count() == 0

    def test_rotation_re_encrypts_with_the_new_key_and_the_old_key_can_then_go(self, keys, tenant, other_tenant):
        for owner in (tenant, other_tenant):
            with scope(tenant=owner):
                services.save_gateway_account(tenant=owner, provider="sandbox", live=False, secret=SECRET)
        keys.DULY_SECRETS_KEYS = [NEW_KEY, OLD_KEY]

        call_command("rotate_gateway_secrets", stdout=__import__("io").StringIO())
        keys.DULY_SECRETS_KEYS = [NEW_KEY]

        with scopes_disabled():
            accounts = list(GatewayAccount.objects.all())
        assert len(accounts) == 2
        assert {services.credentials_for(account=a).secret for a in accounts} == {SECRET}


@pytest.mark.django_db
class TestGatewayAccountAdmin:
    def test_support_saves_a_key_that_is_never_shown_again(self, keys, support_client, tenant):
        response = support_client.post(reverse("admin:gateways_gatewayaccount_add"), {
            "tenant": tenant.pk, "provider": "stripe", "live": "", "enabled": "on",
            "settings": '{"webhook_secret": "whsec_abc"}', "secret": SECRET,
        })

        assert response.status_code == 302
        with scopes_disabled():
            account = GatewayAccount.objects.get()
        page = support_client.get(reverse("admin:gateways_gatewayaccount_change", args=[account.pk])).text
        assert SECRET not in page
        assert "••••9876" in page
        assert not re.search(r'name="secret"[^>]*value="[^"]+', page)

    def test_support_ticks_the_purposes_an_account_serves(self, keys, support_client, tenant):
        add = support_client.get(reverse("admin:gateways_gatewayaccount_add")).text
        response = support_client.post(reverse("admin:gateways_gatewayaccount_add"), {
            "tenant": tenant.pk, "provider": "stripe", "live": "", "enabled": "on",
            "settings": '{"webhook_secret": "whsec_abc"}', "secret": SECRET,
            "purposes": ["take_payment", "portal"],
        })

        assert add.count('name="purposes"') == 4 and add.count("checked") >= 4  # all four, ticked for a new one
        assert response.status_code == 302
        with scopes_disabled():
            assert GatewayAccount.objects.get().purposes == ["take_payment", "portal"]

    def test_a_missing_setting_is_refused_with_a_message(self, keys, support_client, tenant):
        response = support_client.post(reverse("admin:gateways_gatewayaccount_add"), {
            "tenant": tenant.pk, "provider": "credicorp", "enabled": "on", "settings": "{}", "secret": "key",
        })

        assert response.status_code == 200
        assert "Credicorp Bank (Email Pago) needs: base_url, callback_secret." in response.text
        with scopes_disabled():
            assert GatewayAccount.objects.count() == 0
