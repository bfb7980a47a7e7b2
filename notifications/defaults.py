"""The messages Duly sends, with the text used when a tenant has not written its own (translated: the
wording a customer gets is in their language, ``selectors.resolve_message``).

Each message declares the tags its sender provides; a tenant's version may use only those, so a
template can never ask for a value the event does not have. Reminders are not urgent: they wait
for the tenant's sending hours.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

COMMON_TAGS = ("customer.name", "customer.email", "customer.phone", "tenant.name", "tenant.email")
INVOICE_TAGS = ("invoice.number", "invoice.reference", "invoice.date", "invoice.total", "invoice.outstanding")
PAYMENT_TAGS = ("payment.number", "payment.reference", "payment.date", "payment.method")
DUNNING_TAGS = ("amount", "currency", "due_date", "pay_link", "portal_link", "late_fee", "days_overdue", *INVOICE_TAGS)


@dataclass(frozen=True)
class DefaultMessage:
    key: str
    label: str | Promise
    subject: str | Promise
    body: str | Promise
    sms: str | Promise
    tags: tuple[str, ...]
    urgent: bool = True

    @property
    def allowed_tags(self) -> tuple[str, ...]:
        return (*COMMON_TAGS, *self.tags)


MESSAGES: dict[str, DefaultMessage] = {
    message.key: message
    for message in [
        DefaultMessage(
            key="generic",
            label=_("General message"),
            subject=_("A message from #tenant.name"),
            body=_(
                "Dear #customer.name,\n\nPlease get in touch with us about your account.\n\n"
                "Kind regards,\n#staff.name\n#tenant.name"
            ),
            sms=_("#tenant.name: please get in touch with us about your account."),
            tags=("staff.name",),
        ),
        DefaultMessage(
            key="payment_request",
            label=_("Payment request"),
            subject=_("#tenant.name requests a payment of #amount"),
            body=_(
                "Dear #customer.name,\n\n#tenant.name asks you to pay #amount.\n#request.reference\n"
                "#request.message\n\nPay securely here: #pay_link\n"
                "The link works until #link_expires.\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name requests #amount. Pay here: #pay_link (valid until #link_expires) #request.reference"),
            tags=("amount", "currency", "pay_link", "link_expires", "invoice.number", "staff.name",
                  "request.reference", "request.message"),
        ),
        DefaultMessage(
            key="invoice_email_pay",
            label=_("Invoice with a pay-now link"),
            subject=_("Invoice #invoice.number from #tenant.name"),
            body=_(
                "Dear #customer.name,\n\nPlease find invoice #invoice.number: #invoice.outstanding to pay, "
                "due on #due_date.\n\nPay now: #pay_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: invoice #invoice.number, #invoice.outstanding to pay by #due_date. Pay: #pay_link"),
            tags=(*INVOICE_TAGS, "amount", "currency", "due_date", "pay_link", "staff.name"),
        ),
        DefaultMessage(
            key="payment_received",
            label=_("Payment received"),
            subject=_("We received your payment of #amount"),
            body=_(
                "Dear #customer.name,\n\nThank you: we received your payment of #amount on #payment.date "
                "(reference #payment.reference).\n\n#receipt_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: thank you, we received #amount (ref #payment.reference)."),
            tags=(*PAYMENT_TAGS, *INVOICE_TAGS, "amount", "currency", "receipt_link"),
        ),
        DefaultMessage(
            key="staff_payment_received",
            label=_("Payment received (to staff)"),
            subject=_("#customer.name paid #amount"),
            body=_("#customer.name paid #amount for #paid_for on #payment.date (payment #payment.number, "
                   "reference #payment.reference)."),
            sms=_("#customer.name paid #amount for #paid_for (ref #payment.reference)."),
            tags=(*PAYMENT_TAGS, "amount", "currency", "paid_for"),
        ),
        DefaultMessage(
            key="payment_failed",
            label=_("Payment failed (to staff)"),
            subject=_("A payment of #amount failed"),
            body=_("The payment #payment.reference of #amount by #customer.name for #paid_for failed: #reason"),
            sms=_("The payment of #amount by #customer.name for #paid_for failed: #reason"),
            tags=(*PAYMENT_TAGS, "amount", "currency", "reason", "paid_for"),
        ),
        DefaultMessage(
            key="receipt",
            label=_("Receipt"),
            subject=_("Your receipt from #tenant.name"),
            body=_(
                "Dear #customer.name,\n\nHere is your receipt for #amount paid on #payment.date, "
                "payment #payment.number.\n\nView or print it: #receipt_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: receipt for #amount: #receipt_link"),
            tags=(*PAYMENT_TAGS, "amount", "currency", "receipt_link"),
        ),
        DefaultMessage(
            key="instalment_reminder",
            label=_("Instalment reminder"),
            subject=_("Instalment #instalment.number of #instalment.count is due on #due_date"),
            body=_(
                "Dear #customer.name,\n\nA reminder that instalment #instalment.number of #instalment.count "
                "for #obligation.name, #amount, is due on #due_date.\n\nPay here: #pay_link\n\n"
                "Kind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: #amount for #obligation.name is due on #due_date. Pay: #pay_link"),
            tags=("obligation.name", "instalment.number", "instalment.count", "amount", "currency", "due_date",
                  "pay_link"),
            urgent=False,
        ),
        DefaultMessage(
            key="instalment_overdue",
            label=_("Instalment overdue"),
            subject=_("Instalment #instalment.number for #obligation.name is overdue"),
            body=_(
                "Dear #customer.name,\n\nInstalment #instalment.number of #instalment.count for #obligation.name, "
                "#amount, was due on #due_date and is still unpaid.\n\nPay here: #pay_link\n\n"
                "If you have already paid, please ignore this message.\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: #amount for #obligation.name was due on #due_date. Pay: #pay_link"),
            tags=("obligation.name", "instalment.number", "instalment.count", "amount", "currency", "due_date",
                  "pay_link"),
            urgent=False,
        ),
        DefaultMessage(
            key="obligation_created",
            label=_("Obligation created"),
            subject=_("Your payment plan for #obligation.name"),
            body=_(
                "Dear #customer.name,\n\n#tenant.name has set up #obligation.name: #amount in "
                "#instalment.count instalments, the first due on #due_date.\n\n"
                "See your plan and pay: #portal_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: your plan for #obligation.name is ready: #portal_link"),
            tags=("obligation.name", "instalment.count", "amount", "currency", "due_date", "portal_link"),
        ),
        DefaultMessage(
            key="portal_magic_link",
            label=_("Portal sign-in link"),
            subject=_("Your sign-in link for #tenant.name"),
            body=_(
                "Dear #customer.name,\n\nUse this link to see your payments and receipts: #magic_link\n"
                "It works once, until #link_expires.\n\n#tenant.name"
            ),
            sms=_("#tenant.name sign-in link: #magic_link (until #link_expires)"),
            tags=("magic_link", "link_expires"),
        ),
        DefaultMessage(
            key="obligation_changed",
            label=_("Obligation changed"),
            subject=_("Your payment plan for #obligation.name has changed"),
            body=_(
                "Dear #customer.name,\n\n#tenant.name has changed #obligation.name: #amount in "
                "#instalment.count instalments, the next due on #due_date.\n\n"
                "See your plan: #portal_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: your plan for #obligation.name has changed: #portal_link"),
            tags=("obligation.name", "instalment.count", "amount", "currency", "due_date", "portal_link"),
        ),
        DefaultMessage(
            key="printout",
            label=_("Document (invoice, credit note, cancellation, payment)"),
            subject=_("#document.title from #tenant.name"),
            body=_(
                "Dear #customer.name,\n\nPlease find #document.title for #amount.\n\n"
                "View, print or download it: #printout_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: #document.title for #amount: #printout_link"),
            tags=("document.title", "amount", "currency", "due_date", "printout_link", *INVOICE_TAGS, *PAYMENT_TAGS),
        ),
        DefaultMessage(
            key="dunning_1",
            label=_("Dunning level 1"),
            subject=_("A friendly reminder: invoice #invoice.number is due on #due_date"),
            body=_(
                "Dear #customer.name,\n\nA friendly reminder that invoice #invoice.number, #invoice.outstanding, "
                "is due on #due_date.\n\nPay here: #pay_link\n#late_fee\n\n"
                "If you have already paid, thank you, and please ignore this message.\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: invoice #invoice.number, #invoice.outstanding, is due on #due_date. Pay: #pay_link"),
            tags=DUNNING_TAGS, urgent=False,
        ),
        DefaultMessage(
            key="dunning_2",
            label=_("Dunning level 2"),
            subject=_("Invoice #invoice.number is overdue"),
            body=_(
                "Dear #customer.name,\n\nInvoice #invoice.number was due on #due_date and #invoice.outstanding "
                "is still unpaid.\n\nPay here: #pay_link\n#late_fee\n\n"
                "If you have already paid, please ignore this message.\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: invoice #invoice.number, #invoice.outstanding, was due on #due_date. Pay: #pay_link"),
            tags=DUNNING_TAGS, urgent=False,
        ),
        DefaultMessage(
            key="dunning_3",
            label=_("Dunning level 3"),
            subject=_("Second notice: invoice #invoice.number is #days_overdue days overdue"),
            body=_(
                "Dear #customer.name,\n\nWe have not yet received payment of invoice #invoice.number, "
                "#invoice.outstanding, which was due on #due_date.\n\nPlease pay now: #pay_link\n#late_fee\n\n"
                "If something is wrong with the invoice, reply to this email and we will look into it.\n\n"
                "Kind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: second notice, invoice #invoice.number, #invoice.outstanding, is "
                  "#days_overdue days overdue. Pay: #pay_link"),
            tags=DUNNING_TAGS, urgent=False,
        ),
        *(DefaultMessage(
            key=f"dunning_{slot}",
            label=label,
            subject=_("Final notice: invoice #invoice.number"),
            body=_(
                "Dear #customer.name,\n\nInvoice #invoice.number, #invoice.outstanding, is #days_overdue days "
                "overdue despite our earlier reminders.\n\nPlease pay now: #pay_link\n#late_fee\n\n"
                "If we do not hear from you, we will have to take further steps.\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: final notice, invoice #invoice.number, #invoice.outstanding, is "
                  "#days_overdue days overdue. Pay: #pay_link"),
            tags=DUNNING_TAGS, urgent=False,
        ) for slot, label in ((4, _("Dunning level 4")), (5, _("Dunning level 5")), (6, _("Dunning level 6")))),
        DefaultMessage(
            key="recurring_invoice",
            label=_("Recurring invoice"),
            subject=_("Invoice #invoice.number from #tenant.name"),
            body=_(
                "Dear #customer.name,\n\nHere is invoice #invoice.number for #schedule.name, #invoice.total, "
                "due on #due_date.\n#card_note\n\nView and pay it here: #pay_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: invoice #invoice.number, #invoice.total, due on #due_date. Pay: #pay_link"),
            tags=("amount", "currency", "due_date", "pay_link", "card_note", "schedule.name", *INVOICE_TAGS),
        ),
        DefaultMessage(
            key="card_charge_failed",
            label=_("Card on file not charged"),
            subject=_("We could not charge your card for invoice #invoice.number"),
            body=_(
                "Dear #customer.name,\n\nWe tried to charge your #card for invoice #invoice.number, "
                "#invoice.outstanding, but the payment did not go through: #reason\n\n"
                "Please pay here: #pay_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: we could not charge your #card for invoice #invoice.number. Pay: #pay_link"),
            tags=("amount", "currency", "due_date", "pay_link", "card", "reason", *INVOICE_TAGS),
        ),
        DefaultMessage(
            key="instalment_card_failed",
            label=_("Card on file not charged for an instalment"),
            subject=_("We could not charge your card for #obligation.name"),
            body=_(
                "Dear #customer.name,\n\nWe tried to charge your #card for instalment #instalment.number of "
                "#obligation.name, #amount, due on #due_date, but the payment did not go through: #reason\n\n"
                "Please pay it in your portal: #pay_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: we could not charge your #card for #obligation.name, #amount. Pay: #pay_link"),
            tags=("obligation.name", "instalment.number", "amount", "currency", "due_date", "pay_link", "card",
                  "reason"),
        ),
        DefaultMessage(
            key="statement",
            label=_("Statement of account"),
            subject=_("Your statement of account from #tenant.name"),
            body=_(
                "Dear #customer.name,\n\nYour statement of account for #statement.period is ready. "
                "The balance at its end was #statement.balance.\n\n"
                "View or download it: #statement_link\n\nKind regards,\n#tenant.name"
            ),
            sms=_("#tenant.name: your statement for #statement.period: #statement_link"),
            tags=("statement.period", "statement.balance", "statement_link", "currency"),
        ),
    ]
}


def get(key: str) -> DefaultMessage:
    """The default message ``key``; ``KeyError`` for a message Duly does not send."""
    return MESSAGES[key]
