"""StripeGateway against a local fake of Stripe's API: form-encoded requests, Stripe's JSON objects."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from gateways import base
from gateways.stripe import StripeGateway

SECRET_KEY = "sk_test_51Duly"
WEBHOOK_SECRET = "whsec_test_secret"
AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}
CREDENTIALS = base.Credentials(provider="stripe", live=False, secret=SECRET_KEY,
                          settings={"webhook_secret": WEBHOOK_SECRET})


def session_json(**overrides) -> dict:
    session = {
        "id": "cs_test_a1B2c3", "object": "checkout.session", "amount_subtotal": 1234, "amount_total": 1234,
        "client_reference_id": "pay-001", "currency": "gbp", "customer_email": "payer@example.com",
        "expires_at": 1795430400, "livemode": False, "metadata": {"reference": "pay-001"}, "mode": "payment",
        "payment_intent": None, "payment_method_types": ["card", "afterpay_clearpay"],
        "payment_status": "unpaid", "status": "open", "success_url": "https://duly.test/paid",
        "cancel_url": "https://duly.test/cancelled",
        "url": "https://checkout.stripe.com/c/pay/cs_test_a1B2c3#fidkdWxOYHwnPyd1blpxYHZxWjA0",
    }
    return {**session, **overrides}


def intent_json(**overrides) -> dict:
    intent = {
        "id": "pi_3Duly", "object": "payment_intent", "amount": 1234, "amount_received": 0,
        "client_secret": "pi_3Duly_secret_abc", "currency": "gbp", "description": "Fee",
        "last_payment_error": None, "livemode": False, "metadata": {"reference": "pay-001"},
        "payment_method_types": ["card"], "status": "requires_payment_method",
    }
    return {**intent, **overrides}


def checkout_request(**overrides) -> base.CheckoutRequest:
    values = dict(reference="pay-001", amount_minor=1234, currency="GBP", description="Broker fee",
                  mode=base.CheckoutMode.HOSTED_PAGE, return_url="https://duly.test/paid",
                  cancel_url="https://duly.test/cancelled", customer_email="payer@example.com")
    return base.CheckoutRequest(**{**values, **overrides})


@pytest.fixture
def gateway(base_url) -> StripeGateway:
    return StripeGateway(CREDENTIALS, base_url=base_url)


def sent_form(httpserver, index: int = -1) -> dict[str, str]:
    return dict(httpserver.log[index][0].form)


class TestStartCheckout:
    def test_creates_a_checkout_session_for_the_hosted_page(self, gateway, httpserver):
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
        httpserver.expect_oneshot_request(
            "/v1/checkout/sessions", method="POST", headers={**AUTH, "Idempotency-Key": "pay-001"},
        ).respond_with_json(session_json(expires_at=int(expires_at.timestamp())))

        checkout = gateway.start_checkout(checkout_request(expires_at=expires_at, pay_in_4=True))

        httpserver.check_assertions()
        assert checkout.provider_reference == "cs_test_a1B2c3"
        assert checkout.status == base.PaymentStatus.PENDING
        assert checkout.redirect_url == "https://checkout.stripe.com/c/pay/cs_test_a1B2c3#fidkdWxOYHwnPyd1blpxYHZxWjA0"
        assert checkout.expires_at == expires_at
        assert sent_form(httpserver) == {
            "mode": "payment",
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": "gbp",
            "line_items[0][price_data][unit_amount]": "1234",
            "line_items[0][price_data][product_data][name]": "Broker fee",
            "client_reference_id": "pay-001",
            "metadata[reference]": "pay-001",
            "payment_intent_data[description]": "Broker fee",
            "payment_intent_data[metadata][reference]": "pay-001",
            "payment_method_types[0]": "card",
            "payment_method_types[1]": "afterpay_clearpay",
            "success_url": "https://duly.test/paid",
            "cancel_url": "https://duly.test/cancelled",
            "customer_email": "payer@example.com",
            "expires_at": str(int(expires_at.timestamp())),
        }

    def test_offers_afterpay_only_in_a_currency_it_takes(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/checkout/sessions", method="POST").respond_with_json(
            session_json(currency="eur"))

        gateway.start_checkout(checkout_request(currency="EUR", pay_in_4=True))

        form = sent_form(httpserver)
        assert form["payment_method_types[0]"] == "card"
        assert "payment_method_types[1]" not in form

    def test_pulls_an_expiry_beyond_24_hours_inside_stripes_window(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/checkout/sessions", method="POST").respond_with_json(session_json())

        gateway.start_checkout(checkout_request(expires_at=datetime.now(UTC) + timedelta(days=7)))

        sent = int(sent_form(httpserver)["expires_at"])
        assert time.time() + 23 * 3600 < sent <= time.time() + 24 * 3600

    def test_creates_a_payment_intent_for_card_fields(self, gateway, httpserver):
        httpserver.expect_oneshot_request(
            "/v1/payment_intents", method="POST", headers={**AUTH, "Idempotency-Key": "pay-001"},
        ).respond_with_json(intent_json())

        checkout = gateway.start_checkout(checkout_request(mode=base.CheckoutMode.CARD_FIELDS))

        httpserver.check_assertions()
        assert checkout.provider_reference == "pi_3Duly"
        assert checkout.client_token == "pi_3Duly_secret_abc"
        assert checkout.status == base.PaymentStatus.PENDING
        assert checkout.redirect_url == ""
        assert sent_form(httpserver) == {
            "amount": "1234", "currency": "gbp", "description": "Broker fee", "metadata[reference]": "pay-001",
            "payment_method_types[0]": "card", "receipt_email": "payer@example.com",
        }


class TestFetchStatus:
    @pytest.mark.parametrize(("status", "payment_status", "intent", "expected"), [
        ("open", "unpaid", None, base.PaymentStatus.PENDING),
        ("complete", "paid", intent_json(status="succeeded"), base.PaymentStatus.SUCCEEDED),
        ("complete", "unpaid", intent_json(status="processing"), base.PaymentStatus.PROCESSING),
        ("complete", "unpaid", intent_json(status="requires_payment_method",
                                           last_payment_error={"message": "Afterpay declined."}),
         base.PaymentStatus.FAILED),
        ("expired", "unpaid", None, base.PaymentStatus.EXPIRED),
    ])
    def test_maps_a_checkout_session_with_its_payment_intent(self, gateway, httpserver, status, payment_status,
                                                             intent, expected):
        httpserver.expect_oneshot_request(
            "/v1/checkout/sessions/cs_test_a1B2c3", method="GET", headers=AUTH,
            query_string={"expand[0]": "payment_intent", "expand[1]": "payment_intent.payment_method"},
        ).respond_with_json(session_json(status=status, payment_status=payment_status, payment_intent=intent))

        state = gateway.fetch_status("cs_test_a1B2c3")

        httpserver.check_assertions()
        assert state.status == expected
        assert state.provider_reference == "cs_test_a1B2c3"
        assert (state.amount_minor, state.currency) == (1234, "GBP")
        assert state.provider_status == f"{status}/{payment_status}"
        assert state.failure_message == ("Afterpay declined." if expected == base.PaymentStatus.FAILED else "")

    @pytest.mark.parametrize(("status", "expected"), [
        ("requires_payment_method", base.PaymentStatus.PENDING),
        ("requires_confirmation", base.PaymentStatus.PENDING),
        ("requires_action", base.PaymentStatus.PENDING),
        ("processing", base.PaymentStatus.PROCESSING),
        ("succeeded", base.PaymentStatus.SUCCEEDED),
        ("canceled", base.PaymentStatus.CANCELLED),
    ])
    def test_maps_a_payment_intent(self, gateway, httpserver, status, expected):
        httpserver.expect_oneshot_request("/v1/payment_intents/pi_3Duly", method="GET", headers=AUTH) \
            .respond_with_json(intent_json(status=status))

        state = gateway.fetch_status("pi_3Duly")

        httpserver.check_assertions()
        assert (state.status, state.provider_status, state.amount_minor) == (expected, status, 1234)

    def test_refuses_a_reference_that_is_not_stripes(self, gateway):
        with pytest.raises(ValueError, match="Not a Stripe"):
            gateway.fetch_status("job-1")

    def test_an_unknown_status_is_a_garbage_answer(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/payment_intents/pi_3Duly").respond_with_json(
            intent_json(status="teleported"))

        with pytest.raises(base.GatewayUnavailable, match="teleported"):
            gateway.fetch_status("pi_3Duly")


class TestRefund:
    def test_refunds_the_payment_intent_with_our_idempotency_key(self, gateway, httpserver):
        httpserver.expect_oneshot_request(
            "/v1/refunds", method="POST", headers={**AUTH, "Idempotency-Key": "refund-7"},
        ).respond_with_json({"id": "re_3Duly", "object": "refund", "amount": 500, "currency": "gbp",
                             "payment_intent": "pi_3Duly", "status": "succeeded"})

        result = gateway.refund(base.RefundRequest(provider_reference="pi_3Duly", amount_minor=500, currency="GBP",
                                              idempotency_key="refund-7"))

        httpserver.check_assertions()
        assert (result.refund_reference, result.succeeded) == ("re_3Duly", True)
        assert sent_form(httpserver) == {"payment_intent": "pi_3Duly", "amount": "500"}

    def test_refunds_a_checkout_session_through_its_payment_intent(self, gateway, httpserver):
        httpserver.expect_ordered_request("/v1/checkout/sessions/cs_test_a1B2c3", method="GET").respond_with_json(
            session_json(status="complete", payment_status="paid", payment_intent="pi_3Duly"))
        httpserver.expect_ordered_request("/v1/refunds", method="POST").respond_with_json(
            {"id": "re_3Duly", "object": "refund", "amount": 1234, "status": "pending"})

        result = gateway.refund(base.RefundRequest(provider_reference="cs_test_a1B2c3", amount_minor=1234,
                                              currency="GBP", idempotency_key="refund-8"))

        httpserver.check_assertions()
        assert (result.refund_reference, result.succeeded) == ("re_3Duly", True)
        assert sent_form(httpserver)["payment_intent"] == "pi_3Duly"

    def test_a_failed_refund_did_not_succeed(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/refunds", method="POST").respond_with_json(
            {"id": "re_3Duly", "object": "refund", "amount": 500, "status": "failed"})

        result = gateway.refund(base.RefundRequest(provider_reference="pi_3Duly", amount_minor=500, currency="GBP",
                                              idempotency_key="refund-9"))

        assert result.succeeded is False


class TestErrors:
    def test_a_card_decline_is_payment_declined_with_stripes_payer_message(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/payment_intents", method="POST").respond_with_json(
            {"error": {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                       "message": "Your card was declined.", "param": ""}}, status=402)

        with pytest.raises(base.PaymentDeclined, match=r"^Your card was declined\.$"):
            gateway.start_checkout(checkout_request(mode=base.CheckoutMode.CARD_FIELDS))

    def test_an_invalid_request_is_a_gateway_error_with_stripes_message(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/checkout/sessions", method="POST").respond_with_json(
            {"error": {"type": "invalid_request_error", "param": "expires_at",
                       "message": "The `expires_at` timestamp must be less than 24 hours from Checkout "
                                  "Session creation."}},
            status=400)

        with pytest.raises(base.GatewayError, match="expires_at") as raised:
            gateway.start_checkout(checkout_request())

        assert not isinstance(raised.value, (base.PaymentDeclined, base.GatewayUnavailable))

    def test_an_answer_without_a_redirect_url_is_garbage(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/checkout/sessions").respond_with_json(session_json(url=None))

        with pytest.raises(base.GatewayUnavailable, match="url"):
            gateway.start_checkout(checkout_request())


def event_body(event_type: str, obj: dict) -> bytes:
    return json.dumps({"id": "evt_1Duly", "object": "event", "api_version": "2025-10-29.clover",
                       "created": 1795424400, "livemode": False, "type": event_type,
                       "data": {"object": obj}}).encode()


def signed(body: bytes, at: int, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """The header Stripe sends: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">."""
    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={at},v1={signature}"}


