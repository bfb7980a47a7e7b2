"""Random sequences of every ledger operation, with the ledger's invariants checked after each step."""

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django_scopes import scope
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from finance import services
from finance.models import (
    NUMBER_PREFIX,
    Account,
    AccountKind,
    Allocation,
    AllocationPrinciple,
    Classification,
    FinancialTransaction,
    LedgerDefinition,
    PaymentMethod,
    RefundMethod,
    RejectionReason,
    TransactionState,
)
from tests.factories import CustomerFactory, TenantFactory
from tests.finance.allocation_model import AllocationModel
from tests.finance.conftest import AT, default_type
from tests.helpers import examples

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300.00"), places=2)


class LedgerMachine(RuleBasedStateMachine):
    drafts = Bundle("drafts")
    invoices = Bundle("invoices")
    payments = Bundle("payments")

    def __init__(self):
        super().__init__()
        self.tenant = TenantFactory()
        self._scope = scope(tenant=self.tenant)
        self._scope.__enter__()
        services.set_up_ledger(tenant=self.tenant)
        self.accounts = [
            services.open_account(customer=CustomerFactory(tenant=self.tenant), currency="EUR", credit_limit="100")
            for _ in range(2)
        ]
        self.accounts.append(services.system_account(tenant=self.tenant, kind=AccountKind.SUSPENSE, currency="EUR"))
        self.accounts.append(services.open_account(customer=CustomerFactory(tenant=self.tenant), currency="GBP"))
        self.card = PaymentMethod.objects.get(tenant=self.tenant, name="Card")
        self.card_refund = RefundMethod.objects.get(tenant=self.tenant, name="Card refund")
        self.reason = RejectionReason.objects.filter(tenant=self.tenant).first()
        self.clock = AT

    def teardown(self):
        self._scope.__exit__(None, None, None)

    def now(self):
        self.clock += timedelta(hours=7)
        return self.clock

    def account(self, index):
        return Account.objects.get(pk=self.accounts[index % len(self.accounts)].pk)

    def posted(self, txn, **kwargs):
        """Tell the model that ``txn`` was posted."""
        targets = [t.invoice for t in txn.targets.select_related("invoice")]
        self.model.post(txn, targets=targets, **kwargs)

    def attempt(self, operation, **kwargs):
        """Run an operation; a refusal (its prerequisites do not hold) must change nothing."""
        try:
            return operation(**kwargs)
        except ValidationError:
            return None

    @initialize(principle=st.sampled_from(AllocationPrinciple.values))
    def choose_principle(self, principle):
        self.model = AllocationModel(against_item=principle == AllocationPrinciple.AGAINST_ITEM_FIFO)
        LedgerDefinition.objects.filter(tenant=self.tenant).update(allocation_principle=principle)

    @rule(target=drafts, index=st.integers(0, 3), amount=amounts)
    def draft_invoice(self, index, amount):
        return self.attempt(
            services.create_transaction,
            account=self.account(index),
            classification=Classification.INVOICE,
            actor=None,
            at=self.now(),
            data=services.TransactionData(lines=[services.LineData("Fee", Decimal(1), amount)]),
        )

    @rule(target=drafts, index=st.integers(0, 3), amount=amounts, for_invoice=st.booleans(), data=st.data())
    def draft_credit(self, index, amount, for_invoice, data):
        account = self.account(index)
        posted = list(FinancialTransaction.objects.filter(
            account=account, classification=Classification.INVOICE, state=TransactionState.POSTED))
        targets = [data.draw(st.sampled_from(posted))] if for_invoice and posted else []
        classification = data.draw(st.sampled_from([Classification.PAYMENT, Classification.CREDIT_NOTE]))
        if classification == Classification.PAYMENT:
            return self.attempt(
                services.create_transaction, account=account, classification=classification, actor=None,
                at=self.now(), data=services.TransactionData(amount=amount, payment_method=self.card, targets=targets),
            )
        return self.attempt(
            services.create_transaction, account=account, classification=classification, actor=None, at=self.now(),
            data=services.TransactionData(lines=[services.LineData("Credit", Decimal(1), amount)], targets=targets),
        )

    @rule(target=invoices, draft=drafts)
    def post(self, draft):
        if draft is None:
            return None
        result = self.attempt(services.post_transaction, txn=draft, actor=None, at=self.now())
        if result is None:
            return None
        self.posted(result.transaction)
        return result.transaction

    @rule(draft=drafts)
    def reject(self, draft):
        if draft is not None:
            self.attempt(services.reject_transaction, txn=draft, reason=self.reason, actor=None, at=self.now())

    @rule(invoice=invoices)
    def cancel(self, invoice):
        if invoice is None:
            return
        cancellation = None
        if invoice.classification == Classification.INVOICE:
            cancellation = self.attempt(services.cancel_invoice, invoice=invoice, actor=None, at=self.now())
        elif invoice.classification == Classification.PAYMENT:
            cancellation = self.attempt(services.cancel_payment, payment=invoice, actor=None, at=self.now())
        if cancellation is not None:
            self.posted(cancellation, settle=invoice, unsettle=True)

    @rule(invoice=invoices)
    def write_off(self, invoice):
        if invoice is not None and invoice.classification == Classification.INVOICE:
            written_off = self.attempt(services.write_off_invoice, invoice=invoice, actor=None, at=self.now(),
                                       type=default_type(self.tenant))
            if written_off is not None:
                write_off, system_invoice = written_off
                self.posted(write_off, settle=invoice)
                self.posted(system_invoice)

    @rule(target=payments, invoice=invoices)
    def quick_pay(self, invoice):
        if invoice is None or invoice.classification != Classification.INVOICE:
            return None
        payment = self.attempt(services.quick_pay, invoice=invoice, payment_method=self.card, actor=None,
                               at=self.now())
        if payment is not None:
            self.posted(payment, settle=invoice)
        return payment

    @rule(payment=payments, index=st.integers(0, 3))
    def move(self, payment, index):
        if payment is not None:
            moved = self.attempt(services.move_payment, payment=payment, destination=self.account(index), actor=None,
                                 at=self.now())
            if moved is not None:
                self.posted(FinancialTransaction.objects.get(
                    related=payment, classification=Classification.PAYMENT_CANCELLATION), settle=payment, unsettle=True)
                self.posted(moved)

    @rule(index=st.integers(0, 3), amount=amounts)
    def refund(self, index, amount):
        result = self.attempt(services.refund, account=self.account(index), amount=amount,
                              refund_method=self.card_refund, actor=None, at=self.now())
        if result is not None:
            self.posted(result.transaction)

    @rule(index=st.integers(0, 3), action=st.sampled_from(["suspend", "reactivate", "terminate"]))
    def change_state(self, index, action):
        self.attempt(services.change_account_state, account=self.account(index), action=action, actor=None,
                     at=self.now())

    @invariant()
    def balance_is_posted_debits_minus_posted_credits(self):
        for account in Account.objects.filter(tenant=self.tenant):
            sums = FinancialTransaction.objects.filter(account=account, state=TransactionState.POSTED).aggregate(
                debits=Sum("total_amount", filter=Q(direction="debit"), default=Decimal(0)),
                credits=Sum("total_amount", filter=Q(direction="credit"), default=Decimal(0)),
            )
            assert account.balance == sums["debits"] - sums["credits"], account

    @invariant()
    def open_amount_is_total_minus_active_allocations(self):
        active = defaultdict(Decimal)
        for allocation in Allocation.objects.filter(tenant=self.tenant, reversed_at__isnull=True):
            active[allocation.credit_id] += allocation.amount
            active[allocation.debit_id] += allocation.amount
        for txn in FinancialTransaction.objects.filter(tenant=self.tenant):
            assert active[txn.pk] <= txn.total_amount, txn
            if txn.state == TransactionState.POSTED:
                assert txn.open_amount == txn.total_amount - active[txn.pk], txn
            else:
                assert active[txn.pk] == 0 and txn.open_amount == 0, txn

    @invariant()
    def allocation_is_what_the_model_says(self):
        posted = dict(FinancialTransaction.objects.filter(
            tenant=self.tenant, state=TransactionState.POSTED).values_list("pk", "open_amount"))
        assert posted == self.model.open_amounts()
        active = Counter(Allocation.objects.filter(tenant=self.tenant, reversed_at__isnull=True).values_list(
            "credit_id", "debit_id", "amount"))
        assert active == self.model.active_allocations()

    @invariant()
    def allocations_stay_within_one_account_tenant_and_currency(self):
        for allocation in Allocation.objects.filter(tenant=self.tenant).select_related("credit", "debit", "account"):
            assert allocation.credit.account_id == allocation.debit.account_id == allocation.account_id
            assert allocation.credit.currency == allocation.debit.currency == allocation.account.currency
            assert allocation.credit.tenant_id == allocation.debit.tenant_id == self.tenant.pk
            assert allocation.credit.direction == "credit" and allocation.debit.direction == "debit"

    @invariant()
    def numbers_are_unique_and_gapless_per_classification(self):
        numbers = defaultdict(list)
        for classification, number in FinancialTransaction.objects.filter(
            tenant=self.tenant, state=TransactionState.POSTED
        ).values_list("classification", "number"):
            numbers[classification].append(number)
        for classification, found in numbers.items():
            expected = [f"{NUMBER_PREFIX[classification]}-{n:06d}" for n in range(1, len(found) + 1)]
            assert sorted(found) == expected


@pytest.mark.django_db
def test_the_ledger_invariants_hold_under_random_operations():
    LedgerMachine.TestCase.settings = settings(
        max_examples=examples(30), stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    LedgerMachine.TestCase().runTest()
