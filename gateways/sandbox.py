"""The Sandbox provider: an offline provider whose server is part of Duly itself (``sandbox``).

It exists so that the whole product — hosted page, embedded card fields, declines, payments that stay
processing, refunds and signed webhooks — can be demonstrated and browser-tested with no network. This
adapter treats it exactly like a remote provider: it speaks HTTP (httpx, with a timeout) and knows nothing of
Django.

The contract
============
* Base URL: the constructor's ``base_url`` (the registry passes ``GATEWAY_BASE_URLS["sandbox"]``, else
  ``settings["base_url"]`` of the account, else ``DULY_SITE_URL``), falling back to
  ``credentials.settings["base_url"]``. The account's secret goes in ``Authorization: Bearer <secret>``.
  JSON in, JSON out. ``transport`` lets tests reach the Django app in-process (``httpx.WSGITransport``).
* ``POST /sandbox/api/checkouts`` with ``{reference, amount_minor, currency, description, mode, return_url,
  cancel_url, expires_at, webhook_url, pay_in_4}`` (header ``Idempotency-Key: <reference>``; a repeated
  reference answers the checkout it created first) → 201 ``{id: "sbx_…", status, url | client_token,
  expires_at}``: ``url`` (the hosted page) for ``mode=hosted_page``, ``client_token`` for ``card_fields``.
  ``expires_at`` is ISO-8601 UTC or null. ``webhook_url`` is blank or this account's own
  ``/webhooks/sandbox/<token>/``.
* ``GET /sandbox/api/checkouts/{id}`` → ``{id, status, amount_minor, currency, failure_message}``; a checkout
  past its ``expires_at`` that nobody paid answers ``expired``.
* ``POST /sandbox/api/checkouts/{id}/refunds`` with ``{amount_minor, idempotency_key}`` (the key also in the
  ``Idempotency-Key`` header) → 201 ``{id: "sbxre_…", status: "succeeded", amount_minor}``; a repeated key
  answers the first refund (200).
* ``POST /sandbox/api/checkouts/{id}/settle`` with ``{outcome: "succeeded" | "failed"}`` settles a checkout
  that is ``processing`` (what the bank would do later); not part of the protocol, used by demos and tests.
* Statuses: ``pending | processing | succeeded | failed | expired | cancelled`` — already Duly's words.
* Errors: 4xx/5xx with ``{"error": {"code", "message", "field"?}}``. 401 ``unauthorized``, 404 ``not_found``
  (also another tenant's checkout), 400 ``invalid_request`` naming the field, 409 ``conflict`` (a reference
  reused with other values), 402 ``refund_declined`` (nothing left to refund, or not paid).
* Webhooks: ``POST`` of ``{"id": "sbxevt_…", "type": …, "data": {"id", "amount_minor", "currency"}}`` with
  ``X-Sandbox-Timestamp`` (Unix seconds) and ``X-Sandbox-Signature``: lowercase hex HMAC-SHA256, keyed with the
  account secret, of ``"{timestamp}.{raw body}"``, within 300 s of the receipt time. Types:
  ``checkout.succeeded``, ``checkout.failed`` (a declined attempt — the checkout stays payable, so a
  ``checkout.succeeded`` may follow), ``checkout.processing``, ``checkout.expired``, ``checkout.cancelled``;
  any other is stored and ignored (status ``None``).

* Saved cards: a checkout created with ``save_card: true`` keeps the card it is paid with; its ``GET`` then
  answers ``saved_card: {id: "sbxpm_…", brand, last4, exp_month, exp_year}``. ``POST
  /sandbox/api/cards/{id}/charges`` with ``{reference, amount_minor, currency, description, webhook_url}``
  (``Idempotency-Key: <reference>``) charges it without the customer: 201 with the checkout's state (and a
  ``checkout.succeeded`` event), or 402 ``authentication_required`` / ``card_declined`` (and
  ``checkout.failed``); a repeated reference answers the first charge. ``DELETE /sandbox/api/cards/{id}``
  forgets the card (404 for an unknown one); a removed card's charge answers 404.

Test cards (any future expiry ``MM/YY``, any 3–4 digit CVC): ``4242 4242 4242 4242`` succeeds,
``4000 0000 0000 0002`` is declined, ``4000 0000 0000 0077`` stays processing until settled;
``4000 0025 0000 3155`` and ``4000 0000 0000 0341`` succeed, and once saved their charges without the
customer need authentication or are declined.

Capabilities: hosted page and card fields, refunds and partial refunds, Duly's currencies; "pay in 4" in
GBP, AUD, CAD and USD, only so that the option can be demonstrated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from gateways import base, http

SIGNATURE_HEADER = "X-Sandbox-Signature"
TIMESTAMP_HEADER = "X-Sandbox-Timestamp"

EVENT_STATUSES = {
    "checkout.succeeded": base.PaymentStatus.SUCCEEDED,
    "checkout.failed": base.PaymentStatus.FAILED,
    "checkout.processing": base.PaymentStatus.PROCESSING,
    "checkout.expired": base.PaymentStatus.EXPIRED,
    "checkout.cancelled": base.PaymentStatus.CANCELLED,
}

DECLINES = {"declined", "refund_declined"}

_CHECKOUT_ID = re.compile(r"sbx_[A-Za-z0-9]{8,40}")
_REFUND_ID = re.compile(r"sbxre_[A-Za-z0-9]{8,40}")
_CARD_ID = re.compile(r"sbxpm_[A-Za-z0-9]{8,40}")


class SandboxGateway:
    name = "sandbox"
    capabilities = base.Capabilities(
        hosted_page=True,
        card_fields=True,
        refunds=True,
        partial_refunds=True,
        currencies=frozenset({"EUR", "GBP", "USD", "PAB", "AUD", "CAD"}),
        pay_in_4_currencies=frozenset({"GBP", "AUD", "CAD", "USD"}),
        saved_cards=True,
    )

    def __init__(self, credentials: base.Credentials, *, base_url: str | None = None, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        base_url = base_url or credentials.settings.get("base_url", "")
        if not base_url or not credentials.secret:
            raise base.GatewayError("Sandbox credentials need a secret, and a base URL (Duly's own site URL).")
        self.base_url = base_url.rstrip("/")
        self._secret = credentials.secret
        self._timeout = timeout
        self._transport = transport

    # --- the protocol -------------------------------------------------------------------------------------

    def start_checkout(self, request: base.CheckoutRequest) -> base.Checkout:
        if not self.capabilities.supports(mode=request.mode, currency=request.currency, pay_in_4=request.pay_in_4):
            raise ValueError(f"The sandbox does not offer {request.mode} in {request.currency}"
                             f"{' with pay in 4' if request.pay_in_4 else ''}.")
        answer = self._send("POST", "/sandbox/api/checkouts", {
            "reference": request.reference,
            "amount_minor": request.amount_minor,
            "currency": request.currency,
            "description": request.description,
            "mode": str(request.mode),
            "return_url": request.return_url,
            "cancel_url": request.cancel_url,
            "expires_at": request.expires_at.astimezone(UTC).isoformat() if request.expires_at else None,
            "webhook_url": request.webhook_url,
            "pay_in_4": request.pay_in_4,
            **({"save_card": True} if request.save_card else {}),
        }, idempotency_key=request.reference)
        hosted = request.mode == base.CheckoutMode.HOSTED_PAGE
        return base.Checkout(
            provider_reference=_id(answer, _CHECKOUT_ID),
            status=_status(answer.get("status")),
            redirect_url=_text(answer, "url") if hosted else "",
            client_token="" if hosted else _text(answer, "client_token"),
            expires_at=_when(answer.get("expires_at")),
        )

    def fetch_status(self, provider_reference: str) -> base.PaymentState:
        checkout_id = _checked(provider_reference)
        answer = self._send("GET", f"/sandbox/api/checkouts/{checkout_id}")
        amount, currency = answer.get("amount_minor"), answer.get("currency")
        return base.PaymentState(
            provider_reference=_id(answer, _CHECKOUT_ID),
            status=_status(answer.get("status")),
            amount_minor=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
            currency=currency if isinstance(currency, str) else "",
            provider_status=str(answer.get("status")),
            failure_message=str(answer.get("failure_message") or ""),
            saved_card=_saved_card(answer.get("saved_card")),
        )

    def charge_saved_card(self, charge: base.CardCharge) -> base.PaymentState:
        card_id = _checked(charge.card_token, _CARD_ID)
        answer = self._send("POST", f"/sandbox/api/cards/{card_id}/charges", {
            "reference": charge.reference, "amount_minor": charge.amount_minor, "currency": charge.currency,
            "description": charge.description, "webhook_url": charge.webhook_url,
        }, idempotency_key=charge.reference)
        return base.PaymentState(provider_reference=_id(answer, _CHECKOUT_ID), status=_status(answer.get("status")),
                                 amount_minor=charge.amount_minor, currency=charge.currency,
                                 provider_status=str(answer.get("status")))

    def remove_saved_card(self, card_token: str) -> None:
        card_id = _checked(card_token, _CARD_ID)
        try:
            self._send("DELETE", f"/sandbox/api/cards/{card_id}")
        except base.GatewayUnavailable:
            raise
        except base.GatewayError as error:
            if "not_found" not in str(error):
                raise

    def refund(self, request: base.RefundRequest) -> base.RefundResult:
        checkout_id = _checked(request.provider_reference)
        answer = self._send("POST", f"/sandbox/api/checkouts/{checkout_id}/refunds", {
            "amount_minor": request.amount_minor,
            "idempotency_key": request.idempotency_key,
        }, idempotency_key=request.idempotency_key)
        return base.RefundResult(refund_reference=_id(answer, _REFUND_ID),
                                 succeeded=answer.get("status") == "succeeded")

    def check_connection(self) -> None:
        """``GET /sandbox/api/account`` answers 200 for the secret of a sandbox account."""
        self._send("GET", "/sandbox/api/account")

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> base.WebhookEvent:
        self._verify(headers, body, now)
        try:
            payload = json.loads(body)
            event_id, event_type, data = payload["id"], payload["type"], payload["data"]
            checkout_id = _checked(data["id"])
            if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)):
                raise TypeError("an event id and a type")
        except (ValueError, KeyError, TypeError) as exc:
            raise base.InvalidWebhookSignature("The signed body is not a sandbox event.") from exc
        amount, currency = data.get("amount_minor"), data.get("currency")
        return base.WebhookEvent(
            event_id=str(event_id),
            event_type=str(event_type),
            provider_reference=checkout_id,
            status=EVENT_STATUSES.get(event_type),
            amount_minor=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
            currency=currency if isinstance(currency, str) else "",
        )

    # --- plumbing -----------------------------------------------------------------------------------------

    def _verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        http.verify_timestamped_signature(
            headers=headers, body=body, now=now, secret=self._secret, signature_header=SIGNATURE_HEADER,
            timestamp_header=TIMESTAMP_HEADER,
        )

    def _send(self, method: str, path: str, payload: dict[str, Any] | None = None, *,
              idempotency_key: str = "") -> Mapping[str, Any]:
        headers = {"Authorization": f"Bearer {self._secret}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return http.call_json(
            provider="The sandbox", method=method, url=self.base_url + path, headers=headers, timeout=self._timeout,
            error=_error, json=payload, transport=self._transport, decimals=False,
        )


def _error(status_code: int, answer: Any) -> base.GatewayError:
    error = answer.get("error") if isinstance(answer, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    code, message = str(error.get("code") or ""), str(error.get("message") or "")
    if code == "authentication_required":
        return base.AuthenticationRequired(message or "The card's bank asks for the customer.")
    if code in DECLINES or status_code == 402:
        return base.PaymentDeclined(message or "The sandbox declined the request.")
    detail = f"{code}: {message}" if code else (message or "no error message")
    return base.GatewayError(f"The sandbox refused the request (HTTP {status_code}): {detail}")


def _status(value: Any) -> base.PaymentStatus:
    try:
        return base.PaymentStatus(value)
    except ValueError:
        raise base.GatewayUnavailable(f"The sandbox answered an unknown status {value!r}.") from None


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise base.GatewayUnavailable(f"The sandbox answered an unusable expires_at {value!r}.") from None


def _checked(reference: Any, pattern: re.Pattern[str] = _CHECKOUT_ID) -> str:
    """A checkout (or card) id that is safe to put in a URL path."""
    if not isinstance(reference, str) or not pattern.fullmatch(reference):
        raise ValueError(f"Not a sandbox id: {reference!r}.")
    return reference


def _saved_card(value: Any) -> base.SavedCard | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return base.SavedCard(token=_checked(value["id"], _CARD_ID), brand=str(value["brand"]),
                              last4=str(value["last4"])[-4:], exp_month=int(value["exp_month"]),
                              exp_year=int(value["exp_year"]))
    except (KeyError, TypeError, ValueError):
        raise base.GatewayUnavailable(f"The sandbox answered an unusable saved card {value!r}.") from None


def _id(answer: Mapping[str, Any], pattern: re.Pattern[str]) -> str:
    value = answer.get("id")
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise base.GatewayUnavailable(f"The sandbox answered an unusable id {value!r}.")
    return value


def _text(answer: Mapping[str, Any], key: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str) or not value:
        raise base.GatewayUnavailable(f"The sandbox's answer lacks {key!r}.")
    return value
