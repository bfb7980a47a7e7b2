"""Obligations and instalments: creating them (automatic and manual plans), editing with an audit
trail, marking paid outside Duly, and paying one instalment through the gateway."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scopes_disabled

from finance.models import Account, Allocation, Classification, FinancialTransaction
from notifications.models import Notification
from obligations.models import Instalment, Obligation
from obligations.services.obligations import (
    ManualRow,
    ObligationChanges,
    ObligationData,
    Plan,
    SettingsData,
    add_closing_day,
    create_obligation,
    mark_instalment_paid,
    save_obligation_settings,
    update_instalment,
    update_obligation,
)
from obligations.services.portal import start_instalment_payment
from payments.models import GatewayPayment, PaymentStatus, Receipt
from payments.services.gateway_payments import AttemptRefused, apply_state
from payments.services.notices import send_waiting_notices
from tests.factories import ObligationFactory
from tests.obligations.obligation_fixtures import AT

pytestmark = pytest.mark.django_db
D = Decimal


def schedule(obligation):
    return list(Instalment.objects.filter(obligation=obligation).order_by("number").values_list(
        "number", "amount", "due_on", "status"))


class TestCreateObligation:
    def test_an_automatic_plan_creates_the_schedule_on_business_days(self, ledger, customer, staff):
        # 31 Jan 2027 is a Sunday → Mon 1 Feb; 28 Feb 2027 a Sunday → Mon 1 Mar; the last takes the rounding.
        obligation = ObligationFactory(customer=customer, actor=staff, total="100.00", count=3, first=date(2027, 1, 31))

        assert schedule(obligation) == [
            (1, D("33.33"), date(2027, 2, 1), "unpaid"),
            (2, D("33.33"), date(2027, 3, 1), "unpaid"),
            (3, D("33.34"), date(2027, 3, 31), "unpaid")]
        assert (obligation.total_amount, obligation.currency, obligation.payment_code, obligation.created_by) == (
            D("100.00"), "GBP", "RT-2026-0042", staff)

    def test_new_years_day_in_the_tenants_country_moves_the_due_date(self, ledger, customer, staff):
        obligation = ObligationFactory(customer=customer, actor=staff, total="200.00", count=2, first=date(2027, 1, 1))

        assert [row[2] for row in schedule(obligation)] == [date(2027, 1, 4), date(2027, 2, 1)]

    def test_easter_monday_counts_once_the_tenant_sets_its_region(self, ledger, customer, staff):
        save_obligation_settings(tenant=ledger, actor=staff, data=SettingsData(
            reminder_days_before="3", overdue_days_after="1", holiday_subdivision="eng"))

        obligation = ObligationFactory(customer=customer, actor=staff, total="100.00", count=1, first=date(2026, 4, 6))

        assert [row[2] for row in schedule(obligation)] == [date(2026, 4, 7)]

    def test_a_closing_day_of_the_tenant_moves_the_due_date(self, ledger, customer, staff):
        add_closing_day(tenant=ledger, day="2026-04-01", description="Stocktaking")

        obligation = ObligationFactory(customer=customer, actor=staff, total="100.00", count=1)

        assert [row[2] for row in schedule(obligation)] == [date(2026, 4, 2)]

    def test_a_manual_plan_that_adds_up_is_saved_in_date_order(self, ledger, customer, staff):
        obligation = ObligationFactory(customer=customer, actor=staff, plan="manual", total="500.00", rows=[
            ManualRow(due_on="2026-06-01", amount="200.00"),
            ManualRow(due_on="2026-05-01", amount="300.00")])

        assert schedule(obligation) == [(1, D("300.00"), date(2026, 5, 1), "unpaid"),
                                        (2, D("200.00"), date(2026, 6, 1), "unpaid")]

    def test_a_manual_plan_that_falls_short_is_refused_naming_the_difference_and_nothing_is_saved(
            self, ledger, customer, staff):
        with pytest.raises(ValidationError) as refused:
            ObligationFactory(customer=customer, actor=staff, plan="manual", total="500.00", rows=[
                ManualRow(due_on="2026-05-01", amount="300.00")])

        assert refused.value.message_dict == {"instalments": [
            "The instalments add up to £300.00, £200.00 short of the total £500.00. Add an instalment or raise "
            "an amount."]}
        assert not Obligation.objects.exists() and not Instalment.objects.exists()

    def test_bad_fields_are_each_named_and_nothing_is_saved(self, ledger, customer, staff):
        with pytest.raises(ValidationError) as refused:
            create_obligation(
                customer=customer,
                actor=staff,
                at=AT,
                plan=Plan(kind="automatic", first_due_on="2026-02-30", count="three"),
                data=ObligationData(
                    payee="",
                    payment_code="",
                    description="x" * 201,
                    total_amount="12.345",
                    currency="XYZ",
                    payee_kind="bank",
                ),
            )

        assert refused.value.message_dict == {
            "payee": ["Who is it paid to?"],
            "payment_code": ["Enter the payment code (the debt's payment ID)."],
            "description": ["At most 200 characters."],
            "payee_kind": ["One of institution, government, tenant."],
            "currency": ["Currency must be one of EUR, GBP, USD, PAB, AUD, CAD."],
            "total_amount": ["The amount has at most 2 decimal places."],
        }
        assert not Obligation.objects.exists()

    def test_the_customer_is_emailed_when_asked_without_the_manager_comments(self, ledger, customer, staff):
        obligation = ObligationFactory(customer=customer, actor=staff, send_email=True,
                                       manager_comments="Secret: slow payer")

        sent = Notification.objects.get(template_key="obligation_created")
        assert (sent.channel, sent.recipient, sent.subject) == (
            "email", "harriet@example.com", "Your payment plan for Road tax 2026")
        assert "£300.00 in 3 instalments, the first due on 1 April 2026" in sent.body
        assert "/portal/acme/" in sent.body
        assert "Secret" not in sent.body and "slow payer" not in sent.subject
        assert sent.subject_ref == f"payments.obligation:{obligation.pk}"

    def test_nothing_is_emailed_unless_asked(self, ledger, customer, staff):
        ObligationFactory(customer=customer, actor=staff)

        assert not Notification.objects.exists()

    def test_the_creation_is_in_the_audit_log_with_who(self, obligation, staff):
        [record] = obligation.history.all()

        assert (record.history_type, record.history_user) == ("+", staff)
        assert Instalment.history.filter(obligation_id=obligation.pk).count() == 3


class TestEditing:
    def test_a_new_amount_changes_the_total_and_is_audited(self, obligation, staff):
        first = obligation.instalments.get(number=1)

        update_instalment(instalment=first, amount="150.00", due_on="2026-04-10", actor=staff, at=AT)

        assert schedule(obligation)[0] == (1, D("150.00"), date(2026, 4, 10), "unpaid")
        assert Obligation.objects.get(pk=obligation.pk).total_amount == D("350.00")
        latest = first.history.order_by("-history_id").first()
        delta = latest.diff_against(latest.prev_record)
        assert {(c.field, str(c.old), str(c.new)) for c in delta.changes} == {
            ("amount", "100.00", "150.00"), ("due_on", "2026-04-01", "2026-04-10")}
        assert latest.history_user == staff

    def test_a_new_total_is_absorbed_by_the_last_unpaid_instalment(self, obligation, staff):
        update_obligation(obligation=obligation, changes=ObligationChanges(total_amount="280.00", payee="HMRC"),
                                   actor=staff, at=AT)

        assert [row[1] for row in schedule(obligation)] == [D("100.00"), D("100.00"), D("80.00")]
        assert Obligation.objects.get(pk=obligation.pk).payee == "HMRC"

    def test_a_total_the_last_instalment_cannot_absorb_is_refused_and_nothing_changes(self, obligation, staff):
        with pytest.raises(ValidationError) as refused:
            update_obligation(obligation=obligation, changes=ObligationChanges(total_amount="150.00", payee="HMRC"),
                                       actor=staff, at=AT)

        assert refused.value.message_dict == {"total_amount": [
            "The last unpaid instalment (£100.00) cannot absorb a reduction of £150.00; change the instalments "
            "first."]}
        assert Obligation.objects.get(pk=obligation.pk).payee == "DVLA"
        assert [row[1] for row in schedule(obligation)] == [D("100.00")] * 3

    def test_a_paid_instalment_cannot_be_changed(self, obligation, staff):
        first = obligation.instalments.get(number=1)
        mark_instalment_paid(instalment=first, actor=staff, at=AT)

        with pytest.raises(ValidationError) as refused:
            update_instalment(instalment=first, amount="1.00", actor=staff, at=AT)

        assert refused.value.messages == ["This instalment is paid; it cannot be changed."]

    def test_a_bad_date_is_named(self, obligation, staff):
        with pytest.raises(ValidationError) as refused:
            update_instalment(instalment=obligation.instalments.get(number=1), due_on="31/04/2026",
                                       actor=staff, at=AT)

        assert refused.value.message_dict == {"due_on": ["Enter a date such as 2026-03-31."]}

    def test_the_customer_is_told_of_a_change_when_asked(self, obligation, staff):
        update_instalment(instalment=obligation.instalments.get(number=1), due_on="2026-04-03",
                                   actor=staff, at=AT, notify_customer=True)

        sent = Notification.objects.get(template_key="obligation_changed")
        assert sent.subject == "Your payment plan for Road tax 2026 has changed"
        assert "the next due on 3 April 2026" in sent.body and "slow to pay" not in sent.body


class TestMarkPaidOutsideDuly:
    def test_who_and_when_are_recorded_and_no_ledger_entry_is_made(self, obligation, staff):
        first = obligation.instalments.get(number=1)

        mark_instalment_paid(instalment=first, actor=staff, at=AT)

        first.refresh_from_db()
        assert (first.status, first.paid_at, first.paid_by, first.paid_outside) == ("paid", AT, staff, True)
        assert not FinancialTransaction.objects.exists()
        with pytest.raises(ValidationError):
            mark_instalment_paid(instalment=first, actor=staff, at=AT)


def start(instalment, gateway_account, at=None):
    return start_instalment_payment(instalment=instalment, gateway_account=gateway_account,
                                             return_url="https://duly.test/back", webhook_url="https://duly.test/hook",
                                             at=at or timezone.now()).payment


def settle(attempt):
    """The provider's success, booked, and the confirmations the notifications worker then writes."""
    applied = apply_state(payment=attempt, status="succeeded", at=timezone.now(), source="test",
                          amount_minor=int(attempt.amount * 100))
    send_waiting_notices(tenant=attempt.tenant)
    return applied.payment


