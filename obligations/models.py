"""Obligations: payments a customer must make (to an institution, the government or the tenant itself),
in one or more instalments; the tenant's settings for them; and the customer portal's sign-in links.

The tables keep the names they had when these models lived in ``payments``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money
from simple_history.models import HistoricalRecords

from core import tokens
from crm.models import Customer, TenantOwned
from finance.models import FinancialTransaction

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class ObligationSettings(TenantOwned):
    """A tenant's settings for obligations; the defaults apply until a tenant saves its own."""

    reminder_days_before = models.PositiveSmallIntegerField(
        default=3, help_text=_("Days before an unpaid instalment's due date that the customer is reminded.")
    )
    overdue_days_after = models.PositiveSmallIntegerField(
        default=1, help_text=_("Days after the due date that an overdue notice goes out.")
    )
    sms_enabled = models.BooleanField(default=False, help_text=_("Send reminders by SMS as well as email."))
    holiday_subdivision = models.CharField(
        max_length=10, blank=True,
        help_text=_("A region of the tenant's country whose public holidays also count (e.g. ENG for England)."),
    )

    class Meta:
        db_table = "payments_obligationsettings"
        verbose_name_plural = _("obligation settings")
        constraints = [
            models.UniqueConstraint("tenant", name="obligationsettings_one_per_tenant"),
            models.CheckConstraint(condition=Q(reminder_days_before__lte=60), name="obligationsettings_reminder_days"),
            models.CheckConstraint(condition=Q(overdue_days_after__lte=60), name="obligationsettings_overdue_days"),
        ]


class ClosingDay(TenantOwned):
    """A day the tenant adds to its country's public holidays: no instalment falls due on it."""

    day = models.DateField()
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "payments_closingday"
        ordering = ["day"]
        constraints = [models.UniqueConstraint("tenant", "day", name="closingday_unique_per_tenant")]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.description}".strip()


class PayeeKind(models.TextChoices):
    INSTITUTION = "institution", _("An institution")
    GOVERNMENT = "government", _("The government")
    TENANT = "tenant", _("Us")


class DateRule(models.TextChoices):
    NEXT = "next", _("Next business day")
    PREVIOUS = "previous", _("Previous business day")


class Obligation(TenantOwned):
    """A payment ``customer`` must make, identified by its ``payment_code`` (the debt's payment ID),
    due in the instalments under it. A one-off payment is an obligation with one instalment.

    ``manager_comments`` are for staff with ``crm.see_manager_comments`` only: never on a customer's page,
    an email, a PDF or an API answer.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="obligations")
    payee_kind = models.CharField(max_length=12, choices=PayeeKind.choices, default=PayeeKind.INSTITUTION)
    payee = models.CharField(max_length=200)
    payment_code = models.CharField(max_length=100)
    description = models.CharField(max_length=200)
    total_amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    date_rule = models.CharField(
        max_length=8, choices=DateRule.choices, default=DateRule.NEXT,
        help_text=_("Where a due date on a weekend or holiday moves to."),
    )
    manager_comments = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    history = HistoricalRecords(excluded_fields=["updated_at"], table_name="payments_historicalobligation")

    class Meta:
        db_table = "payments_obligation"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total_amount__gt=0), name="obligation_total_positive"),
            models.CheckConstraint(condition=~Q(payment_code=""), name="obligation_payment_code_required"),
            models.CheckConstraint(condition=~Q(description=""), name="obligation_description_required"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="obligation_currency_iso"),
        ]
        indexes = [models.Index("tenant", "customer", name="obligation_customer")]

    def __str__(self) -> str:
        return self.description

    @property
    def money(self) -> Money:
        return Money(self.total_amount, self.currency)


class InstalmentStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")


class Instalment(TenantOwned):
    """One dose of an obligation: an amount due on a date. Paid through Duly (``gateway payment`` →
    ``ledger_payment``, a receipt) or marked paid by staff when it was paid elsewhere (``paid_outside``)."""

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField()
    amount = models.DecimalField(**AMOUNT)
    due_on = models.DateField()
    status = models.CharField(max_length=8, choices=InstalmentStatus.choices, default=InstalmentStatus.UNPAID)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("The staff member who marked it paid outside Duly."),
    )
    paid_outside = models.BooleanField(default=False)
    ledger_invoice = models.ForeignKey(
        FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("The invoice booked in the ledger when it was paid through Duly."),
    )
    ledger_payment = models.ForeignKey(
        FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    # The due date a reminder / an overdue notice was sent for: the sweep skips what is done, and a new
    # due date (an edit) earns a new reminder. The outbox's unique event key is what guarantees once.
    reminded_for = models.DateField(null=True, blank=True)
    overdue_notice_for = models.DateField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["reminded_for", "overdue_notice_for"],
                               table_name="payments_historicalinstalment")

    class Meta:
        db_table = "payments_instalment"
        ordering = ["due_on", "number", "id"]
        constraints = [
            models.UniqueConstraint("tenant", "obligation", "number", name="instalment_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=InstalmentStatus.values), name="instalment_status_valid"),
            models.CheckConstraint(
                condition=Q(status=InstalmentStatus.PAID, paid_at__isnull=False)
                | Q(status=InstalmentStatus.UNPAID, paid_at__isnull=True, ledger_payment__isnull=True,
                    paid_outside=False),
                name="instalment_paid_iff_paid_at",
            ),
        ]
        indexes = [
            models.Index("due_on", name="instalment_unpaid_due", condition=Q(status=InstalmentStatus.UNPAID)),
            models.Index("tenant", "due_on", name="instalment_tenant_due"),
        ]

    def __str__(self) -> str:
        return f"{self.obligation} #{self.number}"

    @property
    def is_paid(self) -> bool:
        return self.status == InstalmentStatus.PAID

    @property
    def money(self) -> Money:
        return Money(self.amount, self.obligation.currency)


class PortalLink(TenantOwned):
    """A magic link into the customer portal: emailed on request, single-use, expiring. The link carries
    a random token; only its SHA-256 is stored."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_links")
    token_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "payments_portallink"
        constraints = [
            models.CheckConstraint(condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"), name="portallink_token_hash"),
        ]
        # Found by the token's hash before the tenant is known (as receipts and pay links are).
        indexes = [models.Index("token_hash", name="portallink_token")]

    @staticmethod
    def hash_token(token: str) -> str:
        return tokens.hash_token(token)
