"""Fixtures of the payment-request tests."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core import throttle
from gateways import services as gateway_services
from paylinks.services.requests import RequestData, request_payment
from tests.factories import AccountFactory
from tests.gateways.conftest import closed_port_url

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
D = Decimal


@pytest.fixture
def gbp(ledger, customer, sandbox):
    # Money is requested only in a currency one of the tenant's gateways takes: the sandbox takes GBP.
    return AccountFactory(customer=customer, currency="GBP")


@pytest.fixture
def sandbox(ledger, settings):
    # Nothing listens there: a checkout asked for in these tests stays pending, and the test settles it.
    settings.GATEWAY_BASE_URLS = {"sandbox": closed_port_url()}
    return gateway_services.save_gateway_account(tenant=ledger, provider="sandbox", live=False, secret="sbx_1")


@pytest.fixture(autouse=True)
def fresh_pay_throttle():
    throttle.reset(key="pay:127.0.0.1")
    yield
    throttle.reset(key="pay:127.0.0.1")


def send(customer, account, staff, *, amount="120.00", channels=("email",), at=AT, reference="INV-42"):
    return request_payment(
        customer=customer, account=account, actor=staff, at=at,
        data=RequestData(
            amount=amount,
            reference=reference,
            message="Deposit for the Corolla",
            channels=list(channels),
        ),
    )
