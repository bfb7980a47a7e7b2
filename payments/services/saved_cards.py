"""Cards on file: the customer's consent, the cards kept, removing one, and charging one without the customer
(through ``apply_state``, as every webhook). See ``docs/billing.md``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from core.clock import tenant_today
from crm.models import Customer, User
from finance.models import FinancialTransaction
from gateways import registry
from gateways.base import (
    AuthenticationRequired,
    CardCharge,
    GatewayError,
    GatewayUnavailable,
    PaymentDeclined,
    to_minor_units,
)
from gateways.base import PaymentStatus as Normalised
from payments.models import GatewayPayment, PaymentPurpose, PaymentStatus, SavedCard
from payments.services.cards_kept import keep_card
from payments.services.gateway_payments import (
    _note_problem,
    apply_state,
    fetch_provider_state,
    record_payment,
)


def consent_text(*, tenant_name: str) -> str:
    """What the customer agrees to, in the active language; recorded word for word with the card."""
    return _("Save this card so that %(tenant)s can charge it for future invoices and instalments on their due "
             "date. You can remove it at any time from your portal.") % {"tenant": tenant_name}


def consent(*, source: str, text: str, at: datetime, ip: str = "") -> dict:
    """The record of a customer's consent, kept on the payment until its card is kept."""
    return {"source": source, "text": text, "at": at.isoformat(), "ip": ip or None}


# --- keeping a card ----------------------------------------------------------------------------------


def keep_card_of(*, payment: GatewayPayment, at: datetime) -> SavedCard | None:
    """Ask the provider (outside any transaction) which card it kept for the payment, and record it.

    :raises GatewayUnavailable: the provider did not answer (the task retries).
    """
    if not payment.card_consent or payment.status != PaymentStatus.SUCCEEDED:
        return None
    existing = SavedCard.objects.filter(tenant=payment.tenant_id, first_payment=payment).first()
    if existing is not None:
        return existing
    state = fetch_provider_state(payment)
    if state.saved_card is None:
        return None
    return keep_card(payment=payment, card=state.saved_card, at=at)


def payments_with_card_to_keep():
    """Succeeded payments whose customer agreed and whose card is not recorded (their task was lost)."""
    return GatewayPayment.objects.filter(status=PaymentStatus.SUCCEEDED, card_consent__isnull=False,
                                         kept_card__isnull=True)


# --- reading and removing ----------------------------------------------------------------------------


def cards_of(*, customer: Customer, include_removed: bool = False):
    cards = SavedCard.objects.filter(tenant=customer.tenant_id, customer=customer)
    return cards if include_removed else cards.filter(removed_at__isnull=True)


def card_to_charge(*, customer: Customer, currency: str, at: datetime) -> SavedCard | None:
    """The newest card on file that can be charged in ``currency`` now: not removed, not expired, through
    an enabled gateway account that takes the currency."""
    today = tenant_today(customer.tenant, at)
    for card in cards_of(customer=customer).select_related("gateway_account"):
        account = card.gateway_account
        if card.expired(today) or not account.enabled:
            continue
        if currency in registry.capabilities_of(account.provider).currencies and (
                not account.currencies or currency in account.currencies):
            return card
    return None


def remove_card(*, card: SavedCard, via: str, actor: User | None, at: datetime) -> SavedCard:
    """Remove a card: Duly never charges it again from the moment this commits; then the provider is asked
    to forget it (a provider that does not answer is asked again by the janitor).

    Charges lock the card row, so a charge under way either finished before or sees it removed."""
    with transaction.atomic():
        locked = SavedCard.objects.select_for_update().get(tenant=card.tenant_id, pk=card.pk)
        if locked.removed_at is None:
            locked.removed_at, locked.removed_via, locked.removed_by = at, via, actor
            locked.save(update_fields=["removed_at", "removed_via", "removed_by"])
    forget_at_provider(card=locked)
    return locked


def forget_at_provider(*, card: SavedCard) -> bool:
    """Ask the provider to forget a removed card; ``True`` once it has."""
    if card.forgotten_by_provider:
        return True
    try:
        registry.gateway_for(account=card.gateway_account).remove_saved_card(card.token)
    except GatewayError:
        return False
    SavedCard.objects.filter(pk=card.pk).update(forgotten_by_provider=True)
    return True


