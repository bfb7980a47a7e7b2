"""Collecting money. ``GatewayPayment``: one attempt to collect through a provider, what it is for,
and the single ledger payment it books when it succeeds. ``GatewayRefund``: a refund is first a
record of ours, whose idempotency key goes to the provider, so a retried refund never refunds twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from crm.models import TenantOwned
from finance.models import Account, FinancialTransaction
from gateways.models import GatewayAccount

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


NOT_SUCCEEDED = [s for s in PaymentStatus.values if s != PaymentStatus.SUCCEEDED]


class GatewayPayment(TenantOwned):
    reference = models.CharField(max_length=40, help_text="Ours; the provider's idempotency key.")
    gateway_account = models.ForeignKey(GatewayAccount, on_delete=models.PROTECT)
    provider = models.CharField(max_length=20)
    provider_reference = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="gateway_payments")
    invoice = models.ForeignKey(
        FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="gateway_payments"
    )
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    mode = models.CharField(max_length=20)
    description = models.CharField(max_length=200)
    status = FSMField(default=PaymentStatus.PENDING, choices=PaymentStatus.choices, protected=True)
    redirect_url = models.URLField(max_length=2000, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    ledger_payment = models.OneToOneField(
        FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="gateway_payment"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "reference", name="gatewaypayment_reference_unique"),
            models.UniqueConstraint(
                "provider", "provider_reference", condition=~Q(provider_reference=""),
                name="gatewaypayment_provider_reference_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="gatewaypayment_amount_positive"),
            models.CheckConstraint(
                condition=Q(status=PaymentStatus.SUCCEEDED, ledger_payment__isnull=False)
                | (~Q(status=PaymentStatus.SUCCEEDED) & Q(ledger_payment__isnull=True)),
                name="gatewaypayment_succeeded_iff_booked",
            ),
        ]
        indexes = [
            models.Index(
                "updated_at", name="gatewaypayment_unsettled",
                condition=Q(status__in=[PaymentStatus.PENDING, PaymentStatus.PROCESSING]),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    # A success is final: whatever arrives after it (a duplicate, a late "processing") changes nothing.
    # Anything else may still become a success: money that arrives late is booked, never dropped.
    @transition(field=status, source=[PaymentStatus.PENDING, PaymentStatus.FAILED], target=PaymentStatus.PROCESSING)
    def mark_processing(self):
        pass

    @transition(field=status, source=NOT_SUCCEEDED, target=PaymentStatus.SUCCEEDED)
    def mark_succeeded(self, *, ledger_payment: FinancialTransaction, at):
        self.ledger_payment = ledger_payment
        self.settled_at = at
        self.failure_message = ""

    @transition(field=status, source=[PaymentStatus.PENDING, PaymentStatus.PROCESSING], target=PaymentStatus.FAILED)
    def mark_failed(self, *, message: str):
        self.failure_message = message[:300]

    @transition(field=status, source=[PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.FAILED],
                target=PaymentStatus.CANCELLED)
    def mark_cancelled(self):
        pass

    @transition(field=status, source=[PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.FAILED],
                target=PaymentStatus.EXPIRED)
    def mark_expired(self):
        pass


class PaymentEvent(TenantOwned):
    """What happened to a gateway payment, with where it came from (a webhook, a poll, a person)."""

    payment = models.ForeignKey(GatewayPayment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    source = models.CharField(max_length=60)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class GatewayRefund(TenantOwned):
    payment = models.ForeignKey(GatewayPayment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**AMOUNT)
    idempotency_key = models.CharField(max_length=60, unique=True)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    provider_refund_reference = models.CharField(max_length=200, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    ledger_refund = models.OneToOneField(
        FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="gateway_refund"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="gatewayrefund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status=RefundStatus.SUCCEEDED, ledger_refund__isnull=False)
                | (~Q(status=RefundStatus.SUCCEEDED) & Q(ledger_refund__isnull=True)),
                name="gatewayrefund_succeeded_iff_booked",
            ),
        ]
