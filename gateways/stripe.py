"""Stripe, through the official ``stripe`` SDK.

Hosted page: a Checkout Session (``mode=payment``). Card fields: a PaymentIntent whose client secret the
Payment Element needs. The provider reference is the Session's ``cs_…`` id or the PaymentIntent's ``pi_…`` id,
and :meth:`StripeGateway.fetch_status` tells them apart by that prefix.

Every call builds its own :class:`stripe.StripeClient` (never the global ``stripe.api_key``) on the SDK's
``RequestsClient`` with this gateway's timeout and no SDK-level retries: a timeout surfaces at once as
:class:`GatewayUnavailable` and the caller's task decides whether to retry. POSTs carry our idempotency key,
so a retried checkout or refund never doubles.

Webhooks are verified with the SDK's ``WebhookSignature`` (HMAC-SHA256 over ``"{t}.{body}"``, constant-time
compare); the SDK measures staleness against the wall clock, so the 300-second tolerance is checked here
against the ``now`` the caller passes.

Saved cards: a checkout asked to save the card gets a Customer (``customer_creation=always`` on a Session,
one created first for card fields) and ``setup_future_usage=off_session``; Stripe keeps the PaymentMethod.
Its token in Duly is ``"{cus_…}/{pm_…}"``, read back by :meth:`StripeGateway.fetch_status` with the
PaymentMethod expanded. A charge without the customer is an off-session PaymentIntent confirmed at once;
``authentication_required`` (or a ``requires_action`` answer) is :class:`AuthenticationRequired`. Removing a
card detaches its PaymentMethod. No SetupIntent: Duly saves a card only while the customer pays.

Choices worth knowing: an ``expires_at`` outside Stripe's window (30 min – 24 h ahead) is pulled to its nearer
edge and the Session's real expiry is returned; ``checkout.session.completed`` with ``payment_status=unpaid``
(a delayed payment method) is *processing*, not succeeded; a refund Stripe answers ``pending`` counts as
accepted (``RefundResult.succeeded``), as Stripe settles those later.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe

from gateways import base, http

WEBHOOK_TOLERANCE_SECONDS = 300
# Afterpay / Clearpay takes these presentment currencies (not EUR).
AFTERPAY_CURRENCIES = frozenset({"GBP", "AUD", "NZD", "CAD", "USD"})
# Stripe refuses a Checkout Session expiring sooner than 30 minutes or later than 24 hours after creation;
# the margins leave room for the request's own travel time.
SESSION_MIN_LIFETIME = timedelta(minutes=31)
SESSION_MAX_LIFETIME = timedelta(hours=23, minutes=59)

INTENT_STATUSES = {
    "requires_payment_method": base.PaymentStatus.PENDING,
    "requires_confirmation": base.PaymentStatus.PENDING,
    "requires_action": base.PaymentStatus.PENDING,
    "processing": base.PaymentStatus.PROCESSING,
    "requires_capture": base.PaymentStatus.PROCESSING,  # authorised, not captured: money not yet ours
    "succeeded": base.PaymentStatus.SUCCEEDED,
    "canceled": base.PaymentStatus.CANCELLED,
}

EVENT_STATUSES = {
    "checkout.session.completed": base.PaymentStatus.SUCCEEDED,
    "checkout.session.async_payment_succeeded": base.PaymentStatus.SUCCEEDED,
    "checkout.session.async_payment_failed": base.PaymentStatus.FAILED,
    "checkout.session.expired": base.PaymentStatus.EXPIRED,
    "payment_intent.succeeded": base.PaymentStatus.SUCCEEDED,
    "payment_intent.payment_failed": base.PaymentStatus.FAILED,
    "payment_intent.canceled": base.PaymentStatus.CANCELLED,
    "payment_intent.processing": base.PaymentStatus.PROCESSING,
}

# A refund Stripe has accepted: "pending" ones settle later and almost never fail.
ACCEPTED_REFUND_STATUSES = frozenset({"succeeded", "pending"})

DECLINED_MESSAGE = "The card was declined."


class StripeGateway:
    name = "stripe"
    capabilities = base.Capabilities(
        hosted_page=True,
        card_fields=True,
        refunds=True,
        partial_refunds=True,
        currencies=frozenset({"EUR", "GBP", "USD", "AUD", "CAD", "NZD", "JPY"}),
        pay_in_4_currencies=AFTERPAY_CURRENCIES,
        capture=True,
        saved_cards=True,
    )

    def __init__(self, credentials: base.Credentials, *, base_url: str | None = None, timeout: float = 10.0) -> None:
        self._credentials = credentials
        self.base_url = base_url.rstrip("/") if base_url else stripe.DEFAULT_API_BASE
        self._timeout = timeout

    # --- the protocol -------------------------------------------------------------------------------------

    def start_checkout(self, request: base.CheckoutRequest) -> base.Checkout:
        if request.mode == base.CheckoutMode.HOSTED_PAGE:
            return self._create_session(request)
        return self._create_intent(request)

    def fetch_status(self, provider_reference: str) -> base.PaymentState:
        with self._client() as client:
            if provider_reference.startswith("cs_"):
                session = client.v1.checkout.sessions.retrieve(
                    provider_reference, params={"expand": ["payment_intent", "payment_intent.payment_method"]})
                return _session_state(session.to_dict())
            if provider_reference.startswith("pi_"):
                return _intent_state(client.v1.payment_intents.retrieve(
                    provider_reference, params={"expand": ["payment_method"]}).to_dict())
        raise ValueError(f"Not a Stripe Checkout Session or PaymentIntent id: {provider_reference!r}.")

    def refund(self, request: base.RefundRequest) -> base.RefundResult:
        with self._client() as client:
            intent_id = request.provider_reference
            if intent_id.startswith("cs_"):
                session = client.v1.checkout.sessions.retrieve(intent_id).to_dict()
                intent_id = _id_of(session.get("payment_intent"))
                if not intent_id:
                    raise base.GatewayError(f"Checkout Session {request.provider_reference} has no payment to refund.")
            refund = client.v1.refunds.create(
                params={"payment_intent": intent_id, "amount": request.amount_minor},
                options={"idempotency_key": request.idempotency_key},
            ).to_dict()
        return base.RefundResult(refund_reference=_required(refund, "id"),
                            succeeded=refund.get("status") in ACCEPTED_REFUND_STATUSES)

    def charge_saved_card(self, charge: base.CardCharge) -> base.PaymentState:
        customer, _, method = charge.card_token.partition("/")
        if not (customer.startswith("cus_") and method.startswith("pm_")):
            raise ValueError(f"Not a Stripe saved card: {charge.card_token!r}.")
        with self._client() as client:
            intent = client.v1.payment_intents.create(params={
                "amount": charge.amount_minor, "currency": charge.currency.lower(), "customer": customer,
                "payment_method": method, "off_session": True, "confirm": True, "description": charge.description,
                "metadata": {"reference": charge.reference}, "payment_method_types": ["card"],
            }, options={"idempotency_key": charge.reference}).to_dict()
        if intent.get("status") == "requires_action":
            raise base.AuthenticationRequired(_failure_message(intent) or "The card's bank asks for the customer.")
        return _intent_state(intent)

    def remove_saved_card(self, card_token: str) -> None:
        method = card_token.partition("/")[2]
        if not method.startswith("pm_"):
            raise ValueError(f"Not a Stripe saved card: {card_token!r}.")
        try:
            with self._client() as client:
                client.v1.payment_methods.detach(method)
        except base.GatewayUnavailable:
            raise
        except base.GatewayError as error:
            if not isinstance(error.__cause__, stripe.InvalidRequestError):
                raise  # an unknown or already detached PaymentMethod is removed

    def capture(self, provider_reference: str, amount_minor: int | None = None) -> base.PaymentState:
        """Capture an authorised PaymentIntent (created with ``capture_method=manual``)."""
        if not provider_reference.startswith("pi_"):
            raise ValueError(f"Only a PaymentIntent can be captured, not {provider_reference!r}.")
        params = {} if amount_minor is None else {"amount_to_capture": amount_minor}
        with self._client() as client:
            intent = client.v1.payment_intents.capture(provider_reference, params=params)
        return _intent_state(intent.to_dict())

    def check_connection(self) -> None:
        """Reads the account's balance: the lightest call every secret key may make."""
        with self._client() as client:
            client.v1.balance.retrieve()

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> base.WebhookEvent:
        self._verify_signature(http.header(headers, "Stripe-Signature"), body, now)
        try:
            event = json.loads(body)
            event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
            if not (isinstance(event_id, str) and event_id and isinstance(event_type, str) and isinstance(obj, dict)):
                raise TypeError("an event id, a type and an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise base.InvalidWebhookSignature("The signed body is not a Stripe event.") from exc
        status = EVENT_STATUSES.get(event_type)
        if event_type == "checkout.session.completed" and obj.get("payment_status") == "unpaid":
            # Completed with a delayed payment method: async_payment_succeeded/failed follows.
            status = base.PaymentStatus.PROCESSING
        amount = obj.get("amount_total") if obj.get("object") == "checkout.session" else obj.get("amount")
        reference, currency = obj.get("id"), obj.get("currency")
        return base.WebhookEvent(
            event_id=event_id,
            event_type=event_type,
            provider_reference=reference if isinstance(reference, str) else "",
            status=status,
            amount_minor=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
            currency=currency.upper() if isinstance(currency, str) else "",
        )

    # --- checkout -----------------------------------------------------------------------------------------

    def _create_session(self, request: base.CheckoutRequest) -> base.Checkout:
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{
                "quantity": 1,
                "price_data": {
                    "currency": request.currency.lower(),
                    "unit_amount": request.amount_minor,
                    "product_data": {"name": request.description},
                },
            }],
            "client_reference_id": request.reference,
            "metadata": {"reference": request.reference},
            "payment_intent_data": {"description": request.description,
                                    "metadata": {"reference": request.reference}},
            "payment_method_types": _payment_method_types(request),
            "success_url": request.return_url,
            "cancel_url": request.cancel_url or request.return_url,
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        if request.save_card:
            params["customer_creation"] = "always"
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
        if request.expires_at is not None:
            params["expires_at"] = _session_expiry(request.expires_at, now=datetime.now(UTC))
        with self._client() as client:
            session = client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": request.reference}).to_dict()
        expires_at = session.get("expires_at")
        return base.Checkout(
            provider_reference=_required(session, "id"),
            status=base.PaymentStatus.PENDING,
            redirect_url=_required(session, "url"),
            expires_at=datetime.fromtimestamp(expires_at, UTC) if isinstance(expires_at, int) else None,
        )

    def _create_intent(self, request: base.CheckoutRequest) -> base.Checkout:
        params: dict[str, Any] = {
            "amount": request.amount_minor,
            "currency": request.currency.lower(),
            "description": request.description,
            "metadata": {"reference": request.reference},
            "payment_method_types": _payment_method_types(request),
        }
        if request.customer_email:
            params["receipt_email"] = request.customer_email
        with self._client() as client:
            if request.save_card:
                customer = client.v1.customers.create(
                    params={"email": request.customer_email} if request.customer_email else {},
                    options={"idempotency_key": f"{request.reference}-customer"}).to_dict()
                params |= {"customer": _required(customer, "id"), "setup_future_usage": "off_session"}
            intent = client.v1.payment_intents.create(
                params=params, options={"idempotency_key": request.reference}).to_dict()
        return base.Checkout(
            provider_reference=_required(intent, "id"),
            status=INTENT_STATUSES.get(intent.get("status"), base.PaymentStatus.PENDING),
            client_token=_required(intent, "client_secret"),
        )

    # --- plumbing -----------------------------------------------------------------------------------------

    @contextmanager
    def _client(self) -> Iterator[stripe.StripeClient]:
        """A client for one operation, with every Stripe error translated into the protocol's three."""
        http_client = stripe.RequestsClient(timeout=self._timeout)
        client = stripe.StripeClient(
            self._credentials.secret,
            base_addresses={"api": self.base_url},
            http_client=http_client,
            max_network_retries=0,
        )
        try:
            yield client
        except stripe.CardError as exc:
            if exc.code == "authentication_required":
                raise base.AuthenticationRequired(exc.user_message or DECLINED_MESSAGE) from exc
            raise base.PaymentDeclined(exc.user_message or DECLINED_MESSAGE) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise base.GatewayUnavailable(f"Stripe did not answer: {exc.user_message}") from exc
        except stripe.APIError as exc:  # 5xx, or a body that is not Stripe's JSON
            raise base.GatewayUnavailable(f"Stripe answered HTTP {exc.http_status}: {exc.user_message}") from exc
        except stripe.StripeError as exc:
            raise base.GatewayError(f"Stripe refused the request: {exc.user_message}") from exc
        finally:
            http_client.close()

    def _verify_signature(self, header: str | None, body: bytes, now: datetime) -> None:
        secret = self._credentials.settings.get("webhook_secret", "")
        if not header:
            raise base.InvalidWebhookSignature("The Stripe-Signature header is missing.")
        if not secret:
            raise base.InvalidWebhookSignature("No Stripe webhook secret is configured, so nothing can be verified.")
        try:
            stripe.WebhookSignature.verify_header(body, header, secret, tolerance=None)
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
            raise base.InvalidWebhookSignature("The Stripe-Signature does not match the body.") from exc
        signed_at = _signature_timestamp(header)
        if abs(_epoch(now) - signed_at) > WEBHOOK_TOLERANCE_SECONDS:
            raise base.InvalidWebhookSignature(f"The Stripe-Signature is stale (signed at {signed_at}).")


