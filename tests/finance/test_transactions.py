from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from finance import services
from finance.exceptions import ActionNotAllowed
from finance.models import (
    Account,
    Classification,
    FinancialTransaction,
    RejectionReason,
    TaxRate,
    TransactionLine,
    TransactionState,
)
from tests.factories import InvoiceFactory, PaymentFactory, line
from tests.finance.conftest import AT, D


@pytest.mark.django_db
class TestCreateTransaction:
    def test_a_draft_invoice_has_a_reference_but_no_number_and_computed_amounts(self, account):
        vat = TaxRate.objects.create(tenant=account.tenant, name="VAT 19", percent=D(19))

        draft = services.create_transaction(
            account=account,
            classification=Classification.INVOICE,
            actor=None,
            at=AT,
            data=services.TransactionData(
                lines=[
                    line("45.50", quantity="2", discount_percent=D(15), tax_rate=vat),
                    line("120.00", discount_amount=D(20), tax_rate=vat),
                ]
            ),
        )

        assert draft.state == TransactionState.DRAFT
        assert draft.reference_number.startswith("R")
        assert draft.number == ""
        assert (draft.net_amount, draft.discount_amount, draft.tax_amount, draft.total_amount) == (
            D("211.00"), D("33.65"), D("33.70"), D("211.05"))
        assert [ln.total_amount for ln in draft.lines.all()] == [D("92.05"), D("119.00")]
        assert draft.currency == "EUR"

    @pytest.mark.parametrize(
        ("kwargs", "errors"),
        [
            ({"classification": Classification.INVOICE, "lines": []}, {"lines": ["At least one line is required."]}),
            ({"classification": Classification.INVOICE, "lines": [line("10.001")]},
             {"lines[0].unit_price": ["At most 2 decimal places."]}),
            ({"classification": Classification.INVOICE, "lines": [line("10", quantity="0")]},
             {"lines[0].quantity": ["Must be more than zero."]}),
            ({"classification": Classification.INVOICE, "lines": [line("10", discount_amount=D("11"))]},
             {"lines[0].discount_amount": ["The discount is larger than the line's net amount."]}),
            ({"classification": Classification.PAYMENT, "amount": "abc"},
             {"amount": ["“abc” is not a number."], "payment_method": ["Choose a payment method."]}),
            ({"classification": Classification.PAYMENT, "amount": "-5"},
             {"amount": ["Must be more than zero."], "payment_method": ["Choose a payment method."]}),
            ({"classification": Classification.REFUND, "amount": "5"}, {"refund_method": ["Choose a refund method."]}),
            ({"classification": Classification.CREDIT_NOTE, "lines": [line("5")], "due_on": date(2026, 6, 19)},
             {"due_on": ["Only invoices have a due date."]}),
            ({"classification": Classification.INVOICE, "lines": [line("5")], "due_on": date(2026, 6, 1)},
             {"due_on": ["The due date must be 19 June 2026 under the account's credit rule."]}),
        ],
    )
    def test_bad_input_names_the_field_and_saves_nothing(self, account, kwargs, errors):
        with pytest.raises(ValidationError) as raised:
            services.create_transaction(account=account, classification=kwargs.pop("classification"), actor=None, at=AT,
                                        data=services.TransactionData(**kwargs))

        assert raised.value.message_dict == errors
        assert FinancialTransaction.objects.count() == 0
        assert TransactionLine.objects.count() == 0

    def test_a_back_office_code_is_unique_per_tenant(self, account, second_account, card):
        services.create_transaction(account=account, classification=Classification.PAYMENT, actor=None, at=AT,
                                    data=services.TransactionData(amount="5", payment_method=card,
                                                                  back_office_code="BO-1"))

        with pytest.raises(ValidationError) as raised:
            services.create_transaction(
                account=second_account,
                classification=Classification.PAYMENT,
                actor=None,
                at=AT,
                data=services.TransactionData(amount="5", payment_method=card, back_office_code="BO-1"),
            )

        assert raised.value.message_dict == {"back_office_code": ["The back-office code “BO-1” is already used."]}

    def test_a_terminated_account_accepts_nothing(self, account, card):
        services.change_account_state(account=account, action="terminate", actor=None, at=AT)

        with pytest.raises(ActionNotAllowed, match="terminated; it accepts no new transactions"):
            services.create_transaction(
                account=Account.objects.get(pk=account.pk),
                classification=Classification.PAYMENT,
                actor=None,
                at=AT,
                data=services.TransactionData(amount="5", payment_method=card),
            )

    def test_a_suspended_account_accepts_payments_but_no_invoices(self, account, card):
        services.change_account_state(account=account, action="suspend", actor=None, at=AT)
        account = Account.objects.get(pk=account.pk)

        payment = PaymentFactory(account=account, amount="5.00", method=card)

        assert payment.state == TransactionState.POSTED
        with pytest.raises(ActionNotAllowed, match="suspended; it accepts no new invoices"):
            InvoiceFactory(account=account, price="10.00")


