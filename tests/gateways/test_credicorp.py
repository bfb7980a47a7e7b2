"""CredicorpGateway against a local fake of the contract its module docstring assumes."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from gateways import base
from gateways.credicorp import CredicorpGateway

API_KEY = "ccp_test_9f8e7d"
CALLBACK_SECRET = "cb_secret_123"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
LINK = "pl_01JDULY"


def credentials(**settings) -> base.Credentials:
    return base.Credentials(provider="credicorp", live=False, secret=API_KEY,
                       settings={"base_url": "https://emailpago.example.invalid", "callback_secret": CALLBACK_SECRET,
                                 **settings})


def link_json(**overrides) -> dict:
    link = {"id": LINK, "url": f"https://emailpago.example.invalid/pay/{LINK}", "status": "pending",
            "amount": "25.00", "currency": "USD", "paid_at": None, "bank_reference": None}
    return {**link, **overrides}


def checkout_request(**overrides) -> base.CheckoutRequest:
    values = dict(reference="pay-001", amount_minor=2500, currency="USD", description="Cuota de corretaje",
                  mode=base.CheckoutMode.HOSTED_PAGE, return_url="https://duly.test/paid",
                  customer_email="cliente@example.com", webhook_url="https://duly.test/webhooks/credicorp")
    return base.CheckoutRequest(**{**values, **overrides})


@pytest.fixture
def gateway(base_url) -> CredicorpGateway:
    return CredicorpGateway(credentials(), base_url=base_url)


def sent_json(httpserver, index: int = -1) -> dict:
    return json.loads(httpserver.log[index][0].get_data())


class TestConstruction:
    def test_takes_the_host_from_the_settings(self):
        assert CredicorpGateway(credentials()).base_url == "https://emailpago.example.invalid"

    def test_refuses_credentials_without_a_base_url(self):
        with pytest.raises(base.GatewayError, match="base_url"):
            CredicorpGateway(base.Credentials(provider="credicorp", live=False, secret=API_KEY))


class TestStartCheckout:
    def test_creates_a_payment_link(self, gateway, httpserver):
        httpserver.expect_oneshot_request(
            "/v1/payment-links", method="POST", headers={**AUTH, "Idempotency-Key": "pay-001"},
        ).respond_with_json(link_json(), status=201)
        expires_at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

        checkout = gateway.start_checkout(checkout_request(expires_at=expires_at))

        httpserver.check_assertions()
        assert checkout.provider_reference == LINK
        assert checkout.status == base.PaymentStatus.PENDING
        assert checkout.redirect_url == f"https://emailpago.example.invalid/pay/{LINK}"
        assert sent_json(httpserver) == {
            "amount": "25.00", "currency": "USD", "reference": "pay-001", "description": "Cuota de corretaje",
            "customer_email": "cliente@example.com", "expires_at": "2026-11-30T12:00:00+00:00",
            "return_url": "https://duly.test/paid", "callback_url": "https://duly.test/webhooks/credicorp",
        }

    def test_offers_no_card_fields(self, gateway, httpserver):
        with pytest.raises(ValueError, match="hosted page"):
            gateway.start_checkout(checkout_request(mode=base.CheckoutMode.CARD_FIELDS))

        assert httpserver.log == []

    def test_takes_only_balboas_and_dollars(self, gateway):
        assert gateway.capabilities.currencies == frozenset({"PAB", "USD"})
        with pytest.raises(ValueError, match="EUR"):
            gateway.start_checkout(checkout_request(currency="EUR"))


class TestFetchStatus:
    @pytest.mark.parametrize(("provider_status", "expected"), [
        ("pending", base.PaymentStatus.PENDING),
        ("paid", base.PaymentStatus.SUCCEEDED),
        ("failed", base.PaymentStatus.FAILED),
        ("expired", base.PaymentStatus.EXPIRED),
        ("cancelled", base.PaymentStatus.CANCELLED),
    ])
    def test_reads_the_payment_link(self, gateway, httpserver, provider_status, expected):
        httpserver.expect_oneshot_request(f"/v1/payment-links/{LINK}", method="GET", headers=AUTH) \
            .respond_with_json(link_json(status=provider_status, currency="PAB", amount="25.00"))

        state = gateway.fetch_status(LINK)

        httpserver.check_assertions()
        assert (state.provider_reference, state.status, state.provider_status) == (LINK, expected, provider_status)
        assert (state.amount_minor, state.currency) == (2500, "PAB")

    def test_refuses_an_id_that_could_escape_the_path(self, gateway, httpserver):
        with pytest.raises(ValueError, match="Not a Credicorp"):
            gateway.fetch_status("../admin")

        assert httpserver.log == []

    def test_an_unknown_status_is_a_garbage_answer(self, gateway, httpserver):
        httpserver.expect_oneshot_request(f"/v1/payment-links/{LINK}").respond_with_json(link_json(status="limbo"))

        with pytest.raises(base.GatewayUnavailable, match="limbo"):
            gateway.fetch_status(LINK)


class TestRefund:
    def test_refunds_with_our_idempotency_key(self, gateway, httpserver):
        httpserver.expect_oneshot_request(
            f"/v1/payment-links/{LINK}/refunds", method="POST", headers={**AUTH, "Idempotency-Key": "refund-7"},
        ).respond_with_json({"id": "rf_01JDULY", "status": "pending"}, status=201)

        result = gateway.refund(base.RefundRequest(provider_reference=LINK, amount_minor=1000, currency="USD",
                                              idempotency_key="refund-7"))

        httpserver.check_assertions()
        assert (result.refund_reference, result.succeeded) == ("rf_01JDULY", True)
        assert sent_json(httpserver) == {"amount": "10.00", "idempotency_key": "refund-7"}

    def test_a_declined_refund_is_payment_declined_with_a_safe_message(self, gateway, httpserver):
        httpserver.expect_oneshot_request(f"/v1/payment-links/{LINK}/refunds").respond_with_json(
            {"error": {"code": "refund_declined", "message": "Cuenta 0123-456 bloqueada"}}, status=422)

        with pytest.raises(base.PaymentDeclined, match=r"^The bank declined the refund\.$"):
            gateway.refund(base.RefundRequest(provider_reference=LINK, amount_minor=1000, currency="USD",
                                         idempotency_key="refund-8"))


class TestErrors:
    def test_another_4xx_is_a_gateway_error_with_the_banks_message(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/payment-links").respond_with_json(
            {"error": {"code": "invalid_request", "message": "customer_email is invalid"}}, status=400)

        with pytest.raises(base.GatewayError, match=r"HTTP 400.*invalid_request: customer_email is invalid") as raised:
            gateway.start_checkout(checkout_request())

        assert not isinstance(raised.value, (base.PaymentDeclined, base.GatewayUnavailable))

    def test_a_402_is_a_decline(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/v1/payment-links").respond_with_data("Payment Required", status=402)

        with pytest.raises(base.PaymentDeclined, match=r"^The bank declined the payment\.$"):
            gateway.start_checkout(checkout_request())


def callback(event_type: str, **link) -> bytes:
    return json.dumps({"id": "evt_01JDULY", "type": event_type, "data": link_json(**link)}).encode()


def signed(body: bytes, at: int, secret: str = CALLBACK_SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Credicorp-Signature": signature, "X-Credicorp-Timestamp": str(at)}


class TestParseWebhook:
    @pytest.mark.parametrize(("event_type", "expected"), [
        ("payment_link.paid", base.PaymentStatus.SUCCEEDED),
        ("payment_link.failed", base.PaymentStatus.FAILED),
        ("payment_link.expired", base.PaymentStatus.EXPIRED),
        ("payment_link.cancelled", base.PaymentStatus.CANCELLED),
    ])
    def test_maps_a_signed_callback(self, gateway, now, event_type, expected):
        body = callback(event_type, status="paid", paid_at="2026-11-23T09:59:30Z", bank_reference="CC-778812")

        event = gateway.parse_webhook(headers=signed(body, int(now.timestamp()) - 5), body=body, now=now)

        assert (event.event_id, event.event_type, event.provider_reference) == ("evt_01JDULY", event_type, LINK)
        assert event.status == expected
        assert (event.amount_minor, event.currency) == (2500, "USD")
        assert event.needs_confirmation is False

    def test_an_unknown_event_type_is_kept_without_a_status(self, gateway, now):
        body = callback("payment_link.viewed")

        event = gateway.parse_webhook(headers=signed(body, int(now.timestamp())), body=body, now=now)

        assert (event.event_type, event.status) == ("payment_link.viewed", None)

    def test_refuses_a_bad_signature(self, gateway, now):
        body = callback("payment_link.paid")

        with pytest.raises(base.InvalidWebhookSignature, match="does not match"):
            gateway.parse_webhook(headers=signed(body, int(now.timestamp()), secret="other"), body=body, now=now)

    def test_refuses_a_timestamp_rewritten_after_signing(self, gateway, now):
        body = callback("payment_link.paid")
        headers = {**signed(body, int(now.timestamp()) - 3600), "X-Credicorp-Timestamp": str(int(now.timestamp()))}

        with pytest.raises(base.InvalidWebhookSignature, match="does not match"):
            gateway.parse_webhook(headers=headers, body=body, now=now)

    @pytest.mark.parametrize("offset", [-301, 301])
    def test_refuses_a_stale_callback(self, gateway, now, offset):
        body = callback("payment_link.paid")

        with pytest.raises(base.InvalidWebhookSignature, match="stale"):
            gateway.parse_webhook(headers=signed(body, int(now.timestamp()) + offset), body=body, now=now)

    @pytest.mark.parametrize("missing", ["X-Credicorp-Signature", "X-Credicorp-Timestamp"])
    def test_refuses_a_missing_header(self, gateway, now, missing):
        body = callback("payment_link.paid")
        headers = {key: value for key, value in signed(body, int(now.timestamp())).items() if key != missing}

        with pytest.raises(base.InvalidWebhookSignature, match="missing"):
            gateway.parse_webhook(headers=headers, body=body, now=now)

    def test_reads_headers_whatever_their_case(self, gateway, now):
        body = callback("payment_link.paid")
        headers = {key.lower(): value for key, value in signed(body, int(now.timestamp())).items()}

        assert gateway.parse_webhook(headers=headers, body=body, now=now).status == base.PaymentStatus.SUCCEEDED

    def test_refuses_everything_without_a_callback_secret(self, base_url, now):
        gateway = CredicorpGateway(credentials(callback_secret=""), base_url=base_url)
        body = callback("payment_link.paid")

        with pytest.raises(base.InvalidWebhookSignature, match="secret"):
            gateway.parse_webhook(headers=signed(body, int(now.timestamp()), secret=""), body=body, now=now)

    def test_refuses_a_signed_body_that_is_not_a_callback(self, gateway, now):
        body = b'{"id": "evt_1"}'

        with pytest.raises(base.InvalidWebhookSignature, match="not a Credicorp callback"):
            gateway.parse_webhook(headers=signed(body, int(now.timestamp())), body=body, now=now)
