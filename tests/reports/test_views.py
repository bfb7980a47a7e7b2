import csv
import io
import re
from datetime import UTC, datetime

import openpyxl
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from crm.models import Customer
from finance.models import FinancialTransaction
from reports import services
from reports.models import Segment, SegmentSubject
from tests.conftest import logged_in
from tests.helpers import assert_404_for_other_tenant

MAY = "start=2026-05-01&end=2026-05-31"
REPORTS = ("transactions", "documents", "revenue", "aged", "requests")


def url(slug, query=""):
    return reverse("reports:report", args=[slug]) + (f"?{query}" if query else "")


def other_segment(other_tenant):
    with scope(tenant=other_tenant):
        return Segment.objects.create(tenant=other_tenant, name="Theirs", subject=SegmentSubject.TRANSACTIONS,
                                      created_at=datetime(2026, 5, 1, tzinfo=UTC))


@pytest.mark.django_db
class TestReportPages:
    @pytest.mark.parametrize("slug", REPORTS)
    def test_each_report_renders_with_a_fixed_number_of_queries(self, book, staff_client, slug):
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(url(slug, MAY + "&as_of=2026-08-01"))

        assert response.status_code == 200
        # session, user, roles/tenant, form choices and one query per figure; pinned, whatever the rows
        assert len(queries) == {"transactions": 7, "documents": 7, "revenue": 7, "aged": 6, "requests": 4}[slug]

    def test_revenue_page_shows_the_totals(self, book, staff_client):
        response = staff_client.get(url("revenue", MAY))

        content = response.content.decode()
        assert 'id="revenue-EUR"><strong>€350.00</strong>' in content
        assert 'id="revenue-USD"><strong>US$40.00</strong>' in content

    def test_aged_page_shows_the_buckets(self, book, staff_client):
        response = staff_client.get(url("aged", "as_of=2026-08-01"))

        content = response.content.decode()
        assert "<strong>€190.00</strong>" in content and "<strong>US$40.00</strong>" in content

    def test_a_long_transactions_report_counts_its_rows_from_the_daily_figures_and_pages_them_in_order(
            self, ledger, staff_client):
        call_command("seed_bulk_ledger", ledger.slug, transactions=130, accounts=3, days=60, stdout=None)
        today = timezone.localdate()
        year = f"start={today.replace(year=today.year - 1)}&end={today}"
        posted = list(FinancialTransaction.objects.filter(tenant=ledger, state="posted").order_by("posted_at", "id")
                      .values_list("number", flat=True))

        with CaptureQueriesContext(connection) as queries:
            second = staff_client.get(url("transactions", year + "&page=2")).content.decode()

        assert f"Page 2 of 3 · {len(posted)} in all" in second
        assert not any("count(" in q["sql"].lower() for q in queries)  # the total is the figures' sum
        assert re.findall(r'transactions/\d+/">([^<]+)</a>', second) == posted[50:100]

    def test_a_transactions_report_narrowed_to_a_customer_lists_and_totals_its_rows_from_the_ledger(
            self, book, staff_client):
        response = staff_client.get(url("transactions", MAY + f"&customer={book['eur'].customer_id}"))

        content = response.content.decode()
        # May's twelve postings but the write-off account's invoice; Ivan posted nothing in May
        assert len(re.findall(r'transactions/\d+/">', content)) == 11
        assert re.search(r'data-currency="EUR" data-classification="invoice"><td>EUR</td><td>[^<]+</td>'
                         r'<td class="num">4</td>', content)

    def test_transactions_export_csv_has_every_row_of_the_period(self, book, staff_client):
        response = staff_client.get(url("transactions", MAY + "&format=csv"))

        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert response["Content-Type"].startswith("text/csv")
        assert rows[0][:3] == ["Posted at", "Number", "Classification"]
        assert len(rows) == 1 + 12
        assert sorted(r[1] for r in rows[1:] if r[2] == "invoice_cancellation") == [book["ic"].number]

    def test_aged_export_xlsx(self, book, staff_client):
        response = staff_client.get(url("aged", "as_of=2026-08-01&format=xlsx"))

        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        assert values[0] == ["Account", "Customer", "Currency", "Current", "1–30", "31–60", "61–90", "90+", "Total"]
        assert sorted(float(r[-1]) for r in values[1:]) == [40.0, 70.0, 120.0]

    def test_revenue_export_csv(self, book, staff_client):
        response = staff_client.get(url("revenue", MAY + "&format=csv"))

        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert ["Receipts", "EUR", "Payment", "Card", "1", "100.00", "0.00", "", "100.00"] in rows

    def test_an_unknown_format_is_404(self, book, staff_client):
        assert staff_client.get(url("transactions", "format=pdf")).status_code == 404

    @pytest.mark.parametrize("slug", REPORTS)
    def test_another_tenants_segment_or_customer_is_404(self, book, other_tenant, customer, slug):
        segment = other_segment(other_tenant)
        from tests.factories import UserFactory

        client = logged_in(UserFactory(tenant=other_tenant, username="olga2"))
        assert_404_for_other_tenant(client, url(slug, f"customer={customer.pk}"))
        own = logged_in(UserFactory(tenant=book["eur"].tenant, username="al2"))
        assert_404_for_other_tenant(own, url(slug, f"segment={segment.pk}"))
        assert_404_for_other_tenant(own, url(slug, f"segment={segment.pk}&format=csv"))

    def test_a_segment_narrows_a_report(self, book, staff, staff_client):
        with scope(tenant=staff.tenant):
            segment = services.save_segment(tenant=staff.tenant, name="USD invoices", subject="transactions",
                                            rules={"currency": "USD", "classification": "invoice"}, actor=staff,
                                            at=timezone.now())

        response = staff_client.get(url("transactions", MAY + f"&segment={segment.pk}&format=csv"))

        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert [r[1] for r in rows[1:]] == [book["inv_usd"].number]


