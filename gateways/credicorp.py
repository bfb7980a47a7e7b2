"""Credicorp Bank (Panama) "Email Pago", over httpx — against an ASSUMED contract.

Credicorp publishes no API specification for Email Pago. Everything below is a contract Duly defines for a
bank e-mail-pay provider, written down so that a real specification replaces *this module only*: the rest of
Duly sees nothing but :class:`gateways.base.Gateway`. Nothing here is a documented Credicorp fact.

The assumed contract
====================
* Base URL: ``credentials.settings["base_url"]`` (required; there is no public host). The API key
  (``credentials.secret``) goes in ``Authorization: Bearer <key>``. JSON in, JSON out.
* ``POST /v1/payment-links`` with ``{amount, currency, reference, description, customer_email, expires_at,
  return_url, callback_url}`` and header ``Idempotency-Key: <reference>`` → ``{id, url, status}``.
  ``amount`` is a decimal string in major units (``"12.34"``); ``expires_at`` ISO-8601 UTC or null.
* ``GET /v1/payment-links/{id}`` → ``{id, status, amount, currency, paid_at, bank_reference}`` with
  ``status`` one of ``pending | paid | failed | expired | cancelled``.
* ``POST /v1/payment-links/{id}/refunds`` with ``{amount, idempotency_key}`` (the key also in the
  ``Idempotency-Key`` header) → ``{id, status}``, ``status`` one of ``pending | completed | failed``; a repeated
  key answers the first refund.
* Errors: 4xx/5xx with ``{"error": {"code", "message"}}``; ``code`` ``declined``, ``refund_declined`` or
  ``insufficient_funds`` (or HTTP 402) means the bank refused.
* Callbacks: ``POST`` of ``{"id": <event id>, "type": <event type>, "data": <payment link>}`` with headers
  ``X-Credicorp-Timestamp`` (Unix seconds) and ``X-Credicorp-Signature``: lowercase hex HMAC-SHA256, keyed with
  ``credentials.settings["callback_secret"]``, of ``"{timestamp}.{raw body}"``. The timestamp is inside the
  signed text so that a replayed callback cannot be freshened by rewriting the header; it must be within
  300 s of the receipt time. Event types: ``payment_link.paid``, ``payment_link.failed``,
  ``payment_link.expired``, ``payment_link.cancelled``; any other is stored and ignored.

Capabilities: hosted page only (the bank's page), PAB and USD (Panama's two legal-tender currencies).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gateways import base, http

SIGNATURE_HEADER = "X-Credicorp-Signature"
TIMESTAMP_HEADER = "X-Credicorp-Timestamp"

STATUSES = {
    "pending": base.PaymentStatus.PENDING,
    "paid": base.PaymentStatus.SUCCEEDED,
    "failed": base.PaymentStatus.FAILED,
    "expired": base.PaymentStatus.EXPIRED,
    "cancelled": base.PaymentStatus.CANCELLED,
}

EVENT_STATUSES = {
    "payment_link.paid": base.PaymentStatus.SUCCEEDED,
    "payment_link.failed": base.PaymentStatus.FAILED,
    "payment_link.expired": base.PaymentStatus.EXPIRED,
    "payment_link.cancelled": base.PaymentStatus.CANCELLED,
}

DECLINES = {
    "declined": "The bank declined the payment.",
    "insufficient_funds": "The account has insufficient funds.",
    "refund_declined": "The bank declined the refund.",
}

class CredicorpGateway:
    name = "credicorp"
    capabilities = base.Capabilities(
        hosted_page=True,
        card_fields=False,
        refunds=True,
        partial_refunds=True,
        currencies=frozenset({"PAB", "USD"}),
    )

    def __init__(self, credentials: base.Credentials, *, base_url: str | None = None, timeout: float = 10.0) -> None:
        base_url = base_url or credentials.settings.get("base_url", "")
        if not base_url or not credentials.secret:
            raise base.GatewayError("Credicorp credentials need an API key and settings['base_url'].")
        self.base_url = base_url.rstrip("/")
        self._api_key = credentials.secret
        self._callback_secret = credentials.settings.get("callback_secret", "")
        self._timeout = timeout

    # --- the protocol -------------------------------------------------------------------------------------

    def start_checkout(self, request: base.CheckoutRequest) -> base.Checkout:
        if request.mode != base.CheckoutMode.HOSTED_PAGE:
            raise ValueError("Credicorp offers only its hosted page.")
        if request.currency not in self.capabilities.currencies:
            raise ValueError(f"Credicorp takes PAB and USD, not {request.currency}.")
        expires_at = request.expires_at.astimezone(UTC).isoformat() if request.expires_at else None
        answer = self._send("POST", "/v1/payment-links", {
            "amount": str(base.from_minor_units(request.amount_minor, request.currency)),
            "currency": request.currency,
            "reference": request.reference,
            "description": request.description,
            "customer_email": request.customer_email,
            "expires_at": expires_at,
            "return_url": request.return_url,
            "callback_url": request.webhook_url,
        }, idempotency_key=request.reference)
        return base.Checkout(
            provider_reference=_id(answer),
            status=_status(answer.get("status")),
            redirect_url=_text(answer, "url"),
            expires_at=request.expires_at,
        )

    def fetch_status(self, provider_reference: str) -> base.PaymentState:
        link_id = _checked(provider_reference)
        answer = self._send("GET", f"/v1/payment-links/{link_id}")
        currency = answer.get("currency") if isinstance(answer.get("currency"), str) else ""
        provider_status = answer.get("status")
        return base.PaymentState(
            provider_reference=_id(answer),
            status=_status(provider_status),
            amount_minor=base.minor_units_or_none(answer.get("amount"), currency),
            currency=currency,
            provider_status=provider_status,
        )

    def refund(self, request: base.RefundRequest) -> base.RefundResult:
        link_id = _checked(request.provider_reference)
        answer = self._send("POST", f"/v1/payment-links/{link_id}/refunds", {
            "amount": str(base.from_minor_units(request.amount_minor, request.currency)),
            "idempotency_key": request.idempotency_key,
        }, idempotency_key=request.idempotency_key)
        return base.RefundResult(refund_reference=_id(answer), succeeded=answer.get("status") != "failed")

    def check_connection(self) -> None:
        """``GET /v1/account`` (assumed, like the rest of this contract) answers 200 for a valid key."""
        self._send("GET", "/v1/account")

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> base.WebhookEvent:
        self._verify(headers, body, now)
        try:
            payload = json.loads(body)
            event_id, event_type, link = payload["id"], payload["type"], payload["data"]
            link_id = _checked(link["id"])
            if not (isinstance(event_id, str | int) and str(event_id) and isinstance(event_type, str)):
                raise TypeError("an event id and a type")
        except (ValueError, KeyError, TypeError) as exc:
            raise base.InvalidWebhookSignature("The signed body is not a Credicorp callback.") from exc
        currency = link.get("currency") if isinstance(link.get("currency"), str) else ""
        return base.WebhookEvent(
            event_id=str(event_id),
            event_type=str(event_type),
            provider_reference=link_id,
            status=EVENT_STATUSES.get(event_type),
            amount_minor=base.minor_units_or_none(link.get("amount"), currency),
            currency=currency,
        )

    # --- plumbing -----------------------------------------------------------------------------------------

    def _verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        if not self._callback_secret:
            raise base.InvalidWebhookSignature(
                "No Credicorp callback secret is configured, so nothing can be verified.")
        http.verify_timestamped_signature(
            headers=headers, body=body, now=now, secret=self._callback_secret, signature_header=SIGNATURE_HEADER,
            timestamp_header=TIMESTAMP_HEADER,
        )

    def _send(self, method: str, path: str, payload: dict[str, Any] | None = None, *,
              idempotency_key: str = "") -> Mapping[str, Any]:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return http.call_json(
            provider="Credicorp", method=method, url=self.base_url + path, headers=headers, timeout=self._timeout,
            error=_error, json=payload,
        )


def _error(status_code: int, answer: Any) -> base.GatewayError:
    error = answer.get("error") if isinstance(answer, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    code, message = str(error.get("code") or ""), str(error.get("message") or "")
    if code in DECLINES:
        return base.PaymentDeclined(DECLINES[code])
    if status_code == 402:
        return base.PaymentDeclined(DECLINES["declined"])
    detail = f"{code}: {message}" if code else (message or "no error message")
    return base.GatewayError(f"Credicorp refused the request (HTTP {status_code}): {detail}")


def _status(provider_status: Any) -> base.PaymentStatus:
    try:
        return STATUSES[provider_status]
    except (KeyError, TypeError):
        raise base.GatewayUnavailable(f"Credicorp answered an unknown status {provider_status!r}.") from None


def _checked(reference: Any) -> str:
    """An id that is safe to put in a URL path."""
    if not isinstance(reference, str) or not http.PLAIN_TOKEN.fullmatch(reference):
        raise ValueError(f"Not a Credicorp payment link id: {reference!r}.")
    return reference


def _id(answer: Mapping[str, Any]) -> str:
    value = answer.get("id")
    if not isinstance(value, str) or not http.PLAIN_TOKEN.fullmatch(value):
        raise base.GatewayUnavailable(f"Credicorp answered an unusable id {value!r}.")
    return value


def _text(answer: Mapping[str, Any], key: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str) or not value:
        raise base.GatewayUnavailable(f"Credicorp's answer lacks {key!r}.")
    return value
