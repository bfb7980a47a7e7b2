"""Settlement: what a gateway payment does around its one ledger booking, by what it pays for.

``apply_state`` books the ledger payment; the handler registered for the payment's ``purpose`` says
which invoice the payment is allocated to, what else its success writes (a request completed, an
instalment paid), and how staff and payer hear of it. ``payments`` knows the fee (Take Payment); the
apps that start the other payments register their handler when Django starts (their
``AppConfig.ready``), so ``payments`` never imports them.
"""

from __future__ import annotations

from datetime import datetime

from finance.models import FinancialTransaction
from payments.models import GatewayPayment, PaymentPurpose


class Settlement:
    """A fee's settlement (Take Payment, or a payment on the account); other purposes override parts.

    Each method runs in ``apply_state``'s transaction, with the gateway payment locked.
    """

    purpose: str = PaymentPurpose.FEE
    # A failure is told to the staff member who started the payment, unless the payer retries on a
    # page of their own and its list shows the failure.
    tells_staff_of_failure = True

    def invoice_to_allocate(self, payment: GatewayPayment, at: datetime) -> FinancialTransaction | None:
        """The posted invoice the ledger payment is allocated to (``None``: an unallocated credit)."""
        return payment.invoice

    def settled(self, payment: GatewayPayment, at: datetime) -> None:
        """What the success writes besides the booking, once per payment."""

    def paid_for(self, payment: GatewayPayment) -> str:
        """What the payment paid, in words staff recognise."""
        invoice = payment.invoice
        if invoice is not None and invoice.type.fee_payer:
            return f"{invoice.type.name} {invoice.number}"
        if invoice is not None:
            return f"invoice {invoice.number}"
        return payment.description or payment.reference

    def payer_channels(self, payment: GatewayPayment, addresses: dict[str, bool]) -> list[str]:
        """How the payer is told: by email, or by SMS when they have no email."""
        for channel, reachable in addresses.items():
            if reachable:
                return [channel]
        return []

    def subject_ref(self, payment: GatewayPayment) -> str:
        """What the notifications are about, for the outbox's lists."""
        if payment.invoice_id is not None:
            return f"finance.financialtransaction:{payment.invoice_id}"
        return f"payments.gatewaypayment:{payment.pk}"


class CardOnFileSettlement(Settlement):
    """A charge of the card on file, without the customer: whoever set it up (billing) follows failures."""

    purpose = PaymentPurpose.CARD_ON_FILE
    tells_staff_of_failure = False

    def paid_for(self, payment: GatewayPayment) -> str:
        card = payment.saved_card
        return f"invoice {payment.invoice.number} ({card})" if payment.invoice is not None else str(card)


_HANDLERS: dict[str, Settlement] = {PaymentPurpose.FEE: Settlement(),
                                    PaymentPurpose.CARD_ON_FILE: CardOnFileSettlement()}


def register(handler: Settlement) -> None:
    """Make ``handler`` the settlement of its purpose (called from an app's ``ready``)."""
    _HANDLERS[handler.purpose] = handler


def settlement_for(payment: GatewayPayment) -> Settlement:
    """The handler of the payment's purpose.

    :raises LookupError: no app registered one (an app missing from ``INSTALLED_APPS``).
    """
    try:
        return _HANDLERS[payment.purpose]
    except KeyError:
        raise LookupError(f"No settlement is registered for {payment.purpose!r} payments.") from None
