"""A success's notices: the booking writes one row, and the notifications worker turns it into the payer's
confirmation and the staff's note, once, after the booking committed."""

import itertools
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from crm.models import Customer
from notifications.models import Notification
from payments import tasks
from payments.models import GatewayPayment, PaymentNotice
from payments.services import notices
from payments.services.gateway_payments import apply_state
from tests.factories import GatewayPaymentFactory
from tests.gateways.test_inbox_sweep import queued_messages
from tests.helpers import at_once
from tests.payments.test_webhooks import gbp_account, stripe_account  # noqa: F401 - fixtures

AT = None  # when each test books: set to now for each test (the sweep measures a notice's wait from now)


@pytest.fixture(autouse=True)
def booking_time():
    global AT  # read by the helpers and assertions below
    AT = timezone.now().replace(microsecond=0)


REFERENCES = itertools.count(1)


def notice_tasks() -> list[dict]:
    """Take the messages off the test run's notifications queue: the kwargs of each notices task."""
    return [message.decode()[1] for message in queued_messages("notifications")
            if message.headers["task"] == notices.NOTICES_TASK]


def paid(gateway_account, account, *, created_by=None, amount="12.34"):
    payment = GatewayPaymentFactory(gateway_account=gateway_account, account=account, amount=amount,
                                    provider_reference=f"pi_{next(REFERENCES)}")
    GatewayPayment.objects.filter(pk=payment.pk).update(created_by=created_by)
    return apply_state(payment=payment, status="succeeded", at=AT, source="webhook", amount_minor=None)


@pytest.mark.django_db
class TestABookedSuccess:
    def test_writes_one_notice_with_the_receipt_token_and_no_message_yet(
            self, stripe_account, gbp_account, staff):  # noqa: F811
        applied = paid(stripe_account, gbp_account, created_by=staff)

        [notice] = PaymentNotice.objects.all()
        assert (notice.payment_id, notice.receipt_token, notice.at) == (applied.payment.pk, applied.receipt_token, AT)
        assert not Notification.objects.exists()

    def test_is_told_by_the_worker_the_payer_by_email_with_a_working_receipt_link_and_the_staff_in_app(
            self, stripe_account, gbp_account, staff, customer):  # noqa: F811
        applied = paid(stripe_account, gbp_account, created_by=staff)

        assert notices.send_waiting_notices(tenant=applied.payment.tenant) == [applied.payment.pk]

        confirmation = Notification.objects.get(template_key="payment_received")
        note = Notification.objects.get(template_key="staff_payment_received")
        assert (confirmation.channel, confirmation.recipient, confirmation.created_at) == (
            "email", customer.email, AT)
        assert (note.channel, note.recipient_user, note.created_at) == ("in_app", staff, AT)
        link = f"/receipts/{applied.receipt_token}/"
        assert link in confirmation.body
        assert Client().get(link).status_code == 200
        assert not PaymentNotice.objects.exists()

    def test_a_notice_told_again_writes_nothing_new(self, stripe_account, gbp_account, staff):  # noqa: F811
        applied = paid(stripe_account, gbp_account, created_by=staff)
        notices.send_waiting_notices(tenant=applied.payment.tenant)
        # a task that died after writing the messages and before deleting its row: the row comes back
        PaymentNotice.objects.create(tenant=applied.payment.tenant, payment=applied.payment,
                                     receipt_token=applied.receipt_token, at=AT)

        notices.send_waiting_notices(tenant=applied.payment.tenant)

        assert Notification.objects.filter(template_key="payment_received").count() == 1
        assert Notification.objects.filter(template_key="staff_payment_received").count() == 1

    def test_a_duplicated_success_leaves_one_notice(self, stripe_account, gbp_account):  # noqa: F811
        applied = paid(stripe_account, gbp_account)

        apply_state(payment=applied.payment, status="succeeded", at=AT, source="the same webhook again")

        assert PaymentNotice.objects.count() == 1

    def test_a_failure_tells_its_staff_member_at_once_and_leaves_no_notice(
            self, stripe_account, gbp_account, staff):  # noqa: F811
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.34")
        GatewayPayment.objects.filter(pk=payment.pk).update(created_by=staff)

        apply_state(payment=payment, status="failed", at=AT, source="webhook", failure_message="Declined.")

        assert list(Notification.objects.values_list("template_key", flat=True)) == ["payment_failed"]
        assert not PaymentNotice.objects.exists()

    def test_a_notice_that_cannot_be_told_is_passed_over_and_the_rest_are_told(
            self, stripe_account, gbp_account, caplog):  # noqa: F811
        first = paid(stripe_account, gbp_account).payment
        spoilt = paid(stripe_account, gbp_account).payment
        # a damaged row: no link can carry this token, so the confirmation cannot be written
        PaymentNotice.objects.filter(payment=spoilt).update(receipt_token="not/a token")
        broken = PaymentNotice.objects.get(payment=spoilt)
        second = paid(stripe_account, gbp_account).payment

        told = notices.send_waiting_notices(tenant=stripe_account.tenant)

        assert told == [first.pk, second.pk]
        assert list(PaymentNotice.objects.values_list("pk", flat=True)) == [broken.pk]
        assert f"Payment notice {broken.pk} could not be told" in caplog.text

    def test_oldest_first_up_to_the_limit_then_another_task_is_woken(self, stripe_account, gbp_account):  # noqa: F811
        Customer.objects.update(email="", phone="")  # nobody to confirm to: the order is the notices'
        payments = [paid(stripe_account, gbp_account).payment.pk for _ in range(3)]
        notice_tasks()

        first = notices.send_waiting_notices(tenant=stripe_account.tenant, limit=2)

        assert first == payments[:2]
        assert notice_tasks() == [{"tenant_id": stripe_account.tenant_id}]
        assert notices.send_waiting_notices(tenant=stripe_account.tenant) == payments[2:]
        assert notice_tasks() == []


