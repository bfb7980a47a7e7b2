"""Collecting money. ``GatewayPayment``: one attempt to collect through a provider, what it is for,
and the single ledger payment it books when it succeeds. ``GatewayRefund``: a refund is first a
record of ours, whose idempotency key goes to the provider, so a retried refund never refunds twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from djmoney.money import Money

from core import tokens
from crm.models import TenantOwned
from finance.models import Account, FinancialTransaction
from gateways.models import GatewayAccount, Provider

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


NOT_SUCCEEDED = [s for s in PaymentStatus.values if s != PaymentStatus.SUCCEEDED]


class PaymentPurpose(models.TextChoices):
    """What a gateway payment pays for; its settlement handler is registered for it (``payments.settlement``)."""

    FEE = "fee", _("Fee (Take Payment)")
    REQUEST = "request", _("Payment request")
    EMAIL_PAY = "email_pay", _("Email Pay link")
    INSTALMENT = "instalment", _("Obligation instalment")
    CARD_ON_FILE = "card_on_file", _("Card on file")


class GatewayPayment(TenantOwned):
    reference = models.CharField(max_length=40, help_text=_("Ours; the provider's idempotency key."))
    gateway_account = models.ForeignKey(GatewayAccount, on_delete=models.PROTECT)
    provider = models.CharField(max_length=20)
    provider_reference = models.CharField(max_length=200, blank=True)
    purpose = models.CharField(max_length=20, choices=PaymentPurpose.choices, default=PaymentPurpose.FEE)
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
    payment_request = models.ForeignKey(
        "paylinks.PaymentRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="attempts"
    )
    invoice_pay_link = models.ForeignKey(
        "paylinks.InvoicePayLink", on_delete=models.PROTECT, null=True, blank=True, related_name="attempts",
        help_text=_("The emailed pay-now link the customer paid through, if any."),
    )
    instalment = models.ForeignKey(
        "obligations.Instalment", on_delete=models.PROTECT, null=True, blank=True, related_name="attempts",
        help_text=_("The obligation's instalment the customer paid from the portal, if any."),
    )
    card_consent = models.JSONField(
        null=True, blank=True,
        help_text=_("The customer's consent to keep the card, when given: the text shown, where and when."))
    saved_card = models.ForeignKey(
        "payments.SavedCard", on_delete=models.PROTECT, null=True, blank=True, related_name="charges",
        help_text=_("The card on file this payment charged without the customer."))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "reference", name="gatewaypayment_reference_unique"),
            models.UniqueConstraint(
                "provider", "provider_reference", "tenant", condition=~Q(provider_reference=""),
                name="gatewaypayment_provider_reference_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="gatewaypayment_amount_positive"),
            # The purpose names the one thing paid for: its link is set, and no other link is.
            models.CheckConstraint(
                condition=Q(purpose=PaymentPurpose.FEE, payment_request__isnull=True, invoice_pay_link__isnull=True,
                            instalment__isnull=True)
                | Q(purpose=PaymentPurpose.REQUEST, payment_request__isnull=False, invoice_pay_link__isnull=True,
                    instalment__isnull=True)
                | Q(purpose=PaymentPurpose.EMAIL_PAY, payment_request__isnull=True, invoice_pay_link__isnull=False,
                    instalment__isnull=True)
                | Q(purpose=PaymentPurpose.INSTALMENT, payment_request__isnull=True, invoice_pay_link__isnull=True,
                    instalment__isnull=False)
                | Q(purpose=PaymentPurpose.CARD_ON_FILE, instalment__isnull=True, payment_request__isnull=True,
                    invoice_pay_link__isnull=True, saved_card__isnull=False),
                name="gatewaypayment_purpose_names_its_link",
            ),
            # A card on file pays a recurring invoice (card_on_file) or an obligation's instalment.
            models.CheckConstraint(
                condition=Q(saved_card__isnull=True)
                | Q(purpose__in=[PaymentPurpose.CARD_ON_FILE, PaymentPurpose.INSTALMENT]),
                name="gatewaypayment_card_charge_is_card_on_file",
            ),
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
            # The payment list, newest first: a page is read off the index, not sorted.
            models.Index(fields=["tenant", "-created_at", "-id"], name="gatewaypayment_newest_first"),
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


class ConsentSource(models.TextChoices):
    """Where the customer agreed to keep their card."""

    PAY_LINK = "pay_link", _("Payment request page")
    EMAIL_PAY = "email_pay", _("Email Pay page")
    PORTAL = "portal", _("Customer portal")
    TAKE_PAYMENT = "take_payment", _("Take Payment (staff, with the customer's agreement)")


class RemovedVia(models.TextChoices):
    PORTAL = "portal", _("the customer, in the portal")
    STAFF = "staff", _("staff, from the customer file")
    API = "api", _("the API")


class SavedCard(TenantOwned):
    """A card the provider keeps for a customer who agreed: the provider's token, never card data, and what
    the customer recognises it by. Removed cards stay, for the record, and are never charged."""

    customer = models.ForeignKey("crm.Customer", on_delete=models.PROTECT, related_name="saved_cards")
    gateway_account = models.ForeignKey(GatewayAccount, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=20)
    token = models.CharField(max_length=200, help_text=_("The provider's reference of the kept card."))
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    first_payment = models.OneToOneField(GatewayPayment, on_delete=models.PROTECT, related_name="kept_card")
    consent_at = models.DateTimeField()
    consent_text = models.TextField()
    consent_source = models.CharField(max_length=20, choices=ConsentSource.choices)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_via = models.CharField(max_length=10, choices=RemovedVia.choices, blank=True)
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    forgotten_by_provider = models.BooleanField(
        default=False, help_text=_("The provider confirmed it no longer keeps the card."))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "provider", "token", name="savedcard_token_unique"),
            models.CheckConstraint(condition=Q(last4__regex=r"^[0-9]{4}$"), name="savedcard_last4_digits"),
            models.CheckConstraint(condition=Q(exp_month__gte=1, exp_month__lte=12), name="savedcard_exp_month"),
        ]

    def __str__(self) -> str:
        return f"{self.brand.title()} •••• {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"

    def expired(self, today) -> bool:
        return (self.exp_year, self.exp_month) < (today.year, today.month)


# Where a payment event's news came from, by the key the services store.
EVENT_SOURCES = {
    "card on file": _("charge of the card on file"),
    "checkout": _("checkout"), "demo data": _("demo data"), "janitor": _("status check"),
    "payer returned": _("payer returned"), "take payment page": _("Take Payment page"),
}


class PaymentEvent(TenantOwned):
    """What happened to a gateway payment, with where it came from (a webhook, a poll, a person)."""

    payment = models.ForeignKey(GatewayPayment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    source = models.CharField(max_length=60)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    @property
    def from_label(self) -> str:
        return PaymentStatus(self.from_status).label if self.from_status in PaymentStatus.values else self.from_status

    @property
    def to_label(self) -> str:
        return PaymentStatus(self.to_status).label if self.to_status in PaymentStatus.values else self.to_status

    @property
    def source_label(self) -> str:
        """Where the news came from, in the reader's language (a webhook keeps its event id)."""
        if self.source.startswith("webhook "):
            return _("webhook %(event)s") % {"event": self.source.removeprefix("webhook ")}
        return EVENT_SOURCES.get(self.source, self.source)


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class GatewayRefund(TenantOwned):
    payment = models.ForeignKey(GatewayPayment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**AMOUNT)
    idempotency_key = models.CharField(max_length=60)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    provider_refund_reference = models.CharField(max_length=200, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    ledger_refund = models.OneToOneField(
        FinancialTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="gateway_refund"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    # Set while one request is with the provider, so a second Retry cannot send the refund alongside it.
    sending_until = models.DateTimeField(null=True, blank=True)
    requested_via = models.CharField(
        max_length=100, blank=True, help_text=_("The API key's name, when an integration asked for the refund."))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint("idempotency_key", "tenant", name="gatewayrefund_idempotency_key_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="gatewayrefund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status=RefundStatus.SUCCEEDED, ledger_refund__isnull=False)
                | (~Q(status=RefundStatus.SUCCEEDED) & Q(ledger_refund__isnull=True)),
                name="gatewayrefund_succeeded_iff_booked",
            ),
        ]


