from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from finance import services
from finance.exceptions import ActionNotAllowed
from finance.models import (
    Account,
    AccountKind,
    Allocation,
    Classification,
    FinancialTransaction,
    IssueReason,
    TransactionState,
    TransactionType,
)
from tests.factories import InvoiceFactory, PaymentFactory, line
from tests.finance.conftest import AT, D, default_type


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.mark.django_db
class TestCancelInvoice:
    def test_credits_the_account_with_the_invoice_total(self, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        cancellation = services.cancel_invoice(invoice=invoice, actor=None, at=AT)

        assert cancellation.classification == Classification.INVOICE_CANCELLATION
        assert cancellation.number == "IC-000001"
        assert cancellation.related == invoice
        assert fresh(account).balance == D("0.00")
        assert fresh(invoice).open_amount == D("0.00")

    def test_twice_is_refused(self, account):
        invoice = InvoiceFactory(account=account, price="100.00")
        services.cancel_invoice(invoice=invoice, actor=None, at=AT)

        with pytest.raises(ActionNotAllowed, match="already cancelled"):
            services.cancel_invoice(invoice=invoice, actor=None, at=AT)

        assert FinancialTransaction.objects.filter(classification=Classification.INVOICE_CANCELLATION).count() == 1

    def test_a_draft_cannot_be_cancelled(self, account):
        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[services.LineData("x", D(1), D(5))]))

        with pytest.raises(ActionNotAllowed, match="only a posted one can be cancelled"):
            services.cancel_invoice(invoice=draft, actor=None, at=AT)

    def test_an_invoice_of_a_terminated_account_cannot_be_cancelled(self, account):
        invoice = InvoiceFactory(account=account, price="100.00")
        services.change_account_state(account=account, action="terminate", actor=None, at=AT)

        with pytest.raises(ActionNotAllowed, match="terminated"):
            services.cancel_invoice(invoice=invoice, actor=None, at=AT)

        assert fresh(account).balance == D("100.00")


@pytest.mark.django_db
class TestCancelPayment:
    def test_debits_the_account_with_the_payment_total(self, account, card):
        InvoiceFactory(account=account, price="100.00")
        payment = PaymentFactory(account=account, amount="100.00", method=card)

        cancellation = services.cancel_payment(payment=payment, actor=None, at=AT)

        assert cancellation.number == "PC-000001"
        assert cancellation.is_debit
        assert fresh(account).balance == D("100.00")

    def test_a_payment_of_a_terminated_account_cannot_be_cancelled(self, account, card):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        services.change_account_state(account=account, action="terminate", actor=None, at=AT)

        with pytest.raises(ActionNotAllowed, match="terminated"):
            services.cancel_payment(payment=payment, actor=None, at=AT)


@pytest.mark.django_db
class TestWriteOff:
    def test_writes_off_the_unpaid_part_onto_the_write_off_account(self, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="40.00", method=card)

        write_off, system_invoice = services.write_off_invoice(invoice=invoice, actor=None, at=AT,
                                                               type=default_type(account.tenant))

        assert write_off.total_amount == D("60.00")
        assert (write_off.net_amount, write_off.tax_amount) == (D("50.00"), D("10.00"))  # 20 % product rate
        assert [line.product.code for line in write_off.lines.all()] == ["WRITE-OFF"]
        assert fresh(invoice).open_amount == D("0.00")
        assert fresh(account).balance == D("0.00")
        assert system_invoice.account.kind == AccountKind.WRITE_OFF
        assert system_invoice.total_amount == D("60.00")
        assert fresh(system_invoice.account).balance == D("60.00")

    def test_a_settled_invoice_cannot_be_written_off(self, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="100.00", method=card)

        with pytest.raises(ActionNotAllowed, match="settled; there is nothing to write off"):
            services.write_off_invoice(invoice=invoice, actor=None, at=AT, type=default_type(account.tenant))

    @pytest.mark.parametrize("unpaid", ["0.03", "10.05", "99.99"])
    def test_any_unpaid_amount_is_written_off_exactly(self, account, unpaid):
        # At 20 % a net price can never make 0.03 or 10.05; the write-off line is priced tax-inclusive.
        invoice = InvoiceFactory(account=account, price=unpaid)

        write_off, _ = services.write_off_invoice(invoice=invoice, actor=None, at=AT, type=default_type(account.tenant))

        assert write_off.total_amount == D(unpaid)
        assert write_off.net_amount + write_off.tax_amount == D(unpaid)
        assert fresh(account).balance == D("0.00")


