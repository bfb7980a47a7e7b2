"""Statements of account: the figures equal the ledger's own (opening + movements = closing = the balance),
for an account with every classification, and the ageing at the period's end adds up to its closing balance."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from finance import services as books
from finance.models import Account, Classification, FinancialTransaction, PaymentMethod, RefundMethod, TransactionType
from notifications.models import Notification
from receivables import selectors
from receivables.models import StatementSend
from receivables.printing import read_statement_token
from receivables.services.levels import save_settings
from receivables.services.statements import send_monthly_statements, send_statement
from reports.services import save_segment
from tests.factories import AccountFactory, CreditNoteFactory, InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def on(day: date, hour=10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@pytest.fixture
def busy(ledger, customer):
    """One account with all seven classifications, some before November, most in it, one after."""
    account = AccountFactory(customer=customer)
    card = PaymentMethod.objects.get(name="Card")
    default = lambda c: TransactionType.objects.get(classification=c, is_default=True)  # noqa: E731
    first = InvoiceFactory(account=account, price="300.00", at=on(date(2026, 10, 1)))       # due 31 October
    PaymentFactory(account=account, amount="50.00", at=on(date(2026, 10, 20)))
    second = InvoiceFactory(account=account, price="200.00", at=on(date(2026, 11, 2)))      # due 2 December
    CreditNoteFactory(account=account, price="20.00", at=on(date(2026, 11, 3)))
    paid = PaymentFactory(account=account, amount="120.00", method=card, at=on(date(2026, 11, 5)))
    books.cancel_payment(payment=paid, actor=None, at=on(date(2026, 11, 6)))
    third = InvoiceFactory(account=account, price="80.00", at=on(date(2026, 11, 7)))
    books.cancel_invoice(invoice=third, actor=None, at=on(date(2026, 11, 8)))
    books.write_off_invoice(invoice=FinancialTransaction.objects.get(pk=first.pk), actor=None, at=on(date(2026, 11, 9)),
                            type=default(Classification.WRITE_OFF))
    PaymentFactory(account=account, amount="260.00", at=on(date(2026, 11, 10)))  # 60.00 more than is owed
    books.refund(account=Account.objects.get(pk=account.pk), amount="25.00", actor=None, at=on(date(2026, 11, 12)),
                 refund_method=RefundMethod.objects.first())
    InvoiceFactory(account=account, price="40.00", at=on(date(2026, 12, 1)))             # after the period
    del second
    return Account.objects.select_related("tenant", "customer").get(pk=account.pk)


def ledger_sum(account, **filters):
    signed = Decimal(0)
    for direction, total in FinancialTransaction.objects.filter(account=account, state="posted", **filters).values(
            "direction").annotate(total=Sum("total_amount")).values_list("direction", "total"):
        signed += total if direction == "debit" else -total
    return signed


class TestStatementFigures:
    def test_opening_plus_movements_is_closing_and_each_equals_the_ledger(self, busy):
        statement = selectors.statement_of(account=busy, start=date(2026, 11, 1), end=date(2026, 11, 30))

        assert {row.txn.classification for row in statement.rows} == set(Classification.values)
        assert statement.opening == ledger_sum(busy, posted_at__lt=on(date(2026, 11, 1), 0)) == Decimal("250.00")
        assert statement.opening + statement.debits - statement.credits == statement.closing
        assert statement.closing == ledger_sum(busy, posted_at__lt=on(date(2026, 12, 1), 0))
        assert statement.closing == Account.objects.get(pk=busy.pk).balance - Decimal("40.00")
        assert statement.rows[-1].balance == statement.closing
        assert [row.balance for row in statement.rows] == [
            statement.opening + sum((r.debit - r.credit for r in statement.rows[: i + 1]), Decimal(0))
            for i in range(len(statement.rows))]
        # What was open at the end, by age, adds up to the closing balance; the 35.00 in credit is apart.
        assert sum(statement.ageing.values()) == statement.closing
        assert {k: v for k, v in statement.ageing.items() if v} == {"credit": Decimal("-35.00")}

    def test_the_ageing_of_a_past_period_is_what_was_open_then(self, busy):
        october = selectors.statement_of(account=busy, start=date(2026, 10, 1), end=date(2026, 10, 31))
        assert (october.opening, october.closing) == (Decimal("0.00"), Decimal("250.00"))
        assert {k: v for k, v in october.ageing.items() if v} == {"current": Decimal("250.00")}
        november_5 = selectors.statement_of(account=busy, start=date(2026, 11, 1), end=date(2026, 11, 5))
        assert sum(november_5.ageing.values()) == november_5.closing == Decimal("310.00")
        assert november_5.ageing["d1_30"] == Decimal("110.00")  # the first invoice, due 31 October, less 190.00 paid


class TestSendingStatements:
    def test_once_per_account_and_period_with_a_signed_link(self, busy, staff):
        at = on(date(2026, 12, 2))
        send_statement(account=busy, start=date(2026, 11, 1), end=date(2026, 11, 30), actor=staff, at=at)
        with pytest.raises(ValidationError, match="sent already"):
            send_statement(account=busy, start=date(2026, 11, 1), end=date(2026, 11, 30), actor=staff, at=at)
        mail = Notification.objects.get(template_key="statement")
        assert (mail.recipient, mail.subject) == ("harriet@example.com", "Your statement of account from Acme Brokers")
        assert "The balance at its end was -£35.00." in mail.body, mail.body
        token = mail.body.split("/statements/")[1].split("/")[0]
        assert read_statement_token(token) == (busy.tenant_id, busy.pk, date(2026, 11, 1), date(2026, 11, 30))
        assert read_statement_token(token[:-2] + "xx") is None

    def test_bad_periods_are_refused_by_field(self, busy, staff):
        at = on(date(2026, 12, 2))
        for start, end, field in ((date(2026, 11, 30), date(2026, 11, 1), "end"),
                                  (date(2026, 11, 1), date(2026, 12, 31), "end"), (None, date(2026, 11, 1), "start")):
            with pytest.raises(ValidationError) as refused:
                send_statement(account=busy, start=start, end=end, actor=staff, at=at)
            assert field in refused.value.message_dict
        assert not StatementSend.objects.exists()

    def test_the_monthly_run_sends_last_month_once_on_the_first_days_only(self, busy, ledger):
        save_settings(tenant=ledger, monthly_statements=True, dunning_enabled=True)
        assert send_monthly_statements(at=on(date(2026, 12, 1), 7)) == 1
        assert send_monthly_statements(at=on(date(2026, 12, 1), 8)) == 0
        assert send_monthly_statements(at=on(date(2026, 12, 9))) == 0  # too late in the month to start
        assert list(StatementSend.objects.values_list("period_start", "period_end")) == [
            (date(2026, 11, 1), date(2026, 11, 30))]


class TestStatementsToASegment:
    def test_last_months_statements_go_once_to_the_segments_customers(self, busy, ledger, staff_client):
        segment = save_segment(tenant=ledger, name="Everyone", subject="transactions", rules={}, actor=None,
                               at=on(date(2026, 12, 2)))
        url = f"/reports/segments/{segment.pk}/statements/"
        for _time in range(2):
            assert staff_client.post(url).status_code == 302
        sent = list(StatementSend.objects.values_list("account_id", flat=True))
        assert sent == [busy.pk]
        assert Notification.objects.filter(template_key="statement").count() == 1