class Receipt(TenantOwned):
    """The receipt of one posted ledger payment, numbered without gaps per tenant. What the payer sees
    is copied here when it is issued, so a receipt reads the same however the customer changes later.

    The customer reaches it through a link whose token is shown once and stored only as its sha256.
    """

    number = models.CharField(max_length=20)
    gateway_payment = models.OneToOneField(
        GatewayPayment, on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    ledger_payment = models.OneToOneField(FinancialTransaction, on_delete=models.PROTECT, related_name="receipt")
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=20, blank=True)
    provider_reference = models.CharField(max_length=200, blank=True)
    invoice_number = models.CharField(max_length=20, blank=True)
    description = models.CharField(max_length=200, blank=True)
    payer_name = models.CharField(max_length=200)
    payer_email = models.EmailField(blank=True)
    issued_at = models.DateTimeField()
    public_token_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "number", name="receipt_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="receipt_amount_positive"),
            models.CheckConstraint(condition=Q(public_token_hash__regex=r"^[0-9a-f]{64}$"), name="receipt_token_hash"),
        ]
        # Looked up by the link's token before the tenant is known. Not a unique constraint, which would
        # have to include the tenant to distribute by tenant; 128+ random bits do not collide.
        indexes = [models.Index("public_token_hash", name="receipt_token")]

    def __str__(self) -> str:
        return self.number

    @staticmethod
    def hash_token(token: str) -> str:
        return tokens.hash_token(token)

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def provider_label(self) -> str:
        return Provider(self.provider).label if self.provider in Provider.values else self.provider


class PaymentNotice(TenantOwned):
    """What a payment's success still has to tell: its payer's confirmation and its staff's note, written
    in the transaction that books it and rendered into the outbox by the notifications worker
    (``payments.services.notices``), so that a burst of bookings does not wait for their messages.

    ``receipt_token`` is the receipt link's token, kept only until the confirmation carries it (the
    receipt keeps only its hash); the row is deleted once its notifications are written."""

    payment = models.OneToOneField(GatewayPayment, on_delete=models.CASCADE, related_name="+")
    receipt_token = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index("tenant", "at", "id", name="paymentnotice_waiting")]
