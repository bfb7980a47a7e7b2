"""Fuzzing the money arithmetic and the parsing of amounts people type or send.

Whatever comes in, an amount is a ``Decimal`` (never a float) with at most the currency's places,
survives a round trip exactly (text → amount → text, amount → minor units → amount), and bad input
is refused with a message that names the field, never with another exception.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from finance.amounts import LineInput, line_amounts, minor_unit, to_minor, total_amounts
from gateways.base import CURRENCY_EXPONENT, from_minor_units, to_minor_units
from paylinks.services.invoice_pay import parse_amount
from tests.helpers import examples

EXAMPLES = examples(200)
CENT = Decimal("0.01")
currencies = st.sampled_from(["EUR", "GBP", "USD", "PAB", "AUD", "CAD"])
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2)
percents = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=3)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("10000"), places=3)
hostile_text = (st.text(max_size=30)
                | st.sampled_from(["NaN", "sNaN", "-NaN", "Infinity", "-inf", "1e999999", "1E+2", "0", "-0", "0.00",
                                   "12.345", "1,50", "١٢", "12.5\x00", " 12.50 ", "1_000", "0x10", "+5", "--5", "5-",
                                   "12.50 EUR", "€12.50", "1e-2", "9" * 40])
                | st.floats().map(str) | st.integers().map(str))


class TestParseAmount:
    """What the invoice pay page (and its API twin) make of the amount the payer types."""

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(value=hostile_text | st.floats() | st.integers() | st.none())
    def test_anything_is_an_exact_amount_or_a_named_refusal(self, value):
        try:
            amount = parse_amount(value, outstanding=Decimal("1000000.00"), currency="EUR")
        except ValidationError as error:
            assert list(error.message_dict) == ["amount"]
            assert all(message for message in error.message_dict["amount"])
            return
        assert type(amount) is Decimal
        assert amount.is_finite() and Decimal(0) < amount <= Decimal("1000000.00")
        assert amount == amount.quantize(CENT)

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(amount=amounts)
    def test_a_typed_amount_round_trips_exactly(self, amount):
        parsed = parse_amount(f"{amount}", outstanding=Decimal("999999999.99"), currency="EUR")

        assert parsed == amount and f"{parsed:.2f}" == f"{amount:.2f}"

    @pytest.mark.parametrize(("typed", "message"), [
        ("", "Enter an amount such as 120.00."),
        ("twelve", "Enter an amount such as 120.00."),
        ("NaN", "Enter an amount such as 120.00."),
        ("Infinity", "Enter an amount such as 120.00."),
        ("1e309", "Enter an amount such as 120.00."),
        ("٣", "Enter an amount such as 120.00."),
        ("1_000", "Enter an amount such as 120.00."),
        ("9" * 30, "Too large: at most 999,999,999,999.99."),
        ("-5", "The amount must be more than zero."),
        ("12.345", "The amount has at most 2 decimal places."),
        ("0.1e-5", "Enter an amount such as 120.00."),
        ("0.001", "The amount has at most 2 decimal places."),
        ("100.01", "The amount cannot be more than the outstanding €100.00."),
    ])
    def test_bad_input_gets_a_clear_message(self, typed, message):
        with pytest.raises(ValidationError) as refused:
            parse_amount(typed, outstanding=Decimal("100.00"), currency="EUR")

        assert refused.value.message_dict == {"amount": [message]}


class TestMinorUnits:
    """Amounts cross to the gateways as integer minor units, and come back."""

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(amount=amounts, currency=currencies)
    def test_the_round_trip_is_exact(self, amount, currency):
        minor = to_minor_units(amount, currency)

        assert type(minor) is int
        assert from_minor_units(minor, currency) == amount
        assert minor == int(amount * 100)

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(amount=st.decimals(min_value=-10**15, max_value=10**15) | st.sampled_from([
        Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("1E+999999"),
        Decimal("1E-999999")]), currency=currencies | st.text(max_size=4))
    def test_anything_else_is_refused_with_a_value_error(self, amount, currency):
        try:
            minor = to_minor_units(amount, currency)
        except ValueError as error:
            assert str(error)
            return
        assert currency in CURRENCY_EXPONENT and amount.is_finite()
        assert from_minor_units(minor, currency) == amount


class TestLineAmounts:
    """The ledger's arithmetic: every figure to the cent, the totals the sum of the printed lines."""

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(quantity=quantities, price=amounts, discount=st.none() | percents, tax=percents,
           includes_tax=st.booleans(), currency=currencies)
    def test_every_figure_is_to_the_cent_and_adds_up(self, quantity, price, discount, tax, includes_tax, currency):
        line = LineInput(quantity=quantity, unit_price=price, discount_percent=discount, tax_percent=tax,
                         price_includes_tax=includes_tax)

        result = line_amounts(line, currency)

        for figure in (result.net, result.discount, result.tax, result.total):
            assert type(figure) is Decimal and figure == figure.quantize(minor_unit(currency))
        assert result.total == result.net - result.discount + result.tax
        if includes_tax:  # the total is what was given; the tax is the part of it the rate accounts for
            assert result.total == to_minor(quantity * price, currency) - result.discount
        assert result.tax >= 0 and result.discount >= 0

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(lines=st.lists(st.tuples(quantities, amounts, percents), min_size=1, max_size=6), currency=currencies)
    def test_the_totals_are_the_sums_of_the_rounded_lines(self, lines, currency):
        computed = [line_amounts(LineInput(quantity=q, unit_price=p, tax_percent=t), currency) for q, p, t in lines]

        total = total_amounts(computed, currency)

        assert total.total == sum((line.total for line in computed), Decimal("0.00"))
        assert total.tax == sum((line.tax for line in computed), Decimal("0.00"))

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
    @given(quantity=quantities, price=amounts, amount=amounts, currency=currencies)
    def test_a_discount_larger_than_the_line_is_refused(self, quantity, price, amount, currency):
        assume(to_minor(amount, currency) > to_minor(quantity * price, currency))

        with pytest.raises(ValueError) as refused:
            line_amounts(LineInput(quantity=quantity, unit_price=price, discount_amount=amount), currency)

        assert str(refused.value) == "The discount is larger than the line's net amount."
