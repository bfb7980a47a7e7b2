"""The sandbox server: its API, the hosted payment page, the embedded card fields, and the signed webhooks it
hands to the normal inbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from gateways import inbox, services
from gateways.base import PaymentStatus, WebhookEvent
from gateways.models import WebhookDelivery, WebhookOutcome
from sandbox.models import SandboxCheckout, SandboxRefund
from tests.sandbox.conftest import OTHER_SECRET, SECRET

RETURN_URL = "https://duly.test/paid"
CANCEL_URL = "https://duly.test/cancelled"
SUCCESS, DECLINE, PROCESSING = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0000 0000 0077"


def api(method: str, path: str, payload: dict | None = None, *, secret: str = SECRET):
    client = Client(headers={"Authorization": f"Bearer {secret}"} if secret else {})
    if method == "GET":
        return client.get(path)
    return client.post(path, data=json.dumps(payload or {}), content_type="application/json")


def create(account, **overrides) -> SandboxCheckout:
    payload = {"reference": "pay-001", "amount_minor": 1250, "currency": "GBP", "description": "Broker fee",
               "mode": "hosted_page", "return_url": RETURN_URL, "cancel_url": CANCEL_URL,
               "webhook_url": f"http://testserver/webhooks/sandbox/{account.webhook_token}/", **overrides}
    response = api("POST", "/sandbox/api/checkouts", payload)
    assert response.status_code == 201, response.content
    return SandboxCheckout.objects.with_scopes_disabled().get(id=response.json()["id"])


def card(number: str = SUCCESS, **overrides) -> dict:
    return {"number": number, "expiry": "12/39", "cvc": "123", "name": "Harriet Holloway", **overrides}


def pay(checkout, number: str = SUCCESS, client: Client | None = None, **overrides):
    return (client or Client()).post(f"/sandbox/pay/{checkout.id}/", card(number, **overrides))


def deliver(callbacks) -> None:
    """Run the sandbox's after-commit deliveries (captured, as the test's transaction never commits). The
    inbox's own after-commit enqueueing is left pending: processing belongs to payments."""
    for callback in callbacks:
        callback()


def reloaded(checkout) -> SandboxCheckout:
    return SandboxCheckout.objects.with_scopes_disabled().get(id=checkout.id)


def deliveries() -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.order_by("id"))


