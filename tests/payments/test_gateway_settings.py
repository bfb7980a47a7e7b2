"""Administrators connect their payment gateways themselves: keys kept encrypted and shown masked, what each
collects for and in which currencies (which the gateway selector obeys), the ledger methods it books, and a
connection test that answers clearly."""

import socket

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from crm.models import AuditEntry, Role
from gateways.models import GatewayAccount, Purpose
from gateways.selectors import gateway_account_for
from tests.conftest import logged_in
from tests.factories import UserFactory

SECRET = "sbx_secret_connected_by_ada_7781"


@pytest.fixture
def admin_client(tenant):
    return logged_in(UserFactory(tenant=tenant, username="ada", role_keys=[Role.STAFF, Role.ADMINISTRATOR]))


def connect(client, **fields):
    return client.post(reverse("payments:gateway_connect"), {
        "provider": "sandbox", "secret": SECRET, "purposes": [Purpose.TAKE_PAYMENT, Purpose.PAYMENT_REQUESTS],
        "currencies": "gbp", "enabled": "on", **fields})


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
class TestConnecting:
    def test_the_sandbox_for_gbp_serves_gbp_and_only_gbp(self, admin_client, tenant):
        response = connect(admin_client)

        assert response.status_code == 302
        with scopes_disabled():
            account = GatewayAccount.objects.get()
            assert gateway_account_for(tenant=tenant, purpose=Purpose.TAKE_PAYMENT, currency="GBP") == account
            assert gateway_account_for(tenant=tenant, purpose=Purpose.TAKE_PAYMENT, currency="EUR") is None
            assert gateway_account_for(tenant=tenant, purpose=Purpose.PORTAL, currency="GBP") is None
            entry = AuditEntry.objects.get(action="gateway.saved")
        assert (account.currencies, account.secret_last4) == (["GBP"], "7781")
        assert SECRET not in account.secret_encrypted
        assert entry.detail == "take_payment, payment_requests, GBP"
        listed = admin_client.get(reverse("payments:gateway_list")).text
        assert "<code>…7781</code>" in listed and SECRET not in listed
        assert f"/webhooks/sandbox/{account.webhook_token}/" in listed

    def test_a_blank_secret_keeps_the_stored_one(self, admin_client, ledger):
        connect(admin_client)
        with scopes_disabled():
            account = GatewayAccount.objects.get()
            stored = account.secret_encrypted

        page = admin_client.get(reverse("payments:gateway_edit", args=[account.pk])).text
        admin_client.post(reverse("payments:gateway_edit", args=[account.pk]), {
            "provider": "sandbox", "secret": "", "purposes": [Purpose.PORTAL], "currencies": "", "enabled": "on",
            "payment_method": "Cash"})

        assert "The stored key ends …7781." in page and SECRET not in page
        with scopes_disabled():
            account.refresh_from_db()
        assert (account.secret_encrypted, account.purposes, account.currencies) == (stored, ["portal"], [])
        assert account.settings == {"payment_method": "Cash"}

    def test_a_new_account_needs_its_secret(self, admin_client):
        response = connect(admin_client, secret="")

        assert response.status_code == 422
        assert "Secret (API key): The secret (API key) is required." in response.text
        with scopes_disabled():
            assert not GatewayAccount.objects.exists()

    def test_a_currency_the_provider_does_not_take_is_refused(self, admin_client):
        response = connect(admin_client, currencies="GBP, XYZ")

        assert response.status_code == 422
        assert "Currencies: Sandbox (offline) does not take XYZ." in response.text
        with scopes_disabled():
            assert not GatewayAccount.objects.exists()

    def test_the_connection_test_says_clearly_when_the_provider_does_not_answer(self, admin_client):
        admin_client.post(reverse("payments:gateway_connect"), {
            "provider": "credicorp", "secret": "ccp_key_1234", "base_url": f"http://127.0.0.1:{closed_port()}",
            "callback_secret": "shh", "purposes": [Purpose.INVOICE_LINKS], "enabled": "on"})
        with scopes_disabled():
            account = GatewayAccount.objects.get()

        response = admin_client.post(reverse("payments:gateway_check", args=[account.pk]), follow=True)

        assert "Credicorp Bank (Email Pago) (test): the provider did not answer" in response.text


@pytest.mark.django_db
class TestWhoMay:
    def test_staff_without_the_administrator_role_are_refused(self, staff_client):
        assert staff_client.get(reverse("payments:gateway_list")).status_code == 403
        assert connect(staff_client).status_code == 403

    def test_another_tenants_administrator_finds_none_of_our_gateways(self, admin_client, other_tenant):
        connect(admin_client)
        theirs = logged_in(UserFactory(tenant=other_tenant, username="otto", role_keys=[Role.ADMINISTRATOR]))
        with scopes_disabled():
            account = GatewayAccount.objects.get()

        assert theirs.get(reverse("payments:gateway_edit", args=[account.pk])).status_code == 404
        edit = reverse("payments:gateway_edit", args=[account.pk])
        assert theirs.post(edit, {"provider": "sandbox"}).status_code == 404
        assert theirs.post(reverse("payments:gateway_check", args=[account.pk])).status_code == 404
        assert "…7781" not in theirs.get(reverse("payments:gateway_list")).text
