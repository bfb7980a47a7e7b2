"""Cashflows (UK acquirer), over httpx against its Gateway REST API.

What is documented and what is assumed
======================================
Cashflows publishes a hand-written API reference and a Swagger-generated client, not an OpenAPI document.

Documented (developer reference, the generated client's models, Cashflows' own integration samples):

* Hosts: integration ``https://gateway-int.cashflows.com``, production ``https://gateway.cashflows.com``.
* Every request carries ``ConfigurationId`` and ``Hash``: the hex SHA-512 of the API key followed by the raw
  JSON body (the key alone when there is no body). Repeated bad hashes lock the account.
* ``POST /api/gateway/payment-jobs`` creates a payment job (201): ``amountToCollect``, ``currency``,
  ``locale``, ``order.orderNumber``, ``expirationDateTimeUtc`` and ``parameters.returnUrlSuccess`` /
  ``returnUrlFailed`` / ``returnUrlCancelled`` / ``webhookUrl``. The answer is ``{"data": PaymentJob,
  "links": {"action": {"url"}}}``; ``data.reference`` is the job, ``links.action.url`` the hosted page.
* ``POST /api/gateway/payment-intents/`` (the embedded checkout) answers ``data.token`` and
  ``data.paymentJobReference``; Cashflows' sample also sends ``configurationId`` and
  ``paymentMethodsToUse: ["Card"]`` in the body.
* ``GET /api/gateway/payment-jobs/{job}`` answers the job with ``currency``, ``amountToCollect``,
  ``paymentStatus`` and ``payments`` (each with ``reference``, ``status``, ``createDateTimeUtc``,
  ``amountToCollect``, ``paidAmount``, ``lastErrorReport``); ``GET …/payments/{payment}`` answers one payment.
* Payment statuses: Pending, Reserved, Commissioned, Paid, Verified, Cancelled, Failed, Rejected, Expired,
  Blocked, Declined.
* ``POST …/payments/{payment}/refunds`` takes ``amountToRefund`` and ``refundNumber`` (a merchant reference)
  and answers a refund with ``reference`` and ``status`` (Pending, Completed, Failed).
* Errors: HTTP status plus ``errorReport.errors[]`` of ``{code, message}``; refund refusals are
  GenericRejectionOfRefund, RefundAmountExceedsOriginalAmount, PaymentAlreadyFullyRefunded and
  InvalidPaymentForRefund; 3-D Secure refusals ThreeDSecureFailed and NonThreeDSecureNotAllowed.
* Webhooks are unsigned POSTs carrying only ``paymentJobReference`` and ``paymentReference``, retried until
  answered HTTP 200 (Cashflows asks the answer to echo both references), sent on every status change.

Assumed (not stated anywhere we could read; replace when Cashflows confirms):

* The ``Hash`` hex digest is accepted in lower case (Cashflows' PHP sample upper-cases it; hex is
  case-insensitive by nature, and other integrations send lower case).
* Amounts are sent as decimal strings (``"12.34"``) and read back as JSON numbers, parsed as ``Decimal``.
* ``refundNumber`` deduplicates a retried refund. Cashflows documents no idempotency key, so a retried
  *job creation* after a timeout can create a second, unused job (harmless: nobody is sent to it).
* Reserved and Commissioned mean authorised but not yet paid (→ processing); Rejected and Blocked are
  failures, and so is ``Refused`` (not in the published enum, kept in case it appears); a job with no
  payment yet takes the job's ``paymentStatus``, else pending. Any other status is treated as a garbage
  answer (:class:`GatewayUnavailable`), leaving the payment pending and visible.
* The job GET lists payments oldest first when ``createDateTimeUtc`` is absent.
* HTTP 429 (undocumented) is treated like a 5xx: retry later.

Stored cards (recurring payments). Documented: a customer-present *parent* job is created with
``options: ["IsRecurringPaymentJobParent", "StoreCardDetails"]``; a later *child* job names it in
``parentPaymentJobReference`` and is charged at once, its status in the API answer (children send no
webhook). Assumed: a paid payment describes its card as ``card: {scheme, lastFourDigits, expiryMonth,
expiryYear}``; a child refused for 3-D Secure answers ``ThreeDSecureFailed`` or ``NonThreeDSecureNotAllowed``;
and there is no call to forget a parent job, so removing a card is Duly's own (it is never charged again).
The saved card's token is the parent job's reference.

Provider references: ``"{job}"`` until the customer starts paying, then ``"{job}/{payment}"``.
:meth:`CashflowsGateway.fetch_status` on a bare job answers the latest payment's full reference, which the
caller stores. References are checked to be plain tokens before they go into a URL path, because an unsigned
webhook supplies them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gateways import base, http

INTEGRATION_URL = "https://gateway-int.cashflows.com"
PRODUCTION_URL = "https://gateway.cashflows.com"

STATUSES = {
    "Pending": base.PaymentStatus.PENDING,
    "Reserved": base.PaymentStatus.PROCESSING,
    "Commissioned": base.PaymentStatus.PROCESSING,
    "Paid": base.PaymentStatus.SUCCEEDED,
    "Verified": base.PaymentStatus.SUCCEEDED,
    "Failed": base.PaymentStatus.FAILED,
    "Refused": base.PaymentStatus.FAILED,
    "Declined": base.PaymentStatus.FAILED,
    "Rejected": base.PaymentStatus.FAILED,
    "Blocked": base.PaymentStatus.FAILED,
    "Cancelled": base.PaymentStatus.CANCELLED,
    "Expired": base.PaymentStatus.EXPIRED,
}

# Error codes that mean "refused", with what the payer or staff may be shown.
DECLINES = {
    "GenericRejectionOfRefund": "Cashflows refused the refund.",
    "RefundAmountExceedsOriginalAmount": "The refund is more than what was paid.",
    "PaymentAlreadyFullyRefunded": "The payment has already been fully refunded.",
    "InvalidPaymentForRefund": "This payment cannot be refunded.",
    "ThreeDSecureFailed": "The card's 3-D Secure check failed.",
    "NonThreeDSecureNotAllowed": "The card must pass 3-D Secure.",
}

CONNECTION_CHECK_JOB = "duly-connection-check"
PARENT_OPTIONS = ("IsRecurringPaymentJobParent", "StoreCardDetails")
AUTHENTICATION_CODES = frozenset({"ThreeDSecureFailed", "NonThreeDSecureNotAllowed"})
WEBHOOK_EVENT_TYPE = "payment.notification"
class CashflowsGateway:
    name = "cashflows"
    capabilities = base.Capabilities(
        hosted_page=True,
        card_fields=True,
        refunds=True,
        partial_refunds=True,
        currencies=frozenset({"GBP", "EUR", "USD"}),
        saved_cards=True,
    )

    def __init__(self, credentials: base.Credentials, *, base_url: str | None = None, timeout: float = 10.0) -> None:
        configuration_id = credentials.settings.get("configuration_id", "")
        if not configuration_id or not credentials.secret:
            raise base.GatewayError("Cashflows credentials need an API key and settings['configuration_id'].")
        self._configuration_id = configuration_id
        self._api_key = credentials.secret
        self.base_url = (base_url or (PRODUCTION_URL if credentials.live else INTEGRATION_URL)).rstrip("/")
        self._locale = credentials.settings.get("locale", "en_GB")
        self._timeout = timeout

    # --- the protocol -------------------------------------------------------------------------------------

    def start_checkout(self, request: base.CheckoutRequest) -> base.Checkout:
        if request.currency not in self.capabilities.currencies:
            raise ValueError(f"Cashflows is not set up for {request.currency}.")
        body: dict[str, Any] = {
            "amountToCollect": str(base.from_minor_units(request.amount_minor, request.currency)),
            "currency": request.currency,
            "locale": self._locale,
            "order": {"orderNumber": request.reference},
        }
        if request.expires_at is not None:
            body["expirationDateTimeUtc"] = request.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if request.save_card:
            body["options"] = list(PARENT_OPTIONS)
        if request.mode == base.CheckoutMode.CARD_FIELDS:
            body = {"configurationId": self._configuration_id, **body, "paymentMethodsToUse": ["Card"]}
            if request.webhook_url:
                body["parameters"] = {"webhookUrl": request.webhook_url}
            answer = self._send("POST", "/api/gateway/payment-intents/", body)
            data = _data(answer)
            return base.Checkout(
                provider_reference=_reference(_dig(data, "paymentJobReference")),
                status=base.PaymentStatus.PENDING,
                client_token=_text(_dig(data, "token")),
                expires_at=request.expires_at,
            )
        leave_url = request.cancel_url or request.return_url
        parameters = {"returnUrlSuccess": request.return_url, "returnUrlFailed": leave_url,
                      "returnUrlCancelled": leave_url}
        if request.webhook_url:
            parameters["webhookUrl"] = request.webhook_url
        answer = self._send("POST", "/api/gateway/payment-jobs", {**body, "parameters": parameters})
        return base.Checkout(
            provider_reference=_reference(_dig(answer, "data", "reference")),
            status=base.PaymentStatus.PENDING,
            redirect_url=_text(_dig(answer, "links", "action", "url")),
            expires_at=request.expires_at,
        )

    def fetch_status(self, provider_reference: str) -> base.PaymentState:
        job, payment = _split(provider_reference)
        if payment:
            data = _data(self._send("GET", f"/api/gateway/payment-jobs/{job}/payments/{payment}"))
            return _payment_state(f"{job}/{payment}", data, currency="")
        data = _data(self._send("GET", f"/api/gateway/payment-jobs/{job}"))
        currency = data.get("currency") or ""
        latest = _latest_payment(data)
        if latest is None:
            status = data.get("paymentStatus") or "Pending"
            return base.PaymentState(provider_reference=job, status=_status(status),
                                amount_minor=base.minor_units_or_none(data.get("amountToCollect"), currency),
                                currency=currency, provider_status=status)
        return _payment_state(f"{job}/{_reference(latest.get('reference'))}", latest, currency=currency,
                              fallback_amount=data.get("amountToCollect"))

    def charge_saved_card(self, charge: base.CardCharge) -> base.PaymentState:
        parent, payment = _split(charge.card_token)
        if payment:
            raise ValueError(f"Not a Cashflows parent job: {charge.card_token!r}.")
        body = {
            "amountToCollect": str(base.from_minor_units(charge.amount_minor, charge.currency)),
            "currency": charge.currency, "locale": self._locale, "order": {"orderNumber": charge.reference},
            "parentPaymentJobReference": int(parent) if parent.isdigit() else parent,
        }
        data = _data(self._send("POST", "/api/gateway/payment-jobs", body))
        job = _reference(data.get("reference"))
        latest = _latest_payment(data)
        if latest is None:
            raise base.GatewayUnavailable(f"Cashflows' child job {job} has no payment.")
        state = _payment_state(f"{job}/{_reference(latest.get('reference'))}", latest, currency=charge.currency)
        if state.status == base.PaymentStatus.FAILED:
            codes = {e.get("code") for e in _dig_or_none(latest, "lastErrorReport", "errors") or []
                     if isinstance(e, Mapping)}
            refusal = base.AuthenticationRequired if codes & AUTHENTICATION_CODES else base.PaymentDeclined
            raise refusal(state.failure_message or "Cashflows declined the card.")
        return state

    def remove_saved_card(self, card_token: str) -> None:
        """Cashflows has no call to forget a parent job: Duly stops charging it, which is what removal means."""
        _split(card_token)

    def refund(self, request: base.RefundRequest) -> base.RefundResult:
        job, payment = _split(request.provider_reference)
        if not payment:
            latest = _latest_payment(_data(self._send("GET", f"/api/gateway/payment-jobs/{job}")))
            if latest is None:
                raise base.GatewayError(f"Cashflows payment job {job} has no payment to refund.")
            payment = _reference(latest.get("reference"))
        body = {"amountToRefund": str(base.from_minor_units(request.amount_minor, request.currency)),
                "refundNumber": request.idempotency_key}
        data = _data(self._send("POST", f"/api/gateway/payment-jobs/{job}/payments/{payment}/refunds", body))
        return base.RefundResult(refund_reference=_reference(data.get("reference")),
                            succeeded=data.get("status") != "Failed")

    def check_connection(self) -> None:
        """A signed GET of a payment job that cannot exist. Assumed: Cashflows checks the
        ConfigurationId and Hash before looking the job up, so 404 means the credentials were
        accepted and 401/403 that they were not."""
        try:
            self._send("GET", f"/api/gateway/payment-jobs/{CONNECTION_CHECK_JOB}")
        except _UnknownJob:
            return

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> base.WebhookEvent:
        """Unsigned: the event only says *which* payment changed; the caller confirms with :meth:`fetch_status`.

        The same body arrives for every status change of a payment, so the event id carries the receipt time
        (to the microsecond) after the references: a later change is a new event, and a repeated delivery is
        made harmless by that confirmation.

        :raises InvalidWebhookSignature: the body is not JSON carrying both references as plain tokens.
        """
        try:
            payload = json.loads(body)
            job = _reference(payload["paymentJobReference"])
            payment = _reference(payload["paymentReference"])
        except (ValueError, KeyError, TypeError, base.GatewayUnavailable) as exc:
            message = "Not a Cashflows notification: it lacks the payment references."
            raise base.InvalidWebhookSignature(message) from exc
        received = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC)
        return base.WebhookEvent(
            event_id=f"{job}/{payment}@{received:%Y%m%dT%H%M%S.%fZ}",
            event_type=WEBHOOK_EVENT_TYPE,
            provider_reference=f"{job}/{payment}",
            status=None,
            needs_confirmation=True,
        )

    # --- HTTP ---------------------------------------------------------------------------------------------

    def _send(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "ConfigurationId": self._configuration_id,
            "Hash": hashlib.sha512(self._api_key.encode() + body).hexdigest(),
            "Accept": "application/json",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return http.call_json(
            provider="Cashflows", method=method, url=self.base_url + path, headers=headers, timeout=self._timeout,
            error=_error, content=body or None,
        )


class _UnknownJob(base.GatewayError):
    """HTTP 404: no such payment job (or payment)."""


def _error(status_code: int, answer: Any) -> base.GatewayError:
    if status_code == 404:
        return _UnknownJob("Cashflows knows no such payment job.")
    errors = _dig_or_none(answer, "errorReport", "errors") or []
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
    code, message = first.get("code") or "", first.get("message") or ""
    if code in AUTHENTICATION_CODES:
        return base.AuthenticationRequired(DECLINES[code])
    if code in DECLINES:
        return base.PaymentDeclined(DECLINES[code])
    detail = f"{code}: {message}" if code else (message or "no error report")
    return base.GatewayError(f"Cashflows refused the request (HTTP {status_code}): {detail}")


def _payment_state(reference: str, payment: Mapping[str, Any], *, currency: str,
                   fallback_amount: Any = None) -> base.PaymentState:
    provider_status = _text(payment.get("status"))
    status = _status(provider_status)
    amount = payment.get("paidAmount") or payment.get("amountToCollect") or fallback_amount
    failure = ""
    if status == base.PaymentStatus.FAILED:
        errors = _dig_or_none(payment, "lastErrorReport", "errors") or []
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            failure = errors[0].get("message") or ""
    return base.PaymentState(provider_reference=reference, status=status,
                             amount_minor=base.minor_units_or_none(amount, currency) if currency else None,
                             currency=currency, provider_status=provider_status, failure_message=failure,
                             saved_card=_saved_card(reference, payment) if status == base.PaymentStatus.SUCCEEDED
                             else None)


def _saved_card(reference: str, payment: Mapping[str, Any]) -> base.SavedCard | None:
    """The card a paid payment describes (assumed shape, see the module); its token is the job's reference."""
    card = payment.get("card")
    if not isinstance(card, Mapping):
        return None
    try:
        return base.SavedCard(token=reference.partition("/")[0], brand=str(card["scheme"]),
                              last4=str(card["lastFourDigits"])[-4:], exp_month=int(card["expiryMonth"]),
                              exp_year=int(card["expiryYear"]))
    except (KeyError, TypeError, ValueError):
        return None


