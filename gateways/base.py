"""The one interface every payment provider implements, and the data that crosses it.

Framework-free on purpose (an import-linter contract keeps it so): provider modules import this and
their HTTP client, nothing of Django or of the other apps. Amounts cross as integer minor units in
frozen dataclasses; statuses are normalised to :class:`PaymentStatus`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, DecimalException, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol

# ISO 4217 exponents of the currencies Duly supports (and a few more that providers commonly take).
CURRENCY_EXPONENT = {"EUR": 2, "GBP": 2, "USD": 2, "PAB": 2, "AUD": 2, "CAD": 2, "NZD": 2, "JPY": 0}


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


FINAL_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELLED,
                            PaymentStatus.EXPIRED})


class CheckoutMode(StrEnum):
    HOSTED_PAGE = "hosted_page"
    CARD_FIELDS = "card_fields"


def to_minor_units(amount: Decimal, currency: str) -> int:
    """``Decimal("12.34")`` EUR → ``1234``. Refuses an amount finer than the currency's minor unit.

    :raises ValueError: the amount has more decimals than the currency allows, or the currency is unknown.
    """
    exponent = CURRENCY_EXPONENT.get(currency)
    if exponent is None:
        raise ValueError(f"Unsupported currency {currency!r}.")
    if not amount.is_finite():
        raise ValueError(f"{amount} is not an amount.")
    try:
        scaled = amount.scaleb(exponent)
        whole = scaled == scaled.to_integral_value()
    except DecimalException:  # beyond what decimal arithmetic can hold: no amount anyone pays
        raise ValueError(f"{amount} is out of range.") from None
    if not whole:
        raise ValueError(f"{amount} has more decimals than {currency} allows.")
    return int(scaled)


def minor_units_or_none(amount: Any, currency: str) -> int | None:
    """A provider's decimal amount (a number or its text) in minor units; ``None`` when it gives none or
    something that is not an amount of ``currency``."""
    if amount is None or not currency:
        return None
    try:
        return to_minor_units(Decimal(str(amount)), currency)
    except (InvalidOperation, ValueError):
        return None


def from_minor_units(minor: int, currency: str) -> Decimal:
    exponent = CURRENCY_EXPONENT.get(currency)
    if exponent is None:
        raise ValueError(f"Unsupported currency {currency!r}.")
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do; the UI offers only these."""

    hosted_page: bool
    card_fields: bool
    refunds: bool
    partial_refunds: bool
    currencies: frozenset[str]
    pay_in_4_currencies: frozenset[str] = frozenset()
    capture: bool = False
    saved_cards: bool = False  # keeps a card while the customer pays, and charges it later without them

    def supports(self, *, mode: CheckoutMode, currency: str, pay_in_4: bool = False) -> bool:
        if currency not in self.currencies:
            return False
        if pay_in_4 and currency not in self.pay_in_4_currencies:
            return False
        return self.hosted_page if mode == CheckoutMode.HOSTED_PAGE else self.card_fields


@dataclass(frozen=True)
class Credentials:
    """A tenant's account with a provider, decrypted for the call and never logged."""

    provider: str
    live: bool
    secret: str
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckoutRequest:
    reference: str  # ours, unique per payment attempt; also the idempotency key
    amount_minor: int
    currency: str
    description: str
    mode: CheckoutMode
    return_url: str
    cancel_url: str = ""
    customer_email: str = ""
    expires_at: datetime | None = None
    pay_in_4: bool = False
    webhook_url: str = ""
    save_card: bool = False  # the customer agreed to keep the card for payments without them


@dataclass(frozen=True)
class Checkout:
    provider_reference: str
    status: PaymentStatus
    redirect_url: str = ""  # hosted page: where the payer goes
    client_token: str = ""  # card fields: what the provider's script needs
    expires_at: datetime | None = None


@dataclass(frozen=True)
class PaymentState:
    provider_reference: str
    status: PaymentStatus
    amount_minor: int | None = None
    currency: str = ""
    provider_status: str = ""  # the provider's own word, kept for support
    failure_message: str = ""
    saved_card: SavedCard | None = None  # the card the provider kept, when the checkout asked it to


@dataclass(frozen=True)
class SavedCard:
    """A card the provider keeps: its token (the provider's own reference, never card data) and what the
    customer recognises it by."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class CardCharge:
    """A charge of a saved card with the customer absent (merchant-initiated)."""

    reference: str  # ours, unique per attempt; also the idempotency key
    card_token: str
    amount_minor: int
    currency: str
    description: str
    webhook_url: str = ""


@dataclass(frozen=True)
class RefundRequest:
    provider_reference: str
    amount_minor: int
    currency: str
    idempotency_key: str


@dataclass(frozen=True)
class RefundResult:
    refund_reference: str
    succeeded: bool


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    event_type: str
    provider_reference: str
    status: PaymentStatus | None  # None: an event Duly does not act on (stored, ignored)
    amount_minor: int | None = None
    currency: str = ""
    needs_confirmation: bool = False  # unsigned webhooks: fetch the status back before acting


class GatewayError(Exception):
    """Base of the three errors a gateway raises."""


class PaymentDeclined(GatewayError):
    """Expected: the provider refused the payment; the message is safe to show the payer."""


class GatewayUnavailable(GatewayError):
    """Timeouts, connection errors, 5xx and garbage answers: the only retryable error."""


class AuthenticationRequired(PaymentDeclined):
    """The card's bank wants the customer present (3-D Secure): a charge without them cannot go through."""


class InvalidWebhookSignature(GatewayError):
    """A webhook whose signature is missing, wrong or stale."""


class Capturing(Protocol):
    """A provider that can authorise first and capture later (``Capabilities.capture``)."""

    def capture(self, provider_reference: str, amount_minor: int | None = None) -> PaymentState:
        """Capture an authorised payment, in full or (``amount_minor``) in part.

        :raises GatewayError: nothing to capture (not authorised, or already captured).
        :raises GatewayUnavailable: the provider did not answer.
        """
        ...


class ChargingSavedCards(Protocol):
    """A provider that keeps cards (``Capabilities.saved_cards``) and charges them without the customer."""

    def charge_saved_card(self, charge: CardCharge) -> PaymentState:
        """Charge ``charge.card_token`` now; the answer's status is final (succeeded) or processing.

        :raises AuthenticationRequired: the bank asks for the customer (3-D Secure).
        :raises PaymentDeclined: the card was declined.
        :raises GatewayUnavailable: the provider did not answer (retry with the same reference).
        """
        ...

    def remove_saved_card(self, card_token: str) -> None:
        """Ask the provider to forget the card; a card it no longer knows counts as removed.

        :raises GatewayUnavailable: the provider did not answer.
        """
        ...


class Gateway(Protocol):
    name: str
    capabilities: Capabilities

    def start_checkout(self, request: CheckoutRequest) -> Checkout: ...

    def fetch_status(self, provider_reference: str) -> PaymentState: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookEvent: ...

    def check_connection(self) -> None:
        """One cheap authenticated call ("test connection").

        :raises GatewayError: the provider refused the credentials (the message says why).
        :raises GatewayUnavailable: the provider did not answer.
        """
        ...
