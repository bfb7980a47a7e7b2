"""What a gateway payment of an instalment writes when it succeeds, in ``apply_state``'s transaction.

An obligation is not in the ledger until it is paid through Duly (it may be owed to an institution or
the government). When the customer pays an instalment through the tenant's gateway, the money comes
into the tenant's books: the instalment is booked as one posted invoice on the customer's account
(once; its number goes on the instalment) and the ledger payment that ``apply_state`` posts is
allocated against it, so the balance stays right and the receipt names the invoice. ``apply_state``
locks the gateway payment and returns early for a success already applied, so this runs once per
payment however many webhooks arrive.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from finance import services as ledger
from finance.models import Classification, FinancialTransaction
from obligations.models import Instalment, InstalmentStatus
from payments.models import GatewayPayment, PaymentPurpose
from payments.settlement import Settlement


class InstalmentSettlement(Settlement):
    """A payment of an obligation's instalment from the portal."""

    purpose = PaymentPurpose.INSTALMENT

    def invoice_to_allocate(self, payment: GatewayPayment, at: datetime) -> FinancialTransaction | None:
        return book_instalment_invoice(payment=payment, at=at)

    def settled(self, payment: GatewayPayment, at: datetime) -> None:
        mark_instalment_paid_through(payment=payment, at=at)

    def paid_for(self, payment: GatewayPayment) -> str:
        instalment = payment.instalment
        obligation = instalment.obligation
        return f"instalment {instalment.number} of {obligation.instalments.count()} of {obligation.description}"


def book_instalment_invoice(*, payment: GatewayPayment, at: datetime) -> FinancialTransaction | None:
    """The posted ledger invoice the payment of an instalment is allocated against: booked now unless
    it was booked already. ``None`` when the instalment is paid already (by another payment, or marked
    paid outside Duly): the money is then booked as an unallocated credit, never dropped."""
    instalment = Instalment.objects.select_for_update().select_related("obligation").get(
        tenant=payment.tenant_id, pk=payment.instalment_id)
    if instalment.is_paid:
        return None
    if instalment.ledger_invoice_id is not None:
        return instalment.ledger_invoice
    obligation = instalment.obligation
    count = Instalment.objects.filter(tenant=payment.tenant_id, obligation=obligation).count()
    description = f"{obligation.description} ({obligation.payment_code}), instalment {instalment.number} of {count}"
    draft = ledger.create_transaction(
        account=payment.account,
        classification=Classification.INVOICE,
        actor=None,
        at=at,
        data=ledger.TransactionData(
            lines=[ledger.LineData(description=description[:200], quantity="1", unit_price=payment.amount)],
            external_reference=obligation.payment_code[:100],
        ),
    )
    invoice = ledger.post_transaction(txn=draft, actor=None, at=at).transaction
    Instalment.objects.filter(tenant=payment.tenant_id, pk=instalment.pk).update(ledger_invoice=invoice)
    return invoice


def mark_instalment_paid_through(*, payment: GatewayPayment, at: datetime) -> None:
    """The succeeded payment pays its instalment (unless something else paid it first)."""
    instalment = Instalment.objects.select_for_update().get(tenant=payment.tenant_id, pk=payment.instalment_id)
    if instalment.is_paid:
        return
    instalment.status, instalment.paid_at, instalment.ledger_payment = (
        InstalmentStatus.PAID, at, payment.ledger_payment)
    instalment._change_reason = _("paid through %(provider)s (%(reference)s)") % {
        "provider": payment.provider, "reference": payment.reference}
    instalment.save()
