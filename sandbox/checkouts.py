"""The sandbox's checkouts: reads, writes (one transaction each) and the signed events they send."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone
from django_scopes import scope

from crm.models import Tenant
from gateways import http, inbox, services
from gateways.base import InvalidWebhookSignature
from gateways.models import GatewayAccount
from sandbox.models import (
    SandboxCard,
    SandboxCheckout,
    SandboxMode,
    SandboxRefund,
    SandboxStatus,
    SavedCardBehaviour,
)

logger = logging.getLogger(__name__)

SUCCESS_CARD = "4242424242424242"
DECLINE_CARD = "4000000000000002"
PROCESSING_CARD = "4000000000000077"
# Pay at once; saved, a charge without the customer needs 3-D Secure, or is declined.
AUTHENTICATION_CARD = "4000002500003155"
DECLINE_LATER_CARD = "4000000000000341"
TEST_CARDS = {SUCCESS_CARD: "succeeds", DECLINE_CARD: "is declined", PROCESSING_CARD: "stays processing",
              AUTHENTICATION_CARD: "succeeds; saved, needs authentication",
              DECLINE_LATER_CARD: "succeeds; saved, is declined"}
SAVED_BEHAVIOUR = {AUTHENTICATION_CARD: SavedCardBehaviour.REQUIRES_AUTHENTICATION,
                   DECLINE_LATER_CARD: SavedCardBehaviour.DECLINED}
AUTHENTICATION_MESSAGE = "The card's bank asks the customer to authenticate this payment."
TEST_CARD_LIST = [(" ".join(number[i:i + 4] for i in range(0, 16, 4)), result)
                   for number, result in TEST_CARDS.items()]
DECLINE_MESSAGE = "Your card was declined."
SETTLE_FAILURE_MESSAGE = "The bank rejected the payment."
PAY_IN_4_CURRENCIES = frozenset({"GBP", "AUD", "CAD", "USD"})

NOT_PAYABLE = {
    SandboxStatus.SUCCEEDED: "This checkout has already been paid.",
    SandboxStatus.PROCESSING: "A payment for this checkout is already processing.",
    SandboxStatus.EXPIRED: "This checkout has expired and can no longer be paid.",
    SandboxStatus.CANCELLED: "This checkout was cancelled and can no longer be paid.",
    SandboxStatus.FAILED: "This payment failed; ask the merchant for a new payment link.",
}


# --- reads -------------------------------------------------------------------------------------------------

def get_checkout(*, tenant: Tenant, checkout_id: str) -> SandboxCheckout:
    """The tenant's checkout; 404 alike for a missing one and another tenant's."""
    checkout = SandboxCheckout.objects.with_scopes_disabled().filter(tenant=tenant, id=checkout_id).first()
    if checkout is None:
        raise Http404("No such sandbox checkout.")
    return checkout


def public_checkout(**lookup: str) -> SandboxCheckout:
    """A checkout reached by the payer through its unguessable id or client token."""
    checkout = SandboxCheckout.objects.with_scopes_disabled().filter(**lookup).first()
    if checkout is None:
        raise Http404("No such sandbox checkout.")
    return checkout


# --- writes: each one transaction; events leave after commit --------------------------------------------

class RequestInvalid(Exception):
    def __init__(self, field: str, message: str, *, code: str = "invalid_request", status: int = 400) -> None:
        super().__init__(message)
        self.field, self.message, self.code, self.status = field, message, code, status


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str = ""
    charged: bool = False  # this call moved the checkout on (as opposed to finding it not payable)


def create_checkout(*, account: GatewayAccount, values: dict[str, Any]) -> tuple[SandboxCheckout, bool]:
    """Create the checkout ``values`` (already checked) describe for ``account``'s tenant, or answer the one
    its reference created before. Returns the checkout and whether it is new.

    :raises RequestInvalid: the reference was used before with another amount, currency or mode (409).
    """
    same = ("amount_minor", "currency", "mode")
    existing = SandboxCheckout.objects.with_scopes_disabled().filter(
        tenant=account.tenant_id, reference=values["reference"]).first()
    if existing is None:
        try:
            with transaction.atomic():
                created = SandboxCheckout.objects.create(
                    id=_new_id("sbx_"), tenant_id=account.tenant_id, account=account,
                    client_token=_new_id("sbxct_") if values["mode"] == SandboxMode.CARD_FIELDS else "",
                    **values,
                )
            return created, True
        except IntegrityError:
            existing = SandboxCheckout.objects.with_scopes_disabled().get(
                tenant=account.tenant_id, reference=values["reference"])
    if any(getattr(existing, name) != values[name] for name in same):
        raise RequestInvalid("reference", "This reference was used for another checkout.", code="conflict",
                             status=409)
    return existing, False


def expire_if_due(*, checkout: SandboxCheckout, at: datetime) -> SandboxCheckout:
    """A pending checkout past its ``expires_at`` becomes expired (and says so by webhook)."""
    if not _due(checkout, at):
        return checkout
    with transaction.atomic():
        checkout = _locked(checkout.id)
        if _due(checkout, at):
            _move(checkout, SandboxStatus.EXPIRED, "checkout.expired", at)
    return checkout


@transaction.atomic
def pay_checkout(*, checkout_id: str, card_number: str, at: datetime, expiry: tuple[int, int] = (12, 2030)) -> Outcome:
    """Charge a sandbox test card to a checkout. The row is locked, so two payers at once charge once.
    A checkout that asked to save the card keeps it (``SandboxCard``) when the payment goes through.

    Declined: the attempt is counted and ``checkout.failed`` sent, and the checkout stays payable.
    Not payable (paid, processing, expired, cancelled): nothing changes, and the outcome says why.
    """
    checkout = _locked(checkout_id)
    if _due(checkout, at):
        _move(checkout, SandboxStatus.EXPIRED, "checkout.expired", at)
    if checkout.status != SandboxStatus.PENDING:
        return Outcome(status=checkout.status, message=NOT_PAYABLE[checkout.status])
    checkout.card_last4 = card_number[-4:]
    if card_number == DECLINE_CARD:
        checkout.failed_attempts += 1
        checkout.failure_message = DECLINE_MESSAGE
        checkout.save(update_fields=["card_last4", "failed_attempts", "failure_message", "updated_at"])
        _send_event(checkout, "checkout.failed", at)
        return Outcome(status=SandboxStatus.FAILED, message=DECLINE_MESSAGE, charged=True)
    checkout.failure_message = ""
    if checkout.save_card and checkout.card_id is None:
        checkout.card = SandboxCard.objects.create(
            id=_new_id("sbxpm_"), tenant_id=checkout.tenant_id, account_id=checkout.account_id, brand="visa",
            last4=card_number[-4:], exp_month=expiry[0], exp_year=expiry[1],
            behaviour=SAVED_BEHAVIOUR.get(card_number, SavedCardBehaviour.SUCCEEDS))
        checkout.save(update_fields=["card", "updated_at"])
    if card_number == PROCESSING_CARD:
        _move(checkout, SandboxStatus.PROCESSING, "checkout.processing", at)
        return Outcome(status=SandboxStatus.PROCESSING, message="Your payment is processing.", charged=True)
    _move(checkout, SandboxStatus.SUCCEEDED, "checkout.succeeded", at)
    return Outcome(status=SandboxStatus.SUCCEEDED, message="Payment received. Thank you.", charged=True)


@transaction.atomic
def settle_checkout(*, checkout_id: str, succeed: bool, at: datetime) -> Outcome:
    """What the bank does later with a processing payment: it succeeds (or fails, for good)."""
    checkout = _locked(checkout_id)
    if checkout.status != SandboxStatus.PROCESSING:
        return Outcome(status=checkout.status, message="Only a processing payment can be settled.")
    if succeed:
        _move(checkout, SandboxStatus.SUCCEEDED, "checkout.succeeded", at)
    else:
        checkout.failure_message = SETTLE_FAILURE_MESSAGE
        _move(checkout, SandboxStatus.FAILED, "checkout.failed", at)
    return Outcome(status=checkout.status, message=NOT_PAYABLE[checkout.status], charged=True)


@transaction.atomic
def cancel_checkout(*, checkout_id: str, at: datetime) -> Outcome:
    """The payer gives up: a pending checkout is cancelled for good."""
    checkout = _locked(checkout_id)
    if _due(checkout, at):
        _move(checkout, SandboxStatus.EXPIRED, "checkout.expired", at)
    if checkout.status != SandboxStatus.PENDING:
        return Outcome(status=checkout.status, message=NOT_PAYABLE[checkout.status])
    _move(checkout, SandboxStatus.CANCELLED, "checkout.cancelled", at)
    return Outcome(status=checkout.status, message=NOT_PAYABLE[checkout.status], charged=True)


@transaction.atomic
def refund_checkout(*, tenant: Tenant, checkout_id: str, amount_minor: int,
                    idempotency_key: str) -> tuple[SandboxRefund, bool]:
    """Refund part or all of a paid checkout; a repeated ``idempotency_key`` answers the first refund.

    :raises Http404: not the tenant's checkout.
    :raises RequestInvalid: not paid, or more than what is left to refund (402 ``refund_declined``).
    """
    checkout = get_checkout(tenant=tenant, checkout_id=checkout_id)
    checkout = _locked(checkout.id)
    refunds = SandboxRefund.objects.with_scopes_disabled().filter(tenant=tenant, checkout=checkout)
    existing = refunds.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if checkout.status != SandboxStatus.SUCCEEDED:
        raise RequestInvalid("amount_minor", "Only a paid checkout can be refunded.", code="refund_declined",
                             status=402)
    left = checkout.amount_minor - (refunds.aggregate(total=Sum("amount_minor"))["total"] or 0)
    if amount_minor > left:
        raise RequestInvalid("amount_minor", f"The refund exceeds the {left} minor units left to refund.",
                             code="refund_declined", status=402)
    refund = SandboxRefund.objects.create(id=_new_id("sbxre_"), tenant=tenant, checkout=checkout,
                                          amount_minor=amount_minor, idempotency_key=idempotency_key)
    return refund, True


def charge_card(*, account: GatewayAccount, card_id: str, values: dict[str, Any], at: datetime) -> SandboxCheckout:
    """Charge a saved card without the customer: a checkout in ``saved_card`` mode, settled at once and
    told by webhook like any other. A repeated reference answers the charge it made first.

    :raises Http404: not a card of this account's tenant, or removed.
    :raises RequestInvalid: the reference was used for another checkout (409).
    """
    card = SandboxCard.objects.with_scopes_disabled().filter(tenant=account.tenant_id, id=card_id,
                                                              removed=False).first()
    if card is None:
        raise Http404("No such card.")
    checkout, created = create_checkout(account=account, values=values | {
        "mode": SandboxMode.SAVED_CARD, "return_url": "", "cancel_url": "", "expires_at": None, "pay_in_4": False})
    if not created:
        return checkout
    with transaction.atomic():
        checkout = _locked(checkout.id)
        checkout.card, checkout.card_last4 = card, card.last4
        if card.behaviour == SavedCardBehaviour.SUCCEEDS:
            _move(checkout, SandboxStatus.SUCCEEDED, "checkout.succeeded", at)
        else:
            checkout.failure_message = (AUTHENTICATION_MESSAGE if card.behaviour
                                        == SavedCardBehaviour.REQUIRES_AUTHENTICATION else DECLINE_MESSAGE)
            _move(checkout, SandboxStatus.FAILED, "checkout.failed", at)
    return checkout


def charge_refusal(checkout: SandboxCheckout) -> RequestInvalid | None:
    """The error a failed charge of a saved card answers (402), or ``None`` when it went through."""
    if checkout.status != SandboxStatus.FAILED:
        return None
    code = "authentication_required" if checkout.failure_message == AUTHENTICATION_MESSAGE else "card_declined"
    return RequestInvalid("card", checkout.failure_message, code=code, status=402)


@transaction.atomic
def remove_card(*, account: GatewayAccount, card_id: str) -> None:
    """Forget a saved card; it refuses every later charge. :raises Http404: not this tenant's card."""
    if not SandboxCard.objects.with_scopes_disabled().filter(tenant=account.tenant_id, id=card_id).update(
            removed=True):
        raise Http404("No such card.")


