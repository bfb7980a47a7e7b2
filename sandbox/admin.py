"""The sandbox provider's records in the Django admin, for platform support."""

from __future__ import annotations

from django.contrib import admin

from core.readonly import ReadOnlyAdmin
from sandbox.models import SandboxCheckout, SandboxRefund


class SandboxRefundInline(admin.TabularInline):
    model = SandboxRefund
    fields = ["id", "amount_minor", "idempotency_key", "status", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SandboxCheckout)
class SandboxCheckoutAdmin(ReadOnlyAdmin):
    """The offline provider's own records, read-only: they change only through the sandbox's pages and API."""

    list_display = ["id", "tenant", "reference", "amount_minor", "currency", "mode", "status", "created_at"]
    list_filter = ["status", "mode", "currency"]
    list_select_related = ["tenant"]
    search_fields = ["id", "reference"]
    readonly_fields = [f.name for f in SandboxCheckout._meta.fields]
    inlines = [SandboxRefundInline]