def _payment_method_types(request: base.CheckoutRequest) -> list[str]:
    if request.pay_in_4 and request.currency in AFTERPAY_CURRENCIES:
        return ["card", "afterpay_clearpay"]
    return ["card"]


def _session_expiry(expires_at: datetime, *, now: datetime) -> int:
    """Stripe's window is 30 min – 24 h ahead; a wish outside it is pulled to its nearer edge."""
    clamped = min(max(expires_at, now + SESSION_MIN_LIFETIME), now + SESSION_MAX_LIFETIME)
    return int(clamped.timestamp())


def _session_state(session: Mapping[str, Any]) -> base.PaymentState:
    status, payment_status = session.get("status"), session.get("payment_status")
    intent = session.get("payment_intent")
    intent_status = intent.get("status") if isinstance(intent, Mapping) else None
    if status == "expired":
        normalized = base.PaymentStatus.EXPIRED
    elif status == "complete" and payment_status in ("paid", "no_payment_required"):
        normalized = base.PaymentStatus.SUCCEEDED
    elif status == "complete" and intent_status in ("requires_payment_method", "canceled"):
        normalized = base.PaymentStatus.FAILED  # the delayed payment failed after the session completed
    elif status == "complete" or intent_status in ("processing", "requires_capture"):
        normalized = base.PaymentStatus.PROCESSING
    elif status == "open":
        normalized = base.PaymentStatus.PENDING
    else:
        raise base.GatewayUnavailable(f"Stripe answered an unknown Checkout Session status {status!r}.")
    amount = session.get("amount_total")
    return base.PaymentState(
        provider_reference=_required(session, "id"),
        status=normalized,
        amount_minor=amount if isinstance(amount, int) else None,
        currency=(session.get("currency") or "").upper(),
        provider_status=f"{status}/{payment_status}",
        failure_message=_failure_message(intent) if normalized == base.PaymentStatus.FAILED else "",
        saved_card=_saved_card(intent) if normalized == base.PaymentStatus.SUCCEEDED else None,
    )