def _locked(checkout_id: str) -> SandboxCheckout:
    return SandboxCheckout.objects.with_scopes_disabled().select_for_update().get(id=checkout_id)


def _due(checkout: SandboxCheckout, at: datetime) -> bool:
    return checkout.status == SandboxStatus.PENDING and checkout.expires_at is not None and checkout.expires_at <= at


def _move(checkout: SandboxCheckout, status: str, event_type: str, at: datetime) -> None:
    checkout.status = status
    checkout.save(update_fields=["status", "card_last4", "card", "failure_message", "updated_at"])
    _send_event(checkout, event_type, at)


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


# --- webhooks: what a remote provider would POST, handed to the inbox in-process ---------------------------

def _send_event(checkout: SandboxCheckout, event_type: str, at: datetime) -> None:
    account = GatewayAccount.objects.with_scopes_disabled().get(pk=checkout.account_id)
    body = json.dumps({
        "id": _new_id("sbxevt_"),
        "type": event_type,
        "data": {"id": checkout.id, "amount_minor": checkout.amount_minor, "currency": checkout.currency},
    }, separators=(",", ":")).encode()
    headers = signed_headers(secret=services.credentials_for(account=account).secret, body=body, at=at)
    transaction.on_commit(lambda: deliver_event(account_id=account.pk, headers=headers, body=body), robust=True)


def signed_headers(*, secret: str, body: bytes, at: datetime) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    signature = http.sign(secret, timestamp, body)
    return {"Content-Type": "application/json", "User-Agent": "Duly-Sandbox/1.0",
            "X-Sandbox-Timestamp": timestamp, "X-Sandbox-Signature": signature}


def deliver_event(*, account_id: int, headers: dict[str, str], body: bytes) -> None:
    """Deliver one event to the account's webhook inbox, as ``POST /webhooks/sandbox/<token>/`` would."""
    account = GatewayAccount.objects.with_scopes_disabled().select_related("tenant").get(pk=account_id)
    if not account.enabled:
        logger.info("Sandbox event for disabled account %s not delivered.", account.pk)
        return
    with scope(tenant=account.tenant):
        try:
            inbox.receive_webhook(account=account, headers=headers, body=body, at=timezone.now())
        except InvalidWebhookSignature:
            logger.warning("The inbox refused a sandbox event for account %s.", account.pk)
