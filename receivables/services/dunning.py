"""Dunning: each of a tenant's levels sends its notice once per invoice, inside sending hours, and may
charge a late fee; holds stop it; a late fee can be waived.

**Which level an invoice is at.** A level is *reached* on ``due_on + days``. The sweep sends the
highest level an invoice has reached, if it has no notice for it yet; lower levels it never got (the
invoice was already late when it was first seen, or Duly was down across a level's day) are recorded
as passed over, never sent late, so a customer is not sent a friendly reminder and a final notice on
one morning. A later sweep therefore sends nothing twice and skips nothing it can still send.

**What is chased**: posted invoices with something outstanding and a due date, not a late fee and not
an instalment's invoice (``selectors.chased_invoices``), without a hold in force. Paid, written off and
cancelled invoices have nothing outstanding.

**Once.** Each invoice is its own transaction: the account and then the invoice are locked (the order
the ledger's postings lock in), the state is read again, and the notice row is unique per invoice and
level; the outbox's event key is unique as well.

**Sending hours.** A tenant is swept only while its sending hours are open, and the messages are not
urgent, so the outbox holds them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from core.clock import tenant_today
from core.l10n import for_customer
from core.l10n import money as format_money
from crm.models import Tenant, User
from finance import services as ledger
from finance.models import Account, Classification, FinancialTransaction, TransactionState
from notifications import hours
from notifications.selectors import get_notification_settings
from notifications.services import notify
from obligations.services.obligations import portal_link
from paylinks.services.invoice_pay import invoice_context, invoice_pay_link, new_invoice_pay_link
from receivables import selectors
from receivables.models import DunningLevel, DunningNotice, HoldReason, InvoiceHold, NoticeState

BATCH = 2000


def sending_hours_open(tenant: Tenant, at: datetime) -> bool:
    options = get_notification_settings(tenant=tenant)
    return hours.next_sending_time(at=at, time_zone=tenant.time_zone, start=options.sending_start,
                                   end=options.sending_end, days=options.sending_days) == at


def reached(levels: list[DunningLevel], due_on, today) -> list[DunningLevel]:
    """The levels (ordered by days) an invoice due on ``due_on`` has reached by ``today``."""
    return [level for level in levels if due_on + timedelta(days=level.days) <= today]


def candidates(*, tenant: Tenant, levels: list[DunningLevel], today) -> list[int]:
    """Invoices whose highest reached level has no notice yet, oldest due first (at most ``BATCH``).

    One range of due dates per level — the invoices for which that level is the highest reached —
    without a notice at that level and without a hold in force."""
    chased = selectors.chased_invoices(tenant=tenant).exclude(
        pk__in=selectors.holds_in_force(tenant=tenant, today=today).values("invoice_id"))
    found: list[int] = []
    for index, level in enumerate(levels):
        window = chased.filter(due_on__lte=today - timedelta(days=level.days))
        if index + 1 < len(levels):
            window = window.filter(due_on__gt=today - timedelta(days=levels[index + 1].days))
        window = window.exclude(pk__in=DunningNotice.objects.filter(tenant=tenant, level=level).values("invoice_id"))
        found += window.order_by("due_on", "pk").values_list("pk", flat=True)[:BATCH - len(found)]
        if len(found) >= BATCH:
            break
    return found


@dataclass
class Outcome:
    sent: int = 0
    passed: int = 0
    fees: int = 0


def _late_fee(invoice: FinancialTransaction, level: DunningLevel, at: datetime) -> FinancialTransaction:
    description = _("Late fee: %(level)s, invoice %(number)s") % {"level": level.name, "number": invoice.number}
    result = ledger.create_posted_transaction(
        account=invoice.account, classification=Classification.INVOICE, actor=None, at=at,
        data=ledger.TransactionData(type=level.fee_type, lines=[ledger.LineData(
            description=description[:200], quantity=Decimal(1), unit_price=level.fee_amount)]),
    )
    return result.transaction


@transaction.atomic
def dun_invoice(*, tenant: Tenant, invoice_id: int, levels: list[DunningLevel], at: datetime, today,
                outcome: Outcome) -> DunningNotice | None:
    """Send the invoice's notice at its highest reached level, if it is still owed, not on hold and has
    no notice there yet; record lower levels it missed as passed over. ``None``: nothing to send."""
    account_id = FinancialTransaction.objects.filter(tenant=tenant, pk=invoice_id).values_list(
        "account_id", flat=True).first()
    if account_id is None:
        return None
    Account.objects.select_for_update().filter(tenant=tenant, pk=account_id).values_list("pk").first()
    invoice = FinancialTransaction.objects.select_for_update(of=("self",)).select_related(
        "account__customer", "account__tenant").get(tenant=tenant, pk=invoice_id)
    if (invoice.state != TransactionState.POSTED or invoice.open_amount <= 0 or invoice.due_on is None
            or invoice.account.customer is None):
        return None
    if selectors.holds_in_force(tenant=tenant, today=today).filter(invoice=invoice).exists():
        return None
    due = reached(levels, invoice.due_on, today)
    if not due:
        return None
    noticed = {level_id: days for level_id, days in DunningNotice.objects.filter(
        tenant=tenant, invoice=invoice).values_list("level_id", "level__days")}
    target = due[-1]
    if target.pk in noticed or any(days > target.days for days in noticed.values()):
        return None
    for level in due[:-1]:
        if level.pk not in noticed:
            DunningNotice.objects.create(tenant=tenant, invoice=invoice, level=level, state=NoticeState.PASSED,
                                         outstanding=invoice.open_amount, currency=invoice.currency, at=at)
            outcome.passed += 1
    fee = _late_fee(invoice, target, at) if target.fee_amount else None
    customer = invoice.account.customer
    _link, token = new_invoice_pay_link(invoice=invoice, actor=None, at=at)
    with for_customer(customer):
        late_fee = (_("A late fee of %(amount)s has been added to your account (%(number)s).") % {
            "amount": format_money(fee.total_amount, fee.currency), "number": fee.number} if fee else "")
        notify(
            tenant=invoice.account.tenant, event_key=f"invoice:{invoice.pk}:dunning:{target.pk}",
            template_key=target.message_key, channels=target.channels, customer=customer,
            context=invoice_context(invoice) | {
                "pay_link": invoice_pay_link(token), "portal_link": portal_link(invoice.account.tenant),
                "late_fee": late_fee, "days_overdue": str(max((today - invoice.due_on).days, 0))},
            subject_ref=f"finance.financialtransaction:{invoice.pk}", urgent=False, at=at,
        )
    notice = DunningNotice.objects.create(tenant=tenant, invoice=invoice, level=target, state=NoticeState.SENT,
                                          outstanding=invoice.open_amount, currency=invoice.currency, at=at,
                                          late_fee=fee)
    outcome.sent += 1
    outcome.fees += fee is not None
    return notice


def sweep_tenant(*, tenant: Tenant, at: datetime) -> Outcome:
    """One tenant's sweep, inside its scope: nothing outside its sending hours or with dunning off."""
    outcome = Outcome()
    if not selectors.receivables_settings(tenant=tenant).dunning_enabled or not sending_hours_open(tenant, at):
        return outcome
    levels = selectors.levels_of(tenant=tenant)
    if not levels:
        return outcome
    today = tenant_today(tenant, at)
    while ids := candidates(tenant=tenant, levels=levels, today=today):
        before = outcome.sent + outcome.passed
        for invoice_id in ids:
            dun_invoice(tenant=tenant, invoice_id=invoice_id, levels=levels, at=at, today=today, outcome=outcome)
        if outcome.sent + outcome.passed == before:
            break  # what is left changed under us (paid, held); the next sweep looks again
    return outcome