@pytest.mark.django_db
class TestDashboard:
    def test_renders_charts_and_counts(self, book, staff_client):
        from finance.models import Classification
        from tests.reports.conftest import D, post

        with scope(tenant=book["eur"].tenant):
            from finance.models import PaymentMethod
            post(book["eur"], Classification.PAYMENT, timezone.now(), amount=D("12.00"),
                 payment_method=PaymentMethod.objects.get(tenant=book["eur"].tenant, name="Card"))

        with CaptureQueriesContext(connection) as cold:
            response = staff_client.get(reverse("reports:dashboard"))
        with CaptureQueriesContext(connection) as warm:
            staff_client.get(reverse("reports:dashboard"))

        content = response.content.decode()
        assert response.status_code == 200
        assert "<svg" in content and "€12.00" in content
        assert 'id="count-processing">0<' in content
        # session, user, tenant, the four counts, and one query per chart's figures (read from the daily
        # figures, so the same every time: no cache to fill)
        assert (len(cold), len(warm)) == (10, 10)


@pytest.mark.django_db
class TestSegments:
    def test_staff_create_a_segment_of_overdue_invoices(self, book, staff_client, staff):
        response = staff_client.post(reverse("reports:segment_list"), {
            "name": "Overdue > 30 days in EUR", "subject": "transactions", "classification": "invoice",
            "currency": "EUR", "overdue_days": "30"})

        with scope(tenant=staff.tenant):
            segment = Segment.objects.get()
        assert response.status_code == 302
        assert segment.rules == {"classification": "invoice", "currency": "EUR", "overdue_days": 30}

    def test_a_duplicate_name_is_refused_on_its_field(self, book, staff):
        from django.core.exceptions import ValidationError

        with scope(tenant=staff.tenant):
            services.save_segment(tenant=staff.tenant, name="A", subject="customers", rules={}, actor=staff,
                                  at=timezone.now())
            with pytest.raises(ValidationError) as refused:
                services.save_segment(tenant=staff.tenant, name="A", subject="customers", rules={}, actor=staff,
                                      at=timezone.now())
            assert refused.value.message_dict == {"name": ["A segment called “A” exists already."]}
            assert Segment.objects.count() == 1

    def test_a_rule_that_does_not_apply_is_refused(self, book, staff):
        from django.core.exceptions import ValidationError

        with scope(tenant=staff.tenant), pytest.raises(ValidationError) as refused:
            services.save_segment(tenant=staff.tenant, name="A", subject="customers", rules={"state": "posted"},
                                  actor=staff, at=timezone.now())
        assert refused.value.message_dict == {"state": ["This filter does not apply to this kind of segment."]}

    def test_segment_detail_lists_and_exports_its_transactions(self, book, staff, staff_client):
        with scope(tenant=staff.tenant):
            segment = services.save_segment(tenant=staff.tenant, name="Overdue", subject="transactions",
                                            rules={"overdue_days": 30, "currency": "EUR"}, actor=staff,
                                            at=timezone.now())
        detail = reverse("reports:segment_detail", args=[segment.pk])

        response = staff_client.get(detail + "?format=csv")

        rows = list(csv.reader(io.StringIO(response.content.decode())))
        # today is after 2026: both EUR invoices still open are more than 30 days overdue
        assert sorted(r[1] for r in rows[1:]) == sorted([book["inv_old"].number, book["inv_d"].number])
        assert staff_client.get(detail).status_code == 200

    def test_message_a_segment_of_customers_through_the_outbox(self, book, staff, staff_client):
        from notifications.models import Notification

        with scope(tenant=staff.tenant):
            segment = services.save_segment(tenant=staff.tenant, name="Owing", subject="customers",
                                            rules={"currency": "EUR", "min_balance": "1"}, actor=staff,
                                            at=timezone.now())
            Customer.objects.filter(pk=book["ivan"].customer_id).update(email="ivan@example.com")

        response = staff_client.post(reverse("reports:segment_detail", args=[segment.pk]), {
            "template": "generic", "channels": ["email"], "idempotency_key": "k1"})

        with scope(tenant=staff.tenant):
            recipients = sorted(Notification.objects.values_list("recipient", flat=True))
        page = staff_client.get(reverse("reports:segment_detail", args=[segment.pk])).content.decode()
        assert response.status_code == 302
        assert recipients == sorted([book["eur"].customer.email, "ivan@example.com"])
        assert "Harriet Holloway" in page and "Ivan Ilic" in page

    def test_segment_page_reads_its_criteria_in_words_and_hides_the_form_key(self, book, staff, staff_client):
        with scope(tenant=staff.tenant):
            segment = services.save_segment(tenant=staff.tenant, name="Overdue", subject="transactions",
                                            rules={"classification": "invoice", "overdue_days": 5, "currency": "EUR"},
                                            actor=staff, at=timezone.now())

        page = staff_client.get(reverse("reports:segment_detail", args=[segment.pk])).content.decode()

        criteria = re.search(r'<p class="help" id="segment-criteria">(.*?)</p>', page, re.S).group(1)
        assert criteria == ("Financial transactions: Classification: Invoice · Currency: EUR · "
                            "Overdue more than (days): 5")
        assert "Idempotency key" not in page and "overdue_days" not in page
        assert re.search(r'<input type="hidden" name="idempotency_key" value="[\w-]+"', page)

    def test_as_a_report_opens_the_period_that_holds_the_segments_rows(self, book, staff, staff_client):
        with scope(tenant=staff.tenant):
            segment = services.save_segment(tenant=staff.tenant, name="Overdue", subject="transactions",
                                            rules={"overdue_days": 30, "currency": "EUR"}, actor=staff,
                                            at=timezone.now())

        page = staff_client.get(reverse("reports:segment_detail", args=[segment.pk])).content.decode()
        link = re.search(r'<a class="button" href="([^"]+)">As a report</a>', page).group(1).replace("&amp;", "&")
        report = staff_client.get(link + "&format=csv")

        assert link == f"/reports/transactions/?segment={segment.pk}&start=2026-03-01&end=2026-05-20"
        rows = list(csv.reader(io.StringIO(report.content.decode())))
        assert sorted(r[1] for r in rows[1:]) == sorted([book["inv_old"].number, book["inv_d"].number])

    def test_one_message_queued_is_said_in_the_singular(self, book, staff, staff_client):
        with scope(tenant=staff.tenant):
            segment = services.save_segment(tenant=staff.tenant, name="Owing 100", subject="customers",
                                            rules={"currency": "EUR", "min_balance": "100"}, actor=staff,
                                            at=timezone.now())

        response = staff_client.post(reverse("reports:segment_detail", args=[segment.pk]), {
            "template": "generic", "channels": ["email"], "idempotency_key": "k1"}, follow=True)

        assert [str(m) for m in response.context["messages"]] == ["1 message queued."]

    def test_another_tenants_segment_is_404(self, book, other_tenant, staff_client):
        segment = other_segment(other_tenant)

        assert_404_for_other_tenant(staff_client, reverse("reports:segment_detail", args=[segment.pk]))
        assert_404_for_other_tenant(staff_client, reverse("reports:segment_detail", args=[segment.pk]) + "?format=csv")
        assert_404_for_other_tenant(staff_client, reverse("reports:segment_delete", args=[segment.pk]), method="post")
