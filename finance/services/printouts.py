"""Sending a printout to the customer, through the notification outbox."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from core.l10n import for_customer
from crm.models import User
from finance import selectors
from finance.exceptions import ActionNotAllowed
from finance.models import FinancialTransaction, TransactionState
from notifications import services as notifications
from notifications.models import Notification


@transaction.atomic
def send_printout(*, txn: FinancialTransaction, link: str, actor: User | None, at: datetime) -> list[Notification]:
    """Email the customer a link to the printout of a posted document (the outbox carries no
    attachments; the link opens the same printout, HTML or PDF, without a login).

    :raises ActionNotAllowed: the document is not posted, has no printout, or has no customer.
    """
    if txn.classification not in selectors.PRINTABLE or txn.state != TransactionState.POSTED:
        raise ActionNotAllowed(_("Only a posted invoice, credit note, invoice cancellation or payment can be sent."))
    customer = txn.account.customer
    if customer is None:
        raise ActionNotAllowed(_("There is no customer to send this document to."))
    printout = selectors.printout_of(txn=txn)
    with for_customer(customer):
        context = {**selectors.message_context(txn=txn), "document.title": printout.title, "printout_link": link}
        context = {key: value for key, value in context.items() if not key.startswith("refund.")}
        return notifications.notify(
            tenant=txn.account.tenant, event_key=f"finance.printout:{txn.pk}:{at.isoformat()}",
            template_key="printout", customer=customer, context=context, subject_ref=selectors.subject_ref(txn),
            actor=actor, at=at,
        )
