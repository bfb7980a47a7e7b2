"""Refunds of gateway payments: the service's edges, the payment page, the API. Stripe is a local fake
server (pytest-httpserver) speaking its refunds endpoint."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django_scopes import scope
from werkzeug import Response

from crm.models import Role
from finance.exceptions import ActionNotAllowed
from finance.models import Account, AccountState, Classification, FinancialTransaction
from payments.models import GatewayPayment, GatewayRefund, RefundStatus
from payments.services.gateway_payments import apply_state
from payments.services.refunds import SENDING_CLAIM, RefundUnconfirmed, refund_payment, retry_refund
from tests.conftest import logged_in
from tests.factories import GatewayPaymentFactory, UserFactory
from tests.helpers import assert_404_for_other_tenant
from tests.payments.test_gateway_payments import AT, gbp_account, stripe_account

__all__ = ["gbp_account", "stripe_account"]  # fixtures shared with the gateway payment tests

D = Decimal
REFUNDS = "/v1/refunds"


def stripe_refund(refund_id="re_1", amount=5000, status="succeeded"):
    return {"id": refund_id, "object": "refund", "amount": amount, "currency": "gbp", "status": status,
            "payment_intent": "pi_3Duly"}


@pytest.fixture
def paid(stripe_account, gbp_account):
    """A succeeded 120.00 GBP card payment, booked in the ledger."""
    payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, provider_reference="pi_3Duly")
    return apply_state(payment=payment, status="succeeded", at=AT, source="test").payment


@pytest.fixture
def accountant(tenant):
    return UserFactory(tenant=tenant, username="anna", role_keys=[Role.STAFF, Role.ACCOUNTANT])


@pytest.fixture
def payment_manager(tenant):
    return UserFactory(tenant=tenant, username="paul", role_keys=[Role.STAFF, Role.PAYMENT_MANAGER])


def ledger_refunds():
    return FinancialTransaction.objects.filter(classification=Classification.REFUND)


def balance(account):
    return Account.objects.get(pk=account.pk).balance


@pytest.mark.django_db
class TestRefundPayment:
    def test_in_parts_until_nothing_is_left_each_booked_once(self, paid, gbp_account, httpserver, accountant):
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_1", 5000))
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_2", 7000))

        first = refund_payment(payment=paid, amount="50.00", actor=accountant, at=AT)
        second = refund_payment(payment=paid, amount="70.00", actor=accountant, at=AT)

        assert [(r.amount, r.status, r.provider_refund_reference) for r in (first, second)] == [
            (D("50.00"), RefundStatus.SUCCEEDED, "re_1"), (D("70.00"), RefundStatus.SUCCEEDED, "re_2")]
        sent = [json.loads(json.dumps(dict(entry[0].form))) for entry in httpserver.log]
        assert [(s["amount"], s["payment_intent"]) for s in sent] == [("5000", "pi_3Duly"), ("7000", "pi_3Duly")]
        assert [entry[0].headers["Idempotency-Key"] for entry in httpserver.log] == [
            first.idempotency_key, second.idempotency_key]
        assert sorted(ledger_refunds().values_list("total_amount", "external_reference")) == [
            (D("50.00"), "re_1"), (D("70.00"), "re_2")]
        assert balance(gbp_account) == D("0.00")
        with pytest.raises(ActionNotAllowed, match="refunded in full"):
            refund_payment(payment=paid, amount="0.01", actor=accountant, at=AT)
        assert GatewayRefund.objects.count() == 2 and len(httpserver.log) == 2

    @pytest.mark.parametrize(("amount", "message"), [
        ("abc", "Enter an amount such as 20.00."),
        ("", "Enter an amount such as 20.00."),
        ("0", "The amount must be more than zero."),
        ("-5.00", "The amount must be more than zero."),
        ("NaN", "Enter an amount such as 20.00."),
        ("1e309", "Enter an amount such as 20.00."),
        ("9" * 30, "Too large: at most 999,999,999,999.99."),
        ("1.001", "The amount has more decimal places than GBP allows."),
        ("120.01", "At most £120.00 can still be refunded."),
    ])
    def test_bad_amounts_name_the_field_and_nothing_is_saved_or_sent(
        self, paid, gbp_account, httpserver, accountant, amount, message,
    ):
        with pytest.raises(ValidationError) as refused:
            refund_payment(payment=paid, amount=amount, actor=accountant, at=AT)

        assert refused.value.message_dict == {"amount": [message]}
        assert GatewayRefund.objects.count() == 0 and ledger_refunds().count() == 0
        assert httpserver.log == []
        assert balance(gbp_account) == D("-120.00")  # the payment's credit, untouched

    def test_a_payment_that_did_not_succeed_cannot_be_refunded(self, stripe_account, gbp_account, accountant):
        pending = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                        provider_reference="pi_pending")

        with pytest.raises(ActionNotAllowed, match="this one is pending"):
            refund_payment(payment=pending, amount="10.00", actor=accountant, at=AT)

        assert GatewayRefund.objects.count() == 0

    def test_a_terminated_account_is_refused_before_the_provider_is_asked(self, paid, gbp_account, httpserver,
                                                                         accountant):
        Account.objects.filter(pk=gbp_account.pk).update(state=AccountState.TERMINATED)

        with pytest.raises(ActionNotAllowed, match="terminated"):
            refund_payment(payment=GatewayPayment.objects.get(pk=paid.pk), amount="10.00",
                                    actor=accountant, at=AT)

        assert GatewayRefund.objects.count() == 0 and httpserver.log == []

    def test_staff_without_the_role_are_refused_and_nothing_is_saved(self, paid, staff, httpserver):
        with pytest.raises(PermissionDenied):
            refund_payment(payment=paid, amount="10.00", actor=staff, at=AT)

        assert GatewayRefund.objects.count() == 0 and httpserver.log == []

    def test_a_payment_manager_may_refund_too(self, paid, payment_manager, httpserver):
        httpserver.expect_request(REFUNDS, method="POST").respond_with_json(stripe_refund(amount=1000))

        refund = refund_payment(payment=paid, amount="10.00", actor=payment_manager, at=AT)

        assert (refund.status, refund.created_by) == (RefundStatus.SUCCEEDED, payment_manager)

    def test_a_refused_refund_stays_visible_and_its_retry_asks_again_under_a_new_key(
        self, paid, gbp_account, httpserver, accountant,
    ):
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(
            stripe_refund("re_no", 3000, status="failed"))
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_ok", 3000))

        refused = refund_payment(payment=paid, amount="30.00", actor=accountant, at=AT)
        first_key = refused.idempotency_key

        assert (refused.status, refused.failure_message, refused.ledger_refund) == (
            RefundStatus.FAILED, "The provider did not accept the refund.", None)
        assert ledger_refunds().count() == 0 and balance(gbp_account) == D("-120.00")

        retried = retry_refund(refund=refused, actor=accountant, at=AT)

        keys = [entry[0].headers["Idempotency-Key"] for entry in httpserver.log]
        assert keys == [first_key, retried.idempotency_key] and retried.idempotency_key != first_key
        assert (retried.status, retried.failure_message, retried.provider_refund_reference) == (
            RefundStatus.SUCCEEDED, "", "re_ok")
        assert ledger_refunds().get().total_amount == D("30.00")
        assert GatewayRefund.objects.count() == 1

    def test_a_refused_refund_is_not_retried_past_what_is_left_since(self, paid, httpserver, accountant):
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(
            stripe_refund("re_no", 3000, status="failed"))
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_all", 12000))
        refused = refund_payment(payment=paid, amount="30.00", actor=accountant, at=AT)
        refund_payment(payment=paid, amount="120.00", actor=accountant, at=AT)

        with pytest.raises(ActionNotAllowed, match="refunded in full"):
            retry_refund(refund=refused, actor=accountant, at=AT)

        after = GatewayRefund.objects.get(pk=refused.pk)
        assert (after.status, after.idempotency_key) == (RefundStatus.FAILED, refused.idempotency_key)
        assert len(httpserver.log) == 2

    def test_an_unanswered_refund_says_why_counts_against_what_is_left_and_retries_with_its_key(
        self, paid, httpserver, accountant,
    ):
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_data("boom", status=500)
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_2", 12000))

        with pytest.raises(RefundUnconfirmed) as unanswered:
            refund_payment(payment=paid, amount="120.00", actor=accountant, at=AT)
        requested = unanswered.value.refund

        assert requested.status == RefundStatus.REQUESTED
        assert requested.failure_message.startswith("The provider did not answer")
        with pytest.raises(ActionNotAllowed, match="refunded in full"):
            refund_payment(payment=paid, amount="1.00", actor=accountant, at=AT)
        retried = retry_refund(refund=requested, actor=accountant, at=AT)
        assert [e[0].headers["Idempotency-Key"] for e in httpserver.log] == [requested.idempotency_key] * 2
        assert (retried.status, retried.failure_message) == (RefundStatus.SUCCEEDED, "")

    def test_a_refund_left_by_a_process_that_died_mid_call_is_retried_once_its_claim_lapses(
        self, paid, httpserver, accountant,
    ):
        httpserver.expect_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_late", 2000))
        # What a process that died between recording the refund and hearing the provider leaves behind.
        orphan = GatewayRefund.objects.create(
            tenant=paid.tenant, payment=paid, amount=D("20.00"), idempotency_key="rf_orphan", created_at=AT,
            sending_until=AT + SENDING_CLAIM,
        )

        with pytest.raises(ActionNotAllowed, match="with the provider now"):
            retry_refund(refund=orphan, actor=accountant, at=AT + timedelta(minutes=1))
        assert httpserver.log == []

        retried = retry_refund(refund=orphan, actor=accountant, at=AT + timedelta(minutes=3))

        assert [e[0].headers["Idempotency-Key"] for e in httpserver.log] == ["rf_orphan"]
        assert (retried.status, retried.sending_until, ledger_refunds().count()) == (RefundStatus.SUCCEEDED, None, 1)


@pytest.mark.django_db(transaction=True)
class TestTwoRefundsAtOnce:
    def test_two_refunds_asked_at_the_same_moment_never_exceed_the_payment(
        self, paid, gbp_account, httpserver, accountant, tenant,
    ):
        httpserver.expect_request(REFUNDS, method="POST").respond_with_json(stripe_refund(amount=8000))
        outcomes: list = []
        barrier = threading.Barrier(2)

        def refund():
            try:
                with scope(tenant=tenant):
                    barrier.wait(timeout=30)
                    outcomes.append(refund_payment(payment=paid, amount="80.00", actor=accountant, at=AT))
            except ValidationError as error:
                outcomes.append(error.message_dict)
            finally:
                connection.close()

        threads = [threading.Thread(target=refund) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(map(str, outcomes)) == sorted(map(str, [
            GatewayRefund.objects.get(), {"amount": ["At most £40.00 can still be refunded."]}]))
        assert GatewayRefund.objects.get().status == RefundStatus.SUCCEEDED
        assert ledger_refunds().count() == 1 and len(httpserver.log) == 1
        assert balance(gbp_account) == D("-40.00")

    def test_two_retries_of_an_unanswered_refund_at_once_send_it_once(self, paid, httpserver, accountant, tenant):
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_data("boom", status=500)
        with scope(tenant=tenant), pytest.raises(RefundUnconfirmed) as unanswered:
            refund_payment(payment=paid, amount="30.00", actor=accountant, at=AT)
        requested = unanswered.value.refund
        with_provider, release = threading.Event(), threading.Event()

        def slow_refund(request):
            with_provider.set()
            release.wait(timeout=30)
            return Response(json.dumps(stripe_refund("re_once", 3000)), content_type="application/json")

        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_handler(slow_refund)
        outcomes: list = []

        def retry():
            try:
                with scope(tenant=tenant):
                    outcomes.append(retry_refund(refund=requested, actor=accountant, at=AT).status)
            finally:
                connection.close()

        first = threading.Thread(target=retry)
        first.start()
        assert with_provider.wait(timeout=30)
        with scope(tenant=tenant), pytest.raises(ActionNotAllowed, match="with the provider now"):
            retry_refund(refund=GatewayRefund.objects.get(pk=requested.pk), actor=accountant, at=AT)
        release.set()
        first.join(timeout=60)

        assert outcomes == [RefundStatus.SUCCEEDED]
        assert [e[0].headers["Idempotency-Key"] for e in httpserver.log] == [requested.idempotency_key] * 2
        assert ledger_refunds().count() == 1


@pytest.mark.django_db
class TestPaymentPage:
    def test_an_accountant_refunds_in_part_and_sees_it_listed(self, paid, accountant, httpserver):
        httpserver.expect_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_page", 2000))
        client = logged_in(accountant)
        page = client.get(reverse("payments:payment_detail", args=[paid.pk]))
        assert 'name="amount"' in page.text and 'value="120.00"' in page.text

        response = client.post(reverse("payments:refund_create", args=[paid.pk]), {"amount": "20.00"}, follow=True)

        refund = GatewayRefund.objects.get()
        assert response.redirect_chain == [(reverse("payments:payment_detail", args=[paid.pk]), 302)]
        assert f"20.00 GBP is refunded (re_page) and booked as {refund.ledger_refund.number}." in response.text
        listed = response.text.split('id="refund-list"')[1].split("</table>")[0]
        for shown in ("20.00 GBP", "Succeeded", "Sam Staff", "re_page", refund.ledger_refund.number,
                      f"{refund.created_at:%-d %b %Y}"):
            assert shown in listed
        assert "100.00 GBP of 120.00 GBP is left to refund" in response.text

    def test_a_bad_amount_is_shown_at_the_field_and_nothing_is_refunded(self, paid, accountant, httpserver):
        response = logged_in(accountant).post(reverse("payments:refund_create", args=[paid.pk]), {"amount": "500"})

        assert response.status_code == 422
        assert "Amount: At most £120.00 can still be refunded." in response.text
        assert 'value="500"' in response.text
        assert GatewayRefund.objects.count() == 0 and httpserver.log == []

    def test_staff_without_the_role_see_no_form_and_are_refused(self, paid, staff_client, httpserver):
        page = staff_client.get(reverse("payments:payment_detail", args=[paid.pk]))
        response = staff_client.post(reverse("payments:refund_create", args=[paid.pk]), {"amount": "20.00"})

        assert 'name="amount"' not in page.text
        assert response.status_code == 403
        assert GatewayRefund.objects.count() == 0 and httpserver.log == []

    def test_a_refused_refund_has_a_retry_button_that_works(self, paid, accountant, staff_client, httpserver):
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(
            stripe_refund("re_no", 2000, status="failed"))
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_ok", 2000))
        client = logged_in(accountant)
        client.post(reverse("payments:refund_create", args=[paid.pk]), {"amount": "20.00"})
        refund = GatewayRefund.objects.get()
        retry = reverse("payments:refund_retry", args=[paid.pk, refund.pk])

        page = client.get(reverse("payments:payment_detail", args=[paid.pk]))
        assert "Failed" in page.text and "The provider did not accept the refund." in page.text
        assert f'action="{retry}"' in page.text
        assert staff_client.post(retry).status_code == 403
        assert GatewayRefund.objects.get().status == RefundStatus.FAILED

        response = client.post(retry, follow=True)

        assert GatewayRefund.objects.get().status == RefundStatus.SUCCEEDED
        assert "20.00 GBP is refunded (re_ok)" in response.text
        assert f'action="{retry}"' not in response.text

    def test_another_tenants_payment_and_refund_are_404(self, paid, accountant, other_client, httpserver):
        refund = GatewayRefund.objects.create(tenant=paid.tenant, payment=paid, amount=D("5.00"),
                                              idempotency_key="rf_mine", status=RefundStatus.FAILED, created_at=AT)

        assert_404_for_other_tenant(other_client, reverse("payments:refund_create", args=[paid.pk]), method="post",
                                    data={"amount": "5.00"})
        assert_404_for_other_tenant(other_client, reverse("payments:refund_retry", args=[paid.pk, refund.pk]),
                                    method="post")
        assert GatewayRefund.objects.get().status == RefundStatus.FAILED and httpserver.log == []

    def test_a_refund_of_another_payment_is_404_under_this_one(self, paid, stripe_account, gbp_account,
                                                                accountant):
        other = apply_state(payment=GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                                          provider_reference="pi_other"),
                                     status="succeeded", at=AT, source="test").payment
        refund = GatewayRefund.objects.create(tenant=other.tenant, payment=other, amount=D("5.00"),
                                              idempotency_key="rf_other", status=RefundStatus.FAILED, created_at=AT)

        response = logged_in(accountant).post(reverse("payments:refund_retry", args=[paid.pk, refund.pk]))

        assert response.status_code == 404


def api_post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


@pytest.mark.django_db
class TestApi:
    def test_refunds_in_part_and_lists_it_named_by_the_key(self, paid, api_client, httpserver):
        httpserver.expect_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_api", 2500))

        created = api_post(api_client, f"/api/v1/payments/{paid.pk}/refunds", {"amount": "25.00"})
        listed = api_client.get(f"/api/v1/payments/{paid.pk}/refunds")

        refund = GatewayRefund.objects.get()
        assert created.status_code == 201
        body = created.json()
        assert {key: body[key] for key in ("id", "payment", "amount", "currency", "status",
                                           "provider_refund_reference", "ledger_refund", "ledger_refund_number",
                                           "created_by", "requested_via", "failure_message")} == {
            "id": refund.pk, "payment": paid.pk, "amount": "25.00", "currency": "GBP", "status": "succeeded",
            "provider_refund_reference": "re_api", "ledger_refund": refund.ledger_refund_id,
            "ledger_refund_number": refund.ledger_refund.number, "created_by": None, "requested_via": "integration",
            "failure_message": ""}
        assert listed.status_code == 200 and listed.json() == [body]

    @pytest.mark.parametrize(("data", "message"), [
        ({"amount": "abc"}, "Enter an amount such as 20.00."),
        ({"amount": "120.01"}, "At most £120.00 can still be refunded."),
        ({}, None),
    ])
    def test_bad_amounts_are_422_naming_the_field(self, paid, api_client, httpserver, data, message):
        response = api_post(api_client, f"/api/v1/payments/{paid.pk}/refunds", data)

        assert response.status_code == 422
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == ["amount"]
        if message:
            assert errors[0]["message"] == message
        assert GatewayRefund.objects.count() == 0 and httpserver.log == []

    def test_a_payment_that_cannot_be_refunded_is_409(self, stripe_account, gbp_account, api_client):
        pending = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                        provider_reference="pi_pending")

        response = api_post(api_client, f"/api/v1/payments/{pending.pk}/refunds", {"amount": "1.00"})

        assert response.status_code == 409
        assert "Only a succeeded payment can be refunded" in response.json()["detail"]

    def test_an_unanswered_refund_is_answered_requested_and_the_retry_settles_it(self, paid, api_client,
                                                                                 httpserver):
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_data("boom", status=503)
        httpserver.expect_ordered_request(REFUNDS, method="POST").respond_with_json(stripe_refund("re_late", 1000))

        created = api_post(api_client, f"/api/v1/payments/{paid.pk}/refunds", {"amount": "10.00"})
        refund_id = created.json()["id"]
        retried = api_post(api_client, f"/api/v1/payments/{paid.pk}/refunds/{refund_id}/retry")

        assert created.status_code == 201 and created.json()["status"] == "requested"
        assert created.json()["failure_message"].startswith("The provider did not answer")
        assert retried.status_code == 200
        assert (retried.json()["status"], retried.json()["provider_refund_reference"]) == ("succeeded", "re_late")
        assert ledger_refunds().count() == 1

    def test_another_tenants_payment_and_refund_are_404(self, paid, other_api_client, httpserver):
        refund = GatewayRefund.objects.create(tenant=paid.tenant, payment=paid, amount=D("5.00"),
                                              idempotency_key="rf_mine", status=RefundStatus.FAILED, created_at=AT)

        for method, url, data in (
            ("get", f"/api/v1/payments/{paid.pk}/refunds", None),
            ("post", f"/api/v1/payments/{paid.pk}/refunds", {"amount": "5.00"}),
            ("post", f"/api/v1/payments/{paid.pk}/refunds/{refund.pk}/retry", {}),
        ):
            assert_404_for_other_tenant(other_api_client, url, method=method, data=data, as_json=True)
        assert GatewayRefund.objects.get().status == RefundStatus.FAILED and httpserver.log == []

    def test_the_schema_documents_the_refund_operations(self, client):
        paths = client.get("/api/v1/openapi.json").json()["paths"]

        assert set(paths["/api/v1/payments/{payment_id}/refunds"]) == {"get", "post"}
        assert "201" in paths["/api/v1/payments/{payment_id}/refunds"]["post"]["responses"]
        assert "post" in paths["/api/v1/payments/{payment_id}/refunds/{refund_id}/retry"]
