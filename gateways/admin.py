"""Support stores each tenant's gateway keys here. A saved secret is never shown again."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from gateways import registry, services
from gateways.models import GatewayAccount, Purpose, WebhookDelivery, all_purposes


class GatewayAccountForm(forms.ModelForm):
    secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text="The API key. Leave blank to keep the stored one; it is never displayed again.",
    )

    purposes = forms.MultipleChoiceField(
        choices=Purpose.choices, initial=all_purposes, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="What this account collects for. Among the accounts serving a purpose, the currency decides.",
    )

    class Meta:
        model = GatewayAccount
        fields = ["tenant", "provider", "live", "enabled", "purposes", "settings"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                services.check_gateway_account(
                    tenant=data["tenant"], provider=data["provider"], live=data["live"], secret=data.get("secret"),
                    settings=data.get("settings"),
                )
            except ValidationError as error:
                self.add_error(None, error)
        return data


@admin.register(GatewayAccount)
class GatewayAccountAdmin(admin.ModelAdmin):
    form = GatewayAccountForm
    list_display = ["tenant", "provider", "live", "enabled", "purposes", "secret_hint", "updated_at"]
    list_filter = ["provider", "live", "enabled"]
    list_select_related = ["tenant"]
    readonly_fields = ["secret_hint", "webhook_token"]
    actions = ["test_connection"]

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for account in queryset.select_related("tenant"):
            outcome = registry.check_connection(account=account)
            level = messages.SUCCESS if outcome.endswith("accepted.") else messages.ERROR
            self.message_user(request, outcome, level=level)

    @admin.display(description="Secret")
    def secret_hint(self, obj):
        return f"••••{obj.secret_last4}" if obj.secret_last4 else "—"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = services.save_gateway_account(
            tenant=data["tenant"], provider=data["provider"], live=data["live"], secret=data["secret"],
            settings=data["settings"], enabled=data["enabled"], purposes=data["purposes"],
        )
        obj.pk = saved.pk


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["received_at", "provider", "tenant", "event_type", "event_id", "outcome"]
    list_filter = ["provider", "outcome"]
    list_select_related = ["tenant"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