def _intent_state(intent: Mapping[str, Any]) -> base.PaymentState:
    status = intent.get("status")
    if status not in INTENT_STATUSES:
        raise base.GatewayUnavailable(f"Stripe answered an unknown PaymentIntent status {status!r}.")
    amount = intent.get("amount")
    return base.PaymentState(
        provider_reference=_required(intent, "id"),
        status=INTENT_STATUSES[status],
        amount_minor=amount if isinstance(amount, int) else None,
        currency=(intent.get("currency") or "").upper(),
        provider_status=status,
        failure_message=_failure_message(intent),
        saved_card=_saved_card(intent) if status == "succeeded" else None,
    )


def _saved_card(intent: Any) -> base.SavedCard | None:
    """The card an intent kept for later (``setup_future_usage``, a customer and an expanded card method)."""
    if not isinstance(intent, Mapping) or not intent.get("setup_future_usage"):
        return None
    customer, method = _id_of(intent.get("customer")), intent.get("payment_method")
    card = method.get("card") if isinstance(method, Mapping) else None
    if not customer or not isinstance(card, Mapping):
        return None
    try:
        return base.SavedCard(token=f"{customer}/{_required(method, 'id')}", brand=str(card["brand"]),
                              last4=str(card["last4"]), exp_month=int(card["exp_month"]),
                              exp_year=int(card["exp_year"]))
    except (KeyError, TypeError, ValueError):
        raise base.GatewayUnavailable("Stripe's saved card lacks its brand, last four or expiry.") from None


def _failure_message(intent: Any) -> str:
    error = intent.get("last_payment_error") if isinstance(intent, Mapping) else None
    return (error.get("message") or "") if isinstance(error, Mapping) else ""


def _id_of(value: Any) -> str:
    """An expandable field: an id string, or the expanded object."""
    if isinstance(value, Mapping):
        return value.get("id") or ""
    return value or ""


def _required(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not value or not isinstance(value, str):
        raise base.GatewayUnavailable(f"Stripe's answer lacks {key!r}.")
    return value



def _signature_timestamp(header: str) -> int:
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise base.InvalidWebhookSignature("The Stripe-Signature carries no timestamp.")


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

