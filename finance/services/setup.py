"""A tenant's ledger configuration with sensible defaults, and the system accounts."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from core import l10n
from crm.models import Tenant
from finance import duedates
from finance import models as ledger

DEFAULT_PAYMENT_METHODS = (_("Card"), _("Cash"), _("Bank transfer"))
DEFAULT_REFUND_METHODS = (_("Card refund"), _("Bank transfer"))
DEFAULT_REJECTION_REASONS = (_("Entered in error"), _("Duplicate"), _("Customer disputes it"))
DEFAULT_ISSUE_REASONS = (_("Entered in error"), _("Goods returned"), _("Goodwill gesture"), _("Uncollectable debt"))


@transaction.atomic
def set_up_ledger(*, tenant: Tenant) -> ledger.LedgerDefinition:
    """Create the tenant's ledger definition and defaults where missing; safe to run twice.

    Defaults: tax rates "Zero" (0 %) and "Standard" (20 %); one default type per classification;
    card, cash and bank-transfer payment methods; rejection and issue reasons; a "30 days after
    posting" due-date rule; FIFO allocation; a "Bad debt write-off" product. They are rows the
    tenant renames at will, so they are named once, in the tenant's language.
    """
    existing = ledger.LedgerDefinition.objects.filter(tenant=tenant).select_related("due_date_rule").first()
    if existing is not None:
        return existing
    with l10n.for_tenant(tenant):
        return _set_up(tenant)


def _set_up(tenant: Tenant) -> ledger.LedgerDefinition:
    payment_methods = [str(name) for name in DEFAULT_PAYMENT_METHODS]
    refund_methods = [str(name) for name in DEFAULT_REFUND_METHODS]
    standard = str(_("Standard"))
    _missing(ledger.TaxRate, tenant, "name", [{"name": str(_("Zero")), "percent": Decimal(0)},
                                              {"name": standard, "percent": Decimal(20)}])
    _missing(ledger.PaymentMethod, tenant, "name", [{"name": name} for name in payment_methods])
    _missing(ledger.RefundMethod, tenant, "name", [{"name": name} for name in refund_methods])
    _missing(ledger.RejectionReason, tenant, "text", [{"text": str(text)} for text in DEFAULT_REJECTION_REASONS])
    _missing(ledger.IssueReason, tenant, "text", [{"text": str(text)} for text in DEFAULT_ISSUE_REASONS])
    _missing(ledger.TransactionType, tenant, "name", [
        *({"name": str(c.label), "classification": c, "is_default": True} for c in ledger.Classification),
        {"name": str(_("Broker fee")), "classification": ledger.Classification.INVOICE,
         "fee_payer": ledger.FeePayer.CUSTOMER},
        {"name": str(_("Procuration fee")), "classification": ledger.Classification.INVOICE,
         "fee_payer": ledger.FeePayer.PROVIDER},
    ])
    defaults = ledger.TransactionType.objects.filter(tenant=tenant, is_default=True)
    types = dict(defaults.values_list("classification", "pk"))
    _link(ledger.TransactionType.payment_methods.through, "paymentmethod", types[ledger.Classification.PAYMENT],
          ledger.PaymentMethod.objects.filter(tenant=tenant, name__in=payment_methods))
    _link(ledger.TransactionType.refund_methods.through, "refundmethod", types[ledger.Classification.REFUND],
          ledger.RefundMethod.objects.filter(tenant=tenant, name__in=refund_methods))
    thirty = str(_("30 days"))
    rule = (ledger.DueDateRule.objects.filter(tenant=tenant, name=thirty).first()
            or ledger.DueDateRule.objects.create(tenant=tenant, name=thirty, kind=duedates.DAYS_AFTER, days=30))
    product = (ledger.Product.objects.filter(tenant=tenant, code="WRITE-OFF").first()
               or ledger.Product.objects.create(tenant=tenant, code="WRITE-OFF", name=str(_("Bad debt write-off")),
                                                default_tax_rate=ledger.TaxRate.objects.get(tenant=tenant,
                                                                                            name=standard)))
    return ledger.LedgerDefinition.objects.create(tenant=tenant, due_date_rule=rule, default_write_off_product=product)


def _missing(model, tenant: Tenant, key: str, wanted: list[dict]) -> None:
    """Create the rows of ``wanted`` (their fields; a row is known by ``key``, and its classification where it
    has one) that the tenant lacks, in one insert."""
    known_by = [key, *(["classification"] if "classification" in wanted[0] else [])]
    present = set(model.objects.filter(tenant=tenant, **{f"{key}__in": [row[key] for row in wanted]})
                  .values_list(*known_by))
    model.objects.bulk_create(model(tenant=tenant, **row) for row in wanted
                              if tuple(row[field] for field in known_by) not in present)


def _link(through, column: str, type_id: int, methods) -> None:
    """Allow the ``methods`` on the transaction type ``type_id`` (those it allows already stay)."""
    through.objects.bulk_create([through(tenant_id=tenant_id, transactiontype_id=type_id, **{f"{column}_id": pk})
                                 for pk, tenant_id in methods.values_list("pk", "tenant")], ignore_conflicts=True)


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
