"""Payment requests: sending, expiry, resending, cancelling, consolidating and completion by an attempt."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django_scopes import scope

from crm.models import Role
from finance.models import Classification, FinancialTransaction
from gateways.base import CheckoutMode
from notifications.models import Notification
from paylinks import tasks
from paylinks.models import PaymentRequest, RequestStatus
from paylinks.services.requests import (
    RequestData,
    cancel_payment_request,
    consolidate_payment_request,
    expire_payment_requests,
    request_for_token,
    request_payment,
    resend_payment_request,
    start_request_attempt,
)
from payments.models import GatewayPayment, PaymentStatus
from payments.services.gateway_payments import AttemptRefused, apply_state
from payments.services.notices import send_waiting_notices
from tests.factories import CustomerFactory, UserFactory
from tests.paylinks.request_fixtures import AT, D, send

pytestmark = pytest.mark.django_db


def ledger_payments():
    return FinancialTransaction.objects.filter(classification=Classification.PAYMENT)


def attempt_for(request, sandbox, at=AT):
    return start_request_attempt(request=request, gateway_account=sandbox, return_url="https://x.test/done",
                                          webhook_url="", at=at).payment


class TestRequestPayment:
    def test_stores_a_hashed_token_and_sends_the_link_once_through_the_outbox(self, ledger, customer, gbp, staff):
        request, token = send(customer, gbp, staff)

        assert request.status == RequestStatus.OPEN
        assert (request.amount, request.currency, request.reference) == (D("120.00"), "GBP", "INV-42")
        assert request.expires_at == AT + timedelta(hours=24)
        assert request.created_by == staff
        assert len(token) >= 22 and token not in request.token_hash
        assert request_for_token(token=token, at=AT) == request
        sent = Notification.objects.get(template_key="payment_request")
        assert (sent.channel, sent.recipient, sent.urgent) == ("email", "harriet@example.com", True)
        assert f"/pay/{token}/" in sent.body
        assert "£120.00" in sent.body

    def test_email_and_sms_write_one_row_each(self, ledger, staff, sandbox):
        customer = CustomerFactory(tenant=ledger, name="Ivan", email="ivan@example.com", phone="+447911123456")
        from finance import services as ledger_services
        account = ledger_services.open_account(customer=customer, currency="GBP")

        send(customer, account, staff, channels=("email", "sms"))

        assert sorted(Notification.objects.filter(template_key="payment_request").values_list("channel", flat=True)) \
            == ["email", "sms"]

    @pytest.mark.parametrize(("changes", "field"), [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "10.005"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"channels": []}, "channels"),
        ({"channels": ["sms"]}, "channels"),  # the customer has no phone number
        ({"channels": ["fax"]}, "channels"),
        ({"currency": "EUR"}, "currency"),
        ({"reference": "x" * 101}, "reference"),
    ])
    def test_refuses_bad_input_naming_the_field_and_saves_nothing(self, ledger, customer, gbp, staff, changes, field):
        customer.phone = ""
        asked = {"amount": "120.00", "reference": "R", "message": "", "channels": ["email"]} | changes
        currency = asked.pop("currency", None)

        with pytest.raises(ValidationError) as refused:
            request_payment(customer=customer, account=gbp, actor=staff, at=AT, currency=currency,
                            data=RequestData(**asked))

        assert list(refused.value.message_dict) == [field]
        assert PaymentRequest.objects.count() == 0
        assert Notification.objects.count() == 0

    def test_refuses_another_customers_account(self, ledger, customer, staff):
        other = CustomerFactory(tenant=ledger, name="Ivan", email="ivan@example.com")
        from finance import services as ledger_services
        account = ledger_services.open_account(customer=other, currency="GBP")

        with pytest.raises(ValidationError) as refused:
            send(customer, account, staff)

        assert list(refused.value.message_dict) == ["account"]
        assert PaymentRequest.objects.count() == 0


class TestExpiry:
    def test_the_sweep_expires_open_requests_past_their_expiry_once(self, ledger, customer, gbp, staff):
        old, _ = send(customer, gbp, staff)
        fresh, _ = send(customer, gbp, staff, at=AT + timedelta(hours=2))

        first = expire_payment_requests(at=AT + timedelta(hours=24, minutes=1))
        second = expire_payment_requests(at=AT + timedelta(hours=24, minutes=1))

        assert (first, second) == (1, 0)
        assert PaymentRequest.objects.get(pk=old.pk).status == RequestStatus.EXPIRED
        assert PaymentRequest.objects.get(pk=fresh.pk).status == RequestStatus.OPEN

    def test_the_task_takes_an_iso_time(self, ledger, customer, gbp, staff):
        request, _ = send(customer, gbp, staff)

        tasks.expire_payment_requests(as_of=(AT + timedelta(hours=25)).isoformat())

        assert PaymentRequest.objects.get(pk=request.pk).status == RequestStatus.EXPIRED

    def test_a_link_read_after_its_expiry_reads_expired_before_the_sweep(self, ledger, customer, gbp, staff):
        _, token = send(customer, gbp, staff)

        assert request_for_token(token=token, at=AT + timedelta(hours=23)).status == RequestStatus.OPEN
        assert request_for_token(token=token, at=AT + timedelta(hours=24)).status == RequestStatus.EXPIRED

    def test_an_expired_request_cannot_be_paid(self, ledger, customer, gbp, staff, sandbox):
        request, _ = send(customer, gbp, staff)

        with pytest.raises(AttemptRefused, match="This link has expired"):
            attempt_for(request, sandbox, at=AT + timedelta(hours=25))

        assert GatewayPayment.objects.count() == 0

    def test_resend_makes_a_new_working_link_and_the_old_one_stops_working(self, ledger, customer, gbp, staff):
        request, old_token = send(customer, gbp, staff)
        expire_payment_requests(at=AT + timedelta(hours=25))
        later = AT + timedelta(hours=30)

        resent, new_token = resend_payment_request(request=request, actor=staff, at=later)

        assert resent.status == RequestStatus.OPEN
        assert resent.expires_at == later + timedelta(hours=24)
        assert request_for_token(token=old_token, at=later) is None
        assert request_for_token(token=new_token, at=later) == request
        bodies = list(Notification.objects.filter(template_key="payment_request").order_by("id")
                      .values_list("body", flat=True))
        assert len(bodies) == 2
        assert f"/pay/{new_token}/" in bodies[1]


class TestCancel:
    def test_cancels_an_open_request(self, ledger, customer, gbp, staff, sandbox):
        request, _ = send(customer, gbp, staff)

        cancel_payment_request(request=request, actor=staff, at=AT + timedelta(hours=1))

        assert PaymentRequest.objects.get(pk=request.pk).status == RequestStatus.CANCELLED
        with pytest.raises(AttemptRefused, match="cancelled"):
            attempt_for(request, sandbox, at=AT + timedelta(hours=2))

    def test_refuses_a_request_that_is_not_open(self, ledger, customer, gbp, staff):
        request, _ = send(customer, gbp, staff)
        expire_payment_requests(at=AT + timedelta(hours=25))

        with pytest.raises(ValidationError, match="Only an open request can be cancelled"):
            cancel_payment_request(request=request, actor=staff, at=AT + timedelta(hours=26))

        assert PaymentRequest.objects.get(pk=request.pk).status == RequestStatus.EXPIRED


class TestCompletion:
    def test_a_succeeded_attempt_completes_the_request_books_once_and_tells_the_sender(
            self, ledger, customer, gbp, staff, sandbox):
        request, _ = send(customer, gbp, staff)
        attempt = attempt_for(request, sandbox, at=AT + timedelta(minutes=5))
        paid_at = AT + timedelta(minutes=7)

        apply_state(payment=attempt, status="succeeded", at=paid_at, source="test", amount_minor=12000)
        apply_state(payment=attempt, status="succeeded", at=paid_at, source="duplicate")
        send_waiting_notices(tenant=attempt.tenant)  # the notifications worker's part

        request = PaymentRequest.objects.get(pk=request.pk)
        assert (request.status, request.completed_at) == (RequestStatus.COMPLETE, paid_at)
        assert attempt.mode == CheckoutMode.HOSTED_PAGE
        assert ledger_payments().count() == 1
        assert ledger_payments().get().total_amount == D("120.00")
        told = Notification.objects.get(template_key="staff_payment_received")
        assert (told.channel, told.recipient_user, told.state) == ("in_app", staff, "sent")
        assert (told.subject, told.body) == ("Harriet Holloway paid £120.00", (
            f"Harriet Holloway paid £120.00 for payment request INV-42 (ref {attempt.reference})."))
        assert told.link == f"/payments/{attempt.pk}/"
        confirmation = Notification.objects.get(template_key="payment_received")
        assert (confirmation.channel, confirmation.recipient) == ("email", "harriet@example.com")
        assert confirmation.subject == "We received your payment of £120.00"
        assert re.fullmatch(
            r"Dear Harriet Holloway,\n\nThank you: we received your payment of £120\.00 on 23 November 2026 09:07 "
            rf"\(reference {attempt.reference}\)\.\n\n{re.escape(settings.DULY_SITE_URL)}/receipts/[\w-]{{32}}/\n\n"
            r"Kind regards,\nAcme Brokers", confirmation.body), confirmation.body
        assert Notification.objects.count() == 3  # the request's own email, and these two: once each

    def test_a_success_after_a_failed_attempt_is_complete_after_failure(self, ledger, customer, gbp, staff, sandbox):
        request, _ = send(customer, gbp, staff)
        first = attempt_for(request, sandbox, at=AT + timedelta(minutes=5))
        apply_state(payment=first, status="failed", at=AT + timedelta(minutes=6), source="test",
                             failure_message="Declined")
        second = attempt_for(request, sandbox, at=AT + timedelta(minutes=8))

        apply_state(payment=second, status="succeeded", at=AT + timedelta(minutes=9), source="test")

        request = PaymentRequest.objects.get(pk=request.pk)
        assert second.pk != first.pk
        assert request.status == RequestStatus.COMPLETE_AFTER_FAILURE
        assert request.get_status_display() == "Complete after a failed attempt"
        assert [a.status for a in request.attempts.order_by("id")] == [PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]
        assert ledger_payments().count() == 1

    def test_a_second_tab_resumes_the_pending_attempt_instead_of_starting_another(
            self, ledger, customer, gbp, staff, sandbox):
        request, _ = send(customer, gbp, staff)
        first = attempt_for(request, sandbox, at=AT + timedelta(minutes=5))
        GatewayPayment.objects.filter(pk=first.pk).update(redirect_url="https://sandbox.test/pay/1")

        again = attempt_for(request, sandbox, at=AT + timedelta(minutes=6))

        assert again.pk == first.pk
        assert request.attempts.count() == 1

    def test_a_processing_attempt_refuses_a_second(self, ledger, customer, gbp, staff, sandbox):
        request, _ = send(customer, gbp, staff)
        first = attempt_for(request, sandbox, at=AT + timedelta(minutes=5))
        apply_state(payment=first, status="processing", at=AT + timedelta(minutes=6), source="test")

        with pytest.raises(AttemptRefused, match="being processed"):
            attempt_for(request, sandbox, at=AT + timedelta(minutes=7))

        assert request.attempts.count() == 1

    def test_a_paid_request_cannot_be_paid_again(self, ledger, customer, gbp, staff, sandbox):
        request, _ = send(customer, gbp, staff)
        apply_state(payment=attempt_for(request, sandbox), status="succeeded", at=AT, source="test")

        with pytest.raises(AttemptRefused, match="has been paid"):
            attempt_for(request, sandbox, at=AT + timedelta(minutes=1))


class TestConsolidate:
    def paid(self, customer, gbp, staff, sandbox):
        request, _ = send(customer, gbp, staff)
        apply_state(payment=attempt_for(request, sandbox), status="succeeded", at=AT, source="test")
        return PaymentRequest.objects.get(pk=request.pk)

    def test_a_payment_manager_consolidates_a_complete_request(self, ledger, customer, gbp, staff, sandbox):
        manager = UserFactory(tenant=ledger, username="pm", role_keys=[Role.STAFF, Role.PAYMENT_MANAGER])
        request = self.paid(customer, gbp, staff, sandbox)

        consolidate_payment_request(request=request, actor=manager, at=AT + timedelta(days=1))

        request = PaymentRequest.objects.get(pk=request.pk)
        assert (request.consolidated_by, request.consolidated_at) == (manager, AT + timedelta(days=1))

    def test_refused_to_a_non_manager(self, ledger, customer, gbp, staff, sandbox):
        request = self.paid(customer, gbp, staff, sandbox)

        with pytest.raises(PermissionDenied):
            consolidate_payment_request(request=request, actor=staff, at=AT + timedelta(days=1))

        request = PaymentRequest.objects.get(pk=request.pk)
        assert (request.consolidated_by, request.consolidated_at) == (None, None)

    def test_refused_for_a_request_that_is_not_complete(self, ledger, customer, gbp, staff):
        manager = UserFactory(tenant=ledger, username="pm", role_keys=[Role.STAFF, Role.PAYMENT_MANAGER])
        request, _ = send(customer, gbp, staff)

        with pytest.raises(ValidationError, match="Only a complete request"):
            consolidate_payment_request(request=request, actor=manager, at=AT)

        assert PaymentRequest.objects.get(pk=request.pk).consolidated_at is None


def test_a_request_is_scoped_to_its_tenant(ledger, customer, gbp, staff, other_tenant):
    send(customer, gbp, staff)

    with scope(tenant=other_tenant):
        assert PaymentRequest.objects.filter(tenant=other_tenant).count() == 0
