"""Instalments due and overdue, and the dashboard's "due this week". Obligations are written
directly (the obligations services are another piece of work); only the fields the report reads matter."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from obligations.models import Instalment, InstalmentStatus, Obligation
from reports import selectors, services
from reports.selectors import Period, ReportFilter
from tests.helpers import assert_404_for_other_tenant
from tests.reports.conftest import D

TODAY = date(2026, 6, 10)  # a Wednesday
JUNE = Period(start=date(2026, 6, 1), end=date(2026, 6, 30), time_zone="Europe/London")


def obligation(customer, currency="EUR", **dues):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    made = Obligation.objects.create(
        tenant=customer.tenant, customer=customer, payee="Insurer", payment_code=f"P-{currency}",
        description=f"Motor {currency}", total_amount=D("1000.00"), currency=currency, created_at=now, updated_at=now)
    for number, (due_on, amount, paid) in enumerate(dues.values(), start=1):
        Instalment.objects.create(
            tenant=customer.tenant, obligation=made, number=number, amount=D(amount), due_on=due_on,
            status=InstalmentStatus.PAID if paid else InstalmentStatus.UNPAID, paid_at=now if paid else None,
            paid_outside=bool(paid))
    return made


@pytest.fixture
def plans(in_tenant, customer):
    obligation(customer, first=(date(2026, 5, 1), "100.00", True), second=(date(2026, 5, 20), "110.00", False),
               third=(date(2026, 6, 12), "120.00", False), fourth=(date(2026, 7, 12), "130.00", False))
    obligation(customer, "USD", only=(date(2026, 6, 8), "50.00", False))
    return in_tenant


@pytest.mark.django_db
class TestInstalmentsDue:
    def test_totals_split_due_in_the_period_and_overdue_by_currency(self, plans):
        totals = selectors.instalment_totals(tenant=plans, period=JUNE, filters=ReportFilter(), today=TODAY)

        assert totals == [
            {"currency": "EUR", "due_count": 1, "due_amount": D("120.00"), "overdue_count": 1,
             "overdue_amount": D("110.00")},
            {"currency": "USD", "due_count": 0, "due_amount": D("0.00"), "overdue_count": 1,
             "overdue_amount": D("50.00")},
        ]

    def test_rows_are_the_unpaid_due_in_the_period_or_overdue(self, plans):
        rows = selectors.instalments_due(tenant=plans, period=JUNE, filters=ReportFilter(), today=TODAY)

        assert [(i.due_on, i.amount) for i in rows] == [
            (date(2026, 5, 20), D("110.00")), (date(2026, 6, 8), D("50.00")), (date(2026, 6, 12), D("120.00"))]

    def test_due_this_week_counts_monday_to_sunday(self, plans):
        assert selectors.instalments_due_this_week(tenant=plans, today=TODAY) == 2  # 06-08 and 06-12

    def test_the_page_and_its_export(self, plans, staff_client):
        url = reverse("reports:report", args=["instalments"])
        today = timezone.now().date()

        page = staff_client.get(url)
        rows = list(csv.reader(io.StringIO(staff_client.get(url + "?format=csv").content.decode())))

        assert page.status_code == 200
        # all five due dates are in 2026; today is later, so every unpaid one is overdue
        assert today > date(2026, 7, 12)
        assert [(r[0], r[5], r[6]) for r in rows[1:]] == [
            ("2026-05-20", "110.00", "yes"), ("2026-06-08", "50.00", "yes"), ("2026-06-12", "120.00", "yes"),
            ("2026-07-12", "130.00", "yes")]

    def test_another_tenants_customer_is_404(self, plans, customer, other_client):
        assert_404_for_other_tenant(other_client, reverse("reports:report", args=["instalments"])
                                    + f"?customer={customer.pk}")

    def test_a_segment_of_overdue_instalments(self, plans, staff, staff_client):
        segment = services.save_segment(tenant=plans, name="Overdue EUR instalments", subject="instalments",
                                        rules={"currency": "EUR", "overdue_days": "0", "state": "unpaid"},
                                        actor=staff, at=timezone.now())

        rows = list(csv.reader(io.StringIO(staff_client.get(
            reverse("reports:segment_detail", args=[segment.pk]) + "?format=csv").content.decode())))
        with scope(tenant=plans):
            customers = list(selectors.segment_customer_ids(segment=segment, today=timezone.now().date()))

        page = staff_client.get(reverse("reports:segment_detail", args=[segment.pk])).content.decode()
        assert [r[0] for r in rows[1:]] == ["2026-05-20", "2026-06-12", "2026-07-12"]
        assert len(customers) == 1
        assert page.count("Motor EUR") == 3 and "No instalments match" not in page


@pytest.mark.django_db
def test_dashboard_counts_instalments_due_this_week(in_tenant, customer, staff_client):
    today = timezone.now().astimezone().date()
    obligation(customer, soon=(today + timedelta(days=0), "10.00", False))

    content = staff_client.get(reverse("reports:dashboard")).content.decode()

    assert 'id="count-instalments">1<' in content
