"""Dunning over two simulated months: the beat task run three times a day (before, inside and after sending
hours), with the worker down for three days, payments, a hold, a write-off and a cancellation on the way.
Every notice is counted exactly, in the dunning records and in the outbox."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from config.beat import SCHEDULE
from finance import services as books
from finance.models import Account, Classification, FinancialTransaction, PaymentMethod, TransactionType
from notifications.models import Notification
from receivables import selectors, tasks
from receivables.models import DunningNotice, HoldReason, NoticeState
from receivables.services.dunning import hold_invoice, release_invoice, sweep, waive_late_fee
from tests.factories import AccountFactory, CustomerFactory
from tests.receivables.conftest import invoice_due

pytestmark = pytest.mark.django_db
START = date(2026, 10, 1)
DAYS = 61  # October and November
DOWN = (date(2026, 10, 26), date(2026, 10, 28))  # the worker is down these three days, both included
HOURS = (6, 12, 21)  # London time (UTC+1 until 25 October): 07:00, 13:00, 22:00 then 06:00, 12:00, 21:00


def notices():
    """(invoice number, level name, state, local date) of every dunning record, in order."""
    return sorted((n.invoice.number, n.level.name, n.state, n.at.date().isoformat())
                  for n in DunningNotice.objects.select_related("invoice", "level"))


@pytest.fixture
def book(ledger, levels, customer, staff):
    account = AccountFactory(customer=customer)
    other = AccountFactory(customer=CustomerFactory(tenant=ledger, name="Ivan Ilic", email="ivan@example.com",
                                                    phone="+447700900123"))
    return {
        "a": invoice_due(account, date(2026, 10, 5)),        # every level; the second caught up after downtime
        "b": invoice_due(other, date(2026, 10, 20)),         # the first notice caught up after downtime
        "paid": invoice_due(account, date(2026, 10, 8)),     # paid on 10 October, before its first notice
        "held": invoice_due(other, date(2026, 10, 6)),       # a promise to pay until 31 October
        "old": invoice_due(other, date(2026, 8, 1)),         # 61 days late when first seen: the final notice only
        "written_off": invoice_due(account, date(2026, 10, 3)),
        "cancelled": invoice_due(other, date(2026, 10, 4)),
        "december": invoice_due(account, date(2026, 12, 10)),  # its reminder is on 7 December: nothing
        "staff": staff,
    }


def run_two_months(book, ledger):
    happenings = {
        date(2026, 10, 4): lambda at: ledger_write_off(book["written_off"], at),
        date(2026, 10, 5): lambda at: books.cancel_invoice(invoice=fresh(book["cancelled"]), actor=None, at=at),
        date(2026, 10, 10): lambda at: books.quick_pay(invoice=fresh(book["paid"]), actor=None, at=at,
                                                       payment_method=PaymentMethod.objects.get(name="Card")),
        date(2026, 10, 12): lambda at: hold_invoice(invoice=book["held"], reason=HoldReason.PROMISE,
                                                    until=date(2026, 10, 31), note="Pays on payday.",
                                                    actor=book["staff"], at=at),
    }
    for offset in range(DAYS):
        today = START + timedelta(days=offset)
        if today in happenings:
            happenings[today](datetime.combine(today, time(9), tzinfo=UTC))
        if DOWN[0] <= today <= DOWN[1]:
            continue
        for hour in HOURS:
            tasks.dunning_sweep(as_of=datetime.combine(today, time(hour), tzinfo=UTC).isoformat())


def fresh(txn):
    return FinancialTransaction.objects.get(pk=txn.pk)


def ledger_write_off(invoice, at):
    kind = TransactionType.objects.get(tenant=invoice.tenant_id, classification=Classification.WRITE_OFF,
                                       is_default=True)
    books.write_off_invoice(invoice=fresh(invoice), actor=None, at=at, type=kind)


class TestTwoMonthsOfDunning:
    def test_each_level_once_caught_up_after_downtime_none_after_payment_or_hold_or_outside_hours(self, book, ledger):
        a, b, held, old = (book[k].number for k in ("a", "b", "held", "old"))
        wo, cancelled = book["written_off"].number, book["cancelled"].number
        run_two_months(book, ledger)
        assert notices() == sorted([
            (a, "Friendly reminder", "sent", "2026-10-02"), (a, "First notice", "sent", "2026-10-12"),
            (a, "Second notice", "sent", "2026-10-29"),  # due 26 October, the worker was down until then
            (a, "Final notice", "sent", "2026-11-09"),
            (b, "Friendly reminder", "sent", "2026-10-17"), (b, "First notice", "sent", "2026-10-29"),
            (b, "Second notice", "sent", "2026-11-10"), (b, "Final notice", "sent", "2026-11-24"),
            (book["paid"].number, "Friendly reminder", "sent", "2026-10-05"),
            (held, "Friendly reminder", "sent", "2026-10-03"),
            # Held on 12 October; on 1 November the promise has lapsed and the second notice is the level it is at.
            (held, "First notice", "passed", "2026-11-01"), (held, "Second notice", "sent", "2026-11-01"),
            (held, "Final notice", "sent", "2026-11-10"),
            (old, "Friendly reminder", "passed", "2026-10-01"), (old, "First notice", "passed", "2026-10-01"),
            (old, "Second notice", "passed", "2026-10-01"), (old, "Final notice", "sent", "2026-10-01"),
            (wo, "Friendly reminder", "sent", "2026-10-01"),
            (cancelled, "Friendly reminder", "sent", "2026-10-01"),
        ])
        # The outbox holds exactly one message per notice sent and channel: none for a passed level.
        sent = DunningNotice.objects.filter(state=NoticeState.SENT)
        expected = {(f"invoice:{n.invoice_id}:dunning:{n.level_id}", channel)
                    for n in sent.select_related("level") for channel in n.level.channels
                    if channel == "email" or n.invoice.account.customer.phone}
        written = Notification.objects.filter(event_key__contains=":dunning:")
        assert sorted(written.values_list("event_key", "channel")) == sorted(expected)
        # Every message was written inside sending hours (08:00–20:00 London): the 13:00/12:00 UTC run.
        assert {n.created_at.hour for n in written} == {12}
        assert {n.template_key for n in written} == {"dunning_1", "dunning_2", "dunning_3", "dunning_4"}

    def test_a_late_fee_is_posted_once_per_invoice_and_level_and_is_waivable(self, book, ledger, staff):
        run_two_months(book, ledger)
        fees = DunningNotice.objects.filter(late_fee__isnull=False).select_related("invoice", "late_fee")
        assert sorted(n.invoice.number for n in fees) == sorted([book["a"].number, book["b"].number])
        assert {(n.late_fee.total_amount, n.late_fee.state, n.late_fee.open_amount) for n in fees} == {
            (Decimal("10.00"), "posted", Decimal("10.00"))}
        # The fee is an invoice on the customer's account, of the configured type, that dunning does not chase.
        fee = fees.get(invoice=book["a"]).late_fee
        assert (fee.account_id, fee.type.name, fee.classification) == (book["a"].account_id, "Late fee", "invoice")
        assert not DunningNotice.objects.filter(invoice=fee).exists()

        balance = Account.objects.get(pk=fee.account_id).balance
        december = datetime(2026, 12, 1, 10, tzinfo=UTC)
        credit = waive_late_fee(notice=fees.get(invoice=book["a"]), actor=staff, at=december)
        assert (credit.classification, credit.total_amount, fresh(fee).open_amount) == (
            "credit_note", Decimal("10.00"), Decimal("0.00"))
        assert Account.objects.get(pk=fee.account_id).balance == balance - Decimal("10.00")
        with pytest.raises(ValidationError, match="waived already"):
            waive_late_fee(notice=fees.get(invoice=book["a"]), actor=staff, at=datetime(2026, 12, 1, 10, tzinfo=UTC))

    def test_the_sweep_run_twice_at_once_or_again_sends_nothing_more(self, book, ledger):
        at = datetime(2026, 11, 30, 12, tzinfo=UTC)
        first = sweep(at=at)
        assert (first.sent, sweep(at=at).sent, sweep(at=at + timedelta(hours=1)).sent) == (first.sent, 0, 0)
        # Nothing happened to them in this test: every open invoice but December's is at its final notice.
        assert (first.sent, first.passed) == (7, 21)

    def test_a_released_hold_is_chased_again_and_a_dispute_holds_until_released(self, book, ledger, staff):
        at = datetime(2026, 10, 20, 12, tzinfo=UTC)
        hold_invoice(invoice=book["a"], reason=HoldReason.DISPUTE, until=None, note="Wrong amount.", actor=staff,
                     at=at)
        sweep(at=at)
        assert not DunningNotice.objects.filter(invoice=book["a"]).exists()
        release_invoice(invoice=book["a"], actor=staff, at=at)
        sweep(at=at + timedelta(minutes=15))
        assert list(DunningNotice.objects.filter(invoice=book["a"], state="sent").values_list("level__name")) == [
            ("First notice",)]

    def test_the_beat_runs_the_sweep_every_quarter_hour(self):
        assert SCHEDULE["receivables.dunning_sweep"] == {"task": "receivables.dunning_sweep", "schedule": 900.0}


class TestHoldsRefuseBadInput:
    def test_a_promise_needs_a_date_a_note_and_not_the_past(self, book, staff):
        at = datetime(2026, 10, 20, 12, tzinfo=UTC)
        with pytest.raises(ValidationError) as refused:
            hold_invoice(invoice=book["a"], reason=HoldReason.PROMISE, until=None, note=" ", actor=staff, at=at)
        assert set(refused.value.message_dict) == {"until", "note"}
        with pytest.raises(ValidationError) as refused:
            hold_invoice(invoice=book["a"], reason="sleep", until=date(2026, 10, 1), note="x", actor=staff, at=at)
        assert set(refused.value.message_dict) == {"reason", "until"}


class TestDunningReport:
    def test_levels_notices_and_fees_of_the_two_months(self, book, ledger, staff):
        run_two_months(book, ledger)
        waive_late_fee(notice=DunningNotice.objects.get(invoice=book["b"], late_fee__isnull=False), actor=staff,
                       at=datetime(2026, 11, 30, 10, tzinfo=UTC))
        at_level = selectors.invoices_at_level(tenant=ledger)
        assert [(r["level"].name, r["currency"], r["count"], r["amount"]) for r in at_level] == [
            ("Final notice", "GBP", 4, Decimal("400.00"))]
        rows = selectors.notices_by_level(tenant=ledger, start_at=datetime(2026, 10, 1, tzinfo=UTC),
                                          end_at=datetime(2026, 12, 1, tzinfo=UTC))
        assert [(r["level__name"], r["sent"], r["passed"], r["fees"], r["fees_amount"], r["waived"],
                 r["waived_amount"]) for r in rows] == [
            ("Friendly reminder", 6, 1, 0, Decimal("0.00"), 0, Decimal("0.00")),
            ("First notice", 2, 2, 2, Decimal("20.00"), 1, Decimal("10.00")),
            ("Second notice", 3, 1, 0, Decimal("0.00"), 0, Decimal("0.00")),
            ("Final notice", 4, 0, 0, Decimal("0.00"), 0, Decimal("0.00")),
        ]

    def test_days_sales_outstanding_is_owed_over_invoiced_times_days(self, ledger, account):
        invoice_due(account, date(2026, 11, 14), price="300.00")   # posted 15 October
        invoice_due(account, date(2026, 12, 5), price="100.00")    # posted 5 November
        rows = selectors.days_sales_outstanding(tenant=ledger, months=[
            (date(2026, 10, 1), date(2026, 10, 31)), (date(2026, 11, 1), date(2026, 11, 30))])
        assert [(r["month"], r["owed"], r["sales"], r["dso"]) for r in rows] == [
            (date(2026, 10, 1), Decimal("300.00"), Decimal("300.00"), Decimal("31.0")),
            (date(2026, 11, 1), Decimal("400.00"), Decimal("100.00"), Decimal("120.0")),
        ]
