"""The daily figures (``reports.models.DailyFigure`` / ``DailyProductFigure``), kept by triggers where
postings happen, against the aggregates over the ledger's rows that they replace on the dashboard."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django_scopes import scope

from finance import services
from finance.models import Account, Classification, FinancialTransaction, PaymentMethod, RejectionReason
from reports import selectors
from reports.models import DailyFigure, DailyProductFigure
from reports.selectors import Period, ReportFilter
from tests.finance.conftest import default_type
from tests.reports.conftest import D, at, line, post

MAY = Period(start=date(2026, 5, 1), end=date(2026, 5, 31), time_zone="Europe/London")
YEAR = Period(start=date(2025, 6, 1), end=date(2026, 5, 31), time_zone="Europe/London")


def months(rows):
    return [(r["currency"], r["month"].date() if isinstance(r["month"], datetime) else r["month"], r["amount"])
            for r in rows]


def rolled_up_equals_direct(tenant, period):
    """The dashboard's three figures, from the daily figures and from the ledger's rows."""
    assert months(selectors.rolled_up_receipts_by_month(tenant=tenant, period=period)) == months(
        selectors.receipts_by_month(tenant=tenant, period=period))
    assert months(selectors.rolled_up_revenue_by_month(tenant=tenant, period=period)) == months(
        selectors.revenue_by_month(tenant=tenant, period=period))
    assert selectors.rolled_up_revenue_per_product(tenant=tenant, period=period) == (
        selectors.average_revenue_per_product(tenant=tenant, period=period))


ANY = ReportFilter()


def revenue_page_equals_rows(tenant, period, filters=ANY):
    """The revenue report's three figures, from the daily figures and from the ledger's rows."""
    args = {"tenant": tenant, "period": period, "filters": filters}
    assert selectors.revenue_by_type_from_figures(**args) == selectors.revenue_by_type_from_rows(
        **args, today=period.end)
    assert selectors.write_offs_from_figures(**args) == selectors.write_offs_from_rows(**args, today=period.end)
    assert selectors.receipts_by_method_from_figures(**args) == selectors.receipts_by_method_from_rows(
        **args, today=period.end)


def transaction_totals_equal_rows(tenant, period, filters=ANY):
    """The transaction reports' totals, from the daily figures and from the ledger's rows."""
    args = {"tenant": tenant, "period": period, "filters": filters, "today": period.end}
    for documents_only in (False, True):
        from_rows = selectors.totals_by_classification(
            selectors.transactions_posted(**args, documents_only=documents_only))
        assert selectors.transaction_totals(**args, documents_only=documents_only) == from_rows


def figures(tenant):
    return sorted(DailyFigure.objects.filter(tenant=tenant).values_list(
        "day", "currency", "classification", "customer_account", "type_id", "method_id", "count", "net_amount",
        "discount_amount", "tax_amount", "total_amount", "revenue_net", "revenue_discount", "revenue_tax",
        "revenue_without_tax"), key=str)


def product_figures(tenant):
    return sorted(DailyProductFigure.objects.filter(tenant=tenant).values_list(
        "day", "currency", "product_id", "lines", "revenue"), key=str)


@pytest.mark.django_db
class TestDailyFigures:
    def test_equal_the_aggregates_with_a_cancelled_invoice_a_credit_note_a_write_off_and_a_cancelled_payment(
            self, ledger, book):
        rolled_up_equals_direct(ledger, MAY)
        rolled_up_equals_direct(ledger, YEAR)
        rolled_up_equals_direct(ledger, Period(start=date(2026, 5, 11), end=date(2026, 5, 24),
                                               time_zone="Europe/London"))

    def test_the_reports_figures_from_them_equal_them_from_the_rows(self, ledger, book):
        """The revenue report's figures and the transaction reports' totals, by period and by filter."""
        late_may = Period(start=date(2026, 5, 16), end=date(2026, 5, 26), time_zone="Europe/London")
        cases = [(period, ANY) for period in (MAY, YEAR, late_may)] + [
            (MAY, ReportFilter(currency=currency)) for currency in ("EUR", "USD")] + [
            (MAY, ReportFilter(classification=classification)) for classification in (
                Classification.INVOICE_CANCELLATION, Classification.PAYMENT, Classification.PAYMENT_CANCELLATION,
                Classification.WRITE_OFF)]
        for period, filters in cases:
            revenue_page_equals_rows(ledger, period, filters)
            transaction_totals_equal_rows(ledger, period, filters)
        assert sum(t["count"] for t in selectors.transaction_totals(
            tenant=ledger, period=MAY, filters=ANY, today=MAY.end)) == 12

    def test_hold_the_figures_worked_out_by_hand(self, ledger, book):
        receipts = months(selectors.rolled_up_receipts_by_month(tenant=ledger, period=YEAR))
        revenue = months(selectors.rolled_up_revenue_by_month(tenant=ledger, period=YEAR))
        products = [(r["transaction__currency"], r["name"], r["lines"], r["revenue"], r["average"])
                    for r in selectors.rolled_up_revenue_per_product(tenant=ledger, period=MAY)]

        # the cash payment (25.00) is cancelled; the write-off is not revenue, nor is the write-off
        # account's invoice; the cancelled invoice (50.00) is taken out by its cancellation
        assert receipts == [("EUR", date(2026, 5, 1), D("100.00"))]
        assert revenue == [("EUR", date(2026, 3, 1), D("70.00")), ("EUR", date(2026, 5, 1), D("350.00")),
                           ("USD", date(2026, 5, 1), D("40.00"))]
        assert products == [
            ("EUR", "No product", 3, D("250.00"), D("83.33")),
            ("EUR", "Consulting", 1, D("180.00"), D("180.00")),
            ("USD", "No product", 1, D("40.00"), D("40.00")),
        ]

    def test_a_cancellation_counts_the_cancelled_invoices_amounts_and_a_payment_cancellation_its_method(
            self, ledger, book):
        cancellation = DailyFigure.objects.get(tenant=ledger, classification=Classification.INVOICE_CANCELLATION)
        payment_cancellation = DailyFigure.objects.get(tenant=ledger,
                                                       classification=Classification.PAYMENT_CANCELLATION)
        write_off = DailyFigure.objects.get(tenant=ledger, classification=Classification.WRITE_OFF)
        write_off_invoice = DailyFigure.objects.get(tenant=ledger, customer_account=False)

        assert (cancellation.day, cancellation.count, cancellation.total_amount) == (date(2026, 5, 15), 1,
                                                                                    D("60.00"))
        assert (cancellation.revenue_net, cancellation.revenue_discount, cancellation.revenue_tax,
                cancellation.revenue_without_tax) == (D("50.00"), D("0.00"), D("10.00"), D("50.00"))
        assert payment_cancellation.method == PaymentMethod.objects.get(tenant=ledger, name="Cash")
        assert (write_off.total_amount, write_off.customer_account) == (D("160.00"), True)
        assert (write_off_invoice.classification, write_off_invoice.total_amount) == (Classification.INVOICE,
                                                                                      D("160.00"))

    def test_a_day_is_the_tenants_calendar_day(self, ledger, book):
        # 23:30 UTC on 31 May is 00:30 on 1 June in London
        post(book["ivan"], Classification.INVOICE, datetime(2026, 5, 31, 23, 30, tzinfo=UTC),
             lines=[line("5.00")])

        assert DailyFigure.objects.filter(tenant=ledger, day=date(2026, 6, 1)).get().net_amount == D("5.00")
        rolled_up_equals_direct(ledger, Period(start=date(2026, 5, 1), end=date(2026, 6, 30),
                                               time_zone="Europe/London"))

    def test_a_new_time_zone_moves_the_days(self, ledger, book):
        ledger.time_zone = "Pacific/Kiritimati"  # UTC+14: 10:00 UTC is midnight the next day
        ledger.save(update_fields=["time_zone"])

        cancellation = DailyFigure.objects.get(tenant=ledger, classification=Classification.PAYMENT_CANCELLATION)
        assert cancellation.day == date(2026, 5, 28)
        rolled_up_equals_direct(ledger, Period(start=date(2026, 5, 1), end=date(2026, 6, 30),
                                               time_zone="Pacific/Kiritimati"))

    def test_only_postings_count_and_each_once(self, ledger, book):
        before = figures(ledger)
        draft = services.create_transaction(
            account=book["eur"],
            classification=Classification.INVOICE,
            actor=None,
            at=at(5, 28),
            data=services.TransactionData(lines=[line("9.00")]),
        )
        services.reject_transaction(txn=draft, reason=RejectionReason.objects.filter(tenant=ledger).first(),
                                    actor=None, at=at(5, 28))
        services.create_transaction(
            account=book["eur"],
            classification=Classification.INVOICE,
            actor=None,
            at=at(5, 28),
            data=services.TransactionData(lines=[line("11.00")]),
        )
        # a posted transaction's open amount changes as allocations come and go: it is still counted once
        FinancialTransaction.objects.filter(pk=book["inv_d"].pk).update(open_amount=D("119.00"))

        assert figures(ledger) == before

    def test_follow_a_bulk_seeded_ledger_and_a_rebuild_gives_the_same_figures(self, ledger):
        call_command("seed_bulk_ledger", ledger.slug, transactions=340, accounts=7, days=90, stdout=None)
        account = Account.objects.filter(tenant=ledger, kind="customer").first()
        invoice = FinancialTransaction.objects.filter(tenant=ledger, account=account,
                                                      classification=Classification.INVOICE, open_amount__gt=0).first()
        services.write_off_invoice(invoice=invoice, actor=None, at=datetime.now(UTC), type=default_type(ledger))
        today = datetime.now(UTC).date()
        kept, kept_products = figures(ledger), product_figures(ledger)

        with connection.cursor() as cursor:
            cursor.execute("SELECT reports_rebuild_figures(%s)", [ledger.pk])

        rolled_up_equals_direct(ledger, selectors.last_twelve_months(tenant=ledger, today=today))
        revenue_page_equals_rows(ledger, selectors.last_twelve_months(tenant=ledger, today=today))
        transaction_totals_equal_rows(ledger, selectors.last_twelve_months(tenant=ledger, today=today))
        rolled_up_equals_direct(ledger, Period(start=today.replace(day=1), end=today, time_zone="Europe/London"))
        assert sum(row[6] for row in kept) == FinancialTransaction.objects.filter(tenant=ledger, state="posted").count()
        assert (figures(ledger), product_figures(ledger)) == (kept, kept_products)


@pytest.fixture
def other_books(other_tenant):
    with scope(tenant=other_tenant):
        services.set_up_ledger(tenant=other_tenant)
    return other_tenant


@pytest.mark.django_db
class TestTenancy:
    def test_a_tenant_sees_only_its_own_figures(self, ledger, book, other_books, other_customer):
        with scope(tenant=other_books):
            account = services.open_account(customer=other_customer, currency="EUR")
            post(account, Classification.INVOICE, at(5, 3), lines=[line("999.00")])

        revenue = months(selectors.rolled_up_revenue_by_month(tenant=ledger, period=MAY))

        assert revenue == [("EUR", date(2026, 5, 1), D("350.00")), ("USD", date(2026, 5, 1), D("40.00"))]
        with scope(tenant=other_books):
            assert DailyFigure.objects.filter(tenant=other_books).get().net_amount == D("999.00")
