"""The Sandbox provider's *server*, served by Duly itself: the API that ``gateways.sandbox`` talks to over
HTTP, the hosted payment page, the embedded card fields, and signed webhooks back into the normal inbox.

It plays a remote provider, so it is written like one: the API authenticates the account secret
(``Authorization: Bearer``), a checkout belongs to the tenant whose secret created it, and every state change
produces the exact body and headers a remote provider would POST to ``/webhooks/sandbox/<token>/``. Instead of
travelling over the network they are handed to :func:`gateways.inbox.receive_webhook` in-process, after the
transaction commits, so they go through the same verification, storage and processing as any provider's.
The contract (paths, JSON shapes, signature) is written down in ``gateways.sandbox``, which this module must
not import (providers are reached only through the registry), so the signature is computed here too.

Test cards (any future expiry ``MM/YY``, any 3–4 digit CVC, any name):

* ``4242 4242 4242 4242`` succeeds → ``succeeded``, ``checkout.succeeded``, the payer goes to ``return_url``.
* ``4000 0000 0000 0002`` is declined ("Your card was declined."): the attempt is counted and a
  ``checkout.failed`` event sent, but the checkout stays ``pending`` so the payer can try another card
  (Duly's "complete after a failed attempt"); it ends only by succeeding, expiring or being cancelled.
* ``4000 0000 0000 0077`` stays ``processing`` (``checkout.processing``; the payer goes to ``return_url``) until
  settled: the "Settle" buttons on ``/sandbox/pay/<id>/`` (``POST /sandbox/pay/<id>/settle/``) or
  ``POST /sandbox/api/checkouts/<id>/settle`` make it succeed (or fail).

Embedding the card fields (``mode=card_fields``): the payment page puts
``<iframe src="/sandbox/fields/<client_token>/" title="Card details">`` on the page (the same site as the
sandbox, which the frame allows: ``X-Frame-Options: SAMEORIGIN``) and listens for
``message`` events whose ``data.type`` is ``"sandbox:result"``: ``data.status`` is ``succeeded``, ``processing``,
``failed`` (declined; the fields stay usable for another card) or the checkout's final status when it can no
longer be paid (``expired``, ``cancelled``, ``succeeded``); ``data.checkout`` is the checkout id and
``data.message`` a sentence for the payer. The message is a hint for the page only (check ``event.origin``):
the payment is settled by the webhook or by fetching the status, never by the message.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scope, scopes_disabled

from crm.models import Tenant
from gateways import http, inbox, services
from gateways.base import InvalidWebhookSignature, from_minor_units
from gateways.models import GatewayAccount, SandboxCheckout, SandboxMode, SandboxRefund, SandboxStatus

logger = logging.getLogger(__name__)

SUCCESS_CARD = "4242424242424242"
DECLINE_CARD = "4000000000000002"
PROCESSING_CARD = "4000000000000077"
TEST_CARDS = {SUCCESS_CARD: "succeeds", DECLINE_CARD: "is declined", PROCESSING_CARD: "stays processing"}
_TEST_CARD_LIST = [(" ".join(number[i:i + 4] for i in range(0, 16, 4)), result)
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


def _public_checkout(**lookup: str) -> SandboxCheckout:
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
def pay_checkout(*, checkout_id: str, card_number: str, at: datetime) -> Outcome:
    """Charge a sandbox test card to a checkout. The row is locked, so two payers at once charge once.

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


def _locked(checkout_id: str) -> SandboxCheckout:
    return SandboxCheckout.objects.with_scopes_disabled().select_for_update().get(id=checkout_id)


def _due(checkout: SandboxCheckout, at: datetime) -> bool:
    return checkout.status == SandboxStatus.PENDING and checkout.expires_at is not None and checkout.expires_at <= at


def _move(checkout: SandboxCheckout, status: str, event_type: str, at: datetime) -> None:
    checkout.status = status
    checkout.save(update_fields=["status", "card_last4", "failure_message", "updated_at"])
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


# --- the API -----------------------------------------------------------------------------------------------

def _api_error(status: int, code: str, message: str, field: str = "") -> JsonResponse:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return JsonResponse({"error": error}, status=status)


