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


def card_on_file(account, gateway_account, *, token, last4="4242", at=None):
    """A card kept the way Duly keeps one: a payment the customer agreed to save the card with succeeds,
    and the provider's card is recorded."""
    from datetime import UTC, datetime

    from gateways.base import SavedCard as ProviderCard
    from payments.models import ConsentSource, GatewayPayment
    from payments.services.gateway_payments import apply_state
    from payments.services.saved_cards import consent, keep_card
    from tests.factories import GatewayPaymentFactory, InvoiceFactory

    at = at or datetime(2027, 1, 10, 9, tzinfo=UTC)
    earlier = InvoiceFactory(account=account, price="10.00", at=at)
    payment = GatewayPaymentFactory(
        account=account, gateway_account=gateway_account, amount="10.00", provider_reference=f"first_{token}",
        invoice=earlier,
        card_consent=consent(source=ConsentSource.EMAIL_PAY, text="Save this card.", at=at, ip="192.0.2.7"))
    apply_state(payment=payment, status="succeeded", at=at, source="checkout")
    return keep_card(payment=GatewayPayment.objects.get(pk=payment.pk),
                     card=ProviderCard(token=token, brand="visa", last4=last4, exp_month=12, exp_year=2030), at=at)