@pytest.mark.django_db
def test_a_run_reads_the_tenants_wordings_settings_and_payment_managers_once(
        stripe_account, gbp_account, customer):  # noqa: F811
    for _ in range(6):
        paid(stripe_account, gbp_account)  # nobody took them: the payment managers (none here) are looked up
    with CaptureQueriesContext(connection) as two:
        notices.send_waiting_notices(tenant=stripe_account.tenant, limit=2)
    with CaptureQueriesContext(connection) as four:
        notices.send_waiting_notices(tenant=stripe_account.tenant, limit=4)

    # each: its transaction (2), the notice taken, the payment read, the confirmation (its savepoint (2),
    # whether it was written, its row with a savepoint (3), its log)
    assert (len(four) - len(two)) / 2 == 11
    # once a run: the wording, the settings and the payment managers
    assert len(two) == 3 + 2 * 11
    assert Notification.objects.filter(template_key="payment_received").count() == 6


@pytest.mark.django_db
class TestWakingTheWorker:
    def test_one_task_is_queued_per_tenant_until_it_starts(self, ledger):
        notice_tasks()

        notices.wake(tenant_id=ledger.pk)
        notices.wake(tenant_id=ledger.pk)
        assert notice_tasks() == [{"tenant_id": ledger.pk}]
        notices.send_waiting_notices(tenant=ledger)  # a task starts: the next notice wakes another
        notices.wake(tenant_id=ledger.pk)

        assert notice_tasks() == [{"tenant_id": ledger.pk}]

    def test_the_sweep_wakes_a_tenant_whose_notice_waited_too_long_past_a_mark_a_lost_task_left(
            self, stripe_account, gbp_account):  # noqa: F811
        payment = paid(stripe_account, gbp_account).payment
        PaymentNotice.objects.filter(payment=payment).update(at=timezone.now() - notices.LOST_AFTER - timedelta(1))
        notice_tasks()  # the task that was woken is lost; its mark is still set

        tasks.sweep_payment_notices()

        assert notice_tasks() == [{"tenant_id": stripe_account.tenant_id}]

    def test_the_sweep_leaves_a_notice_just_written_to_its_task(self, stripe_account, gbp_account):  # noqa: F811
        paid(stripe_account, gbp_account)
        notice_tasks()

        tasks.sweep_payment_notices()

        assert notice_tasks() == []


@pytest.mark.django_db(transaction=True)
def test_two_tasks_at_once_tell_each_notice_once(ledger, stripe_account, gbp_account):  # noqa: F811
    with scope(tenant=ledger):
        for _ in range(12):
            paid(stripe_account, gbp_account)
    barrier = threading.Barrier(2)
    told = []

    def run():
        try:
            with scope(tenant=ledger):
                barrier.wait(timeout=10)
                told.append(notices.send_waiting_notices(tenant=ledger))
        finally:
            connection.close()

    at_once(run, times=2, timeout=120)

    first, second = told
    with scope(tenant=ledger):
        assert set(first).isdisjoint(second)
        assert set(first) | set(second) == set(GatewayPayment.objects.values_list("pk", flat=True))
        assert Notification.objects.filter(template_key="payment_received").count() == 12
        assert not PaymentNotice.objects.exists()
    notice_tasks()
