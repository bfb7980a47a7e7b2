"""Payments in the Django admin, for platform support (scopes are disabled for them there)."""

from __future__ import annotations

from django.contrib import admin

from core.readonly import ReadOnlyAdmin
from payments.models import Receipt


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    """Read-only: a receipt is issued once, by ``payments.services.receipts.issue_receipt``, and never edited."""

    list_display = [
        "number", "tenant", "amount", "currency", "payer_name", "provider", "provider_reference", "issued_at",
    ]
    list_filter = ["provider", "currency"]
    list_select_related = ["tenant"]
    search_fields = ["number", "provider_reference", "payer_name"]
    readonly_fields = [f.name for f in Receipt._meta.fields if f.name != "public_token_hash"]
    exclude = ["public_token_hash"]