class TestParseWebhook:
    @pytest.mark.parametrize(("event_type", "obj", "expected"), [
        ("checkout.session.completed", session_json(status="complete", payment_status="paid"),
         base.PaymentStatus.SUCCEEDED),
        ("checkout.session.completed", session_json(status="complete", payment_status="unpaid"),
         base.PaymentStatus.PROCESSING),
        ("checkout.session.async_payment_succeeded", session_json(status="complete", payment_status="paid"),
         base.PaymentStatus.SUCCEEDED),
        ("checkout.session.async_payment_failed", session_json(status="complete"), base.PaymentStatus.FAILED),
        ("checkout.session.expired", session_json(status="expired"), base.PaymentStatus.EXPIRED),
    ])
    def test_maps_a_signed_checkout_session_event(self, gateway, now, event_type, obj, expected):
        body = event_body(event_type, obj)

        event = gateway.parse_webhook(headers=signed(body, int(now.timestamp()) - 10), body=body, now=now)

        assert event.event_id == "evt_1Duly"
        assert event.event_type == event_type
        assert event.provider_reference == "cs_test_a1B2c3"
        assert event.status == expected
        assert (event.amount_minor, event.currency) == (1234, "GBP")
        assert event.needs_confirmation is False

    @pytest.mark.parametrize(("event_type", "expected"), [
        ("payment_intent.succeeded", base.PaymentStatus.SUCCEEDED),
        ("payment_intent.payment_failed", base.PaymentStatus.FAILED),
        ("payment_intent.canceled", base.PaymentStatus.CANCELLED),
        ("payment_intent.processing", base.PaymentStatus.PROCESSING),
    ])
    def test_maps_a_signed_payment_intent_event(self, gateway, now, event_type, expected):
        body = event_body(event_type, intent_json())

        event = gateway.parse_webhook(headers=signed(body, int(now.timestamp())), body=body, now=now)

        assert (event.provider_reference, event.status, event.amount_minor) == ("pi_3Duly", expected, 1234)

    def test_an_unknown_event_type_is_kept_without_a_status(self, gateway, now):
        body = event_body("customer.created", {"id": "cus_1", "object": "customer"})

        event = gateway.parse_webhook(headers=signed(body, int(now.timestamp())), body=body, now=now)

        assert (event.event_id, event.event_type, event.status) == ("evt_1Duly", "customer.created", None)

    def test_reads_the_header_whatever_its_case(self, gateway, now):
        body = event_body("payment_intent.succeeded", intent_json())
        headers = {"stripe-signature": signed(body, int(now.timestamp()))["Stripe-Signature"]}

        assert gateway.parse_webhook(headers=headers, body=body, now=now).status == base.PaymentStatus.SUCCEEDED

    def test_refuses_a_bad_signature(self, gateway, now):
        body = event_body("payment_intent.succeeded", intent_json())

        with pytest.raises(base.InvalidWebhookSignature, match="does not match"):
            gateway.parse_webhook(headers=signed(body, int(now.timestamp()), secret="whsec_other"), body=body,
                                  now=now)

    def test_refuses_a_tampered_body(self, gateway, now):
        body = event_body("payment_intent.succeeded", intent_json())
        headers = signed(body, int(now.timestamp()))

        with pytest.raises(base.InvalidWebhookSignature):
            gateway.parse_webhook(headers=headers, body=body.replace(b"1234", b"9999"), now=now)

    @pytest.mark.parametrize("offset", [-301, 301])
    def test_refuses_a_signature_more_than_300_seconds_from_now(self, gateway, now, offset):
        body = event_body("payment_intent.succeeded", intent_json())

        with pytest.raises(base.InvalidWebhookSignature, match="stale"):
            gateway.parse_webhook(headers=signed(body, int(now.timestamp()) + offset), body=body, now=now)

    def test_accepts_a_signature_at_the_edge_of_the_tolerance(self, gateway, now):
        body = event_body("payment_intent.succeeded", intent_json())

        event = gateway.parse_webhook(headers=signed(body, int(now.timestamp()) - 300), body=body, now=now)

        assert event.status == base.PaymentStatus.SUCCEEDED

    def test_refuses_a_missing_header(self, gateway, now):
        with pytest.raises(base.InvalidWebhookSignature, match="missing"):
            gateway.parse_webhook(headers={}, body=event_body("payment_intent.succeeded", intent_json()), now=now)

    def test_refuses_everything_without_a_configured_secret(self, base_url, now):
        gateway = StripeGateway(base.Credentials(provider="stripe", live=False, secret=SECRET_KEY), base_url=base_url)
        body = event_body("payment_intent.succeeded", intent_json())

        with pytest.raises(base.InvalidWebhookSignature, match="secret"):
            gateway.parse_webhook(headers=signed(body, int(now.timestamp())), body=body, now=now)

    def test_refuses_a_signed_body_that_is_not_an_event(self, gateway, now):
        body = b'{"hello": "world"}'

        with pytest.raises(base.InvalidWebhookSignature, match="not a Stripe event"):
            gateway.parse_webhook(headers=signed(body, int(now.timestamp())), body=body, now=now)


class TestCapture:
    def test_captures_an_authorised_payment_intent_in_part(self, gateway, httpserver):
        httpserver.expect_request("/v1/payment_intents/pi_3Duly/capture", method="POST").respond_with_json(
            intent_json(status="succeeded", amount_received=1000))

        state = gateway.capture("pi_3Duly", amount_minor=1000)

        assert sent_form(httpserver) == {"amount_to_capture": "1000"}
        assert (state.provider_reference, state.status) == ("pi_3Duly", base.PaymentStatus.SUCCEEDED)

    def test_nothing_to_capture_is_a_gateway_error(self, gateway, httpserver):
        httpserver.expect_request("/v1/payment_intents/pi_3Duly/capture", method="POST").respond_with_json(
            {"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
                       "message": "This PaymentIntent could not be captured because it has a status of succeeded."}},
            status=400)

        with pytest.raises(base.GatewayError, match="could not be captured"):
            gateway.capture("pi_3Duly")

    def test_only_a_payment_intent_can_be_captured(self, gateway):
        with pytest.raises(ValueError, match="Only a PaymentIntent can be captured"):
            gateway.capture("cs_test_a1B2c3")

    def test_stripe_says_it_can_capture(self):
        assert StripeGateway.capabilities.capture is True