def assert_signed_by_the_account(delivery: WebhookDelivery, account) -> WebhookEvent:
    """The stored delivery carries a valid signature with the account secret, and parses back to its event."""
    timestamp, signature = delivery.headers["x-sandbox-timestamp"], delivery.headers["x-sandbox-signature"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.{delivery.body}".encode(), hashlib.sha256).hexdigest()
    assert signature == expected
    assert abs(int(timestamp) - delivery.received_at.timestamp()) < 5
    with scope(tenant=account.tenant):
        return inbox.event_of(delivery, account)


@pytest.mark.django_db
class TestHostedPage:
    def test_shows_the_amount_description_and_card_form_and_never_leaks_its_url(self, account):
        checkout = create(account)

        response = Client().get(f"/sandbox/pay/{checkout.id}/")

        assert response.status_code == 200
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cache-Control"] == "no-store"
        text = response.text
        assert "Pay 12.50 GBP" in text and "Broker fee" in text
        for label in ("Card number", "Expiry (MM/YY)", "CVC", "Name on card"):
            assert label in text
        assert '<nav aria-label="Main">' not in text  # the payer is not staff

    def test_the_success_card_pays_sends_one_signed_webhook_and_returns_the_payer(
        self, account, django_capture_on_commit_callbacks
    ):
        checkout = create(account)

        with django_capture_on_commit_callbacks() as callbacks:
            response = pay(checkout)
        deliver(callbacks)

        assert (response.status_code, response["Location"]) == (302, RETURN_URL)
        assert (reloaded(checkout).status, reloaded(checkout).card_last4) == ("succeeded", "4242")
        [delivery] = deliveries()
        assert (delivery.provider, delivery.tenant_id, delivery.event_type, delivery.outcome) == (
            "sandbox", account.tenant_id, "checkout.succeeded", WebhookOutcome.RECEIVED)
        assert delivery.event_id.startswith("sbxevt_")
        assert assert_signed_by_the_account(delivery, account) == WebhookEvent(
            event_id=delivery.event_id, event_type="checkout.succeeded", provider_reference=checkout.id,
            status=PaymentStatus.SUCCEEDED, amount_minor=1250, currency="GBP")

    def test_the_decline_card_shows_the_message_sends_checkout_failed_and_stays_payable(
        self, account, django_capture_on_commit_callbacks
    ):
        checkout = create(account)

        with django_capture_on_commit_callbacks() as callbacks:
            response = pay(checkout, DECLINE)
        deliver(callbacks)

        assert response.status_code == 200
        assert '<div class="errors" role="alert">Your card was declined.</div>' in response.text
        after = reloaded(checkout)
        assert (after.status, after.failed_attempts, after.failure_message, after.card_last4) == (
            "pending", 1, "Your card was declined.", "0002")
        [delivery] = deliveries()
        assert delivery.event_type == "checkout.failed"
        assert assert_signed_by_the_account(delivery, account).status == PaymentStatus.FAILED

    def test_after_a_decline_another_card_completes_the_payment(self, account, django_capture_on_commit_callbacks):
        checkout = create(account)
        with django_capture_on_commit_callbacks() as declined:
            pay(checkout, DECLINE)
        deliver(declined)

        with django_capture_on_commit_callbacks() as callbacks:
            response = pay(checkout, SUCCESS)
        deliver(callbacks)

        assert response.status_code == 302
        after = reloaded(checkout)
        assert (after.status, after.failed_attempts, after.failure_message) == ("succeeded", 1, "")
        assert [d.event_type for d in deliveries()] == ["checkout.failed", "checkout.succeeded"]

    def test_the_processing_card_stays_processing_until_settled(self, account, django_capture_on_commit_callbacks):
        checkout = create(account)

        with django_capture_on_commit_callbacks() as paid:
            response = pay(checkout, PROCESSING)
        deliver(paid)
        processing = reloaded(checkout).status
        page = Client().get(f"/sandbox/pay/{checkout.id}/")
        with django_capture_on_commit_callbacks() as settled:
            settle = Client().post(f"/sandbox/pay/{checkout.id}/settle/", {"outcome": "succeeded"})
        deliver(settled)

        assert (response.status_code, response["Location"]) == (302, RETURN_URL)
        assert processing == "processing"
        assert "A payment for this checkout is already processing." in page.text
        assert "Settle: payment succeeds" in page.text
        assert (settle.status_code, settle["Location"]) == (302, f"/sandbox/pay/{checkout.id}/")
        assert reloaded(checkout).status == "succeeded"
        assert [d.event_type for d in deliveries()] == ["checkout.processing", "checkout.succeeded"]
        assert [assert_signed_by_the_account(d, account).status for d in deliveries()] == [
            PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED]

    def test_a_processing_payment_can_be_settled_as_failed(self, account, django_capture_on_commit_callbacks):
        checkout = create(account)
        pay(checkout, PROCESSING)

        with django_capture_on_commit_callbacks() as settled:
            Client().post(f"/sandbox/pay/{checkout.id}/settle/", {"outcome": "failed"})
        deliver(settled)

        after = reloaded(checkout)
        assert (after.status, after.failure_message) == ("failed", "The bank rejected the payment.")
        assert [d.event_type for d in deliveries()] == ["checkout.failed"]

    def test_only_a_processing_payment_can_be_settled(self, account, django_capture_on_commit_callbacks):
        checkout = create(account)

        with django_capture_on_commit_callbacks() as callbacks:
            response = Client().post(f"/sandbox/pay/{checkout.id}/settle/", {"outcome": "succeeded"})

        assert response.status_code == 409
        assert "Only a processing payment can be settled." in response.text
        assert reloaded(checkout).status == "pending"
        assert callbacks == []

    @pytest.mark.parametrize(("fields", "error"), [
        ({"number": "5555 5555 5555 4444"}, "Card number: Use a sandbox test card"),
        ({"number": ""}, "Card number: This field is required."),
        ({"expiry": "13/30"}, "Expiry (MM/YY): Enter the expiry as MM/YY"),
        ({"expiry": "1230"}, "Expiry (MM/YY): Enter the expiry as MM/YY"),
        ({"expiry": "01/20"}, "Expiry (MM/YY): The card has expired."),
        ({"cvc": "12a"}, "CVC: Enter the 3 or 4 digit security code."),
        ({"name": ""}, "Name on card: This field is required."),
    ])
    def test_bad_card_details_name_the_field_and_change_nothing(
        self, account, fields, error, django_capture_on_commit_callbacks
    ):
        checkout = create(account)

        with django_capture_on_commit_callbacks() as callbacks:
            response = pay(checkout, **fields)

        assert response.status_code == 200
        assert error in response.text
        after = reloaded(checkout)
        assert (after.status, after.failed_attempts, after.card_last4) == ("pending", 0, "")
        assert callbacks == []

    def test_an_expired_checkout_says_so_and_takes_no_payment(self, account, django_capture_on_commit_callbacks):
        checkout = create(account, expires_at=(timezone.now() + timedelta(hours=1)).isoformat())
        SandboxCheckout.objects.with_scopes_disabled().filter(id=checkout.id).update(
            expires_at=timezone.now() - timedelta(minutes=1))

        with django_capture_on_commit_callbacks() as callbacks:
            response = pay(checkout)
        deliver(callbacks)

        assert response.status_code == 409
        assert "This checkout has expired and can no longer be paid." in response.text
        assert 'name="number"' not in response.text
        after = reloaded(checkout)
        assert (after.status, after.card_last4) == ("expired", "")
        assert [d.event_type for d in deliveries()] == ["checkout.expired"]

    def test_a_paid_checkout_cannot_be_paid_again(self, account, django_capture_on_commit_callbacks):
        checkout = create(account)
        pay(checkout)

        with django_capture_on_commit_callbacks() as callbacks:
            response = pay(checkout, DECLINE)

        assert response.status_code == 409
        assert "This checkout has already been paid." in response.text
        assert (reloaded(checkout).status, reloaded(checkout).card_last4) == ("succeeded", "4242")
        assert callbacks == []

    def test_the_payer_can_cancel(self, account, django_capture_on_commit_callbacks):
        checkout = create(account)

        with django_capture_on_commit_callbacks() as callbacks:
            response = Client().post(f"/sandbox/pay/{checkout.id}/cancel/")
        deliver(callbacks)

        assert (response.status_code, response["Location"]) == (302, CANCEL_URL)
        assert reloaded(checkout).status == "cancelled"
        assert [d.event_type for d in deliveries()] == ["checkout.cancelled"]

    def test_a_post_without_the_csrf_token_is_refused(self, account):
        checkout = create(account)

        response = pay(checkout, client=Client(enforce_csrf_checks=True))

        assert response.status_code == 403
        assert reloaded(checkout).status == "pending"

    def test_an_unknown_checkout_is_404(self, account):
        assert Client().get("/sandbox/pay/sbx_000000000000000000000000/").status_code == 404

    def test_a_disabled_account_gets_no_delivery(self, account, django_capture_on_commit_callbacks):
        checkout = create(account)
        type(account).objects.with_scopes_disabled().filter(pk=account.pk).update(enabled=False)

        with django_capture_on_commit_callbacks() as callbacks:
            pay(checkout)
        deliver(callbacks)

        assert reloaded(checkout).status == "succeeded"
        assert deliveries() == []


@pytest.mark.django_db
class TestCardFields:
    def test_the_fields_page_can_be_framed_by_duly_and_loads_its_local_script(self, account):
        checkout = create(account, mode="card_fields")

        response = Client().get(f"/sandbox/fields/{checkout.client_token}/")

        assert response.status_code == 200
        assert response["X-Frame-Options"] == "SAMEORIGIN"
        assert response["Referrer-Policy"] == "same-origin"
        assert '<script src="/static/gateways/sandbox-fields.js" defer></script>' in response.text
        assert f'action="/sandbox/fields/{checkout.client_token}/confirm"' in response.text

    def test_confirming_the_success_card_answers_succeeded_and_sends_the_webhook(
        self, account, django_capture_on_commit_callbacks
    ):
        checkout = create(account, mode="card_fields")

        with django_capture_on_commit_callbacks() as callbacks:
            response = Client().post(f"/sandbox/fields/{checkout.client_token}/confirm", card())
        deliver(callbacks)

        assert response.status_code == 200
        assert response.json() == {"status": "succeeded", "checkout": checkout.id,
                                   "message": "Payment received. Thank you."}
        assert reloaded(checkout).status == "succeeded"
        assert [d.event_type for d in deliveries()] == ["checkout.succeeded"]

    def test_a_decline_answers_failed_and_keeps_the_fields_usable(self, account):
        checkout = create(account, mode="card_fields")

        response = Client().post(f"/sandbox/fields/{checkout.client_token}/confirm", card(DECLINE))

        assert response.json() == {"status": "failed", "checkout": checkout.id, "message": "Your card was declined."}
        assert reloaded(checkout).status == "pending"

    def test_bad_details_answer_errors_naming_the_field(self, account):
        checkout = create(account, mode="card_fields")

        response = Client().post(f"/sandbox/fields/{checkout.client_token}/confirm", card(expiry="2030-12"))

        assert response.status_code == 400
        assert response.json() == {"status": "invalid", "errors": {
            "expiry": ["Expiry (MM/YY): Enter the expiry as MM/YY, for example 12/30."]}}
        assert reloaded(checkout).status == "pending"

    def test_an_unknown_client_token_is_404(self, account):
        create(account)

        assert Client().get("/sandbox/fields/anything/").status_code == 404


@pytest.mark.django_db
class TestApi:
    def test_a_missing_or_unknown_secret_is_401(self, account):
        assert api("POST", "/sandbox/api/checkouts", {}, secret="").status_code == 401
        assert api("POST", "/sandbox/api/checkouts", {}, secret="sbx_nope").json() == {
            "error": {"code": "unauthorized", "message": "Unknown or missing sandbox secret."}}

    @pytest.mark.parametrize(("change", "field"), [
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": "12.50"}, "amount_minor"),
        ({"currency": "JPY"}, "currency"),
        ({"mode": "redirect"}, "mode"),
        ({"reference": ""}, "reference"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"expires_at": "2020-01-01T00:00:00+00:00"}, "expires_at"),
        ({"pay_in_4": True, "currency": "EUR"}, "pay_in_4"),
        ({"webhook_url": "https://elsewhere.example/hook"}, "webhook_url"),
    ])
    def test_a_bad_request_names_the_field_and_creates_nothing(self, account, change, field):
        payload = {"reference": "pay-001", "amount_minor": 1250, "currency": "GBP", "mode": "hosted_page",
                   "return_url": RETURN_URL, **change}

        response = api("POST", "/sandbox/api/checkouts", payload)

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"
        assert response.json()["error"]["field"] == field
        assert SandboxCheckout.objects.with_scopes_disabled().count() == 0

    def test_a_reference_reused_with_another_amount_is_a_conflict(self, account):
        create(account)

        response = api("POST", "/sandbox/api/checkouts", {"reference": "pay-001", "amount_minor": 999,
                                                          "currency": "GBP", "mode": "hosted_page",
                                                          "return_url": RETURN_URL})

        assert response.status_code == 409
        assert SandboxCheckout.objects.with_scopes_disabled().get().amount_minor == 1250

    def test_the_same_reference_in_two_tenants_makes_two_checkouts(self, account, other_account):
        create(account)

        response = api("POST", "/sandbox/api/checkouts", {"reference": "pay-001", "amount_minor": 1250,
                                                          "currency": "GBP", "mode": "hosted_page",
                                                          "return_url": RETURN_URL}, secret=OTHER_SECRET)

        assert response.status_code == 201
        assert sorted(SandboxCheckout.objects.with_scopes_disabled().values_list("tenant_id", flat=True)) == sorted(
            [account.tenant_id, other_account.tenant_id])

    def test_another_tenant_can_neither_read_nor_refund_nor_settle_a_checkout(self, account, other_account):
        checkout = create(account)
        pay(checkout)
        paths = [("GET", f"/sandbox/api/checkouts/{checkout.id}", None),
                 ("POST", f"/sandbox/api/checkouts/{checkout.id}/refunds",
                  {"amount_minor": 100, "idempotency_key": "rf-1"}),
                 ("POST", f"/sandbox/api/checkouts/{checkout.id}/settle", {})]

        answers = [api(method, path, payload, secret=OTHER_SECRET) for method, path, payload in paths]

        assert [a.status_code for a in answers] == [404, 404, 404]
        assert answers[0].json() == {"error": {"code": "not_found", "message": "No such checkout."}}
        assert SandboxRefund.objects.with_scopes_disabled().count() == 0

    def test_reads_a_checkouts_status(self, account):
        checkout = create(account)
        pay(checkout, DECLINE)

        response = api("GET", f"/sandbox/api/checkouts/{checkout.id}")

        assert response.json() == {"id": checkout.id, "status": "pending", "amount_minor": 1250, "currency": "GBP",
                                   "failure_message": "Your card was declined."}

    def test_settles_a_processing_checkout(self, account, django_capture_on_commit_callbacks):
        checkout = create(account)
        pay(checkout, PROCESSING)

        with django_capture_on_commit_callbacks() as callbacks:
            response = api("POST", f"/sandbox/api/checkouts/{checkout.id}/settle", {"outcome": "succeeded"})
        deliver(callbacks)

        assert response.json()["status"] == "succeeded"
        assert [d.event_type for d in deliveries()] == ["checkout.succeeded"]

    def test_settling_a_pending_checkout_is_a_conflict(self, account):
        checkout = create(account)

        response = api("POST", f"/sandbox/api/checkouts/{checkout.id}/settle", {})

        assert response.status_code == 409
        assert reloaded(checkout).status == "pending"

    def test_a_refund_without_a_key_names_the_field(self, account):
        checkout = create(account)
        pay(checkout)

        response = Client(headers={"Authorization": f"Bearer {SECRET}"}).post(
            f"/sandbox/api/checkouts/{checkout.id}/refunds", data=json.dumps({"amount_minor": 100}),
            content_type="application/json")

        assert response.status_code == 400
        assert response.json()["error"]["field"] == "idempotency_key"
        assert SandboxRefund.objects.with_scopes_disabled().count() == 0

    def test_refunds_in_parts_up_to_what_was_paid_and_a_repeated_key_answers_the_first(self, account):
        checkout = create(account)  # 12.50 GBP
        pay(checkout)
        path = f"/sandbox/api/checkouts/{checkout.id}/refunds"

        first = api("POST", path, {"amount_minor": 500, "idempotency_key": "rf_1"})
        again = api("POST", path, {"amount_minor": 500, "idempotency_key": "rf_1"})
        rest = api("POST", path, {"amount_minor": 750, "idempotency_key": "rf_2"})
        beyond = api("POST", path, {"amount_minor": 1, "idempotency_key": "rf_3"})

        assert (first.status_code, first.json()["status"], first.json()["amount_minor"]) == (201, "succeeded", 500)
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
        assert (rest.status_code, rest.json()["amount_minor"]) == (201, 750)
        assert beyond.status_code == 402
        assert beyond.json()["error"] == {"code": "refund_declined", "field": "amount_minor",
                                          "message": "The refund exceeds the 0 minor units left to refund."}
        assert sorted(SandboxRefund.objects.with_scopes_disabled().values_list("amount_minor", flat=True)) == [
            500, 750]


