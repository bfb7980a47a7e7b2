"""Line and transaction amounts: pure ``Decimal`` arithmetic, half-up to the currency's minor unit.

Each line is rounded on its own and a transaction's amounts are the sums of its lines' rounded
amounts, so the printed lines always add up to the printed totals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from moneyed import get_currency

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")
# What an amount column holds (14 digits, 2 of them decimals); a larger figure is refused as typed.
MAX_AMOUNT = Decimal("999999999999.99")
# Plain ASCII digits, an optional sign and decimal point: no exponent, no grouping, no other digits.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


class NotAnAmount(ValueError):
    """The text is not an amount Duly takes; ``too_large`` tells a figure past ``MAX_AMOUNT`` from a
    malformed one, so each form can keep its own wording for the latter."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def parse_plain(value) -> Decimal:
    """An amount as typed or sent (text, an int or a ``Decimal``), before any rule of the field.

    Every money field parses through here, so none meets an exponent (``1e309``), a digit of another
    script, ``1_000`` or a figure too long for the ledger's columns, which ``Decimal`` alone accepts.

    :raises NotAnAmount: not a plain number, or larger than ``MAX_AMOUNT`` either way.
    """
    if isinstance(value, bool) or value is None:
        raise NotAnAmount(_("Not a number."))
    text = format(value, "f") if isinstance(value, Decimal) else str(value).strip()
    if not PLAIN_NUMBER.fullmatch(text):
        raise NotAnAmount(_("Not a number."))
    number = Decimal(text)
    if abs(number) > MAX_AMOUNT:
        raise NotAnAmount(f"Too large: at most {MAX_AMOUNT:,}.", too_large=True)
    return number


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: ``Decimal("0.01")`` for EUR."""
    sub_unit = get_currency(currency).sub_unit
    return Decimal(1) / Decimal(sub_unit) if sub_unit > 1 else Decimal(1)


def to_minor(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_percent: Decimal = Decimal(0)
    price_includes_tax: bool = False


@dataclass(frozen=True)
class Amounts:
    net: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal

    @property
    def total_without_tax(self) -> Decimal:
        return self.net - self.discount


def line_amounts(line: LineInput, currency: str) -> Amounts:
    """Net = quantity × unit price; discount by percentage or amount; tax on the discounted net.

    When the price includes tax (a write-off of an unpaid total, say), the total is what was given
    and the tax is the part of it that the rate accounts for, so any total is reachable exactly.

    :raises ValueError: both kinds of discount are given, or the discount exceeds the net amount.
    """
    if line.discount_percent is not None and line.discount_amount is not None:
        raise ValueError(_("Give the discount as a percentage or as an amount, not both."))
    net = to_minor(line.quantity * line.unit_price, currency)
    if line.discount_percent is not None:
        discount = to_minor(net * line.discount_percent / HUNDRED, currency)
    elif line.discount_amount is not None:
        discount = to_minor(line.discount_amount, currency)
    else:
        discount = to_minor(ZERO, currency)
    if discount > net:
        raise ValueError(_("The discount is larger than the line's net amount."))
    if line.price_includes_tax:
        gross = net - discount
        tax = to_minor(gross * line.tax_percent / (HUNDRED + line.tax_percent), currency)
        return Amounts(net=net - tax, discount=discount, tax=tax, total=gross)
    tax = to_minor((net - discount) * line.tax_percent / HUNDRED, currency)
    return Amounts(net=net, discount=discount, tax=tax, total=net - discount + tax)


def total_amounts(lines: Iterable[Amounts], currency: str) -> Amounts:
    lines = list(lines)
    zero = to_minor(ZERO, currency)
    return Amounts(
        net=sum((a.net for a in lines), zero),
        discount=sum((a.discount for a in lines), zero),
        tax=sum((a.tax for a in lines), zero),
        total=sum((a.total for a in lines), zero),
    )
