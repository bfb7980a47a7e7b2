"""What every provider that keeps cards promises through ``gateways.base``: a checkout asked to save the
card says so in the provider's terms; the kept card comes back from ``fetch_status``; a charge without the
customer is ``SUCCEEDED``, ``AuthenticationRequired`` (3-D Secure), ``PaymentDeclined``, or
``GatewayUnavailable`` when the provider fails; removing a card the provider no longer knows is not an error.
Each case runs against each adapter's local fake server, speaking that provider's protocol."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from werkzeug import Request, Response

from gateways import base
from gateways.cashflows import CashflowsGateway
from gateways.sandbox import SandboxGateway
from gateways.stripe import StripeGateway
from tests.gateways import test_cashflows, test_stripe
from tests.gateways.conftest import SHORT_TIMEOUT, closed_port_url, slow_json

CARD = base.SavedCard(token="", brand="visa", last4="4242", exp_month=12, exp_year=2030)


def charge(token: str) -> base.CardCharge:
    return base.CardCharge(reference="dc_7_0", card_token=token, amount_minor=3000, currency="GBP",
                           description="Acme: invoice INV-000002")


def json_answer(payload: dict, status: int = 200):
    def handler(request: Request) -> Response:
        return Response(json.dumps(payload), status=status, content_type="application/json")
    return handler


def stripe_intent(status="succeeded", **extra) -> dict:
    return test_stripe.intent_json(id="pi_charge", amount=3000, status=status, **extra)


def stripe_card_error(code: str) -> dict:
    return {"error": {"type": "card_error", "code": code, "message": f"Stripe says {code}."}}


def cashflows_child(status: str, *codes: str) -> dict:
    payment = test_cashflows.payment_json(status=status, amountToCollect=30.0, paidAmount=30.0 if status == "Paid"
                                          else 0, lastErrorReport={"errors": [
                                              {"code": code, "message": f"Cashflows says {code}."} for code in codes]})
    return test_cashflows.job_json([payment], amountToCollect=30.0)


def sandbox_state(status: str = "succeeded", **extra) -> dict:
    return {"id": "sbx_0123456789abcdef", "status": status, "amount_minor": 3000, "currency": "GBP",
            "failure_message": "", **extra}


def sandbox_error(code: str, status: int = 402) -> dict:
    return {"error": {"code": code, "message": f"The sandbox says {code}."}}


@dataclass(frozen=True)
class Keeper:
    make: Callable[..., object]
    token: str
    checkout: base.CheckoutRequest
    checkout_path: str
    checkout_answer: dict
    saved_in_request: Callable[[Request], bool]  # the checkout request asked the provider to keep the card
    status_reference: str
    status_path: str
    status_answer: dict  # a paid checkout whose card was kept
    kept: base.SavedCard
    charge_path: str
    succeeded: Callable
    needs_authentication: Callable
    declined: Callable
    server_error: Callable
    remove_unknown: Callable[[object], None]  # sets up "no such card" and removes it


def _form(request: Request) -> dict:
    return dict(request.form)


KEEPERS = {
    "stripe": Keeper(
        make=lambda url, **kw: StripeGateway(test_stripe.CREDENTIALS, base_url=url, **kw),
        token="cus_Duly1/pm_Duly1",
        checkout=test_stripe.checkout_request(save_card=True), checkout_path="/v1/checkout/sessions",
        checkout_answer=test_stripe.session_json(),
        saved_in_request=lambda r: _form(r).get("customer_creation") == "always"
        and _form(r).get("payment_intent_data[setup_future_usage]") == "off_session",
        status_reference="pi_3Duly", status_path="/v1/payment_intents/pi_3Duly",
        status_answer=test_stripe.intent_json(status="succeeded", setup_future_usage="off_session",
                                              customer="cus_Duly1", payment_method={
                                                  "id": "pm_Duly1", "object": "payment_method", "type": "card",
                                                  "card": {"brand": "visa", "last4": "4242", "exp_month": 12,
                                                           "exp_year": 2030}}),
        kept=base.SavedCard("cus_Duly1/pm_Duly1", "visa", "4242", 12, 2030),
        charge_path="/v1/payment_intents",
        succeeded=lambda h: h.respond_with_json(stripe_intent()),
        needs_authentication=lambda h: h.respond_with_json(stripe_card_error("authentication_required"), status=402),
        declined=lambda h: h.respond_with_json(stripe_card_error("card_declined"), status=402),
        server_error=lambda h: h.respond_with_json({"error": {"type": "api_error", "message": "Oops."}}, status=500),
        remove_unknown=lambda server: server.expect_oneshot_request(
            "/v1/payment_methods/pm_Duly1/detach", method="POST").respond_with_json(
            {"error": {"type": "invalid_request_error", "code": "resource_missing",
                       "message": "No such PaymentMethod: 'pm_Duly1'"}}, status=404),
    ),
    "cashflows": Keeper(
        make=lambda url, **kw: CashflowsGateway(test_cashflows.CREDENTIALS, base_url=url, **kw),
        token=test_cashflows.JOB,
        checkout=test_cashflows.checkout_request(save_card=True), checkout_path="/api/gateway/payment-jobs",
        checkout_answer=test_cashflows.job_json([]) | {"links": {"action": {"url": "https://cf.test/pay"}}},
        saved_in_request=lambda r: json.loads(r.get_data())["options"] == ["IsRecurringPaymentJobParent",
                                                                           "StoreCardDetails"],
        status_reference=f"{test_cashflows.JOB}/{test_cashflows.PAYMENT}",
        status_path=f"/api/gateway/payment-jobs/{test_cashflows.JOB}/payments/{test_cashflows.PAYMENT}",
        status_answer={"data": test_cashflows.payment_json(card={
            "scheme": "Visa", "lastFourDigits": "4242", "expiryMonth": 12, "expiryYear": 2030})},
        kept=base.SavedCard(test_cashflows.JOB, "Visa", "4242", 12, 2030),
        charge_path="/api/gateway/payment-jobs",
        succeeded=lambda h: h.respond_with_handler(test_cashflows.cashflows(cashflows_child("Paid"), status=201)),
        needs_authentication=lambda h: h.respond_with_handler(test_cashflows.cashflows(
            cashflows_child("Failed", "ThreeDSecureFailed"), status=201)),
        declined=lambda h: h.respond_with_handler(test_cashflows.cashflows(
            cashflows_child("Declined", "Declined"), status=201)),
        server_error=lambda h: h.respond_with_json(
            {"errorReport": {"errors": [{"code": "InternalError", "message": "Processor error."}]}}, status=500),
        remove_unknown=lambda server: None,  # no such call at Cashflows: removal is Duly's own
    ),
    "sandbox": Keeper(
        make=lambda url, **kw: SandboxGateway(base.Credentials(provider="sandbox", live=False, secret="sbx_1"),
                                              base_url=url, **kw),
        token="sbxpm_0123456789abcdef",
        checkout=base.CheckoutRequest(reference="pay-001", amount_minor=1250, currency="GBP", description="Fee",
                                      mode=base.CheckoutMode.HOSTED_PAGE, return_url="https://duly.test/paid",
                                      save_card=True),
        checkout_path="/sandbox/api/checkouts",
        checkout_answer={"id": "sbx_0123456789abcdef", "status": "pending", "url": "https://duly.test/sandbox/pay/x/",
                         "expires_at": None},
        saved_in_request=lambda r: json.loads(r.get_data())["save_card"] is True,
        status_reference="sbx_0123456789abcdef", status_path="/sandbox/api/checkouts/sbx_0123456789abcdef",
        status_answer=sandbox_state(saved_card={"id": "sbxpm_0123456789abcdef", "brand": "visa", "last4": "4242",
                                                "exp_month": 12, "exp_year": 2030}),
        kept=base.SavedCard("sbxpm_0123456789abcdef", "visa", "4242", 12, 2030),
        charge_path="/sandbox/api/cards/sbxpm_0123456789abcdef/charges",
        succeeded=lambda h: h.respond_with_json(sandbox_state(), status=201),
        needs_authentication=lambda h: h.respond_with_json(sandbox_error("authentication_required"), status=402),
        declined=lambda h: h.respond_with_json(sandbox_error("card_declined"), status=402),
        server_error=lambda h: h.respond_with_data("<html>502</html>", status=502),
        remove_unknown=lambda server: server.expect_oneshot_request(
            "/sandbox/api/cards/sbxpm_0123456789abcdef", method="DELETE").respond_with_json(
            {"error": {"code": "not_found", "message": "No such card."}}, status=404),
    ),
}


@pytest.fixture(params=sorted(KEEPERS))
def keeper(request) -> Keeper:
    return KEEPERS[request.param]


def test_every_card_keeping_provider_says_so(keeper):
    assert keeper.make("http://unused.test").capabilities.saved_cards is True


def test_a_checkout_asks_the_provider_to_keep_the_card(keeper, base_url, httpserver):
    httpserver.expect_oneshot_request(keeper.checkout_path, method="POST").respond_with_json(keeper.checkout_answer,
                                                                                             status=201)

    keeper.make(base_url).start_checkout(keeper.checkout)

    assert keeper.saved_in_request(httpserver.log[-1][0])


def test_the_kept_card_comes_back_with_the_paid_status(keeper, base_url, httpserver):
    httpserver.expect_oneshot_request(keeper.status_path).respond_with_json(keeper.status_answer)

    state = keeper.make(base_url).fetch_status(keeper.status_reference)

    assert (state.status, state.saved_card) == (base.PaymentStatus.SUCCEEDED, keeper.kept)


def test_a_charge_that_goes_through_is_succeeded(keeper, base_url, httpserver):
    keeper.succeeded(httpserver.expect_oneshot_request(keeper.charge_path, method="POST"))

    state = keeper.make(base_url).charge_saved_card(charge(keeper.token))

    assert (state.status, state.amount_minor) == (base.PaymentStatus.SUCCEEDED, 3000)


def test_a_charge_that_needs_the_customer_is_authentication_required(keeper, base_url, httpserver):
    keeper.needs_authentication(httpserver.expect_oneshot_request(keeper.charge_path, method="POST"))

    with pytest.raises(base.AuthenticationRequired):
        keeper.make(base_url).charge_saved_card(charge(keeper.token))


def test_a_declined_charge_is_declined_and_not_authentication(keeper, base_url, httpserver):
    keeper.declined(httpserver.expect_oneshot_request(keeper.charge_path, method="POST"))

    with pytest.raises(base.PaymentDeclined) as refused:
        keeper.make(base_url).charge_saved_card(charge(keeper.token))

    assert not isinstance(refused.value, base.AuthenticationRequired)


def test_a_charge_the_provider_fails_is_unavailable(keeper, base_url, httpserver):
    keeper.server_error(httpserver.expect_oneshot_request(keeper.charge_path, method="POST"))

    with pytest.raises(base.GatewayUnavailable):
        keeper.make(base_url).charge_saved_card(charge(keeper.token))


def test_a_slow_charge_times_out_as_unavailable(keeper, base_url, httpserver):
    httpserver.expect_oneshot_request(keeper.charge_path, method="POST").respond_with_handler(slow_json({}))

    with pytest.raises(base.GatewayUnavailable):
        keeper.make(base_url, timeout=SHORT_TIMEOUT).charge_saved_card(charge(keeper.token))


def test_a_refused_connection_is_unavailable(keeper):
    with pytest.raises(base.GatewayUnavailable):
        keeper.make(closed_port_url(), timeout=SHORT_TIMEOUT).charge_saved_card(charge(keeper.token))


def test_removing_a_card_the_provider_no_longer_knows_is_done(keeper, base_url, httpserver):
    keeper.remove_unknown(httpserver)

    keeper.make(base_url).remove_saved_card(keeper.token)

    httpserver.check_assertions()
