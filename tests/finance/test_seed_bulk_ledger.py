import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q, Sum
from django_scopes import scope

from finance import services
from finance.models import (
    Account,
    Allocation,
    Classification,
    Counter,
    FinancialTransaction,
    TransactionLine,
    TransactionState,
)
from tests.factories import line
from tests.finance.conftest import AT, D


@pytest.mark.django_db
class TestSeedBulkLedger:
    def test_seeds_a_consistent_posted_ledger_that_ordinary_postings_continue(self, ledger):
        call_command("seed_bulk_ledger", ledger.slug, transactions=170, accounts=7, stdout=None)

        with scope(tenant=ledger):
            rows = FinancialTransaction.objects.filter(tenant=ledger)
            counts = dict(rows.values_list("classification").annotate(n=Count("id")))
            assert counts == {"invoice": 100, "payment": 50, "credit_note": 10, "invoice_cancellation": 10}
            assert not rows.exclude(state=TransactionState.POSTED).exists()
            assert TransactionLine.objects.filter(tenant=ledger).count() == 110
            for account in Account.objects.filter(tenant=ledger, kind="customer"):
                mine = rows.filter(account=account)
                debits = mine.filter(direction="debit").aggregate(s=Sum("total_amount"))["s"] or D(0)
                credits = mine.filter(direction="credit").aggregate(s=Sum("total_amount"))["s"] or D(0)
                assert account.balance == debits - credits
                open_debits = mine.filter(direction="debit").aggregate(s=Sum("open_amount"))["s"] or D(0)
                assert account.balance == open_debits  # every credit is allocated in full
            for txn in rows.filter(direction="credit"):
                assert Allocation.objects.filter(credit=txn).aggregate(s=Sum("amount"))["s"] == txn.total_amount
            numbers = sorted(rows.filter(classification="invoice").values_list("number", flat=True))
            assert numbers == [f"INV-{n:06d}" for n in range(1, 101)]
            assert not rows.filter(Q(classification="invoice_cancellation") & Q(related__isnull=True)).exists()

            account = Account.objects.filter(tenant=ledger, kind="customer").first()
            posted = services.create_posted_transaction(
                account=account,
                classification=Classification.INVOICE,
                actor=None,
                at=AT,
                data=services.TransactionData(lines=[line("5.00")]),
            ).transaction
            assert posted.number == "INV-000101"

    def test_refuses_to_seed_the_same_tenant_twice(self, ledger):
        call_command("seed_bulk_ledger", ledger.slug, transactions=17, accounts=2, stdout=None)

        with pytest.raises(CommandError):
            call_command("seed_bulk_ledger", ledger.slug, transactions=17, accounts=2, stdout=None)

    def test_numbers_past_999999_keep_every_digit_as_postings_do(self, ledger):
        Counter.objects.create(tenant=ledger, series="invoice", last=999_950)

        call_command("seed_bulk_ledger", ledger.slug, transactions=170, accounts=7, stdout=None)

        with scope(tenant=ledger):
            invoices = FinancialTransaction.objects.filter(tenant=ledger, classification="invoice")
            assert set(invoices.values_list("number", flat=True)) == {
                f"INV-{n:06d}" for n in range(999_951, 1_000_051)}
            posted = services.create_posted_transaction(
                account=Account.objects.filter(tenant=ledger, kind="customer").first(),
                classification=Classification.INVOICE, actor=None, at=AT,
                data=services.TransactionData(lines=[line("5.00")]),
            ).transaction
            assert posted.number == "INV-1000051"
