"""Fixtures of the fault suite. ``DULY_FAULTS_SCALE`` (``make faults`` sets it) multiplies how much
each case sends; ``make test`` runs the same cases at scale 1."""

import json
import threading

import pytest
from django_scopes import scope
from werkzeug import Request, Response

from finance import services as ledger_services
from gateways import services as gateway_services
from tests.factories import CustomerFactory


@pytest.fixture
def shop(transactional_db, tenant):
    """A tenant with its ledger and a GBP account, committed so that other processes see them."""
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        account = ledger_services.open_account(customer=CustomerFactory(tenant=tenant), currency="GBP")
    return account


class FakeCashflows:
    """Cashflows' payment status endpoint, answering as each test scripts it: ``answers`` is a list of
    callables taking the request, used in turn (the last one again and again)."""

    def __init__(self, httpserver) -> None:
        self.httpserver = httpserver
        self.answers = []
        self.calls = 0
        self.first_call = threading.Event()
        httpserver.expect_request("/api/gateway/payment-jobs/job1/payments/pay1", method="GET").respond_with_handler(
            self._answer)

    def _answer(self, request: Request) -> Response:
        self.calls += 1
        self.first_call.set()
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        return answer(request)

    @staticmethod
    def status(status: str, amount: str = "12.50"):
        return lambda request: Response(
            json.dumps({"data": {"reference": "pay1", "status": status, "amountToCollect": amount}}),
            content_type="application/json")


@pytest.fixture
def fake_cashflows(httpserver):
    return FakeCashflows(httpserver)


@pytest.fixture
def cashflows(shop, settings, httpserver):
    settings.GATEWAY_BASE_URLS = {"cashflows": httpserver.url_for("").rstrip("/")}
    with scope(tenant=shop.tenant):
        return gateway_services.save_gateway_account(tenant=shop.tenant, provider="cashflows", live=False,
                                                     secret="cf-key", settings={"configuration_id": "cfg-1"})


CASHFLOWS_NOTIFICATION = json.dumps({"paymentJobReference": "job1", "paymentReference": "pay1"}).encode()
