"""The accounts-receivable ledger.

Amounts are ``Decimal`` columns with two decimal places and one ``currency`` column per row (the
account's currency, copied onto each transaction and allocation and tied to it by composite foreign
keys, see migration 0002): a transaction has several amounts in one currency, which one currency
column states once. ``money()`` turns an amount into a ``djmoney`` ``Money`` for display.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from djmoney.money import Money

from crm.models import Customer, TenantOwned
from finance import amounts, duedates

AMOUNT = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class Classification(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")
    PAYMENT = "payment", _("Payment")
    REFUND = "refund", _("Refund")
    WRITE_OFF = "write_off", "Write-off"
    INVOICE_CANCELLATION = "invoice_cancellation", _("Invoice cancellation")
    PAYMENT_CANCELLATION = "payment_cancellation", _("Payment cancellation")


DEBITS = frozenset({Classification.INVOICE, Classification.REFUND, Classification.PAYMENT_CANCELLATION})
NUMBER_PREFIX = {
    Classification.INVOICE: "INV",
    Classification.CREDIT_NOTE: "CN",
    Classification.PAYMENT: "PAY",
    Classification.REFUND: "RF",
    Classification.WRITE_OFF: "WO",
    Classification.INVOICE_CANCELLATION: "IC",
    Classification.PAYMENT_CANCELLATION: "PC",
}
WITH_LINES = frozenset({Classification.INVOICE, Classification.CREDIT_NOTE, Classification.WRITE_OFF})
# What staff and the API create directly; the other classifications come from actions.
ENTRY_CLASSIFICATIONS = (
    Classification.INVOICE, Classification.CREDIT_NOTE, Classification.PAYMENT, Classification.REFUND,
)
CANCELLATION_OF = {
    Classification.INVOICE: Classification.INVOICE_CANCELLATION,
    Classification.PAYMENT: Classification.PAYMENT_CANCELLATION,
}
# The classifications a person gives an issue reason for (seed 004: credit notes, refunds, invoice
# and payment cancellations, write-offs).
WITH_ISSUE_REASON = frozenset({
    Classification.CREDIT_NOTE, Classification.REFUND, Classification.WRITE_OFF, Classification.INVOICE_CANCELLATION,
    Classification.PAYMENT_CANCELLATION,
})


class Direction(models.TextChoices):
    DEBIT = "debit", _("Debit")
    CREDIT = "credit", _("Credit")


def direction_of(classification: str) -> str:
    return Direction.DEBIT if classification in DEBITS else Direction.CREDIT


# --- configuration -----------------------------------------------------------------------------


class TaxRate(TenantOwned):
    name = models.CharField(max_length=100)
    percent = models.DecimalField(max_digits=6, decimal_places=3)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", "name", name="taxrate_name_unique"),
            models.CheckConstraint(condition=Q(percent__gte=0) & Q(percent__lte=100), name="taxrate_percent_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent.normalize():f} %)"


class Product(TenantOwned):
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    default_tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, null=True, blank=True)
    unit_price = models.DecimalField(**AMOUNT, null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("tenant", "code", name="product_code_unique")]

    def __str__(self) -> str:
        return self.name


class PaymentMethod(TenantOwned):
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("tenant", "name", name="paymentmethod_name_unique")]

    def __str__(self) -> str:
        return self.name


class RefundMethod(TenantOwned):
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("tenant", "name", name="refundmethod_name_unique")]

    def __str__(self) -> str:
        return self.name


class Category(TenantOwned):
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint("tenant", "name", name="category_name_unique")]

    def __str__(self) -> str:
        return self.name


class FeePayer(models.TextChoices):
    """Who pays an invoice of a fee type: the customer (staff may take a card payment for it) or a
    lender/provider (a commission: never taken from the customer)."""

    NONE = "", _("Not a fee")
    CUSTOMER = "customer", _("Fee due from the customer")
    PROVIDER = "provider", _("Fee due from a lender or provider")


class TransactionType(TenantOwned):
    """A user-defined type within a classification, e.g. "cash payment" or "voucher payment"."""

    name = models.CharField(max_length=100)
    classification = models.CharField(max_length=24, choices=Classification.choices)
    is_default = models.BooleanField(default=False)
    fee_payer = models.CharField(
        max_length=10, choices=FeePayer.choices, default=FeePayer.NONE, blank=True,
        help_text=_("For invoice types: whether their invoices are fees, and who pays them."),
    )
    payment_methods = models.ManyToManyField(PaymentMethod, blank=True, through="TransactionTypePaymentMethod")
    refund_methods = models.ManyToManyField(RefundMethod, blank=True, through="TransactionTypeRefundMethod")
    categories = models.ManyToManyField(Category, blank=True, through="TransactionTypeCategory")

    class Meta:
        ordering = ["classification", "name"]
        constraints = [
            models.UniqueConstraint("tenant", "classification", "name", name="txntype_name_unique"),
            models.UniqueConstraint(
                "tenant", "classification", condition=Q(is_default=True), name="txntype_one_default"
            ),
            models.CheckConstraint(
                condition=Q(fee_payer="") | Q(classification="invoice"), name="txntype_fee_is_an_invoice"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RejectionReason(TenantOwned):
    text = models.CharField(max_length=200)

    class Meta:
        ordering = ["text"]
        constraints = [models.UniqueConstraint("tenant", "text", name="rejectionreason_text_unique")]

    def __str__(self) -> str:
        return self.text


class IssueReason(TenantOwned):
    """Why a credit note, refund, cancellation or write-off was issued, chosen from the tenant's list."""

    text = models.CharField(max_length=200)

    class Meta:
        ordering = ["text"]
        constraints = [models.UniqueConstraint("tenant", "text", name="issuereason_text_unique")]

    def __str__(self) -> str:
        return self.text


