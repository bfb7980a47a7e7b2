from datetime import timedelta

import pytest

from finance import services
from finance.models import Allocation, AllocationPrinciple, FinancialTransaction, LedgerDefinition
from tests.factories import CreditNoteFactory, InvoiceFactory, PaymentFactory
from tests.finance.conftest import AT, D


def active(txn):
    side = "credit" if txn.direction == "credit" else "debit"
    return {
        (a.credit.number if side == "debit" else a.debit.number): a.amount
        for a in Allocation.objects.filter(reversed_at__isnull=True, **{side: txn}).select_related("credit", "debit")
    }


def fresh(txn):
    return FinancialTransaction.objects.get(pk=txn.pk)


def use_against_item(tenant):
    LedgerDefinition.objects.filter(tenant=tenant).update(allocation_principle=AllocationPrinciple.AGAINST_ITEM_FIFO)


@pytest.mark.django_db
class TestFifo:
    def test_the_earliest_posted_credit_goes_to_the_earliest_due_invoice(self, account, card):
        later = InvoiceFactory(account=account, price="100.00", at=AT)
        earlier = InvoiceFactory(account=account, price="50.00", at=AT - timedelta(days=10))

        payment = PaymentFactory(account=account, amount="120.00", method=card, at=AT + timedelta(days=1))

        assert active(payment) == {earlier.number: D("50.00"), later.number: D("70.00")}
        assert fresh(earlier).open_amount == D("0.00")
        assert fresh(later).open_amount == D("30.00")
        assert fresh(payment).open_amount == D("0.00")

    def test_unallocated_credit_waits_for_the_next_invoice(self, account, card):
        payment = PaymentFactory(account=account, amount="80.00", method=card)

        invoice = InvoiceFactory(account=account, price="50.00", at=AT + timedelta(days=1))

        assert active(invoice) == {payment.number: D("50.00")}
        assert fresh(payment).open_amount == D("30.00")

    def test_the_documents_fifo_example(self, account):
        # One invoice allocated to a credit note by FIFO; a second invoice is created; the first is cancelled.
        first = InvoiceFactory(account=account, price="100.00", at=AT)
        credit_note = CreditNoteFactory(account=account, price="100.00", at=AT + timedelta(days=1))
        second = InvoiceFactory(account=account, price="100.00", at=AT + timedelta(days=2))
        assert active(first) == {credit_note.number: D("100.00")}

        cancellation = services.cancel_invoice(invoice=first, actor=None, at=AT + timedelta(days=3))

        assert active(first) == {cancellation.number: D("100.00")}
        assert active(credit_note) == {second.number: D("100.00")}
        assert fresh(second).open_amount == D("0.00")
        reversed_allocation = Allocation.objects.get(reversed_at__isnull=False)
        assert (reversed_allocation.credit_id, reversed_allocation.debit_id) == (credit_note.pk, first.pk)

    def test_a_cancelled_payment_gives_its_invoices_back_to_fifo(self, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        first = PaymentFactory(account=account, amount="100.00", method=card, at=AT + timedelta(days=1))
        second = PaymentFactory(account=account, amount="100.00", method=card, at=AT + timedelta(days=2))

        cancellation = services.cancel_payment(payment=first, actor=None, at=AT + timedelta(days=3))

        assert active(first) == {cancellation.number: D("100.00")}
        assert active(invoice) == {second.number: D("100.00")}
        assert fresh(account.transactions.model.objects.get(pk=second.pk)).open_amount == D("0.00")


@pytest.mark.django_db
class TestAgainstItemAndFifo:
    def test_a_credit_goes_to_the_invoices_it_names_then_fifo(self, account, card):
        use_against_item(account.tenant)
        first = InvoiceFactory(account=account, price="100.00", at=AT)
        second = InvoiceFactory(account=account, price="100.00", at=AT + timedelta(days=1))

        payment = PaymentFactory(account=account, amount="150.00", method=card, targets=[second],
                                 at=AT + timedelta(days=2))

        assert active(payment) == {first.number: D("50.00"), second.number: D("100.00")}

    def test_under_plain_fifo_the_named_invoices_are_ignored(self, account, card):
        first = InvoiceFactory(account=account, price="100.00", at=AT)
        second = InvoiceFactory(account=account, price="100.00", at=AT + timedelta(days=1))

        payment = PaymentFactory(account=account, amount="100.00", method=card, targets=[second],
                                 at=AT + timedelta(days=2))

        assert active(payment) == {first.number: D("100.00")}

    def test_naming_a_settled_invoice_de_allocates_what_settled_it(self, account, card):
        use_against_item(account.tenant)
        invoice = InvoiceFactory(account=account, price="100.00", at=AT)
        first = PaymentFactory(account=account, amount="100.00", method=card, at=AT + timedelta(days=1))
        later_invoice = InvoiceFactory(account=account, price="100.00", at=AT + timedelta(days=2))

        second = PaymentFactory(account=account, amount="100.00", method=card, targets=[invoice],
                                at=AT + timedelta(days=3))

        assert active(invoice) == {second.number: D("100.00")}
        assert active(first) == {later_invoice.number: D("100.00")}

    def test_the_documents_fifo_and_against_item_example(self, account):
        # Three invoices; the first two are settled by credit notes meant for them; the first is cancelled.
        use_against_item(account.tenant)
        first = InvoiceFactory(account=account, price="100.00", at=AT)
        second = InvoiceFactory(account=account, price="100.00", at=AT + timedelta(days=1))
        third = InvoiceFactory(account=account, price="100.00", at=AT + timedelta(days=2))
        first_note = CreditNoteFactory(account=account, price="100.00", targets=[first], at=AT + timedelta(days=3))
        second_note = CreditNoteFactory(account=account, price="100.00", targets=[second], at=AT + timedelta(days=4))

        cancellation = services.cancel_invoice(invoice=first, actor=None, at=AT + timedelta(days=5))

        assert active(first) == {cancellation.number: D("100.00")}
        assert active(second) == {second_note.number: D("100.00")}
        assert active(third) == {first_note.number: D("100.00")}
        assert fresh(account.transactions.model.objects.get(pk=third.pk)).open_amount == D("0.00")


@pytest.mark.django_db
class TestFifoOverManyOpenItems:
    def test_a_payment_over_many_invoices_settles_them_in_due_order(self, account, card):
        # posted (and so due) in an order that is not the order of creation
        invoices = [InvoiceFactory(account=account, price="10.00",
                                   at=AT - timedelta(days=(5 * n) % 12)) for n in range(12)]
        by_due_date = sorted(invoices, key=lambda invoice: (invoice.due_on, invoice.pk))

        payment = PaymentFactory(account=account, amount="115.00", method=card, at=AT + timedelta(days=1))
        assert len({invoice.due_on for invoice in invoices}) == 12

        assert active(payment) == {invoice.number: D("10.00") for invoice in by_due_date[:11]} | {
            by_due_date[11].number: D("5.00")
        }
        assert [fresh(invoice).open_amount for invoice in by_due_date] == [D("0.00")] * 11 + [D("5.00")]
        assert fresh(payment).open_amount == D("0.00")
        assert fresh(payment).state == "posted"

    def test_an_invoice_posted_against_open_credits_takes_the_earliest_posted_first(self, account, card):
        later = PaymentFactory(account=account, amount="30.00", method=card, at=AT + timedelta(days=2))
        earlier = PaymentFactory(account=account, amount="30.00", method=card, at=AT + timedelta(days=1))

        invoice = InvoiceFactory(account=account, price="40.00", at=AT + timedelta(days=3))

        assert active(invoice) == {earlier.number: D("30.00"), later.number: D("10.00")}
        assert (fresh(earlier).open_amount, fresh(later).open_amount, fresh(invoice).open_amount) == (
            D("0.00"), D("20.00"), D("0.00")
        )

    def test_posting_a_payment_costs_the_same_queries_with_3_or_300_open_invoices(self, account, second_account,
                                                                                      card):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from tests.bench.bench_ledger import bulk_open_invoices

        counts = []
        for target, open_invoices in ((account, 3), (second_account, 300)):
            bulk_open_invoices(target, open_invoices)
            draft = services.create_transaction(account=target, classification="payment", actor=None, at=AT,
                                                data=services.TransactionData(amount=D("20.00"), payment_method=card))
            with CaptureQueriesContext(connection) as queries:
                services.post_transaction(txn=draft, actor=None, at=AT)
            counts.append(len(queries))
            assert fresh(draft).open_amount == D("0.00")
        # savepoint, the posting function (finance/sql/posting_v3.sql), release
        assert counts == [3, 3]
