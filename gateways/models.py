"""What is about providers but not about money: tenants' gateway accounts (encrypted secrets) and
the webhook inbox."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from crm.models import Tenant, TenantOwned


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    CASHFLOWS = "cashflows", "Cashflows"
    CREDICORP = "credicorp", "Credicorp Bank (Email Pago)"
    SANDBOX = "sandbox", "Sandbox (offline)"


class Purpose(models.TextChoices):
    """What a tenant collects money for; each gateway account serves some of these
    (``gateways.selectors.gateway_account_for`` chooses among them)."""

    TAKE_PAYMENT = "take_payment", "Take Payment (card fields)"
    PAYMENT_REQUESTS = "payment_requests", "Payment requests"
    INVOICE_LINKS = "invoice_links", "Email pay (invoice links)"
    PORTAL = "portal", "Customer portal"


def all_purposes() -> list[str]:
    return list(Purpose.values)


class GatewayAccount(TenantOwned):
    """A tenant's account with one provider, in test or live mode. The secret is stored encrypted
    and never shown again: only its last four characters are."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    live = models.BooleanField(default=False, help_text="Off: the provider's test mode.")
    secret_encrypted = models.TextField(editable=False)
    secret_last4 = models.CharField(max_length=4, editable=False)
    settings = models.JSONField(
        default=dict, blank=True,
        help_text="Non-secret settings: configuration id, publishable key, base URL, webhook secret name…",
    )
    enabled = models.BooleanField(default=True)
    purposes = ArrayField(
        models.CharField(max_length=20, choices=Purpose.choices), default=all_purposes, blank=True,
        help_text="What this account collects for; the currency decides among the accounts that serve a purpose.",
    )
    webhook_token = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False,
        help_text="Names this account in its webhook URL, so a delivery is tied to its tenant before it is parsed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("tenant", "provider", "live", name="gatewayaccount_one_per_mode"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} ({'live' if self.live else 'test'})"


class WebhookOutcome(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected (bad signature)"


class WebhookDelivery(models.Model):
    """Every webhook delivery, stored before anything else happens and answered at once; a task
    processes it. Unique per provider and event id, so a duplicate is stored once.

    Deliveries whose tenant cannot be told (unknown account) keep ``tenant`` empty, so this table is
    not scoped; pages reach it through selectors that filter by tenant.
    """

    provider = models.CharField(max_length=20, choices=Provider.choices)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    gateway_account = models.ForeignKey(
        GatewayAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=WebhookOutcome.choices, default=WebhookOutcome.RECEIVED)
    detail = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint("provider", "event_id", name="webhook_unique_event"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-received_at"], name="webhook_tenant_recent"),
            models.Index("outcome", name="webhook_pending", condition=Q(outcome="received")),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"


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


class SandboxCheckout(TenantOwned):
    """A checkout on the sandbox provider's side (``gateways.sandbox_server``): what a remote provider
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint("tenant", "reference", name="sandboxcheckout_reference_unique"),
            models.UniqueConstraint("client_token", condition=~Q(client_token=""),
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
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint("tenant", "checkout", "idempotency_key", name="sandboxrefund_key_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="sandboxrefund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.amount_minor} of {self.checkout_id})"