class DueDateRule(TenantOwned):
    KINDS = [(duedates.DAYS_AFTER, _("X days after posting")),
             (duedates.NTH_DAY_MONTHS_AFTER, _("nth day, X months after"))]

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=24, choices=KINDS)
    days = models.PositiveSmallIntegerField(default=0)
    nth_day = models.PositiveSmallIntegerField(default=1)
    months = models.PositiveSmallIntegerField(default=1)
    proximity_days = models.SmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint("tenant", "name", name="duedaterule_name_unique"),
            models.CheckConstraint(condition=Q(nth_day__gte=1) & Q(nth_day__lte=31), name="duedaterule_nth_day"),
        ]

    def __str__(self) -> str:
        return self.name

    def as_rule(self) -> duedates.DueDateRule:
        return duedates.DueDateRule(
            kind=self.kind, days=self.days, nth_day=self.nth_day, months=self.months,
            proximity_days=self.proximity_days,
        )


def _joined(name: str, table: str, owner: str, other: str):
    """The ``through`` model of a many-to-many between two tenant models: the tenant and a row of each
    side, once. An implicit table would have no tenant, so it could not be distributed with the rows it
    joins (``core.distribution``); rows are added with ``through_defaults={"tenant": …}``."""
    owner_field, other_field = owner.lower(), other.lower()
    meta = type("Meta", (), {
        "db_table": table,
        "constraints": [models.UniqueConstraint(owner_field, other_field, "tenant", name=f"{table[8:]}_once")],
    })
    return type(name, (TenantOwned,), {
        "__module__": __name__,
        owner_field: models.ForeignKey(owner, on_delete=models.CASCADE, related_name="+"),
        other_field: models.ForeignKey(other, on_delete=models.CASCADE, related_name="+"),
        "Meta": meta,
    })


TransactionTypePaymentMethod = _joined(
    "TransactionTypePaymentMethod", "finance_transactiontype_payment_methods", "TransactionType", "PaymentMethod"
)
TransactionTypeRefundMethod = _joined(
    "TransactionTypeRefundMethod", "finance_transactiontype_refund_methods", "TransactionType", "RefundMethod"
)
TransactionTypeCategory = _joined(
    "TransactionTypeCategory", "finance_transactiontype_categories", "TransactionType", "Category"
)
LedgerDefinitionWriteOffAccount = _joined(
    "LedgerDefinitionWriteOffAccount", "finance_ledgerdefinition_write_off_accounts", "LedgerDefinition", "Account"
)


class AllocationPrinciple(models.TextChoices):
    FIFO = "fifo", "FIFO"
    AGAINST_ITEM_FIFO = "against_item_fifo", _("Against Item & FIFO")


class LedgerDefinition(TenantOwned):
    """The financial transaction definition and the accounts-receivable definition of one tenant."""

    allocation_principle = models.CharField(
        max_length=20, choices=AllocationPrinciple.choices, default=AllocationPrinciple.FIFO
    )
    due_date_rule = models.ForeignKey(DueDateRule, on_delete=models.PROTECT)
    default_write_off_product = models.ForeignKey(Product, on_delete=models.PROTECT)
    write_off_accounts = models.ManyToManyField(
        "Account", blank=True, related_name="+", through="LedgerDefinitionWriteOffAccount"
    )

    class Meta:
        constraints = [models.UniqueConstraint("tenant", name="ledgerdefinition_one_per_tenant")]


