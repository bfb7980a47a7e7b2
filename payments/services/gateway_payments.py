"""Gateway payments: start one, apply what the provider says (booking one ledger payment), re-poll
stale ones, and the bank's manual confirmation.

A provider is called outside any database transaction (its answer is stored in a second one), so a
slow provider holds no lock and a failing one leaves the payment pending and visible.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from core import l10n, tallies
from crm.models import User
from finance import services as ledger
from finance.models import (
    Account,
    Classification,
    FinancialTransaction,
    PaymentMethod,
    TransactionType,
)
from gateways import registry
from gateways.base import (
    CheckoutMode,
    CheckoutRequest,
    GatewayError,
    GatewayUnavailable,
    PaymentDeclined,
    PaymentState,
    from_minor_units,
    to_minor_units,
)
from gateways.base import PaymentStatus as Normalised
from gateways.models import GatewayAccount
from payments.models import GatewayPayment, PaymentEvent, PaymentPurpose, PaymentStatus
from payments.services.cards_kept import keep_card
from payments.services.confirmations import tell_staff
from payments.services.notices import wake_after_commit as wake_notices_after_commit
from payments.services.receipts import new_receipt_token
from payments.settlement import settlement_for

logger = logging.getLogger(__name__)
KEEP_CARD_TASK = "payments.keep_saved_card"
TRANSITIONS = {
    Normalised.PROCESSING: "mark_processing",
    Normalised.FAILED: "mark_failed",
    Normalised.CANCELLED: "mark_cancelled",
    Normalised.EXPIRED: "mark_expired",
}
DEFAULT_PAYMENT_METHOD = gettext_lazy("Card")  # named as the ledger set-up names it, in the tenant's language


class AttemptRefused(Exception):
    """A payer's attempt cannot start now (paid, cancelled, expired, under way); the message is safe to show."""


@dataclass(frozen=True)
class Checkout:
    """A recorded payment and the provider's client token for its card fields: a secret of the moment,
    handed to the page that asked and never stored (empty for a hosted page, or when the provider failed)."""

    payment: GatewayPayment
    client_token: str = ""


@dataclass(frozen=True)
class Applied:
    """A payment after a provider's status was applied, and the link token of the receipt that this
    application issued: handed to the caller once, never stored (empty unless it just succeeded)."""

    payment: GatewayPayment
    receipt_token: str = ""


