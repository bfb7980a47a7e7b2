"""The offline sandbox provider's own records: its checkouts and refunds, as a remote provider keeps them.

The tables keep the names they had when these models lived in ``gateways``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from crm.models import TenantOwned
from gateways.models import GatewayAccount


class SandboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class SandboxMode(models.TextChoices):
    HOSTED_PAGE = "hosted_page", "Hosted page"
    CARD_FIELDS = "card_fields", "Card fields"
    SAVED_CARD = "saved_card", "Saved card"  # a charge without the customer, through the API only


class SavedCardBehaviour(models.TextChoices):
    """What a charge without the customer does, by the test card that was saved."""

    SUCCEEDS = "succeeds", "Succeeds"
    REQUIRES_AUTHENTICATION = "requires_authentication", "Requires authentication"
    DECLINED = "declined", "Declined"


class SandboxCard(TenantOwned):
    """A card the sandbox keeps for a customer who agreed, as a provider's vault would: a token and what
    the customer recognises it by. Removed cards are kept, and refuse charges."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)  # "sbxpm_…"
    account = models.ForeignKey(GatewayAccount, on_delete=models.PROTECT, related_name="+")
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    behaviour = models.CharField(max_length=30, choices=SavedCardBehaviour.choices)
    removed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} ({self.brand} {self.last4})"


class SandboxCheckout(TenantOwned):
    """A checkout on the sandbox provider's side (``sandbox``): what a remote provider
    would keep. Its tenant is the one whose sandbox account secret created it.

    A declined card does not end it: the attempt is counted, a ``checkout.failed`` event is sent and the
    checkout stays ``pending`` (payable) until it succeeds, expires or is cancelled.
    """

    id = models.CharField(primary_key=True, max_length=40, editable=False)  # "sbx_…", unguessable
    account = models.ForeignKey(GatewayAccount, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=200)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=500, blank=True)
    mode = models.CharField(max_length=20, choices=SandboxMode.choices)
    pay_in_4 = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=SandboxStatus.choices, default=SandboxStatus.PENDING)
    client_token = models.CharField(max_length=64, blank=True, editable=False)  # card fields only
    return_url = models.URLField(max_length=2000)
    cancel_url = models.URLField(max_length=2000, blank=True)
    webhook_url = models.URLField(max_length=2000, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=200, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    card_last4 = models.CharField(max_length=4, blank=True)
    save_card = models.BooleanField(default=False)
    card = models.ForeignKey(SandboxCard, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             help_text="The card this checkout kept, or the saved card it charged.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gateways_sandboxcheckout"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint("tenant", "reference", name="sandboxcheckout_reference_unique"),
            models.UniqueConstraint("client_token", "tenant", condition=~Q(client_token=""),
                                    name="sandboxcheckout_client_token_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="sandboxcheckout_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=SandboxStatus.values), name="sandboxcheckout_status_valid"),
            models.CheckConstraint(condition=Q(mode__in=SandboxMode.values), name="sandboxcheckout_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class SandboxRefund(TenantOwned):
    """A refund of a sandbox checkout; one per idempotency key, so a retried refund answers the first."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)  # "sbxre_…"
    checkout = models.ForeignKey(SandboxCheckout, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveBigIntegerField()
    idempotency_key = models.CharField(max_length=200)
    status = models.CharField(max_length=20, default="succeeded")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "gateways_sandboxrefund"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint("tenant", "checkout", "idempotency_key", name="sandboxrefund_key_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="sandboxrefund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.amount_minor} of {self.checkout_id})"