# --- accounts ----------------------------------------------------------------------------------


class AccountState(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")


class Lender(TenantOwned):
    """A lender or provider: the party that owes the fees of a "due from a lender or provider" type
    (a procuration fee, a commission). Its fees are booked on its own accounts, never the customer's."""

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lender or provider")
        verbose_name_plural = _("lenders and providers")
        constraints = [models.UniqueConstraint("tenant", "name", name="lender_name_unique")]

    def __str__(self) -> str:
        return self.name


class AccountKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    LENDER = "lender", _("Lender or provider")
    WRITE_OFF = "write_off", _("Write-off (system)")
    SUSPENSE = "suspense", _("Suspense (system)")


class Account(TenantOwned):
    """An accounts-receivable account: one customer (or a system account), one currency."""

    kind = models.CharField(max_length=10, choices=AccountKind.choices, default=AccountKind.CUSTOMER)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts")
    lender = models.ForeignKey(Lender, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts")
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    state = FSMField(default=AccountState.ACTIVE, choices=AccountState.choices, protected=True)
    credit_limit = models.DecimalField(**AMOUNT, default=ZERO)
    due_date_rule = models.ForeignKey(DueDateRule, on_delete=models.PROTECT, null=True, blank=True)
    balance = models.DecimalField(**AMOUNT, default=ZERO)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=AccountKind.CUSTOMER, customer__isnull=False)
                | (~Q(kind=AccountKind.CUSTOMER) & Q(customer__isnull=True)),
                name="account_customer_iff_customer_kind",
            ),
            models.UniqueConstraint(
                "tenant", "currency", condition=Q(kind=AccountKind.SUSPENSE), name="account_one_suspense_per_currency"
            ),
            models.UniqueConstraint(
                "tenant", "currency", condition=Q(kind=AccountKind.WRITE_OFF), name="account_one_write_off_per_currency"
            ),
            models.UniqueConstraint(
                "tenant", "customer", "currency", condition=Q(kind=AccountKind.CUSTOMER),
                name="account_one_per_customer_and_currency",
            ),
            models.CheckConstraint(
                condition=Q(kind=AccountKind.LENDER, lender__isnull=False)
                | (~Q(kind=AccountKind.LENDER) & Q(lender__isnull=True)),
                name="account_lender_iff_lender_kind",
            ),
            models.UniqueConstraint(
                "tenant", "lender", "currency", condition=Q(kind=AccountKind.LENDER),
                name="account_one_per_lender_and_currency",
            ),
            models.UniqueConstraint("id", "tenant", "currency", name="account_id_tenant_currency"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="account_currency_iso"),
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="account_credit_limit_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)

    @transition(field=state, source=[AccountState.ACTIVE], target=AccountState.SUSPENDED)
    def suspend(self):
        pass

    @transition(field=state, source=[AccountState.SUSPENDED], target=AccountState.ACTIVE)
    def reactivate(self):
        pass

    @transition(field=state, source=[AccountState.ACTIVE, AccountState.SUSPENDED], target=AccountState.TERMINATED)
    def terminate(self):
        pass


# --- transactions ------------------------------------------------------------------------------


class TransactionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    POSTED = "posted", _("Posted")
    REJECTED = "rejected", _("Rejected")


