"""The staff pages of obligations: the customer file's panel, creating, the obligation's page, editing,
marking paid, the calendar and its list, the settings; manager comments for managers only; cross-tenant
404s and query counts."""

from datetime import date
from decimal import Decimal

import pytest

from crm.models import Role
from obligations.models import Instalment, Obligation
from obligations.services.obligations import mark_instalment_paid
from tests.conftest import logged_in
from tests.factories import CustomerFactory, ObligationFactory, UserFactory
from tests.helpers import assert_404_for_other_tenant

pytestmark = pytest.mark.django_db
D = Decimal
SECRET = "Customer is slow to pay; call first."


@pytest.fixture
def manager_client(tenant):
    return logged_in(UserFactory(tenant=tenant, username="maria", role_keys=[Role.STAFF, Role.MANAGER]))


def form(**changes):
    values = {"description": "Road tax 2026", "payee_kind": "government", "payee": "DVLA",
              "payment_code": "RT-2026-0042", "total_amount": "300.00", "currency": "GBP", "date_rule": "next",
              "plan": "automatic", "first_due_on": "2026-04-01", "count": "3", "instalment_amount": "",
              "frequency": "monthly", "action": "create"}
    return values | changes


class TestCreatePage:
    def test_an_automatic_plan_is_created_and_shown(self, ledger, customer, staff_client):
        response = staff_client.post(f"/payments/customers/{customer.pk}/obligations/new/", form())

        obligation = Obligation.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/payments/obligations/{obligation.pk}/"
        assert list(obligation.instalments.values_list("amount", "due_on")) == [
            (D("100.00"), date(2026, 4, 1)), (D("100.00"), date(2026, 5, 1)), (D("100.00"), date(2026, 6, 1))]
        page = staff_client.get(response["Location"]).text
        assert "Road tax 2026" in page and "Wed, 1 Apr 2026" in page and page.count("Mark paid") == 3

    def test_the_plus_button_adds_a_row_and_shows_what_remains(self, ledger, customer, staff_client):
        response = staff_client.post(f"/payments/customers/{customer.pk}/obligations/new/", form(
            plan="manual", total_amount="500.00", row_due_on=["2026-05-01"], row_amount=["120.50"],
            action="add_row"))

        assert response.status_code == 200
        assert response.text.count('name="row_amount"') == 2
        assert "Remaining to cover: 379.50 GBP" in response.text
        assert not Obligation.objects.exists()

    def test_a_manual_plan_that_overshoots_is_refused_with_the_difference_and_nothing_saved(
            self, ledger, customer, staff_client):
        response = staff_client.post(f"/payments/customers/{customer.pk}/obligations/new/", form(
            plan="manual", total_amount="500.00", row_due_on=["2026-05-01", "2026-06-01"],
            row_amount=["300.00", "250.00"]))

        assert response.status_code == 422
        assert "The instalments add up to £550.00, £50.00 more than the total £500.00." in response.text
        assert not Obligation.objects.exists() and not Instalment.objects.exists()

    def test_the_preview_shows_the_schedule_without_saving(self, ledger, customer, staff_client):
        response = staff_client.post(f"/payments/customers/{customer.pk}/obligations/new/", form(
            action="preview", total_amount="100.00", first_due_on="2027-01-31"))

        assert "Mon, 1 Feb 2027" in response.text and "33.34" in response.text
        assert not Obligation.objects.exists()

    def test_a_staff_member_without_the_manager_role_cannot_write_manager_comments(
            self, ledger, customer, staff_client):
        page = staff_client.get(f"/payments/customers/{customer.pk}/obligations/new/").text
        staff_client.post(f"/payments/customers/{customer.pk}/obligations/new/", form(manager_comments=SECRET))

        assert "manager_comments" not in page
        assert Obligation.objects.get().manager_comments == ""


class TestManagerComments:
    def test_a_manager_sees_them_on_the_obligation_page(self, obligation, manager_client):
        assert SECRET in manager_client.get(f"/payments/obligations/{obligation.pk}/").text
        assert SECRET in manager_client.get(f"/payments/obligations/{obligation.pk}/edit/").text

    def test_other_staff_never_see_them_on_any_page(self, obligation, customer, staff_client):
        for url in (f"/payments/obligations/{obligation.pk}/", f"/payments/obligations/{obligation.pk}/edit/",
                    f"/payments/customers/{customer.pk}/obligations/", "/payments/obligations/",
                    "/payments/obligations/calendar/?month=2026-04", "/payments/obligations/calendar/?view=list",
                    f"/payments/instalments/{obligation.instalments.first().pk}/edit/"):
            response = staff_client.get(url)
            assert response.status_code == 200, url
            assert "slow to pay" not in response.text, url

    def test_changes_to_them_are_in_the_audit_log_for_managers_only(self, obligation, manager_client, staff_client):
        manager_client.post(f"/payments/obligations/{obligation.pk}/edit/", {
            "description": "Road tax 2026", "payee_kind": "government", "payee": "DVLA",
            "payment_code": "RT-2026-0042", "total_amount": "300.00", "currency": "GBP", "date_rule": "next",
            "manager_comments": "Paid late twice."})

        assert "Paid late twice." in manager_client.get(f"/payments/obligations/{obligation.pk}/").text
        assert "Paid late twice" not in staff_client.get(f"/payments/obligations/{obligation.pk}/").text