@pytest.mark.django_db
class TestQuickPay:
    def test_pays_exactly_the_outstanding_amount_against_the_invoice(self, account, card):
        older = InvoiceFactory(account=account, price="30.00", at=AT - timedelta(days=5))
        invoice = InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="30.00", method=card)  # FIFO settles the older invoice

        payment = services.quick_pay(invoice=invoice, payment_method=card, actor=None, at=AT, external_reference="ch_1")

        assert payment.total_amount == D("100.00")
        assert payment.external_reference == "ch_1"
        assert list(Allocation.objects.filter(credit=payment).values_list("debit_id", "amount")) == [
            (invoice.pk, D("100.00"))]
        assert fresh(invoice).open_amount == D("0.00")
        assert fresh(older).open_amount == D("0.00")

    def test_a_settled_invoice_is_refused(self, account, card):
        invoice = InvoiceFactory(account=account, price="10.00")
        services.quick_pay(invoice=invoice, payment_method=card, actor=None, at=AT)

        with pytest.raises(ActionNotAllowed, match="nothing to pay"):
            services.quick_pay(invoice=invoice, payment_method=card, actor=None, at=AT)

        assert FinancialTransaction.objects.filter(classification=Classification.PAYMENT).count() == 1


@pytest.mark.django_db
class TestMovePayment:
    def test_moves_a_payment_from_the_suspense_account_to_a_customer(self, ledger, account, card):
        suspense = services.system_account(tenant=ledger, kind=AccountKind.SUSPENSE, currency="EUR")
        unidentified = PaymentFactory(account=suspense, amount="75.00", method=card)
        invoice = InvoiceFactory(account=account, price="75.00")

        moved = services.move_payment(payment=unidentified, destination=account, actor=None, at=AT)

        assert moved.account == account
        assert moved.related == unidentified
        assert fresh(suspense).balance == D("0.00")
        assert fresh(account).balance == D("0.00")
        assert fresh(invoice).open_amount == D("0.00")

    def test_refuses_a_terminated_destination_and_changes_nothing(self, account, second_account, card):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        services.change_account_state(account=second_account, action="terminate", actor=None, at=AT)

        with pytest.raises(ActionNotAllowed, match="terminated; it accepts no payments"):
            services.move_payment(payment=payment, destination=fresh(second_account), actor=None, at=AT)

        assert fresh(account).balance == D("-10.00")
        assert FinancialTransaction.objects.filter(classification=Classification.PAYMENT_CANCELLATION).count() == 0

    def test_refuses_another_currency(self, account, card, customer):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        pounds = services.open_account(customer=customer, currency="GBP")

        with pytest.raises(ValidationError) as raised:
            services.move_payment(payment=payment, destination=pounds, actor=None, at=AT)

        assert raised.value.message_dict == {
            "destination": ["The destination account is in GBP, the payment in EUR."]}


@pytest.mark.django_db
class TestRefund:
    def test_debits_the_account_and_warns_past_the_credit_limit(self, account, card_refund):
        result = services.refund(account=account, amount="600.00", refund_method=card_refund, actor=None, at=AT)

        assert result.transaction.state == TransactionState.POSTED
        assert fresh(account).balance == D("600.00")
        assert result.warnings == ["This refund takes the balance to €600.00, past the credit limit of €500.00."]

    def test_within_the_limit_there_is_no_warning(self, account, card, card_refund):
        PaymentFactory(account=account, amount="100.00", method=card)

        result = services.refund(account=account, amount="100.00", refund_method=card_refund, actor=None, at=AT)

        assert result.warnings == []
        assert fresh(account).balance == D("0.00")


@pytest.mark.django_db
class TestAccountStates:
    def test_a_terminated_account_cannot_be_reactivated(self, account):
        services.change_account_state(account=account, action="terminate", actor=None, at=AT)

        with pytest.raises(ValidationError) as raised:
            services.change_account_state(account=account, action="reactivate", actor=None, at=AT)

        assert raised.value.message_dict == {"action": ["The account is terminated; it cannot be reactivated."]}
        assert fresh(account).state == "terminated"

    def test_a_customer_has_one_account_per_currency(self, account, customer):
        with pytest.raises(ValidationError) as raised:
            services.open_account(customer=customer, currency="EUR")

        assert raised.value.message_dict == {"currency": ["Harriet Holloway already has an account in EUR."]}
        assert Account.objects.filter(customer=customer).count() == 1

    def test_opening_an_account_refuses_bad_input(self, ledger, customer):
        with pytest.raises(ValidationError) as raised:
            services.open_account(customer=customer, currency="XXX", credit_limit="-1")

        assert set(raised.value.message_dict) == {"currency", "credit_limit"}
        assert Account.objects.filter(customer=customer).count() == 0


@pytest.fixture
def bankruptcy(ledger):
    """A write-off type of the tenant's own, besides the default one."""
    return TransactionType.objects.create(tenant=ledger, classification=Classification.WRITE_OFF, name="Bankruptcy")


@pytest.fixture
def uncollectable(ledger):
    return IssueReason.objects.get(tenant=ledger, text="Uncollectable debt")


@pytest.fixture
def their_reason(other_tenant):
    with scope(tenant=other_tenant):
        services.set_up_ledger(tenant=other_tenant)
        return IssueReason.objects.get(tenant=other_tenant, text="Goods returned")


def ledger_rows():
    """What an action could have written: every transaction, allocation and balance."""
    return (
        sorted(FinancialTransaction.objects.values_list("pk", "state", "open_amount")),
        sorted(Allocation.objects.values_list("pk", "reversed_at")),
        sorted(Account.objects.values_list("pk", "balance")),
    )


