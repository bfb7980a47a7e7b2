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

from django.utils.translation import gettext_lazy as _

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
        Tag("customer.name", _("The customer's name"), "Harriet Holloway"),
        Tag("customer.email", _("The customer's email address"), "harriet@example.com"),
        Tag("customer.phone", _("The customer's phone number"), "+447911123456"),
        Tag("tenant.name", _("Your business name"), "Acme Brokers"),
        Tag("tenant.email", _("Your reply-to email address"), "accounts@acme.example"),
        Tag("staff.name", _("The name of the staff member sending the message"), "Alice Archer"),
        Tag("invoice.number", _("The invoice number"), "INV-000042"),
        Tag("invoice.reference", _("The invoice reference"), "R-2026-0042"),
        Tag("invoice.date", _("The invoice date"), "3 March 2026"),
        Tag("invoice.total", _("The invoice total with its currency"), "£1,250.00"),
        Tag("invoice.outstanding", _("What is still owed on the invoice"), "£450.00"),
        Tag("payment.number", _("The payment number"), "PAY-000017"),
        Tag("payment.reference", _("The payment's reference (gateway or bank)"), "ch_3Nv9Q2"),
        Tag("payment.date", _("The payment date"), "5 March 2026"),
        Tag("payment.method", _("How it was paid"), "Card"),
        Tag("refund.number", _("The refund number"), "RF-000003"),
        Tag("refund.reference", _("The refund's reference"), "re_1Pq8"),
        Tag("obligation.name", _("The obligation's name"), "Motor insurance 2026"),
        Tag("instalment.number", _("Which instalment this is"), "2"),
        Tag("instalment.count", _("How many instalments there are"), "4"),
        Tag("amount", _("The amount concerned, with its currency"), "£312.50"),
        Tag("currency", _("The currency code"), "GBP"),
        Tag("due_date", _("The due date"), "31 March 2026"),
        Tag("pay_link", _("The link that pays it"), "https://pay.duly.example/p/7Hk2"),
        Tag("receipt_link", _("The link to the receipt"), "https://pay.duly.example/r/7Hk2"),
        Tag("portal_link", _("The link to the customer portal"), "https://pay.duly.example/portal/"),
        Tag("magic_link", _("A one-time sign-in link to the customer portal"), "https://pay.duly.example/m/Q9x"),
        Tag("link_expires", _("When the link stops working"), "6 March 2026 18:00"),
        Tag("reason", _("Why it failed, in the provider's words"), "Your card was declined."),
        Tag("request.reference", _("The reference staff gave the payment request (an invoice or contract number)"),
            "CON-2291"),
        Tag("request.message", _("The message staff wrote on the payment request"), "Deposit for the blue Golf."),
        Tag("paid_for", _("What a payment paid: the request, fee, invoice or instalment"),
            "Broker fee INV-000042"),
        Tag("late_fee", _("The late fee charged with this notice, with a sentence; empty when none"),
            "A late fee of £25.00 has been added to your account."),
        Tag("days_overdue", _("How many days past its due date the invoice is"), "21"),
        Tag("statement.period", _("The period a statement of account covers"), "1–30 November 2026"),
        Tag("statement.balance", _("The balance at the end of the statement's period"), "£1,240.00"),
        Tag("statement_link", _("The link to view or download the statement of account"),
            "https://pay.duly.example/statements/eJy"),
        Tag("card_note", _("When the card on file will be charged, with a sentence; empty when it will not"),
            "We will charge your Visa ending 4242 on 31 March 2026."),
        Tag("card", _("The card on file: its brand and last four digits"), "Visa •••• 4242"),
        Tag("schedule.name", _("The name of the recurring schedule"), "Monthly policy fee"),
        Tag("document.title", _("The printed document's name and number"), "Invoice INV-000042"),
        Tag("printout_link", _("The link to view or print the document"), "https://pay.duly.example/finance/p/eJy"),
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
