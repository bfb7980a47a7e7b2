"""What is about providers but not about money: tenants' gateway accounts (encrypted secrets) and
the webhook inbox."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant, TenantOwned


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    CASHFLOWS = "cashflows", "Cashflows"
    CREDICORP = "credicorp", _("Credicorp Bank (Email Pago)")
    SANDBOX = "sandbox", _("Sandbox (offline)")


class Purpose(models.TextChoices):
    """What a tenant collects money for; each gateway account serves some of these
    (``gateways.selectors.gateway_account_for`` chooses among them)."""

    TAKE_PAYMENT = "take_payment", _("Take Payment (card fields)")
    PAYMENT_REQUESTS = "payment_requests", _("Payment requests")
    INVOICE_LINKS = "invoice_links", _("Email pay (invoice links)")
    PORTAL = "portal", _("Customer portal")


def all_purposes() -> list[str]:
    return list(Purpose.values)


class GatewayAccount(TenantOwned):
    """A tenant's account with one provider, in test or live mode. The secret is stored encrypted
    and never shown again: only its last four characters are."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    live = models.BooleanField(default=False, help_text=_("Off: the provider's test mode."))
    secret_encrypted = models.TextField(editable=False)
    secret_last4 = models.CharField(max_length=4, editable=False)
    settings = models.JSONField(
        default=dict, blank=True,
        help_text=_("Non-secret settings: configuration id, publishable key, base URL, webhook secret name…"),
    )
    enabled = models.BooleanField(default=True)
    purposes = ArrayField(
        models.CharField(max_length=20, choices=Purpose.choices), default=all_purposes, blank=True,
        help_text=_("What this account collects for; the currency decides among the accounts that serve a purpose."),
    )
    # The currencies it collects in; empty: every one its provider takes.
    currencies = ArrayField(models.CharField(max_length=3), default=list, blank=True)
    webhook_token = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False,
        help_text=_("Names this account in its webhook URL, so a delivery is tied to its tenant before it is parsed."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("tenant", "provider", "live", name="gatewayaccount_one_per_mode"),
        ]

    def get_purposes_display(self) -> list[str]:
        return [Purpose(purpose).label for purpose in self.purposes]

    def __str__(self) -> str:
        mode = _("live") if self.live else _("test")
        return f"{self.get_provider_display()} ({mode})"


class WebhookOutcome(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected (bad signature)")


class WebhookDelivery(models.Model):
    """Every webhook delivery, stored before anything else happens and answered at once; a task
    processes it. Unique per tenant, provider and event id, so a duplicate is stored once.

    A delivery is stored only once its account (and so its tenant) is known. The table is not scoped:
    the intake writes it before a tenant scope is open, and pages reach it through selectors that filter
    by tenant.
    """

    provider = models.CharField(max_length=20, choices=Provider.choices)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
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
    # The batch task that claimed it (its Celery task id, which a redelivered task keeps): a task killed
    # in the middle of a delivery takes it up again when it runs again.
    claimed_by = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint("provider", "event_id", "tenant", name="webhook_unique_event"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-received_at"], name="webhook_tenant_recent"),
            models.Index("outcome", name="webhook_pending", condition=Q(outcome="received")),
            # A tenant's deliveries not yet started, oldest first: what a batch task claims.
            models.Index("tenant", "received_at", "id", name="webhook_waiting",
                         condition=Q(outcome="received", attempts=0)),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"
