"""Payment requests over the API."""

import json

import pytest
from django.utils import timezone
from django_scopes import scope

from notifications.models import Notification
from paylinks.models import PaymentRequest, RequestStatus
from paylinks.services.requests import request_for_token
from tests.helpers import assert_404_for_other_tenant
from tests.paylinks.request_fixtures import send

pytestmark = pytest.mark.django_db
URL = "/api/v1/payment-requests"


def post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def payload(customer, account, **changes):
    return {"customer": customer.pk, "account": account.pk, "amount": "120.00", "reference": "INV-42",
            "message": "", "channels": ["email"]} | changes


class TestCreate:
    def test_creates_and_sends_returning_the_link_once(self, api_client, ledger, customer, gbp, staff):
        response = post(api_client, URL, payload(customer, gbp, staff=staff.pk))

        assert response.status_code == 201
        body = response.json()
        assert (body["amount"], body["currency"], body["status"], body["created_by"]) == (
            "120.00", "GBP", "open", staff.pk)
        token = body["pay_link"].rsplit("/pay/", 1)[1].strip("/")
        assert request_for_token(token=token, at=timezone.now()).pk == body["id"]
        assert Notification.objects.filter(template_key="payment_request").count() == 1

    @pytest.mark.parametrize(("changes", "field"), [
        ({"amount": "0"}, "amount"), ({"channels": []}, "channels"), ({"currency": "EUR"}, "currency"),
    ])
    def test_bad_input_is_422_naming_the_field(self, api_client, ledger, customer, gbp, changes, field):
        response = post(api_client, URL, payload(customer, gbp, **changes))

        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert PaymentRequest.objects.count() == 0

    def test_a_missing_field_is_422_naming_it(self, api_client, ledger, customer, gbp):
        data = payload(customer, gbp)
        del data["amount"]

        response = post(api_client, URL, data)

        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["amount"]

    def test_another_tenants_customer_is_422(self, other_api_client, ledger, customer, gbp):
        response = post(other_api_client, URL, payload(customer, gbp))

        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "customer"


class TestReadListCancel:
    def test_list_filters_and_read(self, api_client, ledger, customer, gbp, staff):
        request, _ = send(customer, gbp, staff, at=timezone.now())
        send(customer, gbp, staff, at=timezone.now(), reference="OTHER")

        listed = api_client.get(URL, {"reference": "INV"})
        read = api_client.get(f"{URL}/{request.pk}")

        assert [r["id"] for r in listed.json()["items"]] == [request.pk]
        assert read.json()["attempts"] == []
        assert read.json()["reference"] == "INV-42"

    def test_cancel_then_cancel_again_is_409(self, api_client, ledger, customer, gbp, staff):
        request, _ = send(customer, gbp, staff, at=timezone.now())

        first = post(api_client, f"{URL}/{request.pk}/cancel")
        second = post(api_client, f"{URL}/{request.pk}/cancel")

        assert (first.status_code, first.json()["status"]) == (200, "cancelled")
        assert second.status_code == 409

    def test_a_bad_status_filter_is_422(self, api_client, ledger):
        response = api_client.get(URL, {"status": "paid"})

        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "status"

    def test_another_tenants_ids_are_404(self, other_api_client, ledger, customer, gbp, staff):
        request, _ = send(customer, gbp, staff, at=timezone.now())

        assert_404_for_other_tenant(other_api_client, f"{URL}/{request.pk}")
        assert_404_for_other_tenant(other_api_client, f"{URL}/{request.pk}/cancel", method="post", data={},
                                    as_json=True)
        assert other_api_client.get(URL).json()["items"] == []
        with scope(tenant=request.tenant):
            assert PaymentRequest.objects.get(pk=request.pk).status == RequestStatus.OPEN