def _latest_payment(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    payments = [p for p in job.get("payments") or [] if isinstance(p, Mapping)]
    if not payments:
        return None
    # ISO-8601 UTC strings sort chronologically; a stable sort keeps list order among equals.
    return sorted(payments, key=lambda p: str(p.get("createDateTimeUtc") or ""))[-1]


def _status(provider_status: str) -> base.PaymentStatus:
    try:
        return STATUSES[provider_status]
    except KeyError:
        raise base.GatewayUnavailable(f"Cashflows answered an unknown payment status {provider_status!r}.") from None


def _split(provider_reference: str) -> tuple[str, str]:
    job, _, payment = provider_reference.partition("/")
    if not http.PLAIN_TOKEN.fullmatch(job) or (payment and not http.PLAIN_TOKEN.fullmatch(payment)):
        raise ValueError(f"Not a Cashflows reference: {provider_reference!r}.")
    return job, payment


def _reference(value: Any) -> str:
    """Cashflows' references are integers in JSON; we keep them as strings, checked for URL use."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not http.PLAIN_TOKEN.fullmatch(text):
        raise base.GatewayUnavailable(f"Cashflows answered an unusable reference {value!r}.")
    return text


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise base.GatewayUnavailable("Cashflows' answer lacks an expected field.")
    return value


def _dig(obj: Any, *keys: str) -> Any:
    value = _dig_or_none(obj, *keys)
    if value is None:
        raise base.GatewayUnavailable(f"Cashflows' answer lacks {'.'.join(keys)}.")
    return value


def _data(answer: dict[str, Any]) -> Mapping[str, Any]:
    data = answer.get("data")
    if not isinstance(data, Mapping):
        raise base.GatewayUnavailable("Cashflows' answer lacks its data object.")
    return data


def _dig_or_none(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj
