import json

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from crm import services
from crm.models import ApiKey, Customer
from tests.factories import CustomerFactory
from tests.helpers import assert_404_for_other_tenant


def post_json(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def patch_json(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


@pytest.mark.django_db
class TestAuthentication:
    def test_a_request_without_a_key_is_refused(self, customer):
        response = Client().get("/api/v1/customers")

        assert response.status_code == 401
        assert response.json() == {"detail": "A valid API key is required."}

    def test_a_revoked_key_is_refused(self, tenant, customer):
        api_key, raw_key = services.create_api_key(tenant=tenant, name="old")
        services.revoke_api_key(api_key=api_key, at=timezone.now())

        response = Client(headers={"Authorization": f"Bearer {raw_key}"}).get("/api/v1/customers")

        assert response.status_code == 401

    def test_a_session_login_is_not_an_api_key(self, staff_client, customer):
        assert staff_client.get("/api/v1/customers").status_code == 401

    def test_the_openapi_document_is_public(self):
        response = Client().get("/api/v1/openapi.json")

        assert response.status_code == 200
        assert "/api/v1/customers/{customer_id}" in response.json()["paths"]


@pytest.mark.django_db
class TestCustomersApi:
    def test_lists_only_the_keys_tenant_with_search_and_paging(self, api_client, tenant, other_tenant):
        CustomerFactory(tenant=tenant, name="Abe", city="Leeds")
        CustomerFactory(tenant=tenant, name="Zed", city="York")
        CustomerFactory(tenant=other_tenant, name="Theirs", city="Leeds")

        everyone = api_client.get("/api/v1/customers").json()
        in_leeds = api_client.get("/api/v1/customers", {"search": "leeds"}).json()
        second = api_client.get("/api/v1/customers", {"limit": 1, "offset": 1}).json()

        assert [c["name"] for c in everyone["items"]] == ["Abe", "Zed"]
        assert everyone["count"] == 2
        assert [c["name"] for c in in_leeds["items"]] == ["Abe"]
        assert [c["name"] for c in second["items"]] == ["Zed"]

    def test_creates_a_customer_and_logs_the_key_in_the_audit_trail(self, api_client, tenant):
        response = post_json(api_client, "/api/v1/customers", {"name": "Ann", "phone": "07911 123456"})

        assert response.status_code == 201
        body = response.json()
        assert body["name"] == "Ann"
        assert body["phone"] == "+447911123456"
        with scopes_disabled():
            customer = Customer.objects.get(pk=body["id"])
            assert customer.tenant == tenant
            assert customer.history.get().history_change_reason == "API key “integration”"

    def test_reads_and_patches_a_customer(self, api_client, customer):
        read = api_client.get(f"/api/v1/customers/{customer.pk}")
        patched = patch_json(api_client, f"/api/v1/customers/{customer.pk}", {"city": "Bath"})

        assert read.json()["email"] == "harriet@example.com"
        assert patched.status_code == 200
        assert patched.json()["city"] == "Bath"
        assert patched.json()["name"] == "Harriet Holloway"

    @pytest.mark.parametrize(
        ("payload", "field", "message"),
        [
            ({"email": "a@b.com"}, "name", "Field required"),
            ({"name": "Ann", "email": "ann@"}, "email", "“ann@” is not a valid email address."),
            ({"name": "Ann", "phone": "12"}, "phone",
             "“12” is not a valid phone number; use the international form, e.g. +44 20 7946 0958."),
        ],
    )
    def test_bad_input_answers_422_naming_the_field_and_saves_nothing(self, api_client, payload, field, message):
        response = post_json(api_client, "/api/v1/customers", payload)

        assert response.status_code == 422
        assert response.json() == {"detail": "Invalid input.", "errors": [{"field": field, "message": message}]}
        with scopes_disabled():
            assert Customer.objects.count() == 0

    def test_a_bad_patch_changes_nothing(self, api_client, customer):
        response = patch_json(api_client, f"/api/v1/customers/{customer.pk}", {"city": "Bath", "email": "nope"})

        assert response.status_code == 422
        customer.refresh_from_db()
        assert customer.city == "London"

    def test_another_tenants_customer_is_not_found(self, other_api_client, customer):
        url = f"/api/v1/customers/{customer.pk}"

        assert_404_for_other_tenant(other_api_client, url)
        assert_404_for_other_tenant(other_api_client, url, method="patch", data={"name": "X"}, as_json=True)
        customer.refresh_from_db()
        assert customer.name == "Harriet Holloway"

    def test_the_key_records_when_it_was_last_used(self, tenant, api_client):
        api_client.get("/api/v1/customers")

        assert ApiKey.objects.get(tenant=tenant).last_used_at is not None
