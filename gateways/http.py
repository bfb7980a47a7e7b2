"""Plumbing shared by the provider adapters: a JSON call that maps transport failures, 5xx and 429
and non-JSON answers to ``GatewayUnavailable``, and the "timestamp.body" HMAC-SHA256 webhook
signature that Credicorp's assumed contract and the sandbox use. Framework-free, like the adapters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from gateways.base import GatewayError, GatewayUnavailable, InvalidWebhookSignature

SIGNATURE_TOLERANCE_SECONDS = 300
# A provider's reference that may go into a URL path: an unsigned webhook can supply one.
PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_timestamped_signature(
    *, headers: Mapping[str, str], body: bytes, now: datetime, secret: str, signature_header: str,
    timestamp_header: str,
) -> None:
    """Check a hex HMAC-SHA256 over ``"{timestamp}.{body}"``, signed within five minutes of ``now``.

    :raises InvalidWebhookSignature: a header is missing, the signature does not match, or it is stale.
    """
    signature, timestamp = header(headers, signature_header), header(headers, timestamp_header)
    if not signature or not timestamp:
        raise InvalidWebhookSignature(f"{signature_header} or {timestamp_header} is missing.")
    if not secret:
        raise InvalidWebhookSignature("No signing secret is configured, so nothing can be verified.")
    # As bytes: compare_digest refuses str with non-ASCII characters, which anyone can send.
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.strip().lower().encode()):
        raise InvalidWebhookSignature(f"The {signature_header} does not match the body.")
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise InvalidWebhookSignature(f"The {timestamp_header} is not a Unix time.") from None
    received = (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    if abs(received - signed_at) > SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidWebhookSignature(f"The event is stale (signed at {signed_at}).")


def call_json(
    *, provider: str, method: str, url: str, headers: dict[str, str], timeout: float,
    error: Callable[[int, Any], GatewayError], json: Any = None, content: bytes | None = None,
    transport: httpx.BaseTransport | None = None, decimals: bool = True,
) -> dict[str, Any]:
    """One HTTP call whose answer must be a JSON object.

    :raises GatewayUnavailable: no answer in time, HTTP 5xx or 429, or an answer that is not a JSON object.
    :raises GatewayError: what ``error`` makes of any other 4xx (a ``PaymentDeclined`` for a refusal).
    """
    where = f"{method} {url.split('://', 1)[-1].split('/', 1)[-1]}"
    try:
        if transport is None:
            response = httpx.request(method, url, json=json, content=content, headers=headers, timeout=timeout)
        else:
            # Not closed: closing the client would close a transport the caller owns.
            response = httpx.Client(transport=transport, timeout=timeout).request(
                method, url, json=json, content=content, headers=headers
            )
    except httpx.TransportError as exc:
        raise GatewayUnavailable(f"{provider} did not answer {where}: {type(exc).__name__}.") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise GatewayUnavailable(f"{provider} answered HTTP {response.status_code} to {where}.")
    try:
        answer = response.json(parse_float=Decimal) if decimals else response.json()
    except ValueError:
        answer = None
    if response.status_code >= 400:
        raise error(response.status_code, answer)
    if not isinstance(answer, dict):
        raise GatewayUnavailable(f"{provider} answered {where} with something other than JSON.")
    return answer