def sweep(*, at: datetime) -> Outcome:
    """The beat's sweep across tenants with dunning levels. Safe to run twice, late or at once."""
    with scopes_disabled():
        tenant_ids = sorted(set(DunningLevel.objects.values_list("tenant_id", flat=True)))
    total = Outcome()
    for tenant in Tenant.objects.filter(pk__in=tenant_ids).order_by("pk"):
        with scope(tenant=tenant):
            outcome = sweep_tenant(tenant=tenant, at=at)
        total.sent += outcome.sent
        total.passed += outcome.passed
        total.fees += outcome.fees
    return total


# --- holds and waivers -----------------------------------------------------------------------------------


def _chased_invoice(invoice: FinancialTransaction) -> None:
    if invoice.classification != Classification.INVOICE or invoice.state != TransactionState.POSTED:
        raise ValidationError({"invoice": _("Only a posted invoice can be put on hold.")})


@transaction.atomic
def hold_invoice(*, invoice: FinancialTransaction, reason: str, until, note: str, actor: User | None,
                 at: datetime) -> InvoiceHold:
    """Stop dunning the invoice: disputed (until released, or until a date) or a promise to pay by a date.
    A hold in force is replaced (its release is recorded).

    :raises ValidationError: named by field; nothing is saved."""
    invoice = FinancialTransaction.objects.select_for_update(of=("self",)).select_related("tenant").get(
        tenant=invoice.tenant_id, pk=invoice.pk)
    _chased_invoice(invoice)
    errors = {}
    if reason not in HoldReason.values:
        errors["reason"] = _("Choose why the invoice is on hold.")
    note = (note or "").strip()
    if not note or "\x00" in note:
        errors["note"] = _("Write a note saying why.")
    elif len(note) > 500:
        errors["note"] = _("The note has at most 500 characters.")
    today = tenant_today(invoice.tenant, at)
    if reason == HoldReason.PROMISE and until is None:
        errors["until"] = _("A promise to pay needs the date it is promised by.")
    elif until is not None and until < today:
        errors["until"] = _("The date cannot be in the past.")
    if errors:
        raise ValidationError(errors)
    InvoiceHold.objects.filter(tenant=invoice.tenant_id, invoice=invoice, released_at__isnull=True).update(
        released_at=at, released_by=actor)
    return InvoiceHold.objects.create(tenant_id=invoice.tenant_id, invoice=invoice, reason=reason, until=until,
                                      note=note, created_by=actor, created_at=at)