def new_reference(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


# --- starting a payment ------------------------------------------------------------------------


@transaction.atomic
def record_payment(
    *, purpose: str, gateway_account: GatewayAccount, account: Account, amount: Decimal, description: str,
    mode: str, at: datetime, invoice: FinancialTransaction | None = None, expires_at: datetime | None = None,
    created_by: User | None = None, payment_request=None, invoice_pay_link=None, instalment=None,
    card_consent: dict | None = None, saved_card=None, reference: str = "",
) -> GatewayPayment:
    """Record a payment before its checkout is opened: what it is for (``purpose`` and its one link).
    ``card_consent`` (``saved_cards.consent``): the customer agreed to keep the card it is paid with,
    when the provider can."""
    if card_consent is not None and not registry.capabilities_of(gateway_account.provider).saved_cards:
        card_consent = None
    return GatewayPayment.objects.create(
        tenant_id=account.tenant_id, reference=reference or new_reference("dp"), purpose=purpose,
        gateway_account=gateway_account, card_consent=card_consent, saved_card=saved_card,
        provider=gateway_account.provider, account=account, invoice=invoice, amount=amount, currency=account.currency,
        mode=mode, description=description[:200], expires_at=expires_at, created_by=created_by, created_at=at,
        updated_at=at, payment_request=payment_request, invoice_pay_link=invoice_pay_link, instalment=instalment,
    )


def start_payment(
    *, gateway_account: GatewayAccount, account: Account, amount: Decimal, description: str, mode: str,
    return_url: str, webhook_url: str, at: datetime, invoice: FinancialTransaction | None = None,
    cancel_url: str = "", customer_email: str = "", expires_at: datetime | None = None, pay_in_4: bool = False,
    actor: User | None = None, card_consent: dict | None = None,
) -> Checkout:
    """Record a payment for a fee (Take Payment), then ask the provider for a checkout (a hosted page or card fields).

    A provider that is unavailable leaves the payment pending with the reason shown; a refusal marks
    it failed with the provider's message. Neither raises.

    :raises ValueError: the provider cannot take this currency or mode (the pages offer only what it can).
    :raises ValidationError: keyed ``invoice``: it is a fee due from a lender or provider, never taken
        from the customer (nothing is saved).
    """
    if invoice is not None and (refusal := invoice.lender_fee_refusal()):
        raise ValidationError({"invoice": refusal})
    capabilities = registry.capabilities_of(gateway_account.provider)
    if not capabilities.supports(mode=CheckoutMode(mode), currency=account.currency, pay_in_4=pay_in_4):
        raise ValueError(_("%(gateway_account)s cannot take %(currency)s this way.") % {
            "gateway_account": gateway_account, "currency": account.currency})
    payment = record_payment(
        purpose=PaymentPurpose.FEE, gateway_account=gateway_account, account=account, invoice=invoice, amount=amount,
        mode=mode, description=description, expires_at=expires_at, created_by=actor, at=at, card_consent=card_consent,
    )
    return open_checkout(payment=payment, return_url=return_url, webhook_url=webhook_url, at=at,
                          cancel_url=cancel_url, customer_email=customer_email, pay_in_4=pay_in_4)


def open_checkout(*, payment: GatewayPayment, return_url: str, webhook_url: str, at: datetime,
                   cancel_url: str = "", customer_email: str = "", pay_in_4: bool = False) -> Checkout:
    """Ask the provider for the checkout of a recorded payment; outside any transaction."""
    gateway_account, account, amount, description, mode, expires_at = (
        payment.gateway_account, payment.account, payment.amount, payment.description, payment.mode,
        payment.expires_at,
    )
    request = CheckoutRequest(
        reference=payment.reference, amount_minor=to_minor_units(amount, account.currency),
        currency=account.currency, description=description, mode=CheckoutMode(mode), return_url=return_url,
        cancel_url=cancel_url, customer_email=customer_email, expires_at=expires_at, pay_in_4=pay_in_4,
        webhook_url=webhook_url, save_card=payment.card_consent is not None,
    )
    try:
        checkout = registry.gateway_for(account=gateway_account).start_checkout(request)
    except GatewayUnavailable as error:
        message = _("The provider did not answer; the payment stays pending. (%(error)s)") % {"error": error}
        return Checkout(_note_problem(payment, message, at))
    except PaymentDeclined as error:
        return Checkout(apply_state(payment=payment, status=Normalised.FAILED, at=at, source="checkout",
                                    failure_message=str(error)).payment)
    except GatewayError as error:
        return Checkout(_note_problem(payment, _("The provider refused the request: %(error)s") % {"error": error}, at))
    with transaction.atomic():
        GatewayPayment.objects.filter(pk=payment.pk).update(
            provider_reference=checkout.provider_reference, redirect_url=checkout.redirect_url,
            expires_at=checkout.expires_at or expires_at, updated_at=at,
        )
    payment.refresh_from_db(fields=["provider_reference", "redirect_url", "expires_at", "updated_at"])
    return Checkout(payment, checkout.client_token or "")


@transaction.atomic
def _note_problem(payment: GatewayPayment, message: str, at: datetime) -> GatewayPayment:
    GatewayPayment.objects.filter(pk=payment.pk).update(failure_message=message[:300], updated_at=at)
    payment.refresh_from_db(fields=["failure_message", "updated_at"])
    return payment


# --- applying what the provider says -------------------------------------------------------------


@dataclass
class BookingSetup:
    """What a tenant's bookings read from its ledger set-up: each gateway account's payment method and the
    default payment type with the methods it allows. A batch of webhook deliveries reads them once for its
    bookings (a change of the set-up applies from the next batch); a single booking reads them itself."""

    methods: dict[int, PaymentMethod] = field(default_factory=dict)
    payment_types: dict[int, TransactionType | None] = field(default_factory=dict)

    def method_for(self, payment: GatewayPayment) -> PaymentMethod:
        gateway_account = payment.gateway_account
        if gateway_account.pk not in self.methods:
            with l10n.for_tenant(payment.tenant):
                name = gateway_account.settings.get("payment_method", str(DEFAULT_PAYMENT_METHOD))
            self.methods[gateway_account.pk], _created = PaymentMethod.objects.get_or_create(
                tenant=payment.tenant, name=name)
        return self.methods[gateway_account.pk]

    def payment_type(self, tenant_id: int) -> TransactionType | None:
        """The tenant's default payment type, its allowed methods read with it (``None``: the ledger says
        which type to choose)."""
        if tenant_id not in self.payment_types:
            self.payment_types[tenant_id] = TransactionType.objects.filter(
                tenant=tenant_id, classification=Classification.PAYMENT, is_default=True,
            ).prefetch_related("payment_methods").first()
        return self.payment_types[tenant_id]


def _draft(payment: GatewayPayment, at: datetime, *, actor: User | None, external_reference: str,
           setup: BookingSetup) -> FinancialTransaction:
    """The ledger payment of a succeeded gateway payment, drafted with the ledger's own validation."""
    invoice = payment.invoice
    return ledger.create_transaction(
        account=payment.account,
        classification=Classification.PAYMENT,
        actor=actor,
        at=at,
        data=ledger.TransactionData(
            type=setup.payment_type(payment.tenant_id),
            amount=payment.amount,
            payment_method=setup.method_for(payment),
            targets=[invoice] if invoice is not None else [],
            external_reference=external_reference or payment.provider_reference or payment.reference,
            issue_note=f"{payment.gateway_account.get_provider_display()} payment {payment.reference}",
        ),
    )


BOOKING = "SELECT * FROM payments_book_success(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"  # payments/sql/booking_v2.sql


def _book(payment: GatewayPayment, at: datetime, *, before: str, source: str, actor: User | None,
          external_reference: str, setup: BookingSetup) -> str:
    """Book the success of locked ``payment``: its ledger payment posted and allocated to what it paid
    for, the payment succeeded with its event, its receipt and its notice, in one call of the database's
    booking function. Returns the receipt link's token (shown once)."""
    actor = actor or payment.created_by
    draft = _draft(payment, at, actor=actor, external_reference=external_reference, setup=setup)
    receipt_token, receipt_token_hash = new_receipt_token()
    try:
        posted = next(iter(FinancialTransaction.objects.raw(BOOKING, [
            payment.pk, draft.pk, payment.invoice_id, before, getattr(actor, "pk", None), at, source,
            ledger.reallocation_reason(draft), receipt_token, receipt_token_hash])))
    except DatabaseError as error:
        raise ledger.posting_refusal(error, draft, payment.invoice) from error
    tallies.add_on_commit("postings", classification=posted.classification)
    posted.payment_method = draft.payment_method  # for what the page shows, without reading it again
    payment.mark_succeeded(ledger_payment=posted, at=at)  # the object follows what the function wrote
    payment.updated_at = at
    wake_notices_after_commit(tenant_id=payment.tenant_id)
    return receipt_token


@transaction.atomic
def apply_state(
    *, payment: GatewayPayment, status: str, at: datetime, source: str, failure_message: str = "",
    amount_minor: int | None = None, actor: User | None = None, external_reference: str = "",
) -> Applied:
    """Move a payment to what the provider says, once. A success books exactly one ledger payment;
    a success after a success, or anything after one, changes nothing; a status the payment cannot
    reach from where it is (a "processing" after a failure was final) is ignored.

    :raises ValueError: the provider reports a different amount for a success (nothing is booked).
    """
    locked = lock_payments(GatewayPayment.objects.filter(tenant=payment.tenant_id, pk=payment.pk)).get()
    return apply_to_locked(locked=locked, status=status, at=at, source=source, failure_message=failure_message,
                           amount_minor=amount_minor, actor=actor, external_reference=external_reference)


def lock_payments(payments: QuerySet[GatewayPayment]) -> QuerySet[GatewayPayment]:
    """``payments`` locked for ``apply_to_locked``, with what it reads. Not the gateway account's row: every
    webhook and checkout of that account inserts a row that refers to it, and would wait for the booking
    to commit."""
    return payments.select_for_update(of=("self", "account"), no_key=True).select_related(
        "tenant", "gateway_account", "account__customer")


def apply_to_locked(
    *, locked: GatewayPayment, status: str, at: datetime, source: str, failure_message: str = "",
    amount_minor: int | None = None, actor: User | None = None, external_reference: str = "",
    setup: BookingSetup | None = None,
) -> Applied:
    """``apply_state`` on a payment the caller locked in its transaction (``lock_payments``); ``setup``:
    the ledger set-up a batch of bookings shares. Writes nothing before it can raise ``ValueError``, so
    the caller's transaction can go on (not an ``atomic`` block of its own: leaving one by an exception
    would condemn the caller's transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("apply_to_locked runs in the transaction that locked the payment")
    locked.account.tenant = locked.tenant  # one tenant: the booking reads it once
    before = locked.status
    if before == PaymentStatus.SUCCEEDED or before == status:
        return Applied(locked)
    settlement = settlement_for(locked)
    if status == Normalised.SUCCEEDED:
        if amount_minor is not None and from_minor_units(amount_minor, locked.currency) != locked.amount:
            raise ValueError(
                _("%(reference)s: the provider reports %(reported)s %(currency)s, not %(amount)s.") % {
                    "reference": locked.reference, "reported": from_minor_units(amount_minor, locked.currency),
                    "currency": locked.currency, "amount": locked.amount}
            )
        # The invoice is saved on the payment: an instalment's is booked only now.
        locked.invoice = settlement.invoice_to_allocate(locked, at)
        receipt_token = _book(locked, at, before=before, source=source, actor=actor,
                              external_reference=external_reference, setup=setup or BookingSetup())
        settlement.settled(locked, at)
        if locked.card_consent is not None:
            transaction.on_commit(lambda: _enqueue_keep_card(locked), robust=True)
        return Applied(locked, receipt_token)  # the payer and staff are told after (payments.services.notices)
    if status in TRANSITIONS:
        move = getattr(locked, TRANSITIONS[status])
        if can_proceed(move) and status == Normalised.FAILED:
            move(message=failure_message or _("The payment failed."))
        elif can_proceed(move):
            move()
    if locked.status == before:
        return Applied(locked)
    locked.updated_at = at
    locked.save()
    PaymentEvent.objects.create(tenant_id=locked.tenant_id, payment=locked, from_status=before,
                                to_status=locked.status, source=source[:60], at=at)
    if locked.status == PaymentStatus.FAILED and locked.created_by_id and settlement.tells_staff_of_failure:
        tell_staff(payment=locked, at=at)
    return Applied(locked)


def _enqueue_keep_card(payment: GatewayPayment) -> None:
    """The card the customer agreed to save is asked of the provider by a task (``saved_cards.keep_card_of``)."""
    kwargs = {"tenant_id": payment.tenant_id, "payment_id": payment.pk}
    current_app.send_task(KEEP_CARD_TASK, kwargs=kwargs, declare=[])


def record_bank_confirmation(
    *, payment: GatewayPayment, bank_reference: str, actor: User, at: datetime
) -> Applied:
    """The manual path of a bank email-pay provider (Credicorp): an accountant records the bank's
    confirmation, which books the same single ledger payment a callback would. A callback arriving
    afterwards, or a second confirmation, changes nothing.

    :raises ValidationError: no bank reference, or the payment already succeeded.
    """
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise ValidationError({"bank_reference": _("Enter the bank's reference for the payment.")})
    if payment.status == PaymentStatus.SUCCEEDED:
        raise ValidationError({"bank_reference": _("%(reference)s is already paid.") % {
            "reference": payment.reference}})
    return apply_state(payment=payment, status=Normalised.SUCCEEDED, at=at, actor=actor,
                       source=_("bank confirmation by %(get_username)s") % {
                           "get_username": actor.get_username()}, external_reference=bank_reference)


def fetch_provider_state(payment: GatewayPayment) -> PaymentState:
    """Ask the provider (outside any transaction) where the payment stands."""
    return registry.gateway_for(account=payment.gateway_account).fetch_status(payment.provider_reference)


def refresh_payment(*, payment: GatewayPayment, at: datetime, source: str = "poll") -> Applied:
    """Fetch the payment's status from its provider and apply it.

    :raises GatewayUnavailable: the provider did not answer (the caller retries later).
    """
    if not payment.provider_reference:
        return Applied(payment)
    state = fetch_provider_state(payment)
    GatewayPayment.objects.filter(pk=payment.pk).update(last_checked_at=at)
    status = state.status
    if status == Normalised.PENDING and state.failure_message:
        # A provider that keeps a checkout open after a declined card (the sandbox does) reports the
        # decline as its last failure: this attempt failed, and a later success still wins.
        status = Normalised.FAILED
    applied = apply_state(payment=payment, status=status, at=at, source=source,
                          failure_message=state.failure_message, amount_minor=state.amount_minor)
    if applied.payment.status == PaymentStatus.SUCCEEDED and applied.payment.card_consent and state.saved_card:
        keep_card(payment=applied.payment, card=state.saved_card, at=at)  # at once: the payer sees it in the portal
    return applied


# --- the janitor ---------------------------------------------------------------------------------


def stale_payments(*, older_than: timedelta, at: datetime):
    """Payments still pending or processing, with a provider reference, untouched for ``older_than``."""
    return GatewayPayment.objects.filter(
        status__in=[PaymentStatus.PENDING, PaymentStatus.PROCESSING], updated_at__lt=at - older_than,
    ).exclude(provider_reference="").filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=at - older_than))
