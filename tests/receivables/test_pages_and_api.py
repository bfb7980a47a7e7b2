"""Receivables' pages and API: refusals name the field and save nothing; the API's figures are the
statement's; another tenant's objects answer 404 (the URL walker checks every route for that too)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from crm.models import Role
from receivables.models import DunningLevel, InvoiceHold
from tests.conftest import logged_in
from tests.factories import AccountFactory, UserFactory
from tests.receivables.conftest import invoice_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(tenant):
    return logged_in(UserFactory(tenant=tenant, username="admin", role_keys=[Role.ADMINISTRATOR]))


class TestLevelsPage:
    def test_a_bad_level_is_refused_by_field_and_a_good_one_saved(self, ledger, administrator):
        refused = administrator.post("/finance/receivables/dunning/levels/new/", {
            "name": "Late", "days": "999", "email": "", "sms": "", "fee_amount": "5", "fee_type": ""})
        assert refused.status_code == 422
        assert set(refused.context["form"].errors) == {"days"}
        refused = administrator.post("/finance/receivables/dunning/levels/new/", {
            "name": "Late", "days": "14", "fee_amount": "5", "fee_type": ""})
        assert refused.status_code == 422
        assert set(refused.context["form"].errors) == {"email", "fee_type"}
        assert not DunningLevel.objects.exists()
        saved = administrator.post("/finance/receivables/dunning/levels/new/", {"name": "Late", "days": "14",
                                                                               "email": "on"})
        assert saved.status_code == 302
        assert list(DunningLevel.objects.values_list("slot", "name", "days", "email", "sms")) == [
            (1, "Late", 14, True, False)]
        page = administrator.get("/finance/receivables/dunning/")
        assert page.status_code == 200
        assert b"/notifications/messages/dunning_1/en/" in page.content

    def test_plain_staff_may_not_change_levels(self, ledger, staff_client):
        assert staff_client.get("/finance/receivables/dunning/").status_code == 403


class TestHoldOnThePage:
    def test_a_hold_without_a_note_is_refused_then_one_with_is_shown(self, ledger, customer, staff_client):
        invoice = invoice_due(AccountFactory(customer=customer), timezone.localdate() - timedelta(days=10))
        url = f"/finance/receivables/invoices/{invoice.pk}/hold/"
        refused = staff_client.post(url, {"reason": "promise", "until": "", "note": ""}, HTTP_HX_REQUEST="true")
        assert refused.status_code == 422
        assert set(refused.context["form"].errors) == {"note", "until"}
        assert not InvoiceHold.objects.exists()
        held = staff_client.post(url, {"reason": "dispute", "note": "Wrong address."}, HTTP_HX_REQUEST="true")
        assert held.status_code == 200
        assert b"Wrong address." in held.content and b"Release the hold" in held.content


class TestApi:
    def test_statement_hold_and_release(self, ledger, customer, api_client):
        account = AccountFactory(customer=customer)
        invoice = invoice_due(account, date(2026, 11, 20), price="75.00")  # posted 21 October
        answer = api_client.get(f"/api/v1/accounts/{account.pk}/statement?start=2026-10-01&end=2026-10-31")
        assert answer.status_code == 200
        body = answer.json()
        assert (body["opening_balance"], body["closing_balance"], len(body["rows"]), body["ageing"]["current"]) == (
            "0.00", "75.00", 1, "75.00")
        pdf = api_client.get(f"/api/v1/accounts/{account.pk}/statement.pdf?start=2026-10-01&end=2026-10-31")
        assert (pdf.status_code, pdf["Content-Type"], pdf.content[:5]) == (200, "application/pdf", b"%PDF-")
        bad = api_client.get(f"/api/v1/accounts/{account.pk}/statement?start=2026-10-31&end=2026-10-01")
        assert (bad.status_code, [e["field"] for e in bad.json()["errors"]]) == (422, ["end"])

        refused = api_client.post(f"/api/v1/invoices/{invoice.pk}/dunning/hold",
                                  {"reason": "promise", "note": "Payday."}, content_type="application/json")
        assert (refused.status_code, [e["field"] for e in refused.json()["errors"]]) == (422, ["until"])
        until = (timezone.localdate() + timedelta(days=9)).isoformat()
        held = api_client.post(f"/api/v1/invoices/{invoice.pk}/dunning/hold",
                               {"reason": "promise", "until": until, "note": "Payday."},
                               content_type="application/json")
        assert held.status_code == 200
        assert held.json()["hold"] == {"reason": "promise", "until": until, "note": "Payday.",
                                       "created_at": held.json()["hold"]["created_at"]}
        released = api_client.post(f"/api/v1/invoices/{invoice.pk}/dunning/release")
        assert (released.status_code, released.json()["hold"], released.json()["outstanding"]) == (
            200, None, "75.00")

    def test_another_tenants_invoice_and_account_are_404(self, ledger, customer, other_api_client):
        account = AccountFactory(customer=customer)
        invoice = invoice_due(account, date(2026, 11, 20))
        assert other_api_client.get(f"/api/v1/invoices/{invoice.pk}/dunning").status_code == 404
        assert other_api_client.get(f"/api/v1/accounts/{account.pk}/statement?start=2026-10-01&end=2026-10-31"
                                    ).status_code == 404
