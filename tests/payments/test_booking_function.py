"""The booking of a success as one database function (``payments/sql/booking_v2.sql``): what it writes,
all or nothing, and what a booking costs in statements."""

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from finance.models import Account, Classification, FinancialTransaction
from payments.models import GatewayPayment, PaymentEvent, PaymentNotice, PaymentStatus, Receipt
from payments.services.gateway_payments import apply_state
from payments.services.webhooks import process_waiting_deliveries
from tests.factories import GatewayPaymentFactory
from tests.payments.test_gateway_payments import AT
from tests.payments.test_webhook_batches import paid_on
from tests.payments.test_webhooks import gbp_account, stripe_account  # noqa: F401 - fixtures


def statements_of_a_batch(tenant, size: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert len(process_waiting_deliveries(tenant=tenant, claimer=f"batch-of-{size}", limit=size).processed) == size
    return len(queries)


@pytest.mark.django_db
class TestBookingASuccess:
    def test_a_booking_in_a_batch_takes_eleven_statements(self, ledger, stripe_account, gbp_account):  # noqa: F811
        paid_on(stripe_account, gbp_account, 8)

        two, six = statements_of_a_batch(ledger, 2), statements_of_a_batch(ledger, 6)

        # Each: claim, begin, lock the payment, draft (savepoint, reference, insert, event, release), the
        # booking function, the delivery's outcome, commit (here a test's savepoint and its release).
        # Once a batch: its unfinished claims, the gateway account, the payment type and its methods,
        # the payment method.
        assert (six - two) / 4 == 11
        assert two == 5 + 2 * 11
        assert FinancialTransaction.objects.filter(classification=Classification.PAYMENT, state="posted").count() == 8

    def test_writes_the_posting_the_payments_state_its_event_the_receipt_and_the_notice(
            self, stripe_account, gbp_account):  # noqa: F811
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.50")

        applied = apply_state(payment=payment, status="succeeded", at=AT, source="webhook evt_1")

        stored = GatewayPayment.objects.get(pk=payment.pk)
        posted = stored.ledger_payment
        assert (stored.status, stored.settled_at, stored.updated_at, stored.failure_message) == (
            PaymentStatus.SUCCEEDED, AT, AT, "")
        assert (posted.state, posted.total_amount, posted.posted_at, posted.payment_method.name) == (
            "posted", applied.payment.ledger_payment.total_amount, AT, "Card")
        assert applied.payment.ledger_payment.number == posted.number
        assert list(PaymentEvent.objects.values_list("from_status", "to_status", "source", "at")) == [
            ("pending", "succeeded", "webhook evt_1", AT)]
        assert Receipt.objects.get().ledger_payment == posted
        assert PaymentNotice.objects.get().payment_id == payment.pk
        assert Account.objects.get(pk=gbp_account.pk).balance == -payment.amount

    def test_receipt_numbers_past_999999_keep_every_digit(self, ledger, stripe_account, gbp_account):  # noqa: F811
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO finance_counter (tenant_id, series, last) VALUES (%s, 'receipt', 999999)",
                           [ledger.pk])
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)

        apply_state(payment=payment, status="succeeded", at=AT, source="test")

        assert Receipt.objects.get().number == "RC-1000000"

    def test_a_failure_at_its_last_step_leaves_nothing_booked(self, stripe_account, gbp_account):  # noqa: F811
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)
        # a notice already there: the function's last insert fails, after the posting and the receipt
        PaymentNotice.objects.create(tenant=payment.tenant, payment=payment, at=AT)

        with pytest.raises(IntegrityError):
            apply_state(payment=payment, status="succeeded", at=AT, source="test")

        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
        assert not FinancialTransaction.objects.filter(classification=Classification.PAYMENT).exists()
        assert not Receipt.objects.exists() and not PaymentEvent.objects.exists()
        assert Account.objects.get(pk=gbp_account.pk).balance == 0
