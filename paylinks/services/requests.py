"""Payment requests: sent by email and/or SMS with a link that works for 24 hours."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django_fsm import can_proceed
from django_scopes import scope, scopes_disabled
from djmoney.money import Money

from core.clock import local_time
from core.l10n import for_customer
from core.l10n import money as format_money
from core.tokens import hash_token, new_token
from crm.models import Customer, User
from finance.amounts import NotAnAmount, parse_plain
from finance.models import Account, Classification, FinancialTransaction, TransactionState
from gateways import registry
from gateways import selectors as gateway_selectors
from gateways.base import (
    CheckoutMode,
)
from gateways.models import GatewayAccount, Purpose
from notifications.services import notify
from paylinks.models import PaymentRequest, RequestChannel, RequestStatus
from paylinks.services.records import PAYER_STATUS_TEXT, log_request
from payments.models import PaymentPurpose, PaymentStatus
from payments.services.gateway_payments import AttemptRefused, Checkout, open_checkout, record_payment

# --- payment requests ----------------------------------------------------------------------------
#
# A request is sent by email and/or SMS with a link /pay/<token>/; the token (256 random bits) travels
# only in the link and only its SHA-256 is stored. The link works for 24 hours; resending rotates it.

REQUEST_LIFETIME = timedelta(hours=24)
MAX_REFERENCE = 100
MAX_MESSAGE = 1000


def pay_link(token: str) -> str:
    return settings.DULY_SITE_URL.rstrip("/") + reverse("pay:page", kwargs={"token": token})


def _send_link(*, request: PaymentRequest, token: str, actor: User | None, at: datetime) -> None:
    with for_customer(request.customer):
        notify(
            tenant=request.tenant, event_key=f"payment_request:{request.pk}:link:{request.token_hash[:16]}",
            template_key="payment_request", channels=list(request.channels), customer=request.customer,
            context={"pay_link": pay_link(token), "amount": format_money(request.amount, request.currency),
                     "currency": request.currency, "link_expires": local_time(request.tenant, request.expires_at),
                     "due_date": local_time(request.tenant, request.expires_at),
                     "request.reference": request.reference, "request.message": request.message,
                     "invoice.number": request.invoice.number if request.invoice_id else ""},
            subject_ref=f"payments.paymentrequest:{request.pk}", actor=actor, urgent=True, at=at,
        )


def _request_errors(*, customer: Customer, account: Account, amount, currency: str | None, reference: str,
                    message: str, channels, invoice: FinancialTransaction | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        amount = parse_plain(amount)
    except NotAnAmount as refusal:
        errors["amount"] = _("The amount is too large.") if refusal.too_large else _("Enter an amount such as 120.00.")
    else:
        if not amount.is_finite() or amount <= 0:
            errors["amount"] = _("The amount must be more than zero.")
        elif amount.as_tuple().exponent < -2:
            errors["amount"] = _("The amount has at most 2 decimal places.")
        elif amount >= Decimal(10) ** 12:
            errors["amount"] = _("The amount is too large.")
        elif invoice is not None and amount > invoice.open_amount:
            errors["amount"] = (_("Invoice %(number)s has %(Money)s outstanding; a request from it cannot ask for "
                                  "more.") % {
                                      "number": invoice.number, "Money": Money(invoice.open_amount, invoice.currency)})
    if invoice is not None and (refusal := invoice.lender_fee_refusal()):
        errors["invoice"] = refusal
    elif invoice is not None and (invoice.account_id != account.pk or invoice.classification != Classification.INVOICE
                                  or invoice.state != TransactionState.POSTED or invoice.open_amount <= 0):
        errors["invoice"] = _("Only a posted invoice of this account with something outstanding can be requested.")
    if account.tenant_id != customer.tenant_id or account.customer_id != customer.pk:
        errors["account"] = _("This account is not %(name)s's.") % {"name": customer.name}
    elif account.state != "active":
        errors["account"] = _("The account is %(state)s; money cannot be requested into it.") % {"state": account.state}
    if currency and currency != account.currency:
        errors["currency"] = _("The account is in %(currency)s; the request must be too.") % {
            "currency": account.currency}
    elif "account" not in errors and (refusal := gateway_selectors.refusal(
            tenant=account.tenant_id, purpose=Purpose.PAYMENT_REQUESTS, currency=account.currency)):
        errors["currency"] = refusal
    if len(reference) > MAX_REFERENCE:
        errors["reference"] = _("At most %(MAX_REFERENCE)s characters.") % {"MAX_REFERENCE": MAX_REFERENCE}
    if len(message) > MAX_MESSAGE:
        errors["message"] = _("At most %(MAX_MESSAGE)s characters.") % {"MAX_MESSAGE": MAX_MESSAGE}
    channels = list(channels or [])
    if not channels:
        errors["channels"] = _("Choose email, SMS or both.")
    elif set(channels) - set(RequestChannel.values):
        errors["channels"] = _("A request is sent by email or SMS.")
    elif missing := [
        text for channel, has, text in (
            (RequestChannel.EMAIL, customer.email, _("%(name)s has no email address.") % {"name": customer.name}),
            (RequestChannel.SMS, customer.phone, _("%(name)s has no phone number.") % {"name": customer.name}),
        ) if channel in channels and not has
    ]:
        errors["channels"] = " ".join(missing) + _(" Add it to the customer's file first.")
    return errors


@transaction.atomic
@dataclass(frozen=True)
class RequestData:
    """What staff (a page) or an integration (the API) ask for: the amount as typed, the customer's
    reference and message, and the channels to send the link by."""

    amount: Decimal | str
    reference: str = ""
    message: str = ""
    channels: Collection[str] = ()


def request_payment(
    *, customer: Customer, account: Account, data: RequestData, actor: User | None, at: datetime,
    currency: str | None = None, invoice: FinancialTransaction | None = None,
) -> tuple[PaymentRequest, str]:
    """Create a payment request and send its link to the customer through the outbox.

    Returns the request and the raw token of its link (stored nowhere; only its hash is). A request sent
    from an ``invoice`` is paid against that invoice.

    :raises ValidationError: keyed ``amount``, ``account``, ``currency`` (not the account's, or no gateway
        of the tenant takes it for payment requests), ``reference``, ``message``, ``invoice`` or ``channels``
        (none chosen, or the customer has no address for one). Nothing is saved.
    """
    amount = data.amount
    reference, message = (data.reference or "").strip(), (data.message or "").strip()
    channels = list(dict.fromkeys(data.channels or []))
    if errors := _request_errors(customer=customer, account=account, amount=amount, currency=currency,
                                 reference=reference, message=message, channels=channels, invoice=invoice):
        raise ValidationError(errors)
    token, token_hash = new_token()
    request = PaymentRequest.objects.create(
        tenant_id=customer.tenant_id, customer=customer, account=account, invoice=invoice,
        amount=parse_plain(amount),
        currency=account.currency, reference=reference, message=message, channels=channels, token_hash=token_hash,
        expires_at=at + REQUEST_LIFETIME, created_by=actor, created_at=at, sent_at=at,
    )
    log_request(request, "send", "", actor, at)
    _send_link(request=request, token=token, actor=actor, at=at)
    return request, token


def _lock_request(request: PaymentRequest) -> PaymentRequest:
    return PaymentRequest.objects.select_for_update(of=("self",)).select_related("tenant", "customer", "account").get(
        tenant=request.tenant_id, pk=request.pk
    )


@transaction.atomic
def cancel_payment_request(*, request: PaymentRequest, actor: User | None, at: datetime) -> PaymentRequest:
    """Cancel an open request: its link stops working.

    :raises ValidationError: the request is not open (expired, cancelled or paid).
    """
    locked = _lock_request(request)
    if locked.status == RequestStatus.OPEN and locked.expires_at <= at:
        _expire(locked, at)
    if not can_proceed(locked.cancel):
        raise ValidationError(_("Only an open request can be cancelled; this one is %(get_status_display)s.") % {
            "get_status_display": locked.get_status_display()})
    before = locked.status
    locked.cancel(at=at)
    locked.save()
    log_request(locked, "cancel", before, actor, at)
    return locked


@transaction.atomic
def resend_payment_request(*, request: PaymentRequest, actor: User | None, at: datetime) -> tuple[PaymentRequest, str]:
    """Send an open or expired request again with a new link valid for 24 hours; the old link stops working.

    :raises ValidationError: the request was cancelled or paid.
    """
    locked = _lock_request(request)
    if not can_proceed(locked.reopen):
        raise ValidationError(_("A %(lower)s request cannot be sent again.") % {
            "lower": locked.get_status_display().lower()})
    token, token_hash = new_token()
    before = locked.status
    locked.reopen(token_hash=token_hash, expires_at=at + REQUEST_LIFETIME, at=at)
    locked.save()
    log_request(locked, "resend", before, actor, at)
    _send_link(request=locked, token=token, actor=actor, at=at)
    return locked, token


def _expire(locked: PaymentRequest, at: datetime) -> None:
    locked.expire()
    locked.save()
    log_request(locked, "expire", RequestStatus.OPEN, None, at)


def expire_payment_requests(*, at: datetime, batch: int = 500) -> int:
    """The sweep: mark open requests whose link has run out expired. Safe to run twice; returns how many.

    Runs across tenants (each request keeps its own ``tenant``); each request in its own transaction.
    """
    expired = 0
    with scopes_disabled():
        due = list(PaymentRequest.objects.filter(status=RequestStatus.OPEN, expires_at__lte=at)
                   .values_list("tenant_id", "pk")[:batch])
    for tenant_id, pk in due:
        with scope(tenant=tenant_id), transaction.atomic():
            locked = PaymentRequest.objects.select_for_update().filter(
                tenant=tenant_id, pk=pk, status=RequestStatus.OPEN, expires_at__lte=at
            ).first()
            if locked is not None:
                _expire(locked, at)
                expired += 1
    return expired


@transaction.atomic
def consolidate_payment_request(*, request: PaymentRequest, actor: User, at: datetime) -> PaymentRequest:
    """Record that an accountant has matched a complete request's payment in the books.

    :raises PermissionDenied: ``actor`` is not a payment manager (``crm.manage_payments``).
    :raises ValidationError: the request is not complete, or was consolidated already.
    """
    if not actor.has_perm("crm.manage_payments"):
        raise PermissionDenied(_("Only payment managers consolidate payments."))
    locked = _lock_request(request)
    if not locked.is_complete:
        raise ValidationError(_("Only a complete request can be consolidated."))
    if locked.consolidated_at is not None:
        raise ValidationError(f"Already consolidated on {locked.consolidated_at:%Y-%m-%d %H:%M}.")
    locked.consolidated_by, locked.consolidated_at = actor, at
    locked.save(update_fields=["consolidated_by", "consolidated_at"])
    log_request(locked, "consolidate", locked.status, actor, at)
    return locked


@transaction.atomic
def request_for_token(*, token: str, at: datetime) -> PaymentRequest | None:
    """The request a pay link names, or ``None``. An open request past its expiry is expired here,
    as the sweep would, so a link reads as expired the moment it runs out."""
    if not token or len(token) > 100:
        return None
    with scopes_disabled():
        found = PaymentRequest.objects.filter(token_hash=hash_token(token)).values_list("tenant_id", "pk").first()
    if found is None:
        return None
    with scope(tenant=found[0]):
        locked = PaymentRequest.objects.select_for_update(of=("self",)).select_related("tenant", "account").get(
            tenant=found[0], pk=found[1]
        )
        if locked.status == RequestStatus.OPEN and locked.expires_at <= at:
            _expire(locked, at)
    return locked


def start_request_attempt(
    *, request: PaymentRequest, gateway_account: GatewayAccount, return_url: str, webhook_url: str, at: datetime,
    pay_in_4: bool = False, card_consent: dict | None = None,
) -> Checkout:
    """Start (or resume) the payer's attempt to pay a request through a hosted page.

    The request row is locked while the attempt is recorded, so two tabs paying at once share one
    attempt: a pending attempt with a page is resumed, a processing one refuses a second. The provider
    is called after the lock is released, as ``start_payment`` does.

    :raises AttemptRefused: the request is not open, a payment is already being processed, or another
        tab is still opening this attempt's page.
    :raises ValueError: the provider cannot take this currency or mode.
    """
    capabilities = registry.capabilities_of(gateway_account.provider)
    with transaction.atomic():
        locked = _lock_request(request)
        if locked.status == RequestStatus.OPEN and locked.expires_at <= at:
            _expire(locked, at)
        if locked.status != RequestStatus.OPEN:
            raise AttemptRefused(str(PAYER_STATUS_TEXT[locked.status]))
        under_way = locked.attempts.filter(status__in=[PaymentStatus.PENDING, PaymentStatus.PROCESSING]).order_by(
            "-created_at", "-id").first()
        if under_way is not None and under_way.status == PaymentStatus.PROCESSING:
            raise AttemptRefused(_("A payment for this request is being processed. Check back in a few minutes."))
        if under_way is not None and under_way.redirect_url and (
                under_way.expires_at is None or under_way.expires_at > at) and (
                (under_way.card_consent is None) == (card_consent is None)):
            return Checkout(under_way)
        if under_way is not None and not under_way.redirect_url and not under_way.failure_message and (
                under_way.created_at > at - timedelta(seconds=settings.GATEWAY_TIMEOUT_SECONDS + 5)):
            # Another tab is asking the provider for this attempt's page right now: a second attempt
            # would open a second checkout, which the payer could pay too.
            raise AttemptRefused(_("This payment is being started in another window. Reload this page in a moment."))
        if not capabilities.supports(mode=CheckoutMode.HOSTED_PAGE, currency=locked.currency, pay_in_4=pay_in_4):
            raise ValueError(_("%(gateway_account)s cannot take %(currency)s this way.") % {
                "gateway_account": gateway_account, "currency": locked.currency})
        payment = record_payment(
            purpose=PaymentPurpose.REQUEST, payment_request=locked, gateway_account=gateway_account,
            account=locked.account, invoice=locked.invoice, amount=locked.amount, mode=CheckoutMode.HOSTED_PAGE,
            description=f"{locked.tenant.name}: {locked.reference}" if locked.reference else locked.tenant.name,
            expires_at=locked.expires_at, created_by=locked.created_by, at=at, card_consent=card_consent,
        )
    return open_checkout(payment=payment, return_url=return_url, webhook_url=webhook_url, at=at,
                          customer_email=locked.customer.email, pay_in_4=pay_in_4)
