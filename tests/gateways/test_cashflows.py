"""CashflowsGateway against a local fake of the Cashflows Gateway API, which checks every request's Hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from werkzeug import Request, Response

from gateways import base
from gateways.cashflows import INTEGRATION_URL, PRODUCTION_URL, CashflowsGateway

API_KEY = "10074c13-4ff3-4728-a423-1b1b90e62911"
CONFIGURATION_ID = "230826117364418560"
CREDENTIALS = base.Credentials(provider="cashflows", live=False, secret=API_KEY,
                          settings={"configuration_id": CONFIGURATION_ID})
JOB, PAYMENT = "250811132154530816", "250811132412198912"


def expected_hash(body: bytes) -> str:
    return hashlib.sha512(API_KEY.encode() + body).hexdigest()


def cashflows(answer: dict, status: int = 200):
    """A handler that, like Cashflows, refuses a request whose ConfigurationId or Hash is wrong."""

    def handler(request: Request) -> Response:
        if (request.headers.get("ConfigurationId") != CONFIGURATION_ID
                or request.headers.get("Hash") != expected_hash(request.get_data())):
            refusal = {"errorReport": {"errors": [{"code": "InvalidHash", "message": "Invalid hash."}]}}
            return Response(json.dumps(refusal), status=401, content_type="application/json")
        return Response(json.dumps(answer), status=status, content_type="application/json")

    return handler


def sent(httpserver, index: int = -1) -> tuple[Request, dict | None]:
    request = httpserver.log[index][0]
    body = request.get_data()
    assert request.headers["ConfigurationId"] == CONFIGURATION_ID
    assert request.headers["Hash"] == expected_hash(body)
    return request, (json.loads(body) if body else None)


def payment_json(status: str = "Paid", **overrides) -> dict:
    payment = {"reference": int(PAYMENT), "createDateTimeUtc": "2026-11-23T09:58:12.123Z",
               "paymentMethods": ["Card"], "status": status, "amountToCollect": 12.34, "paidAmount": 12.34,
               "steps": [], "refunds": [], "captures": []}
    return {**payment, **overrides}


def job_json(payments: list[dict], **overrides) -> dict:
    job = {"reference": int(JOB), "createDateTimeUtc": "2026-11-23T09:57:00Z", "type": "Payment",
           "configurationId": CONFIGURATION_ID, "locale": "en_GB", "order": {"orderNumber": "pay-001"},
           "currency": "GBP", "amountToCollect": 12.34, "paymentStatus": "Pending", "payments": payments}
    return {"data": {**job, **overrides}, "links": {"data": {"url": f"https://gateway-int.cashflows.com/job/{JOB}"}}}


def checkout_request(**overrides) -> base.CheckoutRequest:
    values = dict(reference="pay-001", amount_minor=1234, currency="GBP", description="Broker fee",
                  mode=base.CheckoutMode.HOSTED_PAGE, return_url="https://duly.test/paid",
                  cancel_url="https://duly.test/cancelled", webhook_url="https://duly.test/webhooks/cashflows")
    return base.CheckoutRequest(**{**values, **overrides})


@pytest.fixture
def gateway(base_url) -> CashflowsGateway:
    return CashflowsGateway(CREDENTIALS, base_url=base_url)


class TestConstruction:
    def test_picks_the_integration_or_production_host(self):
        live = base.Credentials(provider="cashflows", live=True, secret=API_KEY,
                           settings={"configuration_id": CONFIGURATION_ID})

        assert CashflowsGateway(CREDENTIALS).base_url == INTEGRATION_URL == "https://gateway-int.cashflows.com"
        assert CashflowsGateway(live).base_url == PRODUCTION_URL == "https://gateway.cashflows.com"

    def test_refuses_credentials_without_a_configuration_id(self):
        with pytest.raises(base.GatewayError, match="configuration_id"):
            CashflowsGateway(base.Credentials(provider="cashflows", live=False, secret=API_KEY))


class TestStartCheckout:
    def test_creates_a_payment_job_for_the_hosted_page(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/api/gateway/payment-jobs", method="POST").respond_with_handler(
            cashflows({"data": {"reference": int(JOB), "type": "Payment", "currency": "GBP",
                                "amountToCollect": 12.34, "paymentStatus": "Pending"},
                       "links": {"action": {"url": f"https://gateway-int.cashflows.com/payment?ref={JOB}",
                                            "type": "Redirect"}}}, status=201))
        expires_at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

        checkout = gateway.start_checkout(checkout_request(expires_at=expires_at))

        httpserver.check_assertions()
        assert checkout.provider_reference == JOB
        assert checkout.status == base.PaymentStatus.PENDING
        assert checkout.redirect_url == f"https://gateway-int.cashflows.com/payment?ref={JOB}"
        request, body = sent(httpserver)
        assert request.headers["Content-Type"] == "application/json"
        assert body == {
            "amountToCollect": "12.34",
            "currency": "GBP",
            "locale": "en_GB",
            "order": {"orderNumber": "pay-001"},
            "expirationDateTimeUtc": "2026-11-30T12:00:00Z",
            "parameters": {"returnUrlSuccess": "https://duly.test/paid",
                           "returnUrlFailed": "https://duly.test/cancelled",
                           "returnUrlCancelled": "https://duly.test/cancelled",
                           "webhookUrl": "https://duly.test/webhooks/cashflows"},
        }

    def test_creates_a_payment_intent_for_card_fields(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/api/gateway/payment-intents/", method="POST").respond_with_handler(
            cashflows({"data": {"token": "3f6e4a0c-intent-token", "paymentJobReference": int(JOB),
                                "paymentStatus": "Pending"}}, status=201))

        checkout = gateway.start_checkout(checkout_request(mode=base.CheckoutMode.CARD_FIELDS, amount_minor=1099))

        httpserver.check_assertions()
        assert (checkout.provider_reference, checkout.client_token) == (JOB, "3f6e4a0c-intent-token")
        _, body = sent(httpserver)
        assert body == {"configurationId": CONFIGURATION_ID, "amountToCollect": "10.99", "currency": "GBP",
                        "locale": "en_GB", "order": {"orderNumber": "pay-001"}, "paymentMethodsToUse": ["Card"],
                        "parameters": {"webhookUrl": "https://duly.test/webhooks/cashflows"}}

    def test_refuses_a_currency_it_is_not_set_up_for(self, gateway, httpserver):
        with pytest.raises(ValueError, match="PAB"):
            gateway.start_checkout(checkout_request(currency="PAB"))

        assert httpserver.log == []


class TestFetchStatus:
    @pytest.mark.parametrize(("provider_status", "expected"), [
        ("Pending", base.PaymentStatus.PENDING),
        ("Reserved", base.PaymentStatus.PROCESSING),
        ("Paid", base.PaymentStatus.SUCCEEDED),
        ("Verified", base.PaymentStatus.SUCCEEDED),
        ("Failed", base.PaymentStatus.FAILED),
        ("Refused", base.PaymentStatus.FAILED),
        ("Declined", base.PaymentStatus.FAILED),
        ("Cancelled", base.PaymentStatus.CANCELLED),
        ("Expired", base.PaymentStatus.EXPIRED),
    ])
    def test_reads_a_payment_with_a_signed_get(self, gateway, httpserver, provider_status, expected):
        httpserver.expect_oneshot_request(f"/api/gateway/payment-jobs/{JOB}/payments/{PAYMENT}", method="GET") \
            .respond_with_handler(cashflows({"data": payment_json(provider_status)}))

        state = gateway.fetch_status(f"{JOB}/{PAYMENT}")

        httpserver.check_assertions()
        assert (state.provider_reference, state.status, state.provider_status) == (
            f"{JOB}/{PAYMENT}", expected, provider_status)
        request, body = sent(httpserver)
        assert body is None
        assert request.headers["Hash"] == hashlib.sha512(API_KEY.encode()).hexdigest()

    def test_a_failed_payment_carries_cashflows_reason(self, gateway, httpserver):
        failed = payment_json("Failed", lastErrorReport={"errors": [{"code": "ThreeDSecureFailed",
                                                                      "message": "3-D Secure authentication failed."}]})
        httpserver.expect_oneshot_request(f"/api/gateway/payment-jobs/{JOB}/payments/{PAYMENT}") \
            .respond_with_handler(cashflows({"data": failed}))

        state = gateway.fetch_status(f"{JOB}/{PAYMENT}")

        assert (state.status, state.failure_message) == (base.PaymentStatus.FAILED, "3-D Secure authentication failed.")

    def test_a_bare_job_answers_its_latest_payment_with_the_full_reference(self, gateway, httpserver):
        earlier = payment_json("Failed", reference=250811132000000000, createDateTimeUtc="2026-11-23T09:50:00Z")
        latest = payment_json("Paid")
        httpserver.expect_oneshot_request(f"/api/gateway/payment-jobs/{JOB}", method="GET").respond_with_handler(
            cashflows(job_json([latest, earlier], paymentStatus="Paid")))

        state = gateway.fetch_status(JOB)

        httpserver.check_assertions()
        assert state.provider_reference == f"{JOB}/{PAYMENT}"
        assert state.status == base.PaymentStatus.SUCCEEDED
        assert (state.amount_minor, state.currency) == (1234, "GBP")

    def test_a_job_nobody_has_paid_yet_is_pending(self, gateway, httpserver):
        httpserver.expect_oneshot_request(f"/api/gateway/payment-jobs/{JOB}").respond_with_handler(
            cashflows(job_json([])))

        state = gateway.fetch_status(JOB)

        assert (state.provider_reference, state.status, state.amount_minor) == (JOB, base.PaymentStatus.PENDING, 1234)

    def test_refuses_a_reference_that_could_escape_the_path(self, gateway, httpserver):
        with pytest.raises(ValueError, match="Not a Cashflows reference"):
            gateway.fetch_status(f"{JOB}/../../configurations")

        assert httpserver.log == []

    def test_an_unknown_status_is_a_garbage_answer(self, gateway, httpserver):
        httpserver.expect_oneshot_request(f"/api/gateway/payment-jobs/{JOB}/payments/{PAYMENT}") \
            .respond_with_handler(cashflows({"data": payment_json("Teleported")}))

        with pytest.raises(base.GatewayUnavailable, match="Teleported"):
            gateway.fetch_status(f"{JOB}/{PAYMENT}")


class TestRefund:
    def test_refunds_a_payment_with_our_key_as_refund_number(self, gateway, httpserver):
        httpserver.expect_oneshot_request(f"/api/gateway/payment-jobs/{JOB}/payments/{PAYMENT}/refunds",
                                          method="POST").respond_with_handler(
            cashflows({"data": {"reference": 250811140000000001, "refundNumber": "refund-7", "status": "Pending",
                                "amountToRefund": 5.00}}))

        result = gateway.refund(base.RefundRequest(provider_reference=f"{JOB}/{PAYMENT}", amount_minor=500,
                                              currency="GBP", idempotency_key="refund-7"))

        httpserver.check_assertions()
        assert (result.refund_reference, result.succeeded) == ("250811140000000001", True)
        assert sent(httpserver)[1] == {"amountToRefund": "5.00", "refundNumber": "refund-7"}

    def test_a_bare_job_is_refunded_through_its_latest_payment(self, gateway, httpserver):
        httpserver.expect_ordered_request(f"/api/gateway/payment-jobs/{JOB}", method="GET").respond_with_handler(
            cashflows(job_json([payment_json("Paid")])))
        httpserver.expect_ordered_request(f"/api/gateway/payment-jobs/{JOB}/payments/{PAYMENT}/refunds",
                                          method="POST").respond_with_handler(
            cashflows({"data": {"reference": 250811140000000002, "status": "Completed"}}))

        result = gateway.refund(base.RefundRequest(provider_reference=JOB, amount_minor=1234, currency="GBP",
                                              idempotency_key="refund-8"))

        httpserver.check_assertions()
        assert result.succeeded is True

    def test_a_refused_refund_is_declined_with_a_safe_message(self, gateway, httpserver):
        httpserver.expect_oneshot_request(f"/api/gateway/payment-jobs/{JOB}/payments/{PAYMENT}/refunds") \
            .respond_with_handler(cashflows({"errorReport": {"errors": [
                {"code": "PaymentAlreadyFullyRefunded", "message": "Payment has already been fully refunded."}],
                "isFatalError": True}}, status=400))

        with pytest.raises(base.PaymentDeclined, match=r"^The payment has already been fully refunded\.$"):
            gateway.refund(base.RefundRequest(provider_reference=f"{JOB}/{PAYMENT}", amount_minor=500, currency="GBP",
                                         idempotency_key="refund-9"))


class TestErrors:
    def test_another_4xx_is_a_gateway_error_with_cashflows_message(self, base_url, httpserver):
        gateway = CashflowsGateway(base.Credentials(provider="cashflows", live=False, secret="wrong-key",
                                               settings={"configuration_id": CONFIGURATION_ID}), base_url=base_url)
        httpserver.expect_oneshot_request("/api/gateway/payment-jobs").respond_with_handler(cashflows({}))

        with pytest.raises(base.GatewayError, match=r"HTTP 401.*InvalidHash: Invalid hash") as raised:
            gateway.start_checkout(checkout_request())

        assert not isinstance(raised.value, (base.PaymentDeclined, base.GatewayUnavailable))

    def test_an_answer_without_the_hosted_page_url_is_garbage(self, gateway, httpserver):
        httpserver.expect_oneshot_request("/api/gateway/payment-jobs").respond_with_handler(
            cashflows({"data": {"reference": int(JOB)}}, status=201))

        with pytest.raises(base.GatewayUnavailable, match=r"links\.action\.url"):
            gateway.start_checkout(checkout_request())


class TestParseWebhook:
    def test_names_the_payment_and_asks_for_confirmation(self, gateway, now):
        body = json.dumps({"paymentJobReference": int(JOB), "paymentReference": int(PAYMENT)}).encode()

        event = gateway.parse_webhook(headers={"Content-Type": "application/json"}, body=body, now=now)

        assert event.provider_reference == f"{JOB}/{PAYMENT}"
        assert event.event_id == f"{JOB}/{PAYMENT}@20261123T100000.000000Z"
        assert event.event_type == "payment.notification"
        assert event.status is None
        assert event.needs_confirmation is True

    def test_a_later_notification_of_the_same_payment_is_a_new_event(self, gateway, now):
        body = json.dumps({"paymentJobReference": JOB, "paymentReference": PAYMENT}).encode()

        first = gateway.parse_webhook(headers={}, body=body, now=now)
        later = gateway.parse_webhook(headers={}, body=body, now=now.replace(minute=5))

        assert first.provider_reference == later.provider_reference
        assert first.event_id != later.event_id

    @pytest.mark.parametrize("body", [
        b'{"paymentJobReference": 250811132154530816}',
        b'{"paymentReference": 250811132412198912}',
        b"paymentJobReference=1&paymentReference=2",
        b'["250811132154530816", "250811132412198912"]',
        b'{"paymentJobReference": "../../admin", "paymentReference": "1"}',
        b'{"paymentJobReference": null, "paymentReference": 1}',
    ])
    def test_refuses_a_body_without_usable_references(self, gateway, now, body):
        with pytest.raises(base.InvalidWebhookSignature, match="lacks the payment references"):
            gateway.parse_webhook(headers={}, body=body, now=now)
