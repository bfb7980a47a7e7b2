"""Billing's pages and API, cards on file in the customer file and the portal, and the consent a pay page
records: refusals name the field and save nothing; another tenant's objects answer 404 (the URL walker checks
every route for that too)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import BillingSettings, RecurringSchedule, ScheduleLine, ScheduleRun, ScheduleState
from crm.models import Role
from gateways import services as gateway_services
from obligations.portal_access import SESSION_KEY
from payments.models import ConsentSource, GatewayPayment, RemovedVia, SavedCard
from tests.billing.conftest import card_on_file, monthly
from tests.conftest import api_client_for, logged_in
from tests.factories import InvoiceFactory, UserFactory
from tests.gateways.conftest import closed_port_url

pytestmark = pytest.mark.django_db
HOSTILE = ["\x00", "x" * 10_000, "<script>alert(1)</script>", "😀" * 50, "1e309", "NaN", "-5", "2027-02-30"]


@pytest.fixture
def accountant(tenant):
    return logged_in(UserFactory(tenant=tenant, username="accountant", role_keys=[Role.ACCOUNTANT]))


@pytest.fixture
def administrator(tenant):
    return logged_in(UserFactory(tenant=tenant, username="admin", role_keys=[Role.ADMINISTRATOR]))


def schedule_form(product=None, **changes):
    data = {"name": "Monthly policy fee", "frequency": "monthly", "start_on": timezone.localdate().isoformat(),
            "day_of_month": "", "end_after": "12", "end_on": "", "due_date_rule": "", "collect_by_card": "on",
            "line0-product": product.pk if product else "", "line0-description": "" if product else "Policy fee",
            "line0-quantity": "1", "line0-unit_price": "" if product else "25.00", "line0-tax_rate": ""}
    return data | changes


class TestSchedulePages:
    def test_preview_shows_the_invoices_and_saves_nothing(self, accountant, account, policy_fee):
        response = accountant.post(f"/finance/billing/accounts/{account.pk}/schedules/new/",
                                   schedule_form(policy_fee, action="preview"))

        assert response.status_code == 200
        assert [(item.period, item.total) for item in response.context["preview"]][:2] == [
            (1, 30), (2, 30)]
        assert len(response.context["preview"]) == 6
        assert not RecurringSchedule.objects.exists()

    def test_a_bad_schedule_is_refused_by_field_and_nothing_saved(self, accountant, account):
        response = accountant.post(f"/finance/billing/accounts/{account.pk}/schedules/new/", schedule_form(
            name="", frequency="weekly", day_of_month="5", end_after="0", **{"line0-unit_price": "12.345"},
            action="save"))

        assert response.status_code == 422
        assert set(response.context["form"].errors) == {"end_after"}
        response = accountant.post(f"/finance/billing/accounts/{account.pk}/schedules/new/", schedule_form(
            name="", frequency="weekly", day_of_month="5", **{"line0-unit_price": "12.345"}, action="save"))
        assert response.status_code == 422
        assert set(response.context["form"].errors) == {"name", "day_of_month"}
        assert response.context["line_errors"] == ["lines[0].unit_price: At most 2 decimal places."]
        assert not RecurringSchedule.objects.exists() and not ScheduleLine.objects.exists()

    def test_hostile_values_never_fail_and_save_nothing(self, accountant, account):
        for value in HOSTILE:
            for field in ("name", "start_on", "day_of_month", "end_after", "line0-description", "line0-quantity",
                          "line0-unit_price", "line0-product", "frequency"):
                response = accountant.post(f"/finance/billing/accounts/{account.pk}/schedules/new/",
                                           schedule_form(**{field: value, "action": "save"}))
                assert response.status_code in (302, 422), (field, value, response.status_code)
                if response.status_code == 302:
                    saved = RecurringSchedule.objects.get()
                    assert field in ("name", "line0-description") and value in (saved.name,
                                                                               saved.lines.get().description)
                    RecurringSchedule.objects.all().delete()

    def test_save_then_change_pause_resume_and_end_from_its_page(self, accountant, account, policy_fee):
        saved = accountant.post(f"/finance/billing/accounts/{account.pk}/schedules/new/",
                                schedule_form(policy_fee, action="save"))
        schedule = RecurringSchedule.objects.get()
        assert saved["Location"] == f"/finance/billing/schedules/{schedule.pk}/"
        page = accountant.get(saved["Location"])
        assert page.status_code == 200 and b"Monthly policy fee" in page.content

        changed = accountant.post(f"/finance/billing/schedules/{schedule.pk}/lines/", {
            "line0-description": "Policy fee", "line0-quantity": "2", "line0-unit_price": "20.00"})
        assert changed.status_code == 302
        # Nothing issued yet: the new lines replace the old ones from the first invoice.
        assert list(schedule.lines.values_list("description", "quantity", "unit_price", "from_period",
                                               "until_period")) == [("Policy fee", 2, 20, 1, None)]

        for action, state in (("pause", ScheduleState.PAUSED), ("resume", ScheduleState.ACTIVE),
                              ("end", ScheduleState.ENDED)):
            assert accountant.post(f"/finance/billing/schedules/{schedule.pk}/{action}/").status_code == 302
            assert RecurringSchedule.objects.get().state == state
        assert b"Pause" not in accountant.get(f"/finance/billing/schedules/{schedule.pk}/").content

    def test_plain_staff_see_schedules_but_may_not_change_them(self, staff_client, account, policy_fee):
        schedule = monthly(account, at=timezone.now(), product=policy_fee)

        assert staff_client.get(f"/finance/billing/schedules/{schedule.pk}/").status_code == 200
        assert staff_client.post(f"/finance/billing/schedules/{schedule.pk}/pause/").status_code == 403
        assert staff_client.get(f"/finance/billing/accounts/{account.pk}/schedules/new/").status_code == 403
        assert RecurringSchedule.objects.get().state == ScheduleState.ACTIVE

    def test_a_draft_is_posted_and_sent_from_the_schedule(self, accountant, account, policy_fee):
        BillingSettings.objects.create(tenant=account.tenant, post_invoices=False)
        schedule = monthly(account, at=timezone.now(), product=policy_fee, start_on=timezone.localdate())
        from billing.services.runs import issue_next
        run = issue_next(schedule=schedule, at=timezone.now())

        response = accountant.post(f"/finance/billing/runs/{run.pk}/post/")
        again = accountant.post(f"/finance/billing/runs/{run.pk}/post/", follow=True)

        assert response.status_code == 302
        assert ScheduleRun.objects.get().invoice.number == "INV-000001"
        assert "The invoice is posted, not a draft." in again.content.decode()

    def test_settings_refuse_bad_retry_days_by_field(self, administrator, tenant, in_tenant):
        refused = administrator.post("/finance/billing/settings/", {"post_invoices": "on", "retry_days": "3, 1"})
        assert refused.status_code == 422 and set(refused.context["form"].errors) == {"retry_days"}
        assert not BillingSettings.objects.exists()
        saved = administrator.post("/finance/billing/settings/", {"retry_days": "2; 5"})
        assert saved.status_code == 302
        assert (BillingSettings.objects.get().post_invoices, BillingSettings.objects.get().retry_days) == (False,
                                                                                                          [2, 5])

    def test_the_list_and_the_report_show_the_next_30_days(self, staff_client, account, policy_fee):
        monthly(account, at=timezone.now(), product=policy_fee, start_on=timezone.localdate() + timedelta(days=3))

        listed = staff_client.get("/finance/billing/")
        report = staff_client.get("/reports/recurring/")

        assert [(u.period, u.total) for u in listed.context["upcoming"]] == [(1, 30)]
        assert report.status_code == 200
        assert [row.mrr for row in report.context["mrr"]][-1] == 0  # it starts in three days


class TestApi:
    def body(self, of, **changes):
        return {"account": of.pk, "name": "Quarterly retainer", "frequency": "quarterly",
                "start_on": timezone.localdate().isoformat(), "end_after": 4,
                "lines": [{"description": "Retainer", "unit_price": "300.00"}]} | changes

    def test_create_read_pause_resume_and_end(self, tenant, account):
        client = api_client_for(tenant)
        created = client.post("/api/v1/schedules", json.dumps(self.body(account)), content_type="application/json")
        assert created.status_code == 201, created.content
        schedule = created.json()
        assert (schedule["frequency"], schedule["state"], schedule["next_invoice_on"],
                schedule["lines"][0]["unit_price"]) == ("quarterly", "active", timezone.localdate().isoformat(),
                                                        "300.00")
        path = f"/api/v1/schedules/{schedule['id']}"
        assert client.get(path).json()["id"] == schedule["id"]
        assert [s["id"] for s in client.get(f"/api/v1/schedules?account={account.pk}").json()] == [schedule["id"]]
        for action, state in (("pause", "paused"), ("resume", "active"), ("end", "ended")):
            answer = client.post(f"{path}/{action}")
            assert (answer.status_code, answer.json()["state"]) == (200, state)
        refused = client.post(f"{path}/end")
        assert (refused.status_code, refused.json()["errors"]) == (
            422, [{"field": "state", "message": "The schedule has already ended."}])

    def test_refusals_name_their_field_in_json_and_save_nothing(self, tenant, account, other_tenant):
        client = api_client_for(tenant)
        cases = {
            "name": self.body(account, name=""),
            "lines": self.body(account, lines=[]),
            "lines[0].unit_price": self.body(account, lines=[{"description": "x", "unit_price": "abc"}]),
            "lines[0].product": self.body(account, lines=[{"product": 987654}]),
            "day_of_month": self.body(account, frequency="weekly", day_of_month=3),
            "start_on": self.body(account, start_on="2001-01-01"),
            "account": self.body(account, account=987654),
        }
        for field, body in cases.items():
            answer = client.post("/api/v1/schedules", json.dumps(body), content_type="application/json")
            assert answer.status_code == 422, (field, answer.content)
            assert field in {error["field"] for error in answer.json()["errors"]}, (field, answer.json())
        assert not RecurringSchedule.objects.exists()

    def test_another_tenants_schedule_and_card_are_not_found(self, tenant, account, other_tenant, policy_fee):
        schedule = monthly(account, at=timezone.now(), product=policy_fee)
        stranger = api_client_for(other_tenant)

        assert stranger.get(f"/api/v1/schedules/{schedule.pk}").status_code == 404
        assert stranger.post(f"/api/v1/schedules/{schedule.pk}/pause").status_code == 404
        assert stranger.get(f"/api/v1/customers/{account.customer_id}/cards").status_code == 404
        assert RecurringSchedule.objects.get().state == ScheduleState.ACTIVE


@pytest.fixture
def sandbox(ledger, settings):
    settings.GATEWAY_BASE_URLS = {"sandbox": closed_port_url()}
    return gateway_services.save_gateway_account(tenant=ledger, provider="sandbox", live=False, secret="sbx_1")


class TestCardsOnFile:
    def test_staff_see_the_card_and_its_consent_and_remove_it(self, staff_client, account, sandbox, customer):
        card = card_on_file(account, sandbox, token="sbxpm_0123456789ab")

        panel = staff_client.get(f"/payments/customers/{customer.pk}/cards/").content.decode()
        assert "Visa •••• 4242" in panel and "12/30" in panel and "Save this card." in panel
        assert "192.0.2.7" in panel and "Email Pay page" in panel
        removed = staff_client.post(f"/payments/cards/{card.pk}/remove/")

        assert removed.status_code == 200
        card = SavedCard.objects.get()
        assert (card.removed_via, card.removed_by.username, card.forgotten_by_provider) == (
            RemovedVia.STAFF, "alice", False)  # the sandbox did not answer: the janitor asks it again
        assert "Removed" in removed.content.decode()

    def test_the_api_lists_and_removes_cards(self, tenant, account, sandbox, customer):
        card = card_on_file(account, sandbox, token="sbxpm_0123456789ab")
        client = api_client_for(tenant)

        listed = client.get(f"/api/v1/customers/{customer.pk}/cards").json()
        removed = client.delete(f"/api/v1/cards/{card.pk}")

        assert [(c["brand"], c["last4"], c["exp_month"], c["consent_source"], c["removed_at"]) for c in listed] == [
            ("visa", "4242", 12, "email_pay", None)]
        assert removed.status_code == 200 and removed.json()["removed_at"] is not None
        assert SavedCard.objects.get().removed_via == RemovedVia.API

    def test_the_customer_removes_a_card_from_the_portal(self, account, sandbox, customer, other_customer):
        card = card_on_file(account, sandbox, token="sbxpm_0123456789ab")
        portal = Client()
        session = portal.session
        session[SESSION_KEY] = {"tenant": customer.tenant_id, "customer": customer.pk,
                                "until": (timezone.now() + timedelta(minutes=30)).isoformat()}
        session.save()

        home = portal.get("/portal/")
        assert "Visa •••• 4242, expires 12/30" in home.content.decode()
        removed = portal.post(f"/portal/cards/{card.pk}/remove/")

        assert removed["Location"] == "/portal/?notice=card_removed#cards"
        assert SavedCard.objects.get().removed_via == RemovedVia.PORTAL
        assert portal.post(f"/portal/cards/{card.pk}/remove/").status_code == 404

    def test_the_email_pay_page_records_the_consent_the_customer_ticked(self, account, sandbox, customer):
        from paylinks.services.invoice_pay import send_invoice_pay_link
        invoice = InvoiceFactory(account=account, price="45.00", at=datetime(2027, 1, 5, 9, tzinfo=UTC))
        token = send_invoice_pay_link(invoice=invoice, actor=None, at=timezone.now())

        page = Client().get(f"/pay/invoice/{token}/").content.decode()
        assert "Save this card so that Acme Brokers can charge it" in page
        Client().post(f"/pay/invoice/{token}/", {"amount": "45.00", "save_card": "1"}, REMOTE_ADDR="198.51.100.4")
        Client().post(f"/pay/invoice/{token}/", {"amount": "45.00"})

        consents = [p.card_consent for p in GatewayPayment.objects.order_by("id")]
        assert consents[1] is None
        assert (consents[0]["source"], consents[0]["ip"]) == (ConsentSource.EMAIL_PAY, "198.51.100.4")
        assert consents[0]["text"].startswith("Save this card so that Acme Brokers can charge it")

    def test_a_provider_that_keeps_no_cards_offers_no_box(self, ledger, account, customer, settings):
        gateway_services.save_gateway_account(tenant=ledger, provider="credicorp", live=False, secret="cc",
                                              settings={"merchant_id": "m1", "base_url": closed_port_url(),
                                                        "callback_secret": "cb"})
        from gateways.models import GatewayAccount
        from payments.pages import card_offer
        assert card_offer(GatewayAccount.objects.get(provider="credicorp"), "Acme") == ""


class TestQueryCounts:
    """The lists cost the same whatever they hold."""

    def queries(self, client, url):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def test_the_schedule_list_and_an_accounts_panel(self, staff_client, account, policy_fee, ledger):
        from tests.factories import AccountFactory, CustomerFactory
        monthly(account, at=timezone.now(), product=policy_fee, start_on=timezone.localdate())
        few = (self.queries(staff_client, "/finance/billing/"),
               self.queries(staff_client, f"/finance/billing/accounts/{account.pk}/schedules/"))
        for n in range(4):
            other = AccountFactory(customer=CustomerFactory(tenant=ledger, name=f"More {n}"))
            monthly(other, at=timezone.now(), product=policy_fee, start_on=timezone.localdate())
            monthly(account, at=timezone.now(), product=policy_fee, start_on=timezone.localdate())

        assert (self.queries(staff_client, "/finance/billing/"),
                self.queries(staff_client, f"/finance/billing/accounts/{account.pk}/schedules/")) == few

    def test_a_schedules_page_and_the_cards_panel(self, staff_client, account, policy_fee, customer, sandbox):
        from billing.services.runs import issue_for_tenant
        schedule = monthly(account, at=timezone.now(), product=policy_fee, start_on=timezone.localdate()
                           - timedelta(days=20))
        issue_for_tenant(tenant=account.tenant, at=timezone.now())
        card_on_file(account, sandbox, token="sbxpm_0123456789ab")
        few = (self.queries(staff_client, f"/finance/billing/schedules/{schedule.pk}/"),
               self.queries(staff_client, f"/payments/customers/{customer.pk}/cards/"))
        for n in range(3):
            card_on_file(account, sandbox, token=f"sbxpm_0123456789a{n}")
        issue_for_tenant(tenant=account.tenant, at=timezone.now() + timedelta(days=62))

        assert ScheduleRun.objects.count() == 3
        assert (self.queries(staff_client, f"/finance/billing/schedules/{schedule.pk}/"),
                self.queries(staff_client, f"/payments/customers/{customer.pk}/cards/")) == few

    def test_the_api_list_costs_the_same_whatever_it_holds(self, tenant, account, policy_fee, ledger):
        from billing.services.runs import issue_for_tenant
        client = api_client_for(tenant)
        monthly(account, at=timezone.now(), product=policy_fee, start_on=timezone.localdate())
        issue_for_tenant(tenant=tenant, at=timezone.now())
        few = self.queries(client, "/api/v1/schedules")
        for _ in range(3):
            monthly(account, at=timezone.now(), product=policy_fee, start_on=timezone.localdate())
        issue_for_tenant(tenant=tenant, at=timezone.now())

        assert len(client.get("/api/v1/schedules").json()) == 4
        assert self.queries(client, "/api/v1/schedules") == few
