"""The outbox and what surrounds it.

* :class:`Notification` is one message to one recipient on one channel, written in the transaction
  of the event that caused it (the transactional outbox). ``(tenant, event_key, channel,
  recipient)`` is unique, so the same event never makes two.
* :class:`DeliveryLog` is the audit trail of its delivery: every state change, who, when, and the
  error of a failed attempt.
* :class:`MessageTemplate` is a tenant's own wording of one of Duly's messages, per language.
* :class:`NotificationSettings` is a tenant's reply-to address, logo and sending hours.
* :class:`DevMail` and :class:`DevSms` are the development mailbox and SMS log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import Customer, Tenant, TenantOwned
from notifications import hours


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", "SMS"
    IN_APP = "in_app", "In-app"


class DeliveryState(models.TextChoices):
    """Where a notification's delivery stands; ``notifications.states`` says how it may move."""

    PENDING = "pending", _("Pending")
    DEFERRED = "deferred", _("Deferred to sending hours")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notification(TenantOwned):
    event_key = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=254, help_text="Email address, E.164 phone number or user:<id>.")
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    subject_ref = models.CharField(max_length=100, blank=True, help_text=_("The record it is about: crm.customer:42."))
    template_key = models.CharField(max_length=50, blank=True)
    language = models.CharField(max_length=10, default="en")
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    urgent = models.BooleanField(default=True)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", help_text=_("Who sent it; empty when Duly sent it on its own."))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "event_key", "channel", "recipient", name="notification_once_per_event"),
            models.CheckConstraint(condition=Q(state__in=DeliveryState.values), name="notification_state"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="notification_channel"),
            models.CheckConstraint(
                condition=Q(channel=Channel.IN_APP, recipient_user__isnull=False)
                | (~Q(channel=Channel.IN_APP) & Q(read_at__isnull=True)),
                name="notification_in_app_has_user",
            ),
            models.CheckConstraint(condition=~Q(event_key=""), name="notification_event_key"),
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "due_at"], name="notification_due"),
            # What is not sent yet, across tenants: the metrics page's counts and oldest due (config.metrics).
            models.Index(fields=["state", "due_at"], name="notification_unsent", condition=~Q(state="sent")),
            models.Index(fields=["tenant", "subject_ref", "created_at"], name="notification_subject"),
            models.Index(fields=["tenant", "recipient_user", "read_at"], name="notification_inbox",
                         condition=Q(channel="in_app")),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.recipient}: {self.subject or self.body[:40]}"

    @property
    def is_unread(self) -> bool:
        return self.channel == Channel.IN_APP and self.read_at is None


class DeliveryLog(TenantOwned):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="log")
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class MessageTemplate(TenantOwned):
    key = models.CharField(max_length=50)
    language = models.CharField(max_length=10)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    sms = models.TextField(blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["key", "language"]
        constraints = [
            models.UniqueConstraint("tenant", "key", "language", name="messagetemplate_once_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"


class NotificationSettings(TenantOwned):
    reply_to_email = models.EmailField(blank=True, help_text=_("Customers' replies go here."))
    logo_url = models.URLField(blank=True, help_text=_("An https address of your logo, shown at the top of emails."))
    sending_start = models.TimeField(default=hours.DEFAULT_START)
    sending_end = models.TimeField(default=hours.DEFAULT_END)
    sending_days_mask = models.PositiveSmallIntegerField(
        default=hours.days_to_mask(hours.EVERY_DAY), help_text=_("Bit n set: weekday n (Monday 0) is a sending day.")
    )

    class Meta:
        verbose_name_plural = _("notification settings")
        constraints = [
            models.UniqueConstraint("tenant", name="notificationsettings_one_per_tenant"),
            models.CheckConstraint(condition=Q(sending_start__lt=models.F("sending_end")),
                                   name="notificationsettings_hours_order"),
            models.CheckConstraint(condition=Q(sending_days_mask__gte=1, sending_days_mask__lte=127),
                                   name="notificationsettings_days"),
        ]

    @property
    def sending_days(self) -> tuple[int, ...]:
        return hours.mask_to_days(self.sending_days_mask)


class DevMail(models.Model):
    """An email caught by the development mailbox backend. Not for production."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    from_email = models.CharField(max_length=300)
    to = models.TextField()
    reply_to = models.TextField(blank=True)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject


class DevSms(models.Model):
    """A text message caught by the database SMS backend. Not for production."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    to = models.CharField(max_length=32)
    from_number = models.CharField(max_length=32, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "development SMS"

    def __str__(self) -> str:
        return f"to {self.to}"