class FinancialTransaction(TenantOwned):
    """One of the seven classifications. Draft → posted, or draft → rejected. A posted row never
    changes (a database trigger refuses it) except ``open_amount``, the part not yet allocated."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="transactions")
    currency = models.CharField(max_length=3)
    classification = models.CharField(max_length=24, choices=Classification.choices)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    type = models.ForeignKey(TransactionType, on_delete=models.PROTECT)
    state = FSMField(default=TransactionState.DRAFT, choices=TransactionState.choices, protected=True)

    reference_number = models.CharField(max_length=20)
    number = models.CharField(max_length=20, blank=True)
    back_office_code = models.CharField(max_length=60, blank=True)
    external_reference = models.CharField(
        max_length=120, blank=True, help_text=_("The payer's or the gateway's reference for a payment or refund.")
    )

    issued_at = models.DateTimeField()
    posted_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)

    payment_method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, null=True, blank=True)
    refund_method = models.ForeignKey(RefundMethod, on_delete=models.PROTECT, null=True, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True)
    issue_reason = models.ForeignKey(IssueReason, on_delete=models.PROTECT, null=True, blank=True)
    # What the system wrote about why it issued the transaction ("Moved to …", "Written off from …"),
    # and the free-text issue reasons typed before reasons were chosen from the tenant's list.
    issue_note = models.CharField(max_length=200, blank=True)
    rejection_reason = models.ForeignKey(RejectionReason, on_delete=models.PROTECT, null=True, blank=True)

    # What this transaction is about: the invoice an invoice cancellation or write-off cancels, the
    # payment a payment cancellation cancels, the payment a moved payment came from.
    related = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # The customer a fee booked on a lender's account is about (it shows on their file as due from the lender).
    for_customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="lender_fees"
    )

    net_amount = models.DecimalField(**AMOUNT, default=ZERO)
    discount_amount = models.DecimalField(**AMOUNT, default=ZERO)
    tax_amount = models.DecimalField(**AMOUNT, default=ZERO)
    total_amount = models.DecimalField(**AMOUNT, default=ZERO)
    open_amount = models.DecimalField(**AMOUNT, default=ZERO)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("tenant", "reference_number", name="txn_reference_unique"),
            models.UniqueConstraint(
                "tenant", "classification", "number", condition=~Q(number=""), name="txn_number_unique"
            ),
            models.UniqueConstraint(
                "tenant", "back_office_code", condition=~Q(back_office_code=""), name="txn_back_office_code_unique"
            ),
            models.UniqueConstraint("id", "account", "currency", "tenant", name="txn_id_account_currency"),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="txn_total_not_negative"),
            models.CheckConstraint(
                condition=Q(open_amount__gte=0) & Q(open_amount__lte=F("total_amount")), name="txn_open_within_total"
            ),
            models.CheckConstraint(
                condition=Q(state=TransactionState.POSTED) | Q(open_amount=0), name="txn_only_posted_is_open"
            ),
            models.CheckConstraint(
                condition=(Q(state=TransactionState.POSTED) & ~Q(number="") & Q(posted_at__isnull=False))
                | (~Q(state=TransactionState.POSTED) & Q(number="")),
                name="txn_posted_iff_numbered",
            ),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in TransactionState]), name="txn_state_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(classification__in=sorted(DEBITS), direction=Direction.DEBIT)
                    | (~Q(classification__in=sorted(DEBITS)) & Q(direction=Direction.CREDIT))
                ),
                name="txn_direction_matches_classification",
            ),
            models.CheckConstraint(
                condition=Q(state=TransactionState.REJECTED, rejection_reason__isnull=False)
                | (~Q(state=TransactionState.REJECTED) & Q(rejection_reason__isnull=True)),
                name="txn_rejected_iff_reason",
            ),
        ]
        indexes = [
            models.Index(
                "account", "due_on", "id", name="txn_open_debits",
                condition=Q(state=TransactionState.POSTED, direction=Direction.DEBIT, open_amount__gt=0),
            ),
            models.Index(
                "account", "posted_at", "id", name="txn_open_credits",
                condition=Q(state=TransactionState.POSTED, direction=Direction.CREDIT, open_amount__gt=0),
            ),
            models.Index(fields=["tenant", "classification", "state", "-posted_at"], name="txn_summary"),
            # The transactions summary, newest first: a page is read off the index, not sorted.
            models.Index(fields=["tenant", "-created_at", "-id"], name="txn_newest_first"),
            models.Index("tenant", "external_reference", name="txn_external_reference"),
            # Dunning: the open invoices whose due date falls in a level's window.
            models.Index(
                "tenant", "due_on", "id", name="txn_open_invoices_by_due",
                condition=Q(state=TransactionState.POSTED, classification=Classification.INVOICE, open_amount__gt=0),
            ),
            # A bank transfer with no reference: the open invoice of exactly its amount.
            models.Index(
                "tenant", "currency", "open_amount", name="txn_open_invoice_by_amount",
                condition=Q(state=TransactionState.POSTED, classification=Classification.INVOICE, open_amount__gt=0),
            ),
            # Reports: what was posted in a period, whatever its classification; covering what the
            # aggregates read, so that they scan the index alone.
            models.Index(
                "tenant", "posted_at", name="txn_posted_by_date", condition=Q(state=TransactionState.POSTED),
                include=["classification", "currency", "account", "type", "payment_method", "related", "net_amount",
                         "discount_amount", "tax_amount", "total_amount"],
            ),
            # Aged receivables: a tenant's open debits, by account and due date.
            models.Index(
                "tenant", "account", "due_on", name="txn_open_debits_by_tenant", include=["currency", "open_amount"],
                condition=Q(state=TransactionState.POSTED, direction=Direction.DEBIT, open_amount__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_classification_display()} {self.number or self.reference_number}"

    @property
    def is_debit(self) -> bool:
        return self.direction == Direction.DEBIT

    @property
    def allocated_amount(self) -> Decimal:
        return self.total_amount - self.open_amount if self.state == TransactionState.POSTED else ZERO

    @property
    def total_without_tax(self) -> Decimal:
        """Net less discount, as the revenue report counts it."""
        return amounts.Amounts(net=self.net_amount, discount=self.discount_amount, tax=self.tax_amount,
                               total=self.total_amount).total_without_tax

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)

    def is_due_from_lender(self) -> bool:
        """A fee a lender or provider owes: never asked of the customer (seed 000)."""
        return self.account.kind == AccountKind.LENDER or self.type.fee_payer == FeePayer.PROVIDER

    def lender_fee_refusal(self) -> str:
        """Why the customer cannot be asked to pay this invoice, or ``""``."""
        if not self.is_due_from_lender():
            return ""
        owed_by = self.account.lender.name if self.account.lender_id else gettext("a lender or provider")
        return gettext("%(type)s %(number)s is due from %(owed_by)s, not from the customer; the customer is never "
                       "asked to pay it.") % {
            "type": self.type.name, "number": self.number or self.reference_number, "owed_by": owed_by}

    @transition(field=state, source=TransactionState.DRAFT, target=TransactionState.REJECTED)
    def mark_rejected(self, *, reason: RejectionReason):
        self.rejection_reason = reason


class TransactionLine(TenantOwned):
    transaction = models.ForeignKey(FinancialTransaction, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True)
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(**AMOUNT)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    discount_given = models.DecimalField(**AMOUNT, null=True, blank=True)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, null=True, blank=True)
    tax_percent = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal(0))
    price_includes_tax = models.BooleanField(default=False)
    net_amount = models.DecimalField(**AMOUNT)
    discount_amount = models.DecimalField(**AMOUNT)
    tax_amount = models.DecimalField(**AMOUNT)
    total_amount = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint("transaction", "position", "tenant", name="line_position_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_unit_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True) | Q(discount_given__isnull=True), name="line_one_discount"
            ),
            models.CheckConstraint(
                condition=Q(total_amount=F("net_amount") - F("discount_amount") + F("tax_amount")),
                name="line_total_adds_up",
            ),
        ]

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.transaction.currency)


class TargetedInvoice(TenantOwned):
    """An invoice a credit note or payment is meant for ("Invoices to credit", "Bills to pay"),
    honoured when the allocation principle is Against Item & FIFO."""

    credit = models.ForeignKey(FinancialTransaction, on_delete=models.CASCADE, related_name="targets")
    invoice = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint("credit", "invoice", "tenant", name="target_unique")]


class Allocation(TenantOwned):
    """Part of a credit assigned to a debit. Reversed, never deleted: ``reversed_at`` ends it."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="allocations")
    currency = models.CharField(max_length=3)
    credit = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, related_name="credit_allocations")
    debit = models.ForeignKey(FinancialTransaction, on_delete=models.PROTECT, related_name="debit_allocations")
    amount = models.DecimalField(**AMOUNT)
    created_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(condition=~Q(credit=F("debit")), name="allocation_not_to_itself"),
        ]
        indexes = [
            models.Index("debit", name="allocation_active_debit", condition=Q(reversed_at__isnull=True)),
            models.Index("credit", name="allocation_active_credit", condition=Q(reversed_at__isnull=True)),
        ]


class TransactionEvent(TenantOwned):
    """The audit trail of a transaction: every state change and action, with who and when."""

    transaction = models.ForeignKey(FinancialTransaction, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    at = models.DateTimeField()
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    @property
    def from_label(self) -> str:
        return TransactionState(self.from_state).label if self.from_state else "—"

    @property
    def to_label(self) -> str:
        return TransactionState(self.to_state).label if self.to_state else "—"


class SharedNote(TenantOwned):
    """Shared notes are kept as amendments: the latest is the note; each records who and when."""

    transaction = models.ForeignKey(FinancialTransaction, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class Counter(TenantOwned):
    """The last number given in one of a tenant's gapless series: a classification's postings (INV-, PAY-,
    …) or the receipts. The posting and booking functions take the next with ``INSERT … ON CONFLICT DO
    UPDATE``, which keeps the row locked until the transaction ends, so a number is never given twice or
    lost to a rollback. Keyed by the tenant, so it lives with the tenant's rows (``core.distribution``)."""

    pk = models.CompositePrimaryKey("tenant", "series")
    series = models.CharField(max_length=24)
    last = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.series}: {self.last}"
