"""The provider API that ``gateways.sandbox`` talks to (``Authorization: Bearer`` the account secret)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scope

from gateways import services
from gateways.models import GatewayAccount
from sandbox.checkouts import (
    PAY_IN_4_CURRENCIES,
    RequestInvalid,
    charge_card,
    charge_refusal,
    create_checkout,
    expire_if_due,
    get_checkout,
    refund_checkout,
    remove_card,
    settle_checkout,
)
from sandbox.models import SandboxCheckout, SandboxMode

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
            except Http404 as missing:
                card = str(missing) == "No such card."
                return _api_error(404, "not_found", "No such card." if card else "No such checkout.")
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
    save_card = data.get("save_card", False)
    if not isinstance(save_card, bool):
        raise RequestInvalid("save_card", "save_card must be true or false.")
    return dict(reference=reference, amount_minor=amount, currency=currency, description=description, mode=mode,
                pay_in_4=pay_in_4, webhook_url=webhook_url, expires_at=expires_at, save_card=save_card, **urls)


def _charge_values(data: dict[str, Any], account: GatewayAccount) -> dict[str, Any]:
    """A saved card's charge: a checkout's reference, amount, currency, description and webhook.
    :raises RequestInvalid: naming the first field that is wrong."""
    values = _checkout_values(data | {"mode": SandboxMode.HOSTED_PAGE, "return_url": "http://unused/",
                                      "expires_at": None, "pay_in_4": False, "save_card": False},
                              account, timezone.now())
    return {name: values[name] for name in ("reference", "amount_minor", "currency", "description", "webhook_url")}


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
    answer = {"id": checkout.id, "status": checkout.status, "amount_minor": checkout.amount_minor,
              "currency": checkout.currency, "failure_message": checkout.failure_message}
    card = checkout.card if checkout.save_card else None
    if card is not None:
        answer["saved_card"] = {"id": card.id, "brand": card.brand, "last4": card.last4,
                                "exp_month": card.exp_month, "exp_year": card.exp_year}
    return answer


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
        answer["url"] = request.build_absolute_uri(reverse("sandbox:pay", args=[checkout.id]))
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
def api_card_charges(request: HttpRequest, account: GatewayAccount, card_id: str) -> HttpResponse:
    """Charge a saved card without the customer: 201 with the checkout's state, or 402 when refused."""
    values = _charge_values(_json_body(request), account)
    checkout = charge_card(account=account, card_id=card_id, values=values, at=timezone.now())
    if refusal := charge_refusal(checkout):
        raise refusal
    return JsonResponse(_state_json(checkout), status=201)


@_api
@require_http_methods(["DELETE"])
def api_card(request: HttpRequest, account: GatewayAccount, card_id: str) -> HttpResponse:
    remove_card(account=account, card_id=card_id)
    return JsonResponse({"id": card_id, "removed": True})


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