@pytest.mark.django_db
class TestPostTransaction:
    def test_numbers_gaplessly_per_classification_and_sets_the_due_date(self, account, card):
        first = InvoiceFactory(account=account, price="100.00")
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        second = InvoiceFactory(account=account, price="50.00")

        assert (first.number, second.number, payment.number) == ("INV-000001", "INV-000002", "PAY-000001")
        assert first.due_on == date(2026, 6, 19)  # 30 days after 20 May
        assert first.posted_at == AT

    def test_updates_the_balance(self, account, card):
        InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="30.00", method=card)

        assert Account.objects.get(pk=account.pk).balance == D("70.00")

    def test_a_rolled_back_posting_leaves_no_gap_in_the_numbers(self, account):
        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[line("10")]))
        with pytest.raises(RuntimeError), transaction.atomic():
            services.post_transaction(txn=draft, actor=None, at=AT)
            raise RuntimeError("the caller fails after posting")

        assert InvoiceFactory(account=account, price="10.00").number == "INV-000001"

    def test_posting_twice_is_refused(self, account):
        invoice = InvoiceFactory(account=account, price="10.00")

        with pytest.raises(ActionNotAllowed, match="only a draft can change"):
            services.post_transaction(txn=invoice, actor=None, at=AT)

        assert Account.objects.get(pk=account.pk).balance == D("10.00")

    def test_a_user_due_date_outside_the_rule_is_refused_at_posting(self, account):
        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[line("10")], due_on=date(2026, 6, 19)))

        with pytest.raises(ValidationError) as raised:
            services.post_transaction(txn=draft, actor=None, at=AT + timedelta(days=3))

        assert raised.value.message_dict == {
            "due_on": ["The due date must be 22 June 2026 under the account's credit rule."]
        }
        assert FinancialTransaction.objects.get(pk=draft.pk).state == TransactionState.DRAFT


@pytest.mark.django_db
class TestRejectAndEdit:
    def test_a_draft_is_rejected_with_a_reason(self, account):
        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[line("10")]))
        reason = RejectionReason.objects.get(tenant=account.tenant, text="Duplicate")

        rejected = services.reject_transaction(txn=draft, reason=reason, actor=None, at=AT)

        assert rejected.state == TransactionState.REJECTED
        assert rejected.rejection_reason == reason
        assert [e.action for e in rejected.events.all()] == ["create", "reject"]

    def test_rejecting_without_a_reason_is_refused(self, account):
        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[line("10")]))

        with pytest.raises(ValidationError) as raised:
            services.reject_transaction(txn=draft, reason=None, actor=None, at=AT)

        assert raised.value.message_dict == {"reason": ["Choose the reason for rejecting it."]}

    def test_a_draft_is_edited_keeping_its_reference(self, account):
        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[line("10")], back_office_code="X-1"))

        edited = services.update_draft(txn=draft, actor=None, at=AT,
                                       changes=services.DraftChanges(lines=[line("20"), line("5")]))

        assert edited.reference_number == draft.reference_number
        assert edited.total_amount == D("25.00")
        assert edited.back_office_code == "X-1"
        assert [ln.unit_price for ln in edited.lines.all()] == [D("20.00"), D("5.00")]

    def test_a_posted_transaction_cannot_be_edited_or_rejected(self, account):
        invoice = InvoiceFactory(account=account, price="10.00")
        reason = RejectionReason.objects.get(tenant=account.tenant, text="Duplicate")

        with pytest.raises(ActionNotAllowed):
            services.update_draft(txn=invoice, actor=None, at=AT, changes=services.DraftChanges(lines=[line("20")]))
        with pytest.raises(ActionNotAllowed):
            services.reject_transaction(txn=invoice, reason=reason, actor=None, at=AT)

        assert FinancialTransaction.objects.get(pk=invoice.pk).total_amount == D("10.00")

    def test_every_note_amendment_is_kept_with_author_and_time(self, account, staff):
        invoice = InvoiceFactory(account=account, price="10.00")

        services.amend_notes(txn=invoice, text="Called the customer", actor=staff, at=AT)
        services.amend_notes(txn=invoice, text="Promised to pay Friday", actor=staff, at=AT + timedelta(hours=1))

        assert [(n.text, n.author, n.at) for n in invoice.notes.all()] == [
            ("Called the customer", staff, AT), ("Promised to pay Friday", staff, AT + timedelta(hours=1))]


@pytest.mark.django_db
class TestPostedRowsNeverChange:
    def test_the_orm_cannot_change_a_posted_transaction(self, account):
        invoice = InvoiceFactory(account=account, price="10.00")

        with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
            FinancialTransaction.objects.filter(pk=invoice.pk).update(total_amount=Decimal("1.00"))

        assert FinancialTransaction.objects.get(pk=invoice.pk).total_amount == D("10.00")

    def test_the_orm_cannot_delete_a_posted_transaction_or_change_its_lines(self, account):
        invoice = InvoiceFactory(account=account, price="10.00")

        # Django deletes the lines first (cascade), which the lines' trigger already refuses.
        with pytest.raises(IntegrityError, match="posted transaction cannot be changed"), transaction.atomic():
            FinancialTransaction.objects.filter(pk=invoice.pk).delete()
        with pytest.raises(IntegrityError, match="is posted; it cannot be deleted"), transaction.atomic():
            FinancialTransaction.objects.filter(pk=invoice.pk)._raw_delete(using="default")
        with pytest.raises(IntegrityError, match="lines of a posted transaction"), transaction.atomic():
            TransactionLine.objects.filter(transaction=invoice).update(unit_price=D("1.00"))

        assert TransactionLine.objects.get(transaction=invoice).unit_price == D("10.00")

    def test_the_state_field_cannot_be_assigned_directly(self, account):
        invoice = InvoiceFactory(account=account, price="10.00")

        with pytest.raises(AttributeError):
            invoice.state = TransactionState.DRAFT
