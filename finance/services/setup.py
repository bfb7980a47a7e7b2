"""A tenant's ledger configuration with sensible defaults, and the system accounts."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django_scopes import scopes_disabled

from crm.models import Tenant
from finance import duedates
from finance import models as ledger

DEFAULT_PAYMENT_METHODS = ("Card", "Cash", "Bank transfer")
DEFAULT_REFUND_METHODS = ("Card refund", "Bank transfer")
DEFAULT_REJECTION_REASONS = ("Entered in error", "Duplicate", "Customer disputes it")
DEFAULT_ISSUE_REASONS = ("Entered in error", "Goods returned", "Goodwill gesture", "Uncollectable debt")


@transaction.atomic
def set_up_ledger(*, tenant: Tenant) -> ledger.LedgerDefinition:
    """Create the tenant's ledger definition and defaults where missing; safe to run twice.

    Defaults: tax rates "Zero" (0 %) and "Standard" (20 %); one default type per classification;
    card, cash and bank-transfer payment methods; rejection and issue reasons; a "30 days after
    posting" due-date rule; FIFO allocation; a "Bad debt write-off" product.
    """
    existing = ledger.LedgerDefinition.objects.filter(tenant=tenant).select_related("due_date_rule").first()
    if existing is not None:
        return existing
    _missing(ledger.TaxRate, tenant, "name", {"Zero": {"percent": Decimal(0)}, "Standard": {"percent": Decimal(20)}})
    _missing(ledger.PaymentMethod, tenant, "name", {name: {} for name in DEFAULT_PAYMENT_METHODS})
    _missing(ledger.RefundMethod, tenant, "name", {name: {} for name in DEFAULT_REFUND_METHODS})
    _missing(ledger.RejectionReason, tenant, "text", {name: {} for name in DEFAULT_REJECTION_REASONS})
    _missing(ledger.IssueReason, tenant, "text", {name: {} for name in DEFAULT_ISSUE_REASONS})
    for classification in ledger.Classification:
        _missing(ledger.TransactionType, tenant, "name", {classification.label: {"is_default": True}},
                 classification=classification)
    _missing(ledger.TransactionType, tenant, "name", {"Broker fee": {"fee_payer": ledger.FeePayer.CUSTOMER},
                                               "Procuration fee": {"fee_payer": ledger.FeePayer.PROVIDER}},
             classification=ledger.Classification.INVOICE)
    types = ledger.TransactionType.objects.filter(tenant=tenant)
    types.get(
        classification=ledger.Classification.PAYMENT, name=ledger.Classification.PAYMENT.label
    ).payment_methods.set(ledger.PaymentMethod.objects.filter(tenant=tenant, name__in=DEFAULT_PAYMENT_METHODS))
    types.get(classification=ledger.Classification.REFUND, name=ledger.Classification.REFUND.label).refund_methods.set(
        ledger.RefundMethod.objects.filter(tenant=tenant, name__in=DEFAULT_REFUND_METHODS))
    rule, _ = ledger.DueDateRule.objects.get_or_create(
        tenant=tenant, name="30 days", defaults={"kind": duedates.DAYS_AFTER, "days": 30}
    )
    standard = ledger.TaxRate.objects.get(tenant=tenant, name="Standard")
    product, _ = ledger.Product.objects.get_or_create(
        tenant=tenant, code="WRITE-OFF", defaults={"name": "Bad debt write-off", "default_tax_rate": standard}
    )
    return ledger.LedgerDefinition.objects.create(tenant=tenant, due_date_rule=rule, default_write_off_product=product)


def _missing(model, tenant: Tenant, key: str, defaults: dict[str, dict], **match) -> None:
    """Create the rows named in ``defaults`` (by ``key``) that the tenant lacks, in one insert."""
    present = set(model.objects.filter(tenant=tenant, **match, **{f"{key}__in": defaults}).values_list(key, flat=True))
    model.objects.bulk_create(model(tenant=tenant, **match, **{key: name}, **values)
                              for name, values in defaults.items() if name not in present)


def tenant_created_ledger(*, tenant: Tenant, **kwargs) -> None:
    """A new tenant's ledger configuration, created with the tenant (``crm.signals.tenant_created``)."""
    set_up_ledger(tenant=tenant)


def set_up_ledgers_missing(*, using: str = "default", **kwargs) -> None:
    """After ``migrate``: the configuration of any tenant created before tenants got it at creation."""
    with scopes_disabled():
        configured = ledger.LedgerDefinition.objects.using(using).values("tenant")
        for tenant in Tenant.objects.using(using).exclude(pk__in=configured):
            set_up_ledger(tenant=tenant)


def system_account(*, tenant: Tenant, kind: str, currency: str) -> ledger.Account:
    """The tenant's write-off or suspense account in ``currency``, created on first use."""
    label = "Write-off account" if kind == ledger.AccountKind.WRITE_OFF else "Suspense account"
    account, _ = ledger.Account.objects.get_or_create(
        tenant=tenant, kind=kind, currency=currency, defaults={"name": f"{label} ({currency})"}
    )
    return account
