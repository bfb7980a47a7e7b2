"""Chasing what is owed: a tenant's dunning levels, the notice each invoice got at each level (with its
late fee), the holds staff put on an invoice, and the statements of account sent for each period.

``DunningNotice`` is unique per invoice and level, which is what makes a notice go once however often
or late the sweep runs. ``StatementSend`` is unique per account and period, likewise for statements.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned
from finance.models import Account, FinancialTransaction, TransactionType

AMOUNT = {"max_digits": 14, "decimal_places": 2}
SLOTS = range(1, 7)  # at most six levels; a level's slot names its message, ``dunning_<slot>``


class ReceivablesSettings(TenantOwned):
    """A tenant's choices for statements and dunning; the defaults apply until it saves its own."""

    monthly_statements = models.BooleanField(
        default=False, help_text=_("On the first days of each month, email every customer with an email address "
                                   "and a balance or movements last month their statement of account."))
    dunning_enabled = models.BooleanField(
        default=True, help_text=_("Send the dunning levels' notices. Off: nothing is sent and no late fee charged."))

    class Meta:
        verbose_name_plural = _("receivables settings")
        constraints = [models.UniqueConstraint("tenant", name="receivablessettings_one_per_tenant")]


class DunningLevel(TenantOwned):
    """One step of chasing an invoice: ``days`` after its due date (negative: before), by the channels
    chosen, with its own message (``dunning_<slot>``) and an optional late fee."""

    slot = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    days = models.SmallIntegerField(help_text=_("Days after the due date; a negative number is days before it."))
    email = models.BooleanField(default=True)
    sms = models.BooleanField(default=False)
    fee_amount = models.DecimalField(**AMOUNT, null=True, blank=True,
                                     help_text=_("A late fee charged with this notice; empty: none."))
    fee_type = models.ForeignKey(TransactionType, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 help_text=_("The invoice type the late fee is posted as."))

    class Meta:
        ordering = ["days", "id"]
        constraints = [
            models.UniqueConstraint("tenant", "slot", name="dunninglevel_slot_unique"),
            models.UniqueConstraint("tenant", "days", name="dunninglevel_days_unique"),
            models.CheckConstraint(condition=Q(slot__gte=1, slot__lte=6), name="dunninglevel_slot_range"),
            models.CheckConstraint(condition=Q(days__gte=-60, days__lte=365), name="dunninglevel_days_range"),
            models.CheckConstraint(condition=Q(email=True) | Q(sms=True), name="dunninglevel_some_channel"),
            models.CheckConstraint(
                condition=(Q(fee_amount__isnull=True) & Q(fee_type__isnull=True))
                | (Q(fee_amount__gt=0) & Q(fee_type__isnull=False)),
                name="dunninglevel_fee_complete"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def message_key(self) -> str:
        return f"dunning_{self.slot}"

    @property
    def channels(self) -> list[str]:
        return [c for c, on in (("email", self.email), ("sms", self.sms)) if on]


class NoticeState(models.TextChoices):
    SENT = "sent", _("Sent")
    # Passed while Duly was down, or before the invoice was dunned: recorded, never sent late.
    PASSED = "passed", _("Passed over")


class DunningNotice(TenantOwned):
    """What an invoice got at one level: the notice (or that the level was passed over), the outstanding
    amount it named, and the late fee it charged — with the credit note that waived it."""

    invoice = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, related_name="+")
    level = models.ForeignKey(DunningLevel, on_delete=models.PROTECT, related_name="notices")
    state = models.CharField(max_length=8, choices=NoticeState.choices)
    outstanding = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    at = models.DateTimeField()
    late_fee = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    waiver = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    waived_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    waived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint("tenant", "invoice", "level", name="dunningnotice_once_per_level"),
            models.UniqueConstraint("tenant", "late_fee", name="dunningnotice_fee_once"),
            models.CheckConstraint(condition=Q(state__in=NoticeState.values), name="dunningnotice_state"),
            models.CheckConstraint(condition=Q(late_fee__isnull=True) | Q(state="sent"),
                                   name="dunningnotice_fee_only_when_sent"),
            models.CheckConstraint(condition=Q(waiver__isnull=True) | Q(late_fee__isnull=False),
                                   name="dunningnotice_waiver_needs_fee"),
        ]
        indexes = [models.Index(fields=["tenant", "at"], name="dunningnotice_at")]


class HoldReason(models.TextChoices):
    DISPUTE = "dispute", _("Disputed")
    PROMISE = "promise", _("Promise to pay")


class InvoiceHold(TenantOwned):
    """Staff stop the dunning of one invoice: a dispute (until released, or until a date) or a promise
    to pay until a date. At most one hold per invoice is in force (not released)."""

    invoice = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=8, choices=HoldReason.choices)
    until = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField()
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "invoice", condition=Q(released_at__isnull=True),
                                    name="invoicehold_one_in_force"),
            models.CheckConstraint(condition=Q(reason__in=HoldReason.values), name="invoicehold_reason"),
            models.CheckConstraint(condition=Q(until__isnull=False) | Q(reason="dispute"),
                                   name="invoicehold_promise_has_date"),
            models.CheckConstraint(condition=~Q(note=""), name="invoicehold_note_required"),
        ]


class StatementSend(TenantOwned):
    """A statement of account emailed for one period: once per account and period."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "account", "period_start", "period_end",
                                    name="statementsend_once_per_period"),
            models.CheckConstraint(condition=Q(period_start__lte=models.F("period_end")),
                                   name="statementsend_period_order"),
        ]