class TestPayingAnInstalment:
    def test_a_success_books_an_invoice_and_an_allocated_payment_marks_it_paid_and_issues_a_receipt(
            self, obligation, sandbox):
        first = obligation.instalments.get(number=1)

        attempt = start(first, sandbox)
        settled = settle(attempt)

        assert (attempt.instalment_id, attempt.amount, attempt.currency) == (first.pk, D("100.00"), "GBP")
        first.refresh_from_db()
        assert (first.status, first.ledger_payment_id) == ("paid", settled.ledger_payment_id)
        invoice = first.ledger_invoice
        assert (invoice.classification, invoice.state, invoice.total_amount, invoice.open_amount) == (
            Classification.INVOICE, "posted", D("100.00"), D("0.00"))
        assert list(Allocation.objects.values_list("credit_id", "debit_id", "amount")) == [
            (settled.ledger_payment_id, invoice.pk, D("100.00"))]
        account = Account.objects.get(customer=obligation.customer, currency="GBP")
        assert account.balance == D("0.00")
        receipt = Receipt.objects.get(ledger_payment_id=settled.ledger_payment_id)
        assert (receipt.amount, receipt.invoice_number) == (D("100.00"), invoice.number)
        confirmation = Notification.objects.get(template_key="payment_received", channel="email")
        assert confirmation.recipient == "harriet@example.com" and "/receipts/" in confirmation.body
        assert [row[3] for row in schedule(obligation)] == ["paid", "unpaid", "unpaid"]
        # Manager comments reach neither the receipt (page and PDF share its fields), the email nor the ledger.
        assert "slow to pay" not in confirmation.body + confirmation.subject
        assert "slow to pay" not in " ".join(str(getattr(receipt, f.attname)) for f in Receipt._meta.fields)
        assert "slow to pay" not in invoice.lines.get().description

    def test_a_duplicate_success_changes_nothing_twice(self, obligation, sandbox):
        attempt = start(obligation.instalments.get(number=1), sandbox)

        settle(attempt)
        settle(attempt)

        assert FinancialTransaction.objects.filter(classification=Classification.PAYMENT).count() == 1
        assert FinancialTransaction.objects.filter(classification=Classification.INVOICE).count() == 1
        assert Receipt.objects.count() == 1

    def test_two_tabs_paying_the_same_instalment_share_one_attempt(self, obligation, sandbox):
        first = obligation.instalments.get(number=1)
        one = start(first, sandbox)
        GatewayPayment.objects.filter(pk=one.pk).update(redirect_url="https://sandbox.test/pay/1",
                                                        expires_at=timezone.now() + timedelta(hours=1))

        two = start(first, sandbox)

        assert two.pk == one.pk
        assert GatewayPayment.objects.filter(instalment=first).count() == 1

    def test_a_paid_instalment_refuses_another_payment(self, obligation, sandbox, staff):
        first = obligation.instalments.get(number=1)
        mark_instalment_paid(instalment=first, actor=staff, at=AT)

        with pytest.raises(AttemptRefused) as refused:
            start(first, sandbox)

        assert str(refused.value) == "This instalment has been paid. Thank you."
        assert not GatewayPayment.objects.exists()

    def test_money_arriving_for_an_instalment_paid_meanwhile_is_booked_unallocated(self, obligation, sandbox, staff):
        first = obligation.instalments.get(number=1)
        attempt = start(first, sandbox)
        mark_instalment_paid(instalment=first, actor=staff, at=AT)

        settled = settle(attempt)

        assert settled.status == PaymentStatus.SUCCEEDED and settled.invoice_id is None
        assert settled.ledger_payment.total_amount == D("100.00")
        assert not FinancialTransaction.objects.filter(classification=Classification.INVOICE).exists()
        first.refresh_from_db()
        assert first.paid_outside and first.ledger_payment_id is None


class TestDemoData:
    def test_the_demo_has_one_plan_per_tenant_however_often_it_runs(self, db):
        call_command("seed_demo", history=0, stdout=io.StringIO())
        call_command("seed_demo", history=0, stdout=io.StringIO())

        with scopes_disabled():
            assert Obligation.objects.count() == 3
            assert Instalment.objects.count() == 9
            assert set(Obligation.objects.values_list("total_amount", flat=True)) == {D("1000.00")}
