from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateways.base import Capabilities, CheckoutMode, from_minor_units, to_minor_units


class TestMinorUnits:
    @pytest.mark.parametrize(("amount", "currency", "minor"), [
        (Decimal("12.34"), "EUR", 1234), (Decimal("0.01"), "GBP", 1), (Decimal("500"), "JPY", 500),
        (Decimal("10.5"), "USD", 1050),
    ])
    def test_converts_to_integer_minor_units(self, amount, currency, minor):
        assert to_minor_units(amount, currency) == minor

    def test_refuses_an_amount_finer_than_the_minor_unit(self):
        with pytest.raises(ValueError, match="more decimals than EUR allows"):
            to_minor_units(Decimal("1.005"), "EUR")

    def test_refuses_an_unknown_currency(self):
        with pytest.raises(ValueError, match="Unsupported currency 'XXX'"):
            to_minor_units(Decimal(1), "XXX")

    @given(st.decimals(min_value=0, max_value=10**9, places=2))
    def test_round_trips(self, amount):
        assert from_minor_units(to_minor_units(amount, "EUR"), "EUR") == amount


class TestCapabilities:
    capabilities = Capabilities(hosted_page=True, card_fields=False, refunds=True, partial_refunds=True,
                                currencies=frozenset({"EUR", "GBP"}), pay_in_4_currencies=frozenset({"GBP"}))

    def test_offers_only_what_the_provider_can_do(self):
        assert self.capabilities.supports(mode=CheckoutMode.HOSTED_PAGE, currency="EUR") is True
        assert self.capabilities.supports(mode=CheckoutMode.CARD_FIELDS, currency="EUR") is False
        assert self.capabilities.supports(mode=CheckoutMode.HOSTED_PAGE, currency="USD") is False
        assert self.capabilities.supports(mode=CheckoutMode.HOSTED_PAGE, currency="GBP", pay_in_4=True) is True
        assert self.capabilities.supports(mode=CheckoutMode.HOSTED_PAGE, currency="EUR", pay_in_4=True) is False