@pytest.mark.django_db
class TestSandboxAccountForSecret:
    def test_finds_the_account_by_its_secret_and_nothing_else(self, account, other_account):
        assert services.sandbox_account_for_secret(secret=SECRET) == account
        assert services.sandbox_account_for_secret(secret=OTHER_SECRET) == other_account
        assert services.sandbox_account_for_secret(secret="sbx_secret_acme") is None
        assert services.sandbox_account_for_secret(secret="") is None

    def test_a_secret_two_accounts_share_authenticates_neither(self, tenant, other_tenant):
        for owner in (tenant, other_tenant):
            with scope(tenant=owner):
                services.save_gateway_account(tenant=owner, provider="sandbox", live=False, secret="sbx_shared")

        assert services.sandbox_account_for_secret(secret="sbx_shared") is None


@pytest.mark.django_db(transaction=True)
class TestPayingTwiceAtOnce:
    def test_two_tabs_paying_at_the_same_moment_charge_once(self, account):
        checkout = create(account)
        barrier = threading.Barrier(2)
        answers = []

        def pay_in_a_tab():
            try:
                client = Client()
                client.get(f"/sandbox/pay/{checkout.id}/")
                barrier.wait(timeout=10)
                answers.append(pay(checkout, client=client))
            finally:
                connection.close()

        tabs = [threading.Thread(target=pay_in_a_tab) for _ in range(2)]
        for tab in tabs:
            tab.start()
        for tab in tabs:
            tab.join(timeout=30)

        assert sorted(a.status_code for a in answers) == [302, 409]
        [refused] = [a for a in answers if a.status_code == 409]
        assert "This checkout has already been paid." in refused.text
        assert reloaded(checkout).status == "succeeded"
        [delivery] = WebhookDelivery.objects.filter(provider="sandbox")
        assert (delivery.event_type, delivery.outcome) == ("checkout.succeeded", WebhookOutcome.RECEIVED)