def _api(view):
    """Authenticate the bearer secret, open its tenant's scope, turn ``RequestInvalid`` into JSON."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        account = services.sandbox_account_for_secret(secret=header[7:].strip()) \
            if header.startswith("Bearer ") else None
        if account is None:
            return _api_error(401, "unauthorized", "Unknown or missing sandbox secret.")
        with scope(tenant=account.tenant):
            try:
                return view(request, account, *args, **kwargs)
            except Http404:
                return _api_error(404, "not_found", "No such checkout.")
            except RequestInvalid as error:
                return _api_error(error.status, error.code, error.message, error.field)

    return wrapped


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise RequestInvalid("", "The body must be a JSON object.")
    return data


def _checkout_values(data: dict[str, Any], account: GatewayAccount, at: datetime) -> dict[str, Any]:
    """:raises RequestInvalid: naming the first field that is wrong."""
    reference = data.get("reference")
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 200:
        raise RequestInvalid("reference", "reference must be 1–200 characters.")
    amount = data.get("amount_minor")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise RequestInvalid("amount_minor", "amount_minor must be a positive whole number of minor units.")
    currency = data.get("currency")
    if currency not in settings.CURRENCIES:
        raise RequestInvalid("currency", f"currency must be one of {', '.join(settings.CURRENCIES)}.")
    description = data.get("description") or ""
    if not isinstance(description, str) or len(description) > 500:
        raise RequestInvalid("description", "description must be text of at most 500 characters.")
    mode = data.get("mode")
    if mode not in SandboxMode.values:
        raise RequestInvalid("mode", f"mode must be one of {', '.join(SandboxMode.values)}.")
    pay_in_4 = data.get("pay_in_4", False)
    if not isinstance(pay_in_4, bool) or (pay_in_4 and currency not in PAY_IN_4_CURRENCIES):
        raise RequestInvalid("pay_in_4", f"pay_in_4 is offered only in {', '.join(sorted(PAY_IN_4_CURRENCIES))}.")
    urls = {name: _url(data, name, required=name == "return_url") for name in ("return_url", "cancel_url")}
    webhook_url = _url(data, "webhook_url", required=False)
    if webhook_url and not _is_own_webhook(webhook_url, account):
        raise RequestInvalid("webhook_url", "webhook_url must be this account's /webhooks/sandbox/<token>/ URL.")
    expires_at = data.get("expires_at")
    if expires_at is not None:
        try:
            expires_at = datetime.fromisoformat(expires_at)
        except (TypeError, ValueError):
            raise RequestInvalid("expires_at", "expires_at must be an ISO-8601 date and time.") from None
        if expires_at.tzinfo is None:
            raise RequestInvalid("expires_at", "expires_at must include a time zone.")
        if expires_at <= at:
            raise RequestInvalid("expires_at", "expires_at is in the past.")
    return dict(reference=reference, amount_minor=amount, currency=currency, description=description, mode=mode,
                pay_in_4=pay_in_4, webhook_url=webhook_url, expires_at=expires_at, **urls)


def _url(data: dict[str, Any], name: str, *, required: bool) -> str:
    value = data.get(name) or ""
    if not value and not required:
        return ""
    # Lenient on hosts on purpose: Duly's own address may be "localhost", "duly:8000" or an intranet name.
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or len(value) > 2000 or parts.scheme not in ("http", "https") or not parts.netloc \
            or any(char.isspace() for char in value):
        raise RequestInvalid(name, f"{name} must be an http(s) URL.")
    return value


def _is_own_webhook(url: str, account: GatewayAccount) -> bool:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return False
    return (match.view_name == "gateways:webhook" and match.kwargs.get("provider") == "sandbox"
            and match.kwargs.get("token") == account.webhook_token)


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat() if when else None


def _state_json(checkout: SandboxCheckout) -> dict[str, Any]:
    return {"id": checkout.id, "status": checkout.status, "amount_minor": checkout.amount_minor,
            "currency": checkout.currency, "failure_message": checkout.failure_message}


@_api
@require_GET
def api_account(request: HttpRequest, account: GatewayAccount) -> HttpResponse:
    return JsonResponse({"account": str(account.webhook_token), "live": account.live})


@_api
@require_POST
def api_checkouts(request: HttpRequest, account: GatewayAccount) -> HttpResponse:
    values = _checkout_values(_json_body(request), account, timezone.now())
    checkout, created = create_checkout(account=account, values=values)
    answer = {"id": checkout.id, "status": checkout.status, "expires_at": _iso(checkout.expires_at)}
    if checkout.mode == SandboxMode.HOSTED_PAGE:
        answer["url"] = request.build_absolute_uri(reverse("gateways:sandbox_pay", args=[checkout.id]))
    else:
        answer["client_token"] = checkout.client_token
    return JsonResponse(answer, status=201 if created else 200)


@_api
@require_GET
def api_checkout(request: HttpRequest, account: GatewayAccount, checkout_id: str) -> HttpResponse:
    checkout = get_checkout(tenant=account.tenant, checkout_id=checkout_id)
    checkout = expire_if_due(checkout=checkout, at=timezone.now())
    return JsonResponse(_state_json(checkout))


@_api
@require_POST
def api_refunds(request: HttpRequest, account: GatewayAccount, checkout_id: str) -> HttpResponse:
    data = _json_body(request)
    amount = data.get("amount_minor")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise RequestInvalid("amount_minor", "amount_minor must be a positive whole number of minor units.")
    key = data.get("idempotency_key") or request.headers.get("Idempotency-Key") or ""
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        raise RequestInvalid("idempotency_key", "idempotency_key must be 1–200 characters.")
    refund, created = refund_checkout(tenant=account.tenant, checkout_id=checkout_id, amount_minor=amount,
                                      idempotency_key=key)
    return JsonResponse({"id": refund.id, "status": refund.status, "amount_minor": refund.amount_minor},
                        status=201 if created else 200)


@_api
@require_POST
def api_settle(request: HttpRequest, account: GatewayAccount, checkout_id: str) -> HttpResponse:
    outcome = _json_body(request).get("outcome", "succeeded")
    if outcome not in ("succeeded", "failed"):
        raise RequestInvalid("outcome", "outcome must be succeeded or failed.")
    checkout = get_checkout(tenant=account.tenant, checkout_id=checkout_id)
    result = settle_checkout(checkout_id=checkout.id, succeed=outcome == "succeeded", at=timezone.now())
    if not result.charged:
        raise RequestInvalid("", result.message, code="conflict", status=409)
    return JsonResponse(_state_json(get_checkout(tenant=account.tenant, checkout_id=checkout.id)))


# --- the payer's pages ------------------------------------------------------------------------------------

_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2})\s*")


class CardForm(forms.Form):
    number = forms.CharField(label="Card number", max_length=30,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}))
    expiry = forms.CharField(label="Expiry (MM/YY)", max_length=7,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "placeholder": "MM/YY"}))
    cvc = forms.CharField(label="CVC", max_length=4,
                          widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}))
    name = forms.CharField(label="Name on card", max_length=100,
                           widget=forms.TextInput(attrs={"autocomplete": "cc-name"}))

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["number"])
        if number not in TEST_CARDS:
            raise ValidationError(
                "Use a sandbox test card: 4242 4242 4242 4242 (succeeds), 4000 0000 0000 0002 (declined) or "
                "4000 0000 0000 0077 (stays processing).")
        return number

    def clean_expiry(self) -> tuple[int, int]:
        match = _EXPIRY.fullmatch(self.cleaned_data["expiry"])
        if not match or not 1 <= int(match[1]) <= 12:
            raise ValidationError("Enter the expiry as MM/YY, for example 12/30.")
        month, year = int(match[1]), 2000 + int(match[2])
        if (year, month) < (self.today.year, self.today.month):
            raise ValidationError("The card has expired.")
        return month, year

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not re.fullmatch(r"\d{3,4}", cvc):
            raise ValidationError("Enter the 3 or 4 digit security code.")
        return cvc


def _payer_page(view):
    """A page the payer sees: its URL (the capability to pay) is never sent to another site, and nothing is
    cached. ``same-origin`` rather than ``no-referrer``: under ``no-referrer`` browsers send ``Origin: null``
    with the card form's POST, which CSRF protection rightly refuses."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with scopes_disabled():
            response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        response["Cache-Control"] = "no-store"
        return response

    return wrapped


