"""The posting function (``finance/sql/posting_v3.sql``) against the model of allocation, on one busy account.

The ledger's state machine (``test_invariants``) spreads its steps over four accounts and every action;
here every step posts on one account whose credit rule allows due dates in a range of two months, at
times that repeat, so credits and debits pile up open and their orders (posted, due, by id) differ.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import tenant_today
from finance import duedates, services
from finance.exceptions import ActionNotAllowed
from finance.models import (
    Account,
    Allocation,
    AllocationPrinciple,
    Classification,
    DueDateRule,
    FinancialTransaction,
    LedgerDefinition,
    PaymentMethod,
    RefundMethod,
    TransactionState,
)
from tests.bench.bench_ledger import analyze, bulk_open_invoices
from tests.factories import CustomerFactory, InvoiceFactory, TenantFactory
from tests.finance.allocation_model import AllocationModel
from tests.finance.conftest import AT
from tests.helpers import examples

step = st.tuples(
    st.sampled_from([Classification.INVOICE, Classification.PAYMENT, Classification.CREDIT_NOTE,
                     Classification.REFUND, "cancel"]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100.00"), places=2),
    st.integers(0, 60),  # an invoice's due date: days past the earliest its rule allows
    st.sampled_from([0, 0, 1, 30]),  # hours since the previous step: postings at the same moment too
    st.booleans(),  # a credit names an invoice
)


def _post(account, classification, amount, due_days, at, names_invoice, methods):
    data = {}
    if classification in (Classification.INVOICE, Classification.CREDIT_NOTE):
        data["lines"] = [services.LineData("Line", Decimal(1), amount)]
    else:
        data["amount"] = amount
    if classification == Classification.INVOICE:
        data["due_on"] = tenant_today(account.tenant, at) + timedelta(days=30 + due_days)  # the tenant's date
    if classification == Classification.PAYMENT:
        data["payment_method"] = methods["payment"]
    if classification == Classification.REFUND:
        data["refund_method"] = methods["refund"]
    invoices = FinancialTransaction.objects.filter(
        account=account, classification=Classification.INVOICE, state=TransactionState.POSTED).order_by("-id")
    if names_invoice and classification in (Classification.PAYMENT, Classification.CREDIT_NOTE) and invoices:
        data["targets"] = list(invoices[:2])
    return services.create_posted_transaction(
        account=account, classification=classification, actor=None, at=at, data=services.TransactionData(**data)
    ).transaction


@pytest.mark.django_db
@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(principle=st.sampled_from(AllocationPrinciple.values), steps=st.lists(step, min_size=1, max_size=14))
def test_every_posting_allocates_as_the_model_does(principle, steps):
    tenant = TenantFactory()
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        LedgerDefinition.objects.filter(tenant=tenant).update(allocation_principle=principle)
        account = services.open_account(customer=CustomerFactory(tenant=tenant), currency="EUR",
                                        credit_limit="100000")
        account.due_date_rule = DueDateRule.objects.create(
            tenant=tenant, name="30 to 90 days", kind=duedates.DAYS_AFTER, days=30, proximity_days=60)
        account.save(update_fields=["due_date_rule"])
        methods = {"payment": PaymentMethod.objects.get(tenant=tenant, name="Card"),
                   "refund": RefundMethod.objects.get(tenant=tenant, name="Card refund")}
        model = AllocationModel(against_item=principle == AllocationPrinciple.AGAINST_ITEM_FIFO)
        at = AT
        for classification, amount, due_days, hours, names_invoice in steps:
            at += timedelta(hours=hours)
            if classification == "cancel":
                cancelled = FinancialTransaction.objects.filter(
                    account=account, classification=Classification.PAYMENT_CANCELLATION).values("related")
                payment = FinancialTransaction.objects.filter(
                    account=account, classification=Classification.PAYMENT, state=TransactionState.POSTED,
                ).exclude(pk__in=cancelled).order_by("id").first()
                if payment is None:
                    continue
                cancellation = services.cancel_payment(payment=payment, actor=None, at=at)
                model.post(cancellation, settle=payment, unsettle=True)
            else:
                posted = _post(account, classification, amount, due_days, at, names_invoice, methods)
                model.post(posted, targets=[t.invoice for t in posted.targets.select_related("invoice")])

            assert dict(FinancialTransaction.objects.filter(account=account, state=TransactionState.POSTED)
                        .values_list("pk", "open_amount")) == model.open_amounts()
            assert sorted(Allocation.objects.filter(account=account, reversed_at__isnull=True).values_list(
                "credit_id", "debit_id", "amount")) == sorted(model.active_allocations().elements())


@pytest.mark.django_db
class TestTheFunctionsRefusals:
    """What the function refuses under its locks reaches the user as the same message as before, and
    nothing of the posting is left."""

    def draft(self, account, card, amount="20.00"):
        return services.create_transaction(account=account, classification=Classification.PAYMENT, actor=None, at=AT,
                                           data=services.TransactionData(amount=amount, payment_method=card))

    def test_a_payment_posted_twice(self, account, card):
        draft = self.draft(account, card)
        services.post_transaction(txn=draft, actor=None, at=AT)

        with pytest.raises(ActionNotAllowed) as refused:
            services.post_transaction(txn=draft, actor=None, at=AT)

        assert refused.value.messages == ["Payment PAY-000001 is posted; only a draft can change."]
        assert Account.objects.get(pk=account.pk).balance == Decimal("-20.00")

    def test_a_payment_drafted_before_its_account_was_terminated(self, account, card):
        draft = self.draft(account, card)
        services.change_account_state(account=account, action="terminate", actor=None, at=AT)

        with pytest.raises(ActionNotAllowed) as refused:
            services.post_transaction(txn=draft, actor=None, at=AT)

        assert refused.value.messages == [
            f"The account {account.name} is terminated; it accepts no new transactions."]
        assert FinancialTransaction.objects.get(pk=draft.pk).state == TransactionState.DRAFT

    def test_an_invoice_of_zero(self, account):
        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[services.LineData("Free", 1, 0)]))

        with pytest.raises(ActionNotAllowed) as refused:
            services.post_transaction(txn=draft, actor=None, at=AT)

        assert refused.value.messages == ["A transaction of zero cannot be posted."]

    def test_settling_another_accounts_invoice(self, account, second_account, card):
        elsewhere = InvoiceFactory(account=second_account, price="20.00")
        draft = self.draft(account, card)

        with pytest.raises(ActionNotAllowed) as refused:
            services.post_transaction(txn=draft, actor=None, at=AT, settle=elsewhere)

        assert refused.value.messages == [f"{elsewhere} cannot be settled by this transaction."]
        assert (Account.objects.get(pk=account.pk).balance, FinancialTransaction.objects.get(pk=draft.pk).state,
                FinancialTransaction.objects.get(pk=elsewhere.pk).open_amount) == (
            Decimal("0.00"), TransactionState.DRAFT, Decimal("20.00"))
        assert not Allocation.objects.filter(credit=draft).exists()


@pytest.mark.django_db
def test_a_posting_reads_the_rows_it_settles_not_the_tenants(account, card):
    """On an account with 2,000 open invoices, a payment settling two reads a handful of the
    transactions table's rows (PostgreSQL's own count for this transaction), not the tenant's. A final
    update joined with its list of changes had been planned as a scan of every row of the tenant."""
    bulk_open_invoices(account, 2000)
    analyze("finance_financialtransaction")
    draft = services.create_transaction(account=account, classification=Classification.PAYMENT, actor=None, at=AT,
                                        data=services.TransactionData(amount="20.00", payment_method=card))

    def rows_read():
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables"
                           " WHERE relname = 'finance_financialtransaction'")
            return cursor.fetchone()[0]

    before = rows_read()
    services.post_transaction(txn=draft, actor=None, at=AT)

    assert rows_read() - before <= 12
