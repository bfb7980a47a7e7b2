"""Bank accounts of a tenant, the statements imported into them, and each statement line with what
became of it: the ledger payment it booked (on a customer's account or on the suspense account), the
suggestion it carries, or the debit it is (a bank fee, a returned payment, one of our transfers).

A line is identified by ``identity``: the bank's own reference, or a stable hash of its fields where the
bank gives none (see ``banking.parsing.identity``). It is unique per bank account, which is what makes a
re-imported or overlapping file add nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import ApiKey, Customer, TenantOwned
from finance.models import Account, FinancialTransaction

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class BankAccount(TenantOwned):
    """One of the tenant's own bank accounts, into which customers pay by transfer."""

    name = models.CharField(max_length=100)
    iban = models.CharField(max_length=34, help_text=_("Validated, stored without spaces."))
    bic = models.CharField(max_length=11, blank=True)
    currency = models.CharField(max_length=3)
    # How this bank's CSV export reads: which column holds what, the date format, the decimal separator.
    csv_mapping = models.JSONField(default=dict, blank=True)
    pays_refunds = models.BooleanField(
        default=False, help_text=_("Refunds of credit balances in its currency are transferred from this account."))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("tenant", "iban", name="bankaccount_iban_unique"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="bankaccount_currency_iso"),
            models.CheckConstraint(condition=Q(iban__regex=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$"),
                                   name="bankaccount_iban_compact"),
            models.UniqueConstraint("tenant", "currency", condition=Q(pays_refunds=True),
                                    name="bankaccount_one_refund_account_per_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.iban})"


class StatementFormat(models.TextChoices):
    CAMT053 = "camt.053", "CAMT.053"
    CAMT054 = "camt.054", "CAMT.054"
    MT940 = "mt940", "MT940"
    OFX = "ofx", "OFX"
    CSV = "csv", "CSV"


class StatementImport(TenantOwned):
    """One file imported into a bank account: who brought it, and how many of its lines were new."""

    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="imports")
    format = models.CharField(max_length=8, choices=StatementFormat.choices)
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    lines_in_file = models.PositiveIntegerField()
    lines_added = models.PositiveIntegerField()
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return self.file_name


class LineState(models.TextChoices):
    NEW = "new", _("Waiting to be matched")
    MATCHED = "matched", _("Matched")
    SUGGESTED = "suggested", _("On suspense, with a suggestion")
    SUSPENSE = "suspense", _("On suspense")
    DEBIT = "debit", _("Debit")
    RETURNED = "returned", _("Returned payment")


class Direction(models.TextChoices):
    CREDIT = "credit", _("Credit")
    DEBIT = "debit", _("Debit")


class MatchedBy(models.TextChoices):
    INVOICE = "invoice", _("Invoice number")
    REQUEST = "request", _("Payment request reference")
    PAYMENT_CODE = "payment_code", _("Customer's payment code")
    CONFIRMED = "confirmed", _("Suggestion confirmed")
    MOVED = "moved", _("Moved to an account")
    SPLIT = "split", _("Split across invoices")
    REFUND_SENT = "refund_sent", _("Refund transfer confirmed")
    REFUND_RETURNED = "refund_returned", _("Refund transfer returned")


UNDECIDED = [LineState.SUGGESTED, LineState.SUSPENSE]


class StatementLine(TenantOwned):
    """A booked line of a bank statement. A credit becomes one ledger payment (``payment``); a debit is
    listed, and a returned payment cancels the payment it returns (``returns``)."""

    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="lines")
    statement_import = models.ForeignKey(StatementImport, on_delete=models.PROTECT, related_name="lines")
    identity = models.CharField(max_length=100)
    line_no = models.PositiveIntegerField(help_text=_("Where it was in the file that brought it."))
    booked_on = models.DateField()
    value_on = models.DateField(null=True, blank=True)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    bank_reference = models.CharField(max_length=100, blank=True)
    end_to_end_id = models.CharField(max_length=100, blank=True)
    counterparty_name = models.CharField(max_length=140, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    remittance = models.CharField(max_length=500, blank=True)
    return_reason = models.CharField(max_length=35, blank=True)

    state = models.CharField(max_length=10, choices=LineState.choices, default=LineState.NEW)
    payment = models.ForeignKey(
        FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("The ledger payment this credit booked (after a move: where it is now)."),
    )
    matched_by = models.CharField(max_length=16, choices=MatchedBy.choices, blank=True)
    suggested_customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+")
    suggested_account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    suggested_invoice = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+")
    confidence = models.PositiveSmallIntegerField(default=0, help_text=_("Out of 100."))
    suggestion_reason = models.CharField(max_length=200, blank=True)
    returns = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="returned_by", help_text=_("The credit line a return gives back."))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-booked_on", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "bank_account", "identity", name="statementline_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="statementline_amount_positive"),
            models.CheckConstraint(condition=Q(state__in=LineState.values), name="statementline_state_valid"),
            models.CheckConstraint(condition=Q(direction__in=Direction.values), name="statementline_direction"),
            models.CheckConstraint(
                condition=Q(direction=Direction.DEBIT) | Q(state=LineState.NEW) | Q(payment__isnull=False),
                name="statementline_credit_booked",
            ),
            models.CheckConstraint(
                condition=Q(confidence__lte=100), name="statementline_confidence_range",
            ),
        ]
        indexes = [
            models.Index("tenant", "state", "booked_on", name="statementline_by_state"),
            models.Index("tenant", "bank_account", "end_to_end_id", name="statementline_end_to_end",
                         condition=~Q(end_to_end_id="")),
            models.Index("statement_import", "state", name="statementline_import_state"),
        ]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount} {self.currency} {self.counterparty_name}".strip()

    @property
    def is_credit(self) -> bool:
        return self.direction == Direction.CREDIT


