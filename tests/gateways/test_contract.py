"""What every provider adapter that talks HTTP promises through ``gateways.base`` when its provider
misbehaves: a server error, an answer that is not JSON, a slow answer and a refused connection are each
``GatewayUnavailable`` (the payment stays pending and is asked again), never another error.
Each case runs against every adapter's local fake server; the adapter's own files test what differs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from gateways import base
from gateways.cashflows import CashflowsGateway
from gateways.credicorp import CredicorpGateway
from gateways.stripe import StripeGateway
from tests.gateways import test_cashflows, test_credicorp, test_stripe
from tests.gateways.conftest import SHORT_TIMEOUT, closed_port_url, slow_json


@dataclass(frozen=True)
class Adapter:
    make: Callable[..., object]  # (base_url, timeout=…) -> the adapter
    checkout: base.CheckoutRequest
    checkout_path: str
    server_error: Callable  # responds on the checkout path with the provider's own 5xx
    server_status: int
    reference: str  # a payment of the provider, as ``fetch_status`` takes it
    status_path: str
    not_json: str
    not_json_says: str | None  # what the error names (None: the adapter's own words)
    timeout_says: str | None
    refused_says: str | None


ADAPTERS = {
    "stripe": Adapter(
        make=lambda url, **kw: StripeGateway(test_stripe.CREDENTIALS, base_url=url, **kw),
        checkout=test_stripe.checkout_request(), checkout_path="/v1/checkout/sessions",
        server_error=lambda handler: handler.respond_with_json(
            {"error": {"type": "api_error", "message": "Something went wrong on Stripe's end."}}, status=500),
        server_status=500, reference="pi_3Duly", status_path="/v1/payment_intents/pi_3Duly",
        not_json="<html>502 Bad Gateway</html>", not_json_says=None, timeout_says=None, refused_says=None,
    ),
    "cashflows": Adapter(
        make=lambda url, **kw: CashflowsGateway(test_cashflows.CREDENTIALS, base_url=url, **kw),
        checkout=test_cashflows.checkout_request(), checkout_path="/api/gateway/payment-jobs",
        server_error=lambda handler: handler.respond_with_json(
            {"errorReport": {"errors": [{"code": "InternalError", "message": "Processor error."}]}}, status=500),
        server_status=500, reference=f"{test_cashflows.JOB}/{test_cashflows.PAYMENT}",
        status_path=f"/api/gateway/payment-jobs/{test_cashflows.JOB}/payments/{test_cashflows.PAYMENT}",
        not_json='{"data": {"status": "Pa', not_json_says="other than JSON", timeout_says="ReadTimeout",
        refused_says="ConnectError",
    ),
    "credicorp": Adapter(
        make=lambda url, **kw: CredicorpGateway(test_credicorp.credentials(), base_url=url, **kw),
        checkout=test_credicorp.checkout_request(), checkout_path="/v1/payment-links",
        server_error=lambda handler: handler.respond_with_data("Service Unavailable", status=503),
        server_status=503, reference=test_credicorp.LINK, status_path=f"/v1/payment-links/{test_credicorp.LINK}",
        not_json="<html>mantenimiento</html>", not_json_says="other than JSON", timeout_says="ReadTimeout",
        refused_says="ConnectError",
    ),
}


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(request) -> Adapter:
    return ADAPTERS[request.param]


def test_a_server_error_is_unavailable_naming_its_status(adapter, base_url, httpserver):
    adapter.server_error(httpserver.expect_oneshot_request(adapter.checkout_path))

    with pytest.raises(base.GatewayUnavailable, match=f"HTTP {adapter.server_status}"):
        adapter.make(base_url).start_checkout(adapter.checkout)


def test_an_answer_that_is_not_json_is_unavailable(adapter, base_url, httpserver):
    httpserver.expect_oneshot_request(adapter.status_path).respond_with_data(
        adapter.not_json, content_type="text/html" if adapter.not_json.startswith("<") else "application/json")

    with pytest.raises(base.GatewayUnavailable, match=adapter.not_json_says):
        adapter.make(base_url).fetch_status(adapter.reference)


def test_a_slow_answer_times_out_as_unavailable_within_a_second(adapter, base_url, httpserver):
    httpserver.expect_oneshot_request(adapter.status_path).respond_with_handler(slow_json({}))
    gateway = adapter.make(base_url, timeout=SHORT_TIMEOUT)

    started = time.monotonic()
    with pytest.raises(base.GatewayUnavailable, match=adapter.timeout_says):
        gateway.fetch_status(adapter.reference)

    assert time.monotonic() - started < 1.0


def test_a_refused_connection_is_unavailable(adapter):
    gateway = adapter.make(closed_port_url(), timeout=SHORT_TIMEOUT)

    with pytest.raises(base.GatewayUnavailable, match=adapter.refused_says):
        gateway.fetch_status(adapter.reference)