def cards_to_forget():
    return SavedCard.objects.filter(removed_at__isnull=False, forgotten_by_provider=False)


# --- charging ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChargeOutcome:
    """``succeeded``, ``processing``, ``authentication_required``, ``declined``, ``removed`` (the card was
    removed before the charge; nothing was sent) or ``unavailable`` (the provider did not answer; the same
    payment is charged again later with the same reference)."""

    result: str
    payment: GatewayPayment | None = None
    message: str = ""


def record_card_charge(*, card: SavedCard, account, amount, description: str, at: datetime, reference: str,
                       invoice: FinancialTransaction | None = None, instalment=None) -> GatewayPayment | None:
    """Record the charge of ``card`` for a recurring ``invoice`` or an obligation's ``instalment`` (``None``
    when the card was removed), under the card's row lock. ``reference`` is the attempt's own, so recording
    it twice answers the first. An instalment's charge settles as any payment of an instalment does."""
    with transaction.atomic():
        locked = SavedCard.objects.select_for_update().select_related("gateway_account").get(
            tenant=card.tenant_id, pk=card.pk)
        if locked.removed_at is not None:
            return None
        existing = GatewayPayment.objects.filter(tenant=card.tenant_id, reference=reference).first()
        if existing is not None:
            return existing
        return record_payment(
            purpose=PaymentPurpose.INSTALMENT if instalment is not None else PaymentPurpose.CARD_ON_FILE,
            gateway_account=locked.gateway_account, account=account, invoice=invoice, amount=amount,
            description=description, mode="saved_card", at=at, saved_card=locked, instalment=instalment,
            reference=reference,
        )


def charge_saved_card(*, payment: GatewayPayment, webhook_url: str, at: datetime) -> ChargeOutcome:
    """Charge a recorded card-on-file payment now (outside any transaction) and apply the answer."""
    card = SavedCard.objects.select_related("gateway_account").get(tenant=payment.tenant_id, pk=payment.saved_card_id)
    if card.removed_at is not None:
        return ChargeOutcome("removed", payment)
    if payment.status == PaymentStatus.SUCCEEDED:
        return ChargeOutcome("succeeded", payment)
    charge = CardCharge(reference=payment.reference, card_token=card.token,
                        amount_minor=to_minor_units(payment.amount, payment.currency), currency=payment.currency,
                        description=payment.description, webhook_url=webhook_url)
    try:
        state = registry.gateway_for(account=card.gateway_account).charge_saved_card(charge)
    except GatewayUnavailable as error:
        message = _("The provider did not answer; the charge is tried again. (%(error)s)") % {"error": error}
        return ChargeOutcome("unavailable", _note_problem(payment, message, at), message)
    except AuthenticationRequired as error:
        applied = apply_state(payment=payment, status=Normalised.FAILED, at=at, source="card on file",
                              failure_message=str(error))
        return ChargeOutcome("authentication_required", applied.payment, str(error))
    except PaymentDeclined as error:
        applied = apply_state(payment=payment, status=Normalised.FAILED, at=at, source="card on file",
                              failure_message=str(error))
        return ChargeOutcome("declined", applied.payment, str(error))
    except GatewayError as error:
        applied = apply_state(payment=payment, status=Normalised.FAILED, at=at, source="card on file",
                              failure_message=str(error))
        return ChargeOutcome("declined", applied.payment, str(error))
    with transaction.atomic():
        GatewayPayment.objects.filter(pk=payment.pk).update(provider_reference=state.provider_reference, updated_at=at)
    payment.provider_reference = state.provider_reference
    try:
        applied = apply_state(payment=payment, status=state.status, at=at, source="card on file",
                              amount_minor=state.amount_minor)
    except ValueError as error:  # the provider charged another amount: nothing booked, left pending and visible
        return ChargeOutcome("unavailable", _note_problem(payment, str(error), at), str(error))
    result = "succeeded" if applied.payment.status == PaymentStatus.SUCCEEDED else "processing"
    return ChargeOutcome(result, applied.payment)
