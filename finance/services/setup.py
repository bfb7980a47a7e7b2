"""A tenant's ledger configuration with sensible defaults, and the system accounts."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django_scopes import scopes_disabled

from crm.models import Tenant
from finance import duedates
from finance.models import (
    Account,
    AccountKind,
    Classification,
    DueDateRule,
    FeePayer,
    IssueReason,
    LedgerDefinition,
    PaymentMethod,
    Product,
    RefundMethod,
    RejectionReason,
    TaxRate,
    TransactionType,
)

DEFAULT_PAYMENT_METHODS = ("Card", "Cash", "Bank transfer")
DEFAULT_REFUND_METHODS = ("Card refund", "Bank transfer")
DEFAULT_REJECTION_REASONS = ("Entered in error", "Duplicate", "Customer disputes it")
DEFAULT_ISSUE_REASONS = ("Entered in error", "Goods returned", "Goodwill gesture", "Uncollectable debt")


@transaction.atomic
def set_up_ledger(*, tenant: Tenant) -> LedgerDefinition:
    """Create the tenant's ledger definition and defaults where missing; safe to run twice.

    Defaults: tax rates "Zero" (0 %) and "Standard" (20 %); one default type per classification;
    card, cash and bank-transfer payment methods; rejection and issue reasons; a "30 days after
    posting" due-date rule; FIFO allocation; a "Bad debt write-off" product.
    """
    existing = LedgerDefinition.objects.filter(tenant=tenant).select_related("due_date_rule").first()
    if existing is not None:
        return existing
    TaxRate.objects.get_or_create(tenant=tenant, name="Zero", defaults={"percent": Decimal(0)})
    standard, _ = TaxRate.objects.get_or_create(tenant=tenant, name="Standard", defaults={"percent": Decimal(20)})
    payment_methods = [PaymentMethod.objects.get_or_create(tenant=tenant, name=n)[0] for n in DEFAULT_PAYMENT_METHODS]
    refund_methods = [RefundMethod.objects.get_or_create(tenant=tenant, name=n)[0] for n in DEFAULT_REFUND_METHODS]
    for text in DEFAULT_REJECTION_REASONS:
        RejectionReason.objects.get_or_create(tenant=tenant, text=text)
    for text in DEFAULT_ISSUE_REASONS:
        IssueReason.objects.get_or_create(tenant=tenant, text=text)
    for classification in Classification:
        kind, _ = TransactionType.objects.get_or_create(
            tenant=tenant, classification=classification, name=classification.label,
            defaults={"is_default": True},
        )
        if classification == Classification.PAYMENT:
            kind.payment_methods.set(payment_methods)
        if classification == Classification.REFUND:
            kind.refund_methods.set(refund_methods)
    for name, payer in (("Broker fee", FeePayer.CUSTOMER), ("Procuration fee", FeePayer.PROVIDER)):
        TransactionType.objects.get_or_create(
            tenant=tenant, classification=Classification.INVOICE, name=name, defaults={"fee_payer": payer}
        )
    rule, _ = DueDateRule.objects.get_or_create(
        tenant=tenant, name="30 days", defaults={"kind": duedates.DAYS_AFTER, "days": 30}
    )
    product, _ = Product.objects.get_or_create(
        tenant=tenant, code="WRITE-OFF", defaults={"name": "Bad debt write-off", "default_tax_rate": standard}
    )
    return LedgerDefinition.objects.create(tenant=tenant, due_date_rule=rule, default_write_off_product=product)


def tenant_created_ledger(*, tenant: Tenant, **kwargs) -> None:
    """A new tenant's ledger configuration, created with the tenant (``crm.signals.tenant_created``)."""
    set_up_ledger(tenant=tenant)


def set_up_ledgers_missing(*, using: str = "default", **kwargs) -> None:
    """After ``migrate``: the configuration of any tenant created before tenants got it at creation."""
    with scopes_disabled():
        configured = LedgerDefinition.objects.using(using).values("tenant")
        for tenant in Tenant.objects.using(using).exclude(pk__in=configured):
            set_up_ledger(tenant=tenant)


def system_account(*, tenant: Tenant, kind: str, currency: str) -> Account:
    """The tenant's write-off or suspense account in ``currency``, created on first use."""
    label = "Write-off account" if kind == AccountKind.WRITE_OFF else "Suspense account"
    account, _ = Account.objects.get_or_create(
        tenant=tenant, kind=kind, currency=currency, defaults={"name": f"{label} ({currency})"}
    )
    return account
