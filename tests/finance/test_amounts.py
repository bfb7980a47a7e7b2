from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finance.amounts import LineInput, line_amounts, total_amounts

D = Decimal


class TestLineAmounts:
    def test_scenario_4_a_fifteen_percent_and_a_twenty_euro_discount(self):
        # Two cards: one at 2 × €45.50 with 15 % off, one at €120.00 with €20 off, both at 19 % VAT.
        first = line_amounts(LineInput(quantity=D(2), unit_price=D("45.50"), discount_percent=D(15),
                                       tax_percent=D(19)), "EUR")
        second = line_amounts(LineInput(quantity=D(1), unit_price=D("120.00"), discount_amount=D(20),
                                        tax_percent=D(19)), "EUR")
        total = total_amounts([first, second], "EUR")

        assert (first.net, first.discount, first.tax, first.total) == (D("91.00"), D("13.65"), D("14.70"),
                                                                      D("92.05"))
        assert (second.net, second.discount, second.tax, second.total) == (D("120.00"), D("20.00"), D("19.00"),
                                                                          D("119.00"))
        assert (total.net, total.discount, total.tax, total.total) == (D("211.00"), D("33.65"), D("33.70"),
                                                                      D("211.05"))
        assert total.total_without_tax == D("177.35")

    def test_rounds_half_up_to_the_cent(self):
        amounts = line_amounts(LineInput(quantity=D(1), unit_price=D("0.05"), tax_percent=D(10)), "EUR")

        assert amounts.tax == D("0.01")  # 0.005 rounds up

    def test_a_tax_inclusive_price_keeps_its_total_and_splits_out_the_tax(self):
        amounts = line_amounts(LineInput(quantity=D(1), unit_price=D("60.00"), tax_percent=D(20),
                                         price_includes_tax=True), "EUR")

        assert (amounts.net, amounts.tax, amounts.total) == (D("50.00"), D("10.00"), D("60.00"))

    def test_refuses_a_discount_larger_than_the_line(self):
        with pytest.raises(ValueError, match="larger than the line's net amount"):
            line_amounts(LineInput(quantity=D(1), unit_price=D("10.00"), discount_amount=D("10.01")), "EUR")

    def test_refuses_both_kinds_of_discount(self):
        with pytest.raises(ValueError, match="not both"):
            line_amounts(LineInput(quantity=D(1), unit_price=D(10), discount_amount=D(1), discount_percent=D(1)),
                         "EUR")

    @given(
        quantity=st.decimals(min_value=D("0.001"), max_value=D(1000), places=3),
        price=st.decimals(min_value=D(0), max_value=D(100000), places=2),
        percent=st.decimals(min_value=D(0), max_value=D(100), places=2),
        tax=st.decimals(min_value=D(0), max_value=D(30), places=3),
    )
    def test_a_line_always_adds_up_in_whole_cents(self, quantity, price, percent, tax):
        amounts = line_amounts(LineInput(quantity=quantity, unit_price=price, discount_percent=percent,
                                         tax_percent=tax), "EUR")

        assert amounts.total == amounts.net - amounts.discount + amounts.tax
        for value in (amounts.net, amounts.discount, amounts.tax, amounts.total):
            assert value == value.quantize(D("0.01"))
            assert value >= 0
