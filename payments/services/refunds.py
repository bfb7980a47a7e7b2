"""Refunds: our record first, its idempotency key to the provider, then the ledger refund.

A refund's record is created under the payment's row lock, so what is refunded never exceeds the
payment, however many people press Refund at once. Choices: ``docs/decisions/refunds.md``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from djmoney.money import Money

from core import l10n
from crm.models import User
from finance import services as ledger
from finance.amounts import NotAnAmount, parse_plain
from finance.exceptions import ActionNotAllowed
from finance.models import AccountState, RefundMethod
from gateways import registry
from gateways.base import (
    GatewayError,
    GatewayUnavailable,
    RefundRequest,
    to_minor_units,
)
from payments.models import GatewayPayment, GatewayRefund, PaymentStatus, RefundStatus
from payments.selectors import left_to_refund
from payments.services.gateway_payments import new_reference

DEFAULT_REFUND_METHOD = gettext_lazy("Card refund")  # as the ledger set-up names it, in the tenant's language
# Longer than any provider call may take (every call has a timeout), so a claim left by a process that
# died mid-call lapses and the refund can be retried.
SENDING_CLAIM = timedelta(minutes=2)
# Payment managers and accountants refund; an API key acts for its whole tenant.
REFUND_PERMISSIONS = ("crm.manage_payments", "crm.post_transactions")


class RefundUnconfirmed(GatewayUnavailable):
    """The provider did not answer: the refund stays requested (``refund``, with why), and a retry sends
    the same idempotency key again."""

    def __init__(self, refund: GatewayRefund, message: str) -> None:
        super().__init__(message)
        self.refund = refund


def may_refund(user: User) -> bool:
    return any(user.has_perm(permission) for permission in REFUND_PERMISSIONS)


def _check_actor(actor: User | None) -> None:
    if actor is not None and not may_refund(actor):
        raise PermissionDenied(_("Only payment managers and accountants refund payments."))


def parse_refund_amount(value, *, currency: str) -> Decimal:
    """:raises ValidationError: keyed ``amount``: not an amount, not positive, or finer than a cent."""
    try:
        amount = parse_plain(value)
    except NotAnAmount as refusal:
        raise ValidationError({"amount": str(refusal) if refusal.too_large
                               else _("Enter an amount such as 20.00.")}) from None
    if amount <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    try:
        to_minor_units(amount, currency)
    except ValueError:
        raise ValidationError({"amount": _("The amount has more decimal places than %(currency)s allows.") % {
            "currency": currency}}) from None
    return amount


def _check_refundable(payment: GatewayPayment, amount: Decimal, *, retrying: GatewayRefund | None = None) -> None:
    """Under the payment's row lock. :raises ActionNotAllowed, ValidationError: see ``refund_payment``."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise ActionNotAllowed(_("Only a succeeded payment can be refunded; this one is %(lower)s.") % {
            "lower": payment.get_status_display().lower()})
    capabilities = registry.capabilities_of(payment.provider)
    if not capabilities.refunds:
        raise ActionNotAllowed(_("%(get_provider_display)s does not take refunds through Duly.") % {
            "get_provider_display": payment.gateway_account.get_provider_display()})
    if payment.account.state == AccountState.TERMINATED:
        raise ActionNotAllowed(_("The account %(account)s is terminated; no refund can be booked on it.") % {
            "account": payment.account})
    left = left_to_refund(payment=payment, leaving_out=retrying)
    if left <= 0:
        raise ActionNotAllowed(_("%(reference)s is refunded in full; nothing is left to refund.") % {
            "reference": payment.reference})
    if amount > left:
        raise ValidationError({"amount": _("At most %(Money)s can still be refunded.") % {
            "Money": Money(left, payment.currency)}})
    if amount != payment.amount and not capabilities.partial_refunds:
        raise ValidationError({"amount": _("%(provider)s refunds only in full: %(amount)s.") % {
            "provider": payment.gateway_account.get_provider_display(),
            "amount": Money(payment.amount, payment.currency)}})


def _lock_payment(payment: GatewayPayment) -> GatewayPayment:
    return GatewayPayment.objects.select_for_update(of=("self",)).select_related(
        "account", "gateway_account").get(tenant=payment.tenant_id, pk=payment.pk)


@transaction.atomic
def _request_refund(*, payment: GatewayPayment, amount, actor: User | None, at: datetime,
                    requested_via: str) -> GatewayRefund:
    locked = _lock_payment(payment)
    amount = parse_refund_amount(amount, currency=locked.currency)
    _check_refundable(locked, amount)
    return GatewayRefund.objects.create(
        tenant_id=locked.tenant_id, payment=locked, amount=amount, idempotency_key=new_reference("rf"),
        created_by=actor, requested_via=requested_via[:100], created_at=at, sending_until=at + SENDING_CLAIM,
    )


def refund_payment(
    *, payment: GatewayPayment, amount: Decimal | str, actor: User | None, at: datetime, requested_via: str = "",
) -> GatewayRefund:
    """Refund part or all of a succeeded payment: our record first, then the provider (with the
    record's idempotency key), then the ledger refund. ``actor`` is ``None`` for an API key, named by
    ``requested_via``.

    :raises PermissionDenied: ``actor`` is neither a payment manager nor an accountant.
    :raises ValidationError: keyed ``amount``: not a positive amount in cents, more than is left to
        refund, or a part of a payment whose provider refunds only in full. Nothing is saved.
    :raises ActionNotAllowed: the payment did not succeed, is refunded in full, its provider takes no
        refunds, or its account is terminated. Nothing is saved.
    :raises RefundUnconfirmed: (a ``GatewayUnavailable``) the provider did not answer; the refund
        stays requested, and ``retry_refund`` sends the same key again.
    """
    _check_actor(actor)
    refund = _request_refund(payment=payment, amount=amount, actor=actor, at=at, requested_via=requested_via)
    return _send(refund, at)


