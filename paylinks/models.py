"""Pay links: payment requests sent by email or SMS (a fixed amount, paid once through a 24-hour link) and
an invoice's emailed pay-now link (Email Pay), which pays the invoice in one or several parts.

The tables keep the names they had when these models lived in ``payments``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from crm.models import Customer, TenantOwned
from finance.models import Account, FinancialTransaction

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    COMPLETE = "complete", _("Complete")
    COMPLETE_AFTER_FAILURE = "complete_after_failure", _("Complete after a failed attempt")


class RequestChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", "SMS"


COMPLETE_STATES = [RequestStatus.COMPLETE, RequestStatus.COMPLETE_AFTER_FAILURE]
# Money that arrives after the link expired or the request was cancelled (an attempt already under way)
# is still booked, so the request still reads as complete.
PAYABLE_OR_LATE = [RequestStatus.OPEN, RequestStatus.EXPIRED, RequestStatus.CANCELLED]


class PaymentRequest(TenantOwned):
    """A request sent to a customer by email and/or SMS with a link to pay ``amount`` into ``account``.

    The link carries a random token; only its SHA-256 is stored. Attempts to pay are ``GatewayPayment``
    rows (``attempts``), all kept, so "complete after a failed attempt" can show what happened.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payment_requests")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payment_requests")
    invoice = models.ForeignKey(
        FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="payment_requests",
        help_text=_("The invoice the request was sent from; its payment is allocated against it."),
    )
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=100, blank=True, help_text=_("Invoice or contract number."))
    message = models.TextField(blank=True)
    channels = ArrayField(models.CharField(max_length=5, choices=RequestChannel.choices), size=2)
    status = FSMField(default=RequestStatus.OPEN, choices=RequestStatus.choices, protected=True)
    token_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("The staff member who sent it (told when it is paid); empty when an API key sent it."),
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    consolidated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    consolidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_paymentrequest"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "token_hash", name="paymentrequest_token_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="paymentrequest_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="paymentrequest_status_valid"),
            models.CheckConstraint(condition=Q(channels__len__gt=0), name="paymentrequest_has_channels"),
            models.CheckConstraint(
                condition=Q(status__in=COMPLETE_STATES, completed_at__isnull=False)
                | (~Q(status__in=COMPLETE_STATES) & Q(completed_at__isnull=True)),
                name="paymentrequest_completed_iff_complete",
            ),
            models.CheckConstraint(
                condition=Q(consolidated_at__isnull=True) | Q(status__in=COMPLETE_STATES),
                name="paymentrequest_consolidated_only_complete",
            ),
        ]
        indexes = [
            # The pay page finds a request by its token's hash before it knows the tenant.
            models.Index("token_hash", name="paymentrequest_token_hash"),
            models.Index("expires_at", name="paymentrequest_open_expiry", condition=Q(status=RequestStatus.OPEN)),
            models.Index(fields=["tenant", "-created_at", "-id"], name="paymentrequest_newest_first"),
            # A bank transfer that names a request by its reference.
            models.Index(F("tenant"), Upper("reference"), name="paymentrequest_reference",
                         condition=~Q(reference="")),
        ]

    def __str__(self) -> str:
        name = self.reference or gettext("Request")
        return f"{name} #{self.pk}"

    @property
    def is_complete(self) -> bool:
        return self.status in COMPLETE_STATES

    @transition(field=status, source=RequestStatus.OPEN, target=RequestStatus.EXPIRED)
    def expire(self):
        pass

    @transition(field=status, source=RequestStatus.OPEN, target=RequestStatus.CANCELLED)
    def cancel(self, *, at):
        self.cancelled_at = at

    @transition(field=status, source=[RequestStatus.OPEN, RequestStatus.EXPIRED], target=RequestStatus.OPEN)
    def reopen(self, *, token_hash: str, expires_at, at):
        self.token_hash = token_hash
        self.expires_at = expires_at
        self.sent_at = at

    @transition(field=status, source=PAYABLE_OR_LATE, target=RequestStatus.COMPLETE)
    def complete(self, *, at):
        self.completed_at = at

    @transition(field=status, source=PAYABLE_OR_LATE, target=RequestStatus.COMPLETE_AFTER_FAILURE)
    def complete_after_failure(self, *, at):
        self.completed_at = at


class PaymentRequestEvent(TenantOwned):
    """The audit trail of a payment request: who moved it from what to what, and when."""

    request = models.ForeignKey(PaymentRequest, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    at = models.DateTimeField()

    class Meta:
        db_table = "payments_paymentrequestevent"
        ordering = ["at", "id"]




class InvoicePayLink(TenantOwned):
    """A pay-now link emailed with a posted invoice ("Email Pago"). The link carries a random token;
    only its SHA-256 is stored. Unlike a payment request (a fixed amount, paid once) the link pays the
    invoice's outstanding amount in one or several parts until the invoice is settled or the link
    expires. Each payment made through it is a ``GatewayPayment`` with ``invoice`` set and
    ``invoice_pay_link`` naming the link."""

    invoice = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, related_name="pay_links")
    token_hash = models.CharField(max_length=64)
    sent_to = models.EmailField()
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        db_table = "payments_invoicepaylink"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"), name="invoicepaylink_token_hash"),
        ]
        # Found by the token's hash before the tenant is known (as receipts are).
        indexes = [models.Index("token_hash", name="invoicepaylink_token")]

    def __str__(self) -> str:
        return gettext("Pay link #%(pk)s") % {"pk": self.pk}
