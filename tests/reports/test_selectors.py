"""Each report's figures against the ledger of ``conftest.book``, worked out by hand."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from finance.models import FinancialTransaction, TransactionState
from reports import selectors
from reports.selectors import Period, ReportFilter
from tests.reports.conftest import D

MAY = Period(start=date(2026, 5, 1), end=date(2026, 5, 31), time_zone="Europe/London")
TODAY = date(2026, 8, 1)
ANY = ReportFilter()


def args(tenant, **extra):
    return {"tenant": tenant, "period": MAY, "filters": ANY, "today": TODAY, **extra}


@pytest.mark.django_db
class TestTransactionsPosted:
    def test_totals_count_every_posted_transaction_of_the_period_by_currency_and_classification(self, ledger, book):
        rows = selectors.transactions_posted(**args(ledger))

        totals = {(t["currency"], t["classification"]): (t["count"], t["total"])
                  for t in selectors.totals_by_classification(rows)}

        assert totals == {
            ("EUR", "invoice"): (5, D("636.00")),  # a, b, c, d and the write-off account's invoice
            ("EUR", "credit_note"): (1, D("36.00")),
            ("EUR", "invoice_cancellation"): (1, D("60.00")),
            ("EUR", "payment"): (2, D("125.00")),
            ("EUR", "payment_cancellation"): (1, D("25.00")),
            ("EUR", "write_off"): (1, D("160.00")),
            ("USD", "invoice"): (1, D("40.00")),
        }

    def test_totals_agree_with_the_ledger_rows(self, ledger, book):
        rows = selectors.transactions_posted(**args(ledger))
        ledger_rows = FinancialTransaction.objects.filter(
            tenant=ledger, state=TransactionState.POSTED, posted_at__gte=MAY.start_at, posted_at__lt=MAY.end_at)

        totals = selectors.totals_by_classification(rows)

        assert sum(t["count"] for t in totals) == ledger_rows.count() == 12
        assert sum(t["total"] for t in totals if t["currency"] == "EUR") == sum(
            r.total_amount for r in ledger_rows if r.currency == "EUR")

    def test_documents_only_lists_the_cancelled_invoice_and_its_cancellation(self, ledger, book):
        rows = selectors.transactions_posted(**args(ledger), documents_only=True)

        numbers = list(rows.values_list("number", flat=True))

        assert book["inv_c"].number in numbers and book["ic"].number in numbers
        assert {c for c in rows.values_list("classification", flat=True)} == {
            "invoice", "credit_note", "invoice_cancellation"}

    def test_a_currency_filter_keeps_one_currency(self, ledger, book):
        rows = selectors.transactions_posted(**args(ledger, filters=ReportFilter(currency="USD")))

        assert list(rows.values_list("number", flat=True)) == [book["inv_usd"].number]


@pytest.mark.django_db
class TestRevenue:
    def test_by_type_takes_credit_notes_and_cancellations_with_the_cancelled_invoices_amounts(self, ledger, book):
        rows = {(r["currency"], r["classification"]): (r["count"], r["net"], r["discount"], r["tax"], r["without_tax"])
                for r in selectors.revenue_by_type(**args(ledger))}

        assert rows == {
            ("EUR", "invoice"): (4, D("450.00"), D("20.00"), D("46.00"), D("430.00")),
            ("EUR", "credit_note"): (1, D("30.00"), D("0.00"), D("6.00"), D("30.00")),
            ("EUR", "invoice_cancellation"): (1, D("50.00"), D("0.00"), D("10.00"), D("50.00")),
            ("USD", "invoice"): (1, D("40.00"), D("0.00"), D("0.00"), D("40.00")),
        }

    def test_totals_subtract_credits_and_leave_write_offs_and_the_write_off_account_out(self, ledger, book):
        totals = {t["currency"]: (t["net"], t["discount"], t["tax"], t["without_tax"])
                  for t in selectors.revenue_totals(selectors.revenue_by_type(**args(ledger)))}

        assert totals == {
            "EUR": (D("370.00"), D("20.00"), D("30.00"), D("350.00")),
            "USD": (D("40.00"), D("0.00"), D("0.00"), D("40.00")),
        }

    def test_write_offs_are_shown_on_their_own(self, ledger, book):
        assert selectors.write_offs(**args(ledger)) == [
            {"currency": "EUR", "count": 1, "without_tax": D("133.33"), "tax": D("26.67"), "total": D("160.00")}]

    def test_receipts_by_method_net_of_payment_cancellations(self, ledger, book):
        rows = {(r["currency"], r["method"]): (r["count"], r["received"], r["cancelled"], r["net"])
                for r in selectors.receipts_by_method(**args(ledger))}

        assert rows == {
            ("EUR", "Card"): (1, D("100.00"), D("0.00"), D("100.00")),
            ("EUR", "Cash"): (1, D("25.00"), D("25.00"), D("0.00")),
        }

    def test_an_invoice_cancelled_in_a_later_period_counts_there(self, ledger, book):
        from finance import services
        from tests.reports.conftest import at

        services.cancel_invoice(invoice=book["inv_d"], actor=None, at=at(6, 3))
        june = Period(start=date(2026, 6, 1), end=date(2026, 6, 30), time_zone="Europe/London")

        may = selectors.revenue_totals(selectors.revenue_by_type(**args(ledger)))
        later = selectors.revenue_totals(selectors.revenue_by_type(**args(ledger, period=june)))

        assert [t["without_tax"] for t in may] == [D("350.00"), D("40.00")]
        assert later == [{"currency": "EUR", "net": D("-120.00"), "discount": D("0.00"), "tax": D("0.00"),
                          "without_tax": D("-120.00")}]

    def test_the_page_s_figures_take_three_queries_whatever_the_rows(self, ledger, book):
        with CaptureQueriesContext(connection) as queries:
            selectors.revenue_totals(selectors.revenue_by_type(**args(ledger)))
            selectors.write_offs(**args(ledger))
            selectors.receipts_by_method(**args(ledger))

        assert len(queries) == 3  # one each, from the daily figures

    def test_narrowed_to_a_customer_the_page_s_figures_take_five_queries_from_the_rows(self, ledger, book):
        narrowed = ReportFilter(customer_id=book["eur"].customer_id)
        with CaptureQueriesContext(connection) as queries:
            selectors.revenue_totals(selectors.revenue_by_type(**args(ledger, filters=narrowed)))
            selectors.write_offs(**args(ledger, filters=narrowed))
            selectors.receipts_by_method(**args(ledger, filters=narrowed))

        assert len(queries) == 5


@pytest.mark.django_db
class TestAgedReceivables:
    def test_buckets_per_account_by_days_past_due(self, ledger, book):
        aged = selectors.name_accounts(selectors.aged_receivables(tenant=ledger, filters=ANY, today=TODAY))
        rows = {r["account__name"] + " " + r["currency"]: (r["current"], r["d1_30"], r["d31_60"], r["d61_90"],
                                                           r["d90_plus"], r["total"])
                for r in aged}

        z = D("0.00")
        assert rows == {
            f"{book['eur'].name} EUR": (z, z, D("120.00"), z, z, D("120.00")),  # due 06-19: 43 days
            f"{book['usd'].name} USD": (z, z, D("40.00"), z, z, D("40.00")),
            f"{book['ivan'].name} EUR": (z, z, z, z, D("70.00"), D("70.00")),  # due 03-31: 123 days
        }

    def test_totals_by_currency_agree_with_the_open_amounts_of_the_ledger(self, ledger, book):
        rows = selectors.aged_receivables(tenant=ledger, filters=ANY, today=TODAY)
        totals = {t["currency"]: (t["accounts"], t["total"]) for t in selectors.aged_totals(rows)}

        assert totals == {"EUR": (2, D("190.00")), "USD": (1, D("40.00"))}
        from finance.models import Account
        assert sum(Account.objects.filter(pk__in=[book["eur"].pk, book["ivan"].pk]).values_list(
            "balance", flat=True)) == D("190.00")

    def test_before_the_due_date_it_is_current(self, ledger, book):
        totals = selectors.aged_totals(selectors.aged_receivables(
            tenant=ledger, filters=ReportFilter(currency="USD"), today=date(2026, 6, 19)))

        assert (totals[0]["current"], totals[0]["d1_30"]) == (D("40.00"), D("0.00"))


@pytest.mark.django_db
class TestDashboards:
    def test_receipts_and_revenue_by_month(self, ledger, book):
        year = selectors.last_twelve_months(tenant=ledger, today=date(2026, 5, 31))

        receipts = [(r["currency"], r["month"].date(), r["amount"])
                    for r in selectors.receipts_by_month(tenant=ledger, period=year)]
        revenue = [(r["currency"], r["month"].date(), r["amount"])
                   for r in selectors.revenue_by_month(tenant=ledger, period=year)]

        assert receipts == [("EUR", date(2026, 5, 1), D("100.00"))]
        assert revenue == [("EUR", date(2026, 3, 1), D("70.00")), ("EUR", date(2026, 5, 1), D("350.00")),
                           ("USD", date(2026, 5, 1), D("40.00"))]

    def test_average_revenue_per_product(self, ledger, book):
        rows = [(r["transaction__currency"], r["name"], r["lines"], r["revenue"], r["average"])
                for r in selectors.average_revenue_per_product(tenant=ledger, period=MAY)]

        assert rows == [
            ("EUR", "No product", 3, D("250.00"), D("83.33")),
            ("EUR", "Consulting", 1, D("180.00"), D("180.00")),
            ("USD", "No product", 1, D("40.00"), D("40.00")),
        ]
