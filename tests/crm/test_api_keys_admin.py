"""Administrators make and revoke their tenant's API keys: scopes per area, an optional expiry, the key
shown once; a key outside its scopes gets 403 naming the scope, a revoked or expired one 401, and a busy
one 429 with Retry-After."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from crm import services
from crm.models import ApiKey, AuditEntry, Role
from tests.conftest import logged_in
from tests.factories import UserFactory


@pytest.fixture
def admin_client(tenant):
    return logged_in(UserFactory(tenant=tenant, username="ada", role_keys=[Role.STAFF, Role.ADMINISTRATOR]))


def create(client, **fields):
    return client.post(reverse("crm:api_key_create"), {"name": "Accounting sync", "scopes": ["customers:read"],
                                                        **fields})


def with_key(raw_key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw_key}"}, REMOTE_ADDR="198.51.100.20")


def raw_key_in(response) -> str:
    return re.search(r'<code id="new-api-key" class="secret">(duly_\S+)</code>', response.text).group(1)


@pytest.mark.django_db
class TestMakingKeys:
    def test_a_read_only_key_reads_and_is_refused_writing_naming_the_scope(self, admin_client, tenant, customer):
        response = create(admin_client)
        client = with_key(raw_key_in(response))

        read = client.get("/api/v1/customers")
        written = client.post("/api/v1/customers", {"name": "Ivy"}, content_type="application/json")
        ledger = client.get("/api/v1/transactions")

        assert response.status_code == 201
        assert read.status_code == 200 and [c["name"] for c in read.json()["items"]] == ["Harriet Holloway"]
        assert (written.status_code, written.json()) == (403, {
            "detail": "This API key lacks the scope “customers:write”.", "scope": "customers:write"})
        assert (ledger.status_code, ledger.json()["scope"]) == (403, "ledger:read")
        with scopes_disabled():
            key = ApiKey.objects.get()
            entry = AuditEntry.objects.get(action="api_key.created")
        assert (key.scopes, key.last_used_from) == (["customers:read"], "198.51.100.20")
        assert key.last_used_at is not None
        assert (entry.subject, entry.detail) == (f"Accounting sync ({key.prefix}…)", "customers:read")

    def test_the_key_is_shown_once(self, admin_client):
        raw_key = raw_key_in(create(admin_client))

        assert raw_key.split("_", 2)[2] not in admin_client.get(reverse("crm:api_key_list")).text

    def test_a_key_needs_a_scope_and_a_future_expiry(self, admin_client):
        response = create(admin_client, scopes=[], expires_on="2020-01-01")

        assert response.status_code == 422
        assert "Scopes: Choose at least one scope." in response.text
        with scopes_disabled():
            assert not ApiKey.objects.exists()

    def test_a_key_with_an_expiry_works_until_the_end_of_that_day_in_the_tenants_zone(self, admin_client):
        tomorrow = timezone.localdate() + timedelta(days=1)
        raw_key = raw_key_in(create(admin_client, expires_on=tomorrow.isoformat()))
        with scopes_disabled():
            key = ApiKey.objects.get()

        assert with_key(raw_key).get("/api/v1/customers").status_code == 200
        assert timezone.localtime(key.expires_at).date() == tomorrow + timedelta(days=1)
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert with_key(raw_key).get("/api/v1/customers").status_code == 401

    def test_a_revoked_key_is_refused_at_once(self, admin_client):
        raw_key = raw_key_in(create(admin_client))
        with scopes_disabled():
            key = ApiKey.objects.get()

        admin_client.post(reverse("crm:api_key_revoke", args=[key.pk]))

        assert with_key(raw_key).get("/api/v1/customers").status_code == 401
        with scopes_disabled():
            assert AuditEntry.objects.filter(action="api_key.revoked").count() == 1


@pytest.mark.django_db
class TestBusyKeys:
    def test_requests_past_the_limit_get_429_with_retry_after(self, admin_client, settings):
        settings.API_RATE_LIMIT = 3
        client = with_key(raw_key_in(create(admin_client)))

        answers = [client.get("/api/v1/customers") for _ in range(4)]

        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert 1 <= int(answers[3]["Retry-After"]) <= 60
        assert answers[3].json()["detail"].startswith("Too many requests with this API key: at most 3 a minute.")


@pytest.mark.django_db
class TestWhoMay:
    def test_staff_without_the_administrator_role_are_refused(self, staff_client):
        assert staff_client.get(reverse("crm:api_key_list")).status_code == 403
        assert create(staff_client).status_code == 403

    def test_another_tenants_administrator_can_neither_see_nor_revoke_our_keys(self, admin_client, other_tenant):
        raw_key = raw_key_in(create(admin_client))
        theirs = logged_in(UserFactory(tenant=other_tenant, username="otto", role_keys=[Role.ADMINISTRATOR]))
        with scopes_disabled():
            key = ApiKey.objects.get()

        assert theirs.post(reverse("crm:api_key_revoke", args=[key.pk])).status_code == 404
        assert "Accounting sync" not in theirs.get(reverse("crm:api_key_list")).text
        assert with_key(raw_key).get("/api/v1/customers").status_code == 200


@pytest.mark.django_db
class TestEveryAreaChecksItsScope:
    @pytest.mark.parametrize(("path", "area"), [
        ("/api/v1/customers", "customers"), ("/api/v1/transactions", "ledger"),
        ("/api/v1/payment-requests", "payment_requests"), ("/api/v1/payments/1/refunds", "payments"),
        ("/api/v1/obligations", "obligations"),
    ])
    def test_a_key_without_the_areas_read_scope_is_refused_and_one_with_it_is_let_through(
            self, tenant, path, area):
        _, without = services.create_api_key(tenant=tenant, name="other areas",
                                             scopes=[s for s in ("customers:read", "ledger:read") if
                                                     not s.startswith(area)] or ["reports:read"])
        _, with_it = services.create_api_key(tenant=tenant, name="this area", scopes=[f"{area}:read"])

        refused = with_key(without).get(path)

        assert (refused.status_code, refused.json()["scope"]) == (403, f"{area}:read")
        assert with_key(with_it).get(path).status_code in (200, 404)  # 404: no such payment, past the scope
