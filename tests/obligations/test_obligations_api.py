"""Obligations and instalments over the API: create with an automatic or a manual schedule, read,
update, list by customer and due date; errors in the shared shape; no manager comments; cross-tenant 404s."""

import json
from datetime import date

import pytest

from obligations.models import Instalment, Obligation
from tests.factories import CustomerFactory, ObligationFactory
from tests.helpers import assert_404_for_other_tenant

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def body(customer, **changes):
    return {"customer": customer.pk, "payee_kind": "government", "payee": "DVLA", "payment_code": "RT-2026-0042",
            "description": "Road tax 2026", "total_amount": "100.00", "currency": "GBP", "plan": "automatic",
            "first_due_on": "2027-01-31", "count": 3} | changes


class TestCreate:
    def test_an_automatic_schedule(self, ledger, customer, api_client):
        response = post(api_client, "/api/v1/obligations", body(customer))

        assert response.status_code == 201
        answer = response.json()
        assert (answer["total_amount"], answer["currency"], answer["payment_code"]) == ("100.00", "GBP",
                                                                                       "RT-2026-0042")
        assert [(i["number"], i["amount"], i["due_on"], i["status"]) for i in answer["instalments"]] == [
            (1, "33.33", "2027-02-01", "unpaid"), (2, "33.33", "2027-03-01", "unpaid"),
            (3, "33.34", "2027-03-31", "unpaid")]
        assert "manager_comments" not in answer
        record = Obligation.objects.get().history.get()
        assert record.history_change_reason == "API key “integration”"

    def test_a_manual_schedule(self, ledger, customer, api_client):
        rows = [{"due_on": "2026-05-01", "amount": "300.00"}, {"due_on": "2026-06-01", "amount": "200.00"}]

        response = post(api_client, "/api/v1/obligations", body(customer, plan="manual", total_amount="500.00",
                                                                instalments=rows))

        assert response.status_code == 201
        assert [(i["due_on"], i["amount"]) for i in response.json()["instalments"]] == [
            ("2026-05-01", "300.00"), ("2026-06-01", "200.00")]

    def test_a_plan_that_falls_short_answers_422_naming_the_difference(self, ledger, customer, api_client):
        response = post(api_client, "/api/v1/obligations", body(customer, instalment_amount="20.00"))

        assert response.status_code == 422
        assert response.json() == {"detail": "Invalid input.", "errors": [{"field": "instalment_amount", "message": (
            "The plan falls £40.00 short of the total £100.00: 3 instalments of £20.00 come to £60.00. "
            "Raise the amount or the number of instalments.")}]}
        assert not Obligation.objects.exists()

    def test_another_tenants_customer_in_the_body_is_422_naming_the_field(self, ledger, other_customer, api_client):
        response = post(api_client, "/api/v1/obligations", body(other_customer))

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "customer", "message": "Not found."}]

    def test_a_nul_character_or_a_date_past_2200_is_named_not_a_server_error(self, ledger, customer, api_client):
        response = post(api_client, "/api/v1/obligations", body(customer, payee="D\u0000VLA",
                                                                first_due_on="9999-12-31"))

        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "payee", "message": "Contains a character that is not allowed."},
            {"field": "first_due_on", "message": "Choose a date between 2000 and 2200."}]
        assert not Obligation.objects.exists()

    def test_a_bad_plan_is_named_by_the_schema(self, ledger, customer, api_client):
        response = post(api_client, "/api/v1/obligations", body(customer, plan="sometimes"))

        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "plan"


class TestReadUpdateList:
    def test_read_never_shows_manager_comments(self, obligation, api_client):
        response = api_client.get(f"/api/v1/obligations/{obligation.pk}")

        assert response.status_code == 200
        assert "slow to pay" not in response.text and "manager_comments" not in response.text
        assert len(response.json()["instalments"]) == 3

    def test_update_the_obligation_and_an_instalment(self, obligation, api_client):
        first = obligation.instalments.get(number=1)

        changed = patch(api_client, f"/api/v1/obligations/{obligation.pk}", {"payee": "HMRC", "total_amount": "310.00"})
        moved = patch(api_client, f"/api/v1/instalments/{first.pk}", {"due_on": "2026-04-02", "amount": "90.00"})

        assert changed.status_code == 200 and changed.json()["payee"] == "HMRC"
        assert [i["amount"] for i in changed.json()["instalments"]] == ["100.00", "100.00", "110.00"]
        assert moved.status_code == 200
        assert (moved.json()["due_on"], moved.json()["amount"]) == ("2026-04-02", "90.00")
        assert Obligation.objects.get().total_amount == 300

    def test_a_bad_update_is_named_and_nothing_changes(self, obligation, api_client):
        first = obligation.instalments.get(number=1)

        response = patch(api_client, f"/api/v1/instalments/{first.pk}", {"amount": "abc"})

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "amount", "message": "Enter an amount such as 120.00."}]
        assert Instalment.objects.get(pk=first.pk).amount == 100

    def test_list_by_customer_and_due_date(self, obligation, ledger, api_client):
        ivan = CustomerFactory(tenant=ledger, name="Ivan Ilic")
        ObligationFactory(customer=ivan, description="Ivan's VAT", first=date(2026, 9, 1), count=1)

        by_customer = api_client.get(f"/api/v1/obligations?customer={ivan.pk}").json()
        by_due = api_client.get("/api/v1/obligations?due_from=2026-05-01&due_to=2026-05-31").json()
        instalments = api_client.get("/api/v1/instalments?due_from=2026-05-01&due_to=2026-09-30").json()

        assert [row["description"] for row in by_customer["items"]] == ["Ivan's VAT"]
        assert [row["description"] for row in by_due["items"]] == ["Road tax 2026"]
        assert [(row["due_on"], row["currency"]) for row in instalments["items"]] == [
            ("2026-05-01", "GBP"), ("2026-06-01", "GBP"), ("2026-09-01", "GBP")]

    def test_a_bad_status_filter_is_named(self, ledger, api_client):
        response = api_client.get("/api/v1/instalments?status=late")

        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "status"


class TestOtherTenants:
    def test_every_endpoint_answers_404_to_another_tenants_key(self, obligation, other_api_client):
        instalment = obligation.instalments.first()

        assert_404_for_other_tenant(other_api_client, f"/api/v1/obligations/{obligation.pk}")
        assert_404_for_other_tenant(other_api_client, f"/api/v1/obligations/{obligation.pk}", method="patch",
                                    data={"payee": "X"}, as_json=True)
        assert_404_for_other_tenant(other_api_client, f"/api/v1/instalments/{instalment.pk}")
        assert_404_for_other_tenant(other_api_client, f"/api/v1/instalments/{instalment.pk}", method="patch",
                                    data={"amount": "1.00"}, as_json=True)
        assert other_api_client.get("/api/v1/obligations").json()["items"] == []
        assert other_api_client.get("/api/v1/instalments").json()["items"] == []
        assert Obligation.objects.get().payee == "DVLA"