@transaction.atomic
def release_invoice(*, invoice: FinancialTransaction, actor: User | None, at: datetime) -> int:
    """End the invoice's hold; dunning picks it up at the next sweep. Returns how many holds ended (0 or 1)."""
    return InvoiceHold.objects.filter(tenant=invoice.tenant_id, invoice=invoice, released_at__isnull=True).update(
        released_at=at, released_by=actor)


@transaction.atomic
def waive_late_fee(*, notice: DunningNotice, actor: User | None, at: datetime) -> FinancialTransaction:
    """Waive a notice's late fee with a credit note against it (what of it is still open).

    :raises ValidationError: there is no fee, it was waived already, or nothing of it is open."""
    notice = DunningNotice.objects.select_for_update(of=("self",)).select_related("late_fee", "level").get(
        tenant=notice.tenant_id, pk=notice.pk)
    if notice.late_fee is None:
        raise ValidationError({"__all__": _("This notice charged no late fee.")})
    if notice.waiver_id is not None:
        raise ValidationError({"__all__": _("This late fee was waived already.")})
    fee = FinancialTransaction.objects.get(tenant=notice.tenant_id, pk=notice.late_fee_id)
    if fee.open_amount <= 0:
        raise ValidationError({"__all__": _("Nothing of this late fee is open: it was paid or settled.")})
    draft = ledger.create_transaction(
        account=fee.account, classification=Classification.CREDIT_NOTE, actor=actor, at=at,
        data=ledger.TransactionData(
            lines=[ledger.LineData(description=(_("Late fee waived: %(number)s") % {"number": fee.number})[:200],
                                   quantity=Decimal(1), unit_price=fee.open_amount)],
            targets=[fee], issue_note=_("Late fee waived")),
    )
    result = ledger.post_transaction(txn=draft, actor=actor, at=at, settle=fee)  # allocated to the fee itself
    DunningNotice.objects.filter(tenant=notice.tenant_id, pk=notice.pk).update(
        waiver=result.transaction, waived_by=actor, waived_at=at)
    return result.transaction