def _amount(minor: int, currency: str) -> str:
    return f"{from_minor_units(minor, currency)} {currency}"


def _render_pay(request: HttpRequest, checkout: SandboxCheckout, *, form: CardForm | None = None,
                failure: str = "", status: int = 200) -> HttpResponse:
    payable = checkout.status == SandboxStatus.PENDING
    return render(request, "gateways/sandbox_pay.html", {
        "checkout": checkout,
        "amount": _amount(checkout.amount_minor, checkout.currency),
        "instalment": _amount(-(-checkout.amount_minor // 4), checkout.currency) if checkout.pay_in_4 else "",
        "payable": payable,
        "form": form if form is not None else CardForm(today=timezone.now().date()),
        "failure": failure,
        "message": "" if payable else NOT_PAYABLE[checkout.status],
        "test_cards": _TEST_CARD_LIST,
    }, status=status)


@_payer_page
def pay(request: HttpRequest, checkout_id: str) -> HttpResponse:
    """The hosted payment page: ``GET`` shows it, ``POST`` pays with a test card."""
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    now = timezone.now()
    checkout = expire_if_due(checkout=_public_checkout(id=checkout_id), at=now)
    if request.method == "GET":
        return _render_pay(request, checkout)
    if checkout.status != SandboxStatus.PENDING:
        return _render_pay(request, checkout, status=409)
    form = CardForm(request.POST, today=now.date())
    if not form.is_valid():
        return _render_pay(request, checkout, form=form)
    outcome = pay_checkout(checkout_id=checkout.id, card_number=form.cleaned_data["number"], at=now)
    checkout.refresh_from_db()
    if outcome.status in (SandboxStatus.SUCCEEDED, SandboxStatus.PROCESSING) and outcome.charged:
        return HttpResponseRedirect(checkout.return_url)
    if outcome.charged:  # declined: the checkout stays payable
        return _render_pay(request, checkout, failure=outcome.message)
    return _render_pay(request, checkout, status=409)


@_payer_page
@require_POST
def pay_settle(request: HttpRequest, checkout_id: str) -> HttpResponse:
    """The bank's later answer to a processing payment, played by whoever demonstrates the product."""
    checkout = _public_checkout(id=checkout_id)
    outcome = settle_checkout(checkout_id=checkout.id, succeed=request.POST.get("outcome") != "failed",
                              at=timezone.now())
    if not outcome.charged:
        checkout.refresh_from_db()
        return _render_pay(request, checkout, failure=outcome.message, status=409)
    return HttpResponseRedirect(reverse("gateways:sandbox_pay", args=[checkout.id]))


@_payer_page
@require_POST
def pay_cancel(request: HttpRequest, checkout_id: str) -> HttpResponse:
    checkout = _public_checkout(id=checkout_id)
    outcome = cancel_checkout(checkout_id=checkout.id, at=timezone.now())
    checkout.refresh_from_db()
    if not outcome.charged:
        return _render_pay(request, checkout, status=409)
    return HttpResponseRedirect(checkout.cancel_url or checkout.return_url)


@xframe_options_sameorigin
@_payer_page
@require_GET
def fields(request: HttpRequest, client_token: str) -> HttpResponse:
    """The embedded card fields, meant for an ``<iframe>`` on the payment page."""
    checkout = expire_if_due(checkout=_public_checkout(client_token=client_token), at=timezone.now())
    payable = checkout.status == SandboxStatus.PENDING
    return render(request, "gateways/sandbox_fields.html", {
        "checkout": checkout,
        "amount": _amount(checkout.amount_minor, checkout.currency),
        "payable": payable,
        "message": "" if payable else NOT_PAYABLE[checkout.status],
        "form": CardForm(today=timezone.now().date()),
        "test_cards": _TEST_CARD_LIST,
    })


@xframe_options_sameorigin
@_payer_page
@require_POST
def fields_confirm(request: HttpRequest, client_token: str) -> HttpResponse:
    """The card fields' submit (``static/gateways/sandbox-fields.js``): JSON the script shows or passes on."""
    now = timezone.now()
    checkout = expire_if_due(checkout=_public_checkout(client_token=client_token), at=now)
    if checkout.status != SandboxStatus.PENDING:
        return JsonResponse({"status": checkout.status, "checkout": checkout.id,
                             "message": NOT_PAYABLE[checkout.status]}, status=409)
    form = CardForm(request.POST, today=now.date())
    if not form.is_valid():
        errors = {name: [f"{form.fields[name].label}: {error}" for error in messages]
                  for name, messages in form.errors.items()}
        return JsonResponse({"status": "invalid", "errors": errors}, status=400)
    outcome = pay_checkout(checkout_id=checkout.id, card_number=form.cleaned_data["number"], at=now)
    return JsonResponse({"status": outcome.status, "checkout": checkout.id, "message": outcome.message},
                        status=200 if outcome.charged else 409)
