"""Fuzzing the webhook parsers of every gateway adapter, and the inbox endpoint in front of them.

A parser given anything at all — random bytes, random headers, or a correctly signed body of random
JSON — either returns a well-formed :class:`WebhookEvent` or raises :class:`InvalidWebhookSignature`;
never another exception, which the inbox would turn into a 500 and the provider into endless retries.
The endpoint answers 200, 400, 404 or 413, never 500.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import stripe
from django.test import Client
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways import http
from gateways import services as gateway_services
from gateways.base import Credentials, InvalidWebhookSignature, PaymentStatus, WebhookEvent
from gateways.cashflows import CashflowsGateway
from gateways.credicorp import CredicorpGateway
from gateways.sandbox import SandboxGateway
from gateways.stripe import StripeGateway
from tests.helpers import examples

EXAMPLES = examples(300)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "whsec_fuzz_secret"

ADAPTERS = {
    "stripe": StripeGateway(Credentials("stripe", False, "sk_test_fuzz", {"webhook_secret": SECRET})),
    "cashflows": CashflowsGateway(Credentials("cashflows", False, "cf_key", {"configuration_id": "cfg_1"})),
    "credicorp": CredicorpGateway(Credentials("credicorp", False, "cc_key", {
        "base_url": "https://credicorp.invalid", "callback_secret": SECRET})),
    "sandbox": SandboxGateway(Credentials("sandbox", False, SECRET, {}), base_url="https://duly.invalid"),
}
HEADER_NAMES = ["Stripe-Signature", "X-Credicorp-Signature", "X-Credicorp-Timestamp", "X-Sandbox-Signature",
                "X-Sandbox-Timestamp", "Content-Type", "Content-Length"]

# JSON of every shape, and JSON shaped like the providers' events with random leaves.
json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(json_leaves, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=12)
plausible_ids = st.sampled_from(["evt_1", "sbx_0123456789abcdef01234567", "cs_test_1", "link_1", "", "../x",
                                 "a/b", "x" * 300]) | json_leaves
event_shaped = st.fixed_dictionaries(
    {"id": plausible_ids,
     "type": st.sampled_from(["checkout.succeeded", "checkout.session.completed", "payment_intent.succeeded",
                              "payment_link.paid", "charge.refunded"]) | json_values,
     "data": json_values | st.fixed_dictionaries(
         {"id": plausible_ids, "object": json_values | st.dictionaries(st.sampled_from(
             ["id", "object", "amount", "amount_total", "currency", "payment_status"]), json_leaves)},
         optional={"amount": json_leaves | st.sampled_from(["Infinity", "NaN", "1e999", "-0", "12.345"]),
                   "amount_minor": json_leaves, "currency": json_leaves | st.sampled_from(["GBP", "JPY", "XXX"])})},
    optional={"paymentJobReference": plausible_ids, "paymentReference": plausible_ids},
)
bodies = st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode()) \
    | event_shaped.map(lambda v: json.dumps(v).encode())
headers = st.dictionaries(st.sampled_from(HEADER_NAMES) | st.text(min_size=1, max_size=20),
                          st.text(max_size=120), max_size=5)


def signed(provider: str, body: bytes) -> dict[str, str]:
    """The headers a provider holding ``SECRET`` would send with ``body`` at ``NOW``."""
    timestamp = str(int(NOW.timestamp()))
    if provider == "stripe":
        signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode('utf-8', 'replace')}",
                                                               SECRET)
        return {"Stripe-Signature": f"t={timestamp},v1={signature}"}
    prefix = {"credicorp": "X-Credicorp", "sandbox": "X-Sandbox"}.get(provider)
    if prefix is None:
        return {}
    return {f"{prefix}-Signature": http.sign(SECRET, timestamp, body), f"{prefix}-Timestamp": timestamp}


def assert_well_formed(event: WebhookEvent) -> None:
    assert isinstance(event.event_id, str) and event.event_id
    assert isinstance(event.event_type, str)
    assert isinstance(event.provider_reference, str)
    assert event.status is None or isinstance(event.status, PaymentStatus)
    assert event.amount_minor is None or (type(event.amount_minor) is int)
    assert isinstance(event.currency, str)


def parse(provider: str, *, headers: dict[str, str], body: bytes) -> WebhookEvent | None:
    try:
        event = ADAPTERS[provider].parse_webhook(headers=headers, body=body, now=NOW)
    except InvalidWebhookSignature:
        return None
    assert_well_formed(event)
    return event


@pytest.mark.parametrize("provider", sorted(ADAPTERS))
class TestParsersOnHostileInput:
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(body=bodies, headers=headers)
    def test_anything_unsigned_is_an_event_or_a_refusal(self, provider, body, headers):
        event = parse(provider, headers=headers, body=body)

        if provider != "cashflows":  # Cashflows' notifications are unsigned: the caller fetches the status back
            assert event is None

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(body=bodies)
    def test_a_signed_body_of_anything_is_an_event_or_a_refusal(self, provider, body):
        parse(provider, headers=signed(provider, body), body=body)

    def test_a_signed_well_formed_event_is_parsed(self, provider):
        body = json.dumps({"id": "evt_1", "type": "checkout.succeeded", "paymentJobReference": "123",
                           "paymentReference": "456",
                           "data": {"id": "sbx_0123456789abcdef01234567", "object": {"id": "cs_test_1"}}}).encode()
        if provider == "credicorp":
            body = json.dumps({"id": "evt_1", "type": "payment_link.paid", "data": {"id": "link_1"}}).encode()

        event = parse(provider, headers=signed(provider, body), body=body)

        assert event is not None


@pytest.fixture
def inbox_url(tenant, settings):
    settings.GATEWAY_BASE_URLS = {}
    with scope(tenant=tenant):
        account = gateway_services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret=SECRET,
                                                        settings={"base_url": "https://duly.invalid"})
    return f"/webhooks/sandbox/{account.webhook_token}/"


@pytest.mark.django_db
class TestInboxEndpointOnHostileInput:
    @settings(max_examples=examples(150), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, headers=headers, content_length=st.none() | st.text(max_size=12))
    def test_anything_is_answered_400_404_or_413_never_500(self, inbox_url, body, headers, content_length):
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
                 if name.lower() not in ("content-type", "content-length")}
        if content_length is not None:
            extra["CONTENT_LENGTH"] = content_length

        response = Client(raise_request_exception=False).generic(
            "POST", inbox_url, data=body, content_type="application/json", **extra)

        assert response.status_code in (400, 413), (response.status_code, response.content[:300])

    @settings(max_examples=examples(60), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=event_shaped.map(lambda v: json.dumps(v).encode()))
    def test_a_signed_body_of_anything_is_stored_or_refused(self, inbox_url, body):
        timestamp = str(int(time.time()))
        response = Client(raise_request_exception=False).post(
            inbox_url, data=body, content_type="application/json",
            headers={"X-Sandbox-Signature": http.sign(SECRET, timestamp, body), "X-Sandbox-Timestamp": timestamp})

        assert response.status_code in (200, 400), (response.status_code, response.content[:300])

    def test_an_unknown_account_is_404_and_a_huge_body_413(self, inbox_url):
        unknown = Client().post("/webhooks/sandbox/00000000-0000-4000-8000-000000000000/", data=b"{}",
                                content_type="application/json")
        huge = Client().post(inbox_url, data=b"x" * (256 * 1024 + 1), content_type="application/json")

        assert (unknown.status_code, huge.status_code) == (404, 413)