@transaction.atomic
def _reopen(refund: GatewayRefund) -> GatewayRefund:
    locked_payment = _lock_payment(refund.payment)
    locked = GatewayRefund.objects.select_for_update().get(tenant=refund.tenant_id, pk=refund.pk)
    if locked.status != RefundStatus.FAILED:
        return locked
    _check_refundable(locked_payment, locked.amount, retrying=locked)
    # The provider refused the refund under the old key and refunded nothing; under it, a provider that
    # remembers answers (Stripe keeps them a day) would only repeat the refusal.
    locked.status, locked.idempotency_key, locked.failure_message = (
        RefundStatus.REQUESTED, new_reference("rf"), "")
    locked.save(update_fields=["status", "idempotency_key", "failure_message"])
    return locked


def retry_refund(*, refund: GatewayRefund, at: datetime, actor: User | None = None) -> GatewayRefund:
    """Send a refund that did not go through to the provider again. One whose outcome is unknown (the
    provider did not answer) goes with the same idempotency key, so it never refunds twice; one the
    provider refused goes with a new key, if what is left to refund still allows it. A refund that
    succeeded is returned as it is.

    :raises PermissionDenied: ``actor`` is neither a payment manager nor an accountant.
    :raises ValidationError: keyed ``amount``: a refused refund is now more than is left to refund.
    :raises ActionNotAllowed: as ``refund_payment``, for a refused refund.
    :raises ActionNotAllowed: another request is sending this refund to the provider right now.
    :raises RefundUnconfirmed: the provider did not answer (again); the refund stays requested.
    """
    _check_actor(actor)
    if refund.status == RefundStatus.SUCCEEDED:
        return refund
    if refund.status == RefundStatus.FAILED:
        refund = _reopen(refund)
        if refund.status != RefundStatus.REQUESTED:
            return refund
    if not _claim(refund, at):
        return refund
    return _send(refund, at)


@transaction.atomic
def _claim(refund: GatewayRefund, at: datetime) -> bool:
    """Take the refund for this request alone until the provider has answered.

    Two Retries at once would otherwise both send it; if the provider refused one of them for the
    clash, the refund would be marked refused and retried under a new key while the other went
    through: refunded twice.
    """
    claimed = GatewayRefund.objects.filter(
        Q(sending_until__isnull=True) | Q(sending_until__lte=at), pk=refund.pk, status=RefundStatus.REQUESTED,
    ).update(sending_until=at + SENDING_CLAIM)
    if claimed:
        return True
    refund.refresh_from_db()
    if refund.status == RefundStatus.REQUESTED:
        raise ActionNotAllowed(_("This refund is with the provider now; its outcome shows here in a moment."))
    return False  # another request settled it meanwhile


def _send(refund: GatewayRefund, at: datetime) -> GatewayRefund:
    """Ask the provider for the refund, outside any transaction; store its answer in another."""
    payment = refund.payment
    try:
        result = registry.gateway_for(account=payment.gateway_account).refund(RefundRequest(
            provider_reference=payment.provider_reference, amount_minor=to_minor_units(refund.amount, payment.currency),
            currency=payment.currency, idempotency_key=refund.idempotency_key,
        ))
    except GatewayUnavailable as error:
        _note_unanswered(refund, _("The provider did not answer (%(error)s); Retry sends the same request again.") % {
            "error": error})
        raise RefundUnconfirmed(refund, str(error)) from error
    except (GatewayError, ValueError) as error:  # PaymentDeclined included: the provider said no
        return _refund_failed(refund, str(error) or _("The provider refused the refund."))
    return _refund_done(refund, result.refund_reference, result.succeeded, at)


@transaction.atomic
def _note_unanswered(refund: GatewayRefund, message: str) -> None:
    GatewayRefund.objects.filter(pk=refund.pk, status=RefundStatus.REQUESTED).update(
        failure_message=message[:300], sending_until=None)
    refund.refresh_from_db()


@transaction.atomic
def _refund_failed(refund: GatewayRefund, message: str) -> GatewayRefund:
    GatewayRefund.objects.filter(pk=refund.pk, status=RefundStatus.REQUESTED).update(
        status=RefundStatus.FAILED, failure_message=message[:300], sending_until=None,
    )
    refund.refresh_from_db()
    return refund


@transaction.atomic
def _refund_done(refund: GatewayRefund, reference: str, succeeded: bool, at: datetime) -> GatewayRefund:
    locked = GatewayRefund.objects.select_for_update().select_related("payment__account").get(pk=refund.pk)
    if locked.status == RefundStatus.SUCCEEDED:
        return locked
    if not succeeded:
        return _refund_failed(locked, _("The provider did not accept the refund."))
    with l10n.for_tenant(locked.payment.account.tenant):
        name = locked.payment.gateway_account.settings.get("refund_method", str(DEFAULT_REFUND_METHOD))
    method, _created = RefundMethod.objects.get_or_create(tenant_id=locked.tenant_id, name=name)
    posted = ledger.refund(
        account=locked.payment.account, amount=locked.amount, refund_method=method, actor=locked.created_by, at=at,
        external_reference=reference, issue_note=_("Refund of %(reference)s") % {"reference": locked.payment.reference},
    ).transaction
    locked.status = RefundStatus.SUCCEEDED
    locked.provider_refund_reference = reference
    locked.failure_message = ""
    locked.sending_until = None
    locked.ledger_refund = posted
    locked.save()
    return locked