class TestEditingPages:
    def test_editing_an_instalment_shows_at_once_and_in_the_audit_log(self, obligation, staff_client):
        second = obligation.instalments.get(number=2)

        response = staff_client.post(f"/payments/instalments/{second.pk}/edit/", {"amount": "150.00",
                                                                                    "due_on": "2026-05-04"})

        assert response.status_code == 302
        page = staff_client.get(f"/payments/obligations/{obligation.pk}/").text
        assert "Mon, 4 May 2026" in page and "350.00 GBP" in page
        assert "Instalment 2: Changed" in page and "“100.00” → “150.00”" in page

    def test_a_bad_amount_is_named_and_nothing_changes(self, obligation, staff_client):
        second = obligation.instalments.get(number=2)

        response = staff_client.post(f"/payments/instalments/{second.pk}/edit/", {"amount": "-5", "due_on": ""})

        assert response.status_code == 422 and "The amount must be more than zero." in response.text
        assert Instalment.objects.get(pk=second.pk).amount == D("100.00")

    def test_marking_paid_records_who(self, obligation, staff_client, staff):
        first = obligation.instalments.get(number=1)

        staff_client.post(f"/payments/instalments/{first.pk}/mark-paid/")

        first.refresh_from_db()
        assert (first.status, first.paid_by, first.paid_outside) == ("paid", staff, True)
        page = staff_client.get(f"/payments/obligations/{obligation.pk}/").text
        assert "paid outside Duly, marked by" in page and page.count("Mark paid") == 2


class TestCalendar:
    def test_the_month_shows_each_instalment_on_its_day(self, obligation, staff_client):
        page = staff_client.get("/payments/obligations/calendar/?month=2026-05").text

        assert "May 2026" in page and "Harriet Holloway: Road tax 2026 #2" in page
        assert "Road tax 2026 #1" not in page

    def test_the_list_filters_by_customer_and_status(self, obligation, ledger, staff_client, staff):
        ivan = CustomerFactory(tenant=ledger, name="Ivan Ilic")
        ObligationFactory(customer=ivan, description="Ivan's VAT")
        mark_instalment_paid(instalment=obligation.instalments.get(number=1), actor=staff,
                                      at=obligation.created_at)

        everyone = staff_client.get("/payments/obligations/calendar/?view=list").text
        harriet = staff_client.get(f"/payments/obligations/calendar/?view=list&customer={obligation.customer_id}").text
        paid = staff_client.get("/payments/obligations/calendar/?view=list&status=paid").text

        assert everyone.count("<tr>") - 1 == 6
        assert harriet.count("<tr>") - 1 == 3 and "Ivan&#x27;s VAT" not in harriet
        assert paid.count("<tr>") - 1 == 1 and "Road tax 2026" in paid

    def test_the_list_and_the_month_do_not_query_per_row(self, ledger, customer, staff_client,
                                                         django_assert_num_queries):
        for n in range(4):
            ObligationFactory(customer=CustomerFactory(tenant=ledger), total="600.00", count=6, description=f"Plan {n}")
        staff_client.get("/payments/obligations/calendar/?view=list")  # warm the session

        # session, user, tenant, the instalments with their obligations and customers, the customers of the
        # filter, two permission reads
        with django_assert_num_queries(7):
            staff_client.get("/payments/obligations/calendar/?view=list")
        with django_assert_num_queries(7):
            staff_client.get("/payments/obligations/calendar/?month=2026-05")
        with django_assert_num_queries(4):  # session, user, tenant, the obligations with totals and customers
            staff_client.get("/payments/obligations/")
        with django_assert_num_queries(5):  # … and the customer
            staff_client.get(f"/payments/customers/{customer.pk}/obligations/")


class TestSettings:
    def test_only_managers_change_them(self, ledger, staff_client, manager_client):
        assert staff_client.get("/payments/obligations/settings/").status_code == 403

        response = manager_client.post("/payments/obligations/settings/", {
            "reminder_days_before": "5", "overdue_days_after": "2", "sms_enabled": "on"})

        assert response.status_code == 302
        from obligations.models import ObligationSettings
        options = ObligationSettings.objects.get()
        assert (options.reminder_days_before, options.overdue_days_after, options.sms_enabled) == (5, 2, True)

    def test_bad_values_are_named(self, ledger, manager_client):
        response = manager_client.post("/payments/obligations/settings/", {
            "reminder_days_before": "99", "overdue_days_after": "x", "holiday_subdivision": "ZZZ"})

        assert response.status_code == 422
        assert response.text.count("A number of days from 0 to 60.") == 2
        assert "“ZZZ” is not a region of United Kingdom." in response.text


class TestOtherTenants:
    def test_every_page_answers_404_to_another_tenants_staff(self, obligation, customer, other_client):
        instalment = obligation.instalments.first()
        for url, method in [
            (f"/payments/customers/{customer.pk}/obligations/", "get"),
            (f"/payments/customers/{customer.pk}/obligations/new/", "get"),
            (f"/payments/customers/{customer.pk}/obligations/new/", "post"),
            (f"/payments/obligations/{obligation.pk}/", "get"),
            (f"/payments/obligations/{obligation.pk}/edit/", "get"),
            (f"/payments/obligations/{obligation.pk}/edit/", "post"),
            (f"/payments/instalments/{instalment.pk}/edit/", "get"),
            (f"/payments/instalments/{instalment.pk}/edit/", "post"),
            (f"/payments/instalments/{instalment.pk}/mark-paid/", "post"),
            (f"/payments/obligations/calendar/?customer={customer.pk}", "get"),
        ]:
            assert_404_for_other_tenant(other_client, url, method=method, data=form() if method == "post" else None)
        assert Instalment.objects.filter(status="paid").count() == 0
        assert Obligation.objects.count() == 1