# --- refunds of credit balances by bank transfer (seed 004, scenario 1) ---------------------------


class RunState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved")


class RefundRun(TenantOwned):
    """The accounts whose balance is in the customer's favour, proposed for a refund by bank transfer from
    ``bank_account``; on approval the refunds are posted and ``file`` holds the SEPA credit-transfer order
    (pain.001) to upload to the bank. Beat makes one a month (``period``); a clerk may ask for one any time."""

    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="refund_runs")
    period = models.CharField(max_length=7, blank=True, help_text=_("The month a scheduled run is for (YYYY-MM)."))
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.PROPOSED)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    execution_date = models.DateField(null=True, blank=True)
    message_id = models.CharField(max_length=35, blank=True)
    file = models.TextField(blank=True, help_text=_("The pain.001 document, once approved."))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "bank_account", "period", condition=~Q(period=""),
                                    name="refundrun_once_a_month"),
            models.UniqueConstraint("tenant", "bank_account", condition=Q(state=RunState.PROPOSED),
                                    name="refundrun_one_proposed"),
            models.CheckConstraint(condition=Q(state=RunState.PROPOSED) | ~Q(file=""), name="refundrun_approved_file"),
        ]

    def __str__(self) -> str:
        return f"{self.bank_account.name} {self.created_at:%Y-%m-%d}"


# Our transfers' end-to-end ids begin so; the bank's statement carries them back.
REFUND_END_TO_END_PREFIX = "DULY-REFUND-"


class TransferState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    NO_IBAN = "no_iban", _("No IBAN: not included")
    LEFT_OUT = "left_out", _("Left out")
    SENT = "sent", _("In the transfer file")
    CONFIRMED = "confirmed", _("Confirmed by the bank")
    RETURNED = "returned", _("Returned by the bank")


class RefundTransfer(TenantOwned):
    """One account's refund in a run: proposed, then posted and in the file, then confirmed or returned by the
    bank's statement (found by ``end_to_end_id``)."""

    run = models.ForeignKey(RefundRun, on_delete=models.CASCADE, related_name="transfers")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    name = models.CharField(max_length=140)
    iban = models.CharField(max_length=34, blank=True)
    state = models.CharField(max_length=10, choices=TransferState.choices, default=TransferState.PROPOSED)
    end_to_end_id = models.CharField(max_length=35, blank=True)
    refund = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    confirmed_by = models.OneToOneField(StatementLine, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="confirms_transfer")
    returned_by = models.OneToOneField(StatementLine, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="returns_transfer")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refundtransfer_amount_positive"),
            models.UniqueConstraint("tenant", "end_to_end_id", condition=~Q(end_to_end_id=""),
                                    name="refundtransfer_end_to_end_unique"),
            models.CheckConstraint(
                condition=Q(state__in=[TransferState.PROPOSED, TransferState.NO_IBAN, TransferState.LEFT_OUT])
                | (Q(refund__isnull=False) & ~Q(end_to_end_id="")),
                name="refundtransfer_sent_is_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.amount} {self.currency}"
