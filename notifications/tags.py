"""``#tags`` in tenant-written messages: the vocabulary, and the substituter that is the sandbox.

A tenant's text is never compiled as a Django template. It is scanned for ``#name`` or
``#name.attr`` and each known tag is replaced by a plain string from a dict the caller built, so a
message can reach nothing but those strings: ``{{ settings.SECRET_KEY }}`` or ``{% load %}`` are just
characters. ``##`` writes a literal ``#``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Not after a word character, "&" or "#": "abc#x", "&#39;" and "##" are not tags.
TAG_RE = re.compile(r"(?<![\w&#])#([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)")
ESCAPED_HASH = "##"


@dataclass(frozen=True)
class Tag:
    name: str
    description: str
    sample: str


VOCABULARY: dict[str, Tag] = {
    tag.name: tag
    for tag in [
        Tag("customer.name", "The customer's name", "Harriet Holloway"),
        Tag("customer.email", "The customer's email address", "harriet@example.com"),
        Tag("customer.phone", "The customer's phone number", "+447911123456"),
        Tag("tenant.name", "Your business name", "Acme Brokers"),
        Tag("tenant.email", "Your reply-to email address", "accounts@acme.example"),
        Tag("staff.name", "The name of the staff member sending the message", "Alice Archer"),
        Tag("invoice.number", "The invoice number", "INV-000042"),
        Tag("invoice.reference", "The invoice reference", "R-2026-0042"),
        Tag("invoice.date", "The invoice date", "3 March 2026"),
        Tag("invoice.total", "The invoice total with its currency", "£1,250.00"),
        Tag("invoice.outstanding", "What is still owed on the invoice", "£450.00"),
        Tag("payment.number", "The payment number", "PAY-000017"),
        Tag("payment.reference", "The payment's reference (gateway or bank)", "ch_3Nv9Q2"),
        Tag("payment.date", "The payment date", "5 March 2026"),
        Tag("payment.method", "How it was paid", "Card"),
        Tag("refund.number", "The refund number", "RF-000003"),
        Tag("refund.reference", "The refund's reference", "re_1Pq8"),
        Tag("obligation.name", "The obligation's name", "Motor insurance 2026"),
        Tag("instalment.number", "Which instalment this is", "2"),
        Tag("instalment.count", "How many instalments there are", "4"),
        Tag("amount", "The amount concerned, with its currency", "£312.50"),
        Tag("currency", "The currency code", "GBP"),
        Tag("due_date", "The due date", "31 March 2026"),
        Tag("pay_link", "The link that pays it", "https://pay.duly.example/p/7Hk2"),
        Tag("receipt_link", "The link to the receipt", "https://pay.duly.example/r/7Hk2"),
        Tag("portal_link", "The link to the customer portal", "https://pay.duly.example/portal/"),
        Tag("magic_link", "A one-time sign-in link to the customer portal", "https://pay.duly.example/m/Q9x"),
        Tag("link_expires", "When the link stops working", "6 March 2026 18:00"),
        Tag("reason", "Why it failed, in the provider's words", "Your card was declined."),
        Tag("request.reference", "The reference staff gave the payment request (an invoice or contract number)",
            "CON-2291"),
        Tag("request.message", "The message staff wrote on the payment request", "Deposit for the blue Golf."),
        Tag("paid_for", "What a payment paid: the request, fee, invoice or instalment",
            "Broker fee INV-000042"),
        Tag("document.title", "The printed document's name and number", "Invoice INV-000042"),
        Tag("printout_link", "The link to view or print the document", "https://pay.duly.example/finance/p/eJy"),
    ]
}


def tags_in(text: str) -> list[str]:
    """The tag names ``text`` uses, in order of first use."""
    seen: dict[str, None] = {}
    for match in TAG_RE.finditer(_without_escapes(text or "")):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unknown_tags(text: str, *, allowed: Iterable[str] | None = None) -> list[str]:
    """Tags in ``text`` outside ``allowed`` (the whole vocabulary when not given)."""
    allowed = set(VOCABULARY if allowed is None else allowed)
    return [name for name in tags_in(text) if name not in allowed]


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace each known tag of ``text`` by its value (empty when it has none); anything else that
    looks like a tag stays as written.

    Values are used as plain strings: nothing in them or in ``text`` is evaluated.
    """

    def value(match: re.Match) -> str:
        name = match.group(1)
        return str(values.get(name, "")) if name in VOCABULARY else match.group(0)

    return "#".join(TAG_RE.sub(value, part) for part in (text or "").split(ESCAPED_HASH))


def samples(names: Iterable[str] | None = None) -> dict[str, str]:
    """Sample values for a preview."""
    return {name: VOCABULARY[name].sample for name in (VOCABULARY if names is None else names) if name in VOCABULARY}


def describe(names: Iterable[str]) -> str:
    return ", ".join(f"#{name}" for name in names)


def _without_escapes(text: str) -> str:
    return text.replace(ESCAPED_HASH, "  ")