@pytest.mark.django_db
class TestIssueReasonsAndTypes:
    def test_a_write_off_takes_its_type_and_issue_reason(self, account, bankruptcy, uncollectable):
        invoice = InvoiceFactory(account=account, price="100.00")

        write_off, system_invoice = services.write_off_invoice(invoice=invoice, actor=None, at=AT, type=bankruptcy,
                                                               issue_reason=uncollectable)

        assert (fresh(write_off).type, fresh(write_off).issue_reason, fresh(write_off).issue_note) == (
            bankruptcy, uncollectable, "")
        assert (system_invoice.issue_reason, system_invoice.issue_note) == (
            None, "Written off from Harriet Holloway (EUR)")

    def test_a_write_off_without_a_type_is_refused_and_changes_nothing(self, account, uncollectable):
        invoice = InvoiceFactory(account=account, price="100.00")
        before = ledger_rows()

        with pytest.raises(ValidationError) as refused:
            services.write_off_invoice(invoice=invoice, actor=None, at=AT, type=None, issue_reason=uncollectable)

        assert refused.value.message_dict == {"type": ["Choose the type of write-off."]}
        assert ledger_rows() == before

    def test_a_type_of_another_classification_is_refused_and_changes_nothing(self, account):
        invoice = InvoiceFactory(account=account, price="100.00")
        before = ledger_rows()

        with pytest.raises(ValidationError) as refused:
            services.write_off_invoice(invoice=invoice, actor=None, at=AT,
                                       type=default_type(account.tenant, Classification.INVOICE_CANCELLATION))

        assert refused.value.message_dict == {"type": ["Choose a write-off type."]}
        assert ledger_rows() == before

    def test_a_cancellation_takes_its_type_and_issue_reason(self, account, ledger):
        invoice = InvoiceFactory(account=account, price="100.00")
        returned = TransactionType.objects.create(tenant=ledger, classification=Classification.INVOICE_CANCELLATION,
                                                  name="Goods returned")
        reason = IssueReason.objects.get(tenant=ledger, text="Goods returned")

        cancellation = services.cancel_invoice(invoice=invoice, actor=None, at=AT, type=returned, issue_reason=reason)

        assert (fresh(cancellation).type, fresh(cancellation).issue_reason) == (returned, reason)

    def test_a_payment_cancellation_takes_an_issue_reason_and_the_default_type(self, account, card, ledger):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        reason = IssueReason.objects.get(tenant=ledger, text="Entered in error")

        cancellation = services.cancel_payment(payment=payment, actor=None, at=AT, issue_reason=reason)

        assert (cancellation.type, cancellation.issue_reason) == (
            default_type(ledger, Classification.PAYMENT_CANCELLATION), reason)

    def test_another_tenants_reason_is_refused_and_nothing_is_de_allocated(self, account, card, their_reason):
        invoice = InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="40.00", method=card)
        before = ledger_rows()

        with pytest.raises(ValidationError) as refused:
            services.cancel_invoice(invoice=invoice, actor=None, at=AT, issue_reason=their_reason)

        assert refused.value.message_dict == {"issue_reason": ["Unknown issue reason."]}
        assert ledger_rows() == before

    def test_credit_notes_and_refunds_take_an_issue_reason(self, account, card_refund, ledger):
        goodwill = IssueReason.objects.get(tenant=ledger, text="Goodwill gesture")

        note = services.create_transaction(
            account=account,
            classification=Classification.CREDIT_NOTE,
            actor=None,
            at=AT,
            data=services.TransactionData(lines=[line("5.00")], issue_reason=goodwill),
        )
        refund = services.refund(account=account, amount="5.00", refund_method=card_refund, actor=None, at=AT,
                                 issue_reason=goodwill).transaction

        assert (fresh(note).issue_reason, fresh(refund).issue_reason) == (goodwill, goodwill)

    def test_an_invoice_has_no_issue_reason(self, account, ledger):
        goodwill = IssueReason.objects.get(tenant=ledger, text="Goodwill gesture")

        with pytest.raises(ValidationError) as refused:
            services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                        data=services.TransactionData(lines=[line("5.00")], issue_reason=goodwill))

        assert refused.value.message_dict == {
            "issue_reason": ["Only credit notes, refunds, cancellations and write-offs have an issue reason."]}
        assert FinancialTransaction.objects.count() == 0

    def test_a_moved_payment_says_where_it_went_in_its_note(self, account, card):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        suspense = services.system_account(tenant=account.tenant, kind=AccountKind.SUSPENSE, currency="EUR")

        moved = services.move_payment(payment=payment, destination=suspense, actor=None, at=AT)

        cancellation = FinancialTransaction.objects.get(classification=Classification.PAYMENT_CANCELLATION)
        assert (cancellation.issue_reason, cancellation.issue_note) == (None, "Moved to Suspense account (EUR)")
        assert (moved.issue_reason, moved.issue_note) == (None, "Moved from Harriet Holloway (EUR)")
