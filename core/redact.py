"""What never leaves Duly in a log line or an error report: card numbers, the tokens of payers' links
(pay links, receipts, statements, printouts, the portal, invitations, password resets, webhook
addresses), API keys, providers' secrets and signatures, bearer credentials and passwords.

``redact`` rewrites a text: the log formatters (``core.logs``) pass every formatted line through it,
tracebacks included, and error reports (``config.errors``) every string they send. A link keeps its shape
(``/pay/[redacted]/``) so that a line still says which page was asked for.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
CARD = "[card number]"

# A path segment that is a capability: what follows one of these prefixes, up to the next "/".
_LINK = re.compile(
    r"(/(?:pay/invoice|pay|receipts|statements|portal/link|p|invitation/[^/\s\"']+|reset/[^/\s\"']+"
    r"|webhooks/[a-z]+)/)([^/\s\"'?#<>\\]+)"
)
_SECRETS = [
    # query parameters and form fields that carry one
    (re.compile(r"(?i)([?&;\s\"'](?:token|api_key|secret|password|signature|cvc|cvv|card_number)[\"']?\s*[=:]"
                r"\s*[\"']?)([^&\s\"',;}]+)"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"), rf"\1{REDACTED}"),
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+"), REDACTED),  # Stripe secret and restricted keys
    (re.compile(r"\bwhsec_[A-Za-z0-9_+/=-]+"), REDACTED),  # webhook signing secrets
    (re.compile(r"\bduly_[0-9a-f]{12}_[A-Za-z0-9_-]+"), REDACTED),  # Duly's API keys (crm.services)
    (re.compile(r"\bsbx_[A-Za-z0-9_-]+"), REDACTED),  # the sandbox provider's secrets
    (re.compile(r"(\bt=\d+,v1=)[0-9a-f]+"), rf"\1{REDACTED}"),  # a Stripe-Signature header's value
]
_DIGITS = re.compile(r"(?<![\d.])\d(?:[ -]?\d){12,18}(?![\d.])")


def _luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return CARD if _luhn(digits) else match.group(0)


def redact(text: str) -> str:
    """``text`` without the secrets it may hold (see the module)."""
    text = _LINK.sub(rf"\1{REDACTED}", text)
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return _DIGITS.sub(_card, text)
