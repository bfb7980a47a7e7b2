"""The ledger in the Django admin, for platform support (scopes are disabled for them there).

Configuration rows can be edited. Accounts and transactions are shown read-only: their amounts,
states and balances change only through ``finance.services`` (posting, actions), and a posted
transaction never changes at all, so the admin offers no change, add or delete for it.
"""

from __future__ import annotations

from django.contrib import admin

from core.readonly import ReadOnlyAdmin
from finance import models as ledger


class TenantConfigAdmin(admin.ModelAdmin):
    """A configuration row of one tenant: its choices are limited to that tenant's rows."""

    list_filter = ["tenant"]
    list_select_related = ["tenant"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            for name, field in form.base_fields.items():
                queryset = getattr(field, "queryset", None)
                if name != "tenant" and queryset is not None and hasattr(queryset.model, "tenant_id"):
                    field.queryset = queryset.filter(tenant=obj.tenant_id)
        return form


@admin.register(ledger.TaxRate)
class TaxRateAdmin(TenantConfigAdmin):
    list_display = ["name", "percent", "tenant"]


@admin.register(ledger.Product)
class ProductAdmin(TenantConfigAdmin):
    list_display = ["code", "name", "default_tax_rate", "unit_price", "tenant"]
    search_fields = ["code", "name"]


class NamedConfigAdmin(TenantConfigAdmin):
    list_display = ["name", "tenant"]


class WordedConfigAdmin(TenantConfigAdmin):
    list_display = ["text", "tenant"]


for named in (ledger.PaymentMethod, ledger.RefundMethod, ledger.Category):
    admin.site.register(named, NamedConfigAdmin)
for worded in (ledger.RejectionReason, ledger.IssueReason):
    admin.site.register(worded, WordedConfigAdmin)


@admin.register(ledger.TransactionType)
class TransactionTypeAdmin(TenantConfigAdmin):
    list_display = ["name", "classification", "is_default", "tenant"]
    list_filter = ["tenant", "classification"]


@admin.register(ledger.Lender)
class LenderAdmin(TenantConfigAdmin):
    list_display = ["name", "email", "tenant"]


@admin.register(ledger.DueDateRule)
class DueDateRuleAdmin(TenantConfigAdmin):
    list_display = ["name", "kind", "days", "nth_day", "months", "proximity_days", "tenant"]


@admin.register(ledger.LedgerDefinition)
class LedgerDefinitionAdmin(TenantConfigAdmin):
    list_display = ["tenant", "allocation_principle", "due_date_rule", "default_write_off_product"]

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in ("id", "tenant", self.fk_name)]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LineInline(ReadOnlyInline):
    model = ledger.TransactionLine
    fk_name = "transaction"


class EventInline(ReadOnlyInline):
    model = ledger.TransactionEvent
    fk_name = "transaction"


class NoteInline(ReadOnlyInline):
    model = ledger.SharedNote
    fk_name = "transaction"


@admin.register(ledger.Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "currency", "state", "balance", "credit_limit", "tenant"]
    list_filter = ["tenant", "kind", "state", "currency"]
    list_select_related = ["tenant", "customer"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ledger.FinancialTransaction)
class FinancialTransactionAdmin(admin.ModelAdmin):
    """Read-only: a draft may be looked at; a posted one cannot even be submitted."""

    list_display = ["reference_number", "number", "classification", "state", "account", "total_amount",
                    "open_amount", "posted_at", "tenant"]
    list_filter = ["tenant", "classification", "state"]
    list_select_related = ["tenant", "account"]
    search_fields = ["reference_number", "number", "back_office_code", "external_reference"]
    inlines = [LineInline, EventInline, NoteInline]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.state == ledger.TransactionState.DRAFT

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ledger.Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["credit", "debit", "amount", "currency", "created_at", "reversed_at", "tenant"]
    list_filter = ["tenant"]
    list_select_related = ["tenant", "credit", "debit"]
