from datetime import date
from decimal import Decimal

import pytest

from billing.services.schedules import LineInput, ScheduleData, create_schedule
from finance.models import Product, TaxRate
from tests.factories import AccountFactory

START = date(2027, 1, 15)


@pytest.fixture
def account(ledger, customer):
    return AccountFactory(customer=customer, currency="GBP")


@pytest.fixture
def vat(ledger):
    return TaxRate.objects.create(tenant=ledger, name="VAT 20 %", percent=Decimal("20"))


@pytest.fixture
def policy_fee(ledger, vat):
    return Product.objects.create(tenant=ledger, code="PF", name="Policy fee", unit_price=Decimal("25.00"),
                                  default_tax_rate=vat)


def monthly(account, *, at, start_on=START, collect_by_card=True, **changes):
    """A monthly schedule of one £25 + 20 % VAT policy fee (£30.00 an invoice)."""
    product = changes.pop("product")
    data = ScheduleData(name="Monthly policy fee", frequency="monthly", start_on=start_on,
                        lines=[LineInput(product=product)], collect_by_card=collect_by_card, **changes)
    return create_schedule(account=account, data=data, actor=None, at=at)
