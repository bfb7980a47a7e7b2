"""Obligations in the Django admin, for platform support (scopes are disabled for them there)."""

from __future__ import annotations

from django.contrib import admin

from obligations.models import ClosingDay, ObligationSettings


@admin.register(ObligationSettings)
class ObligationSettingsAdmin(admin.ModelAdmin):
    """A tenant's reminder days, SMS switch and holiday region (managers change them at
    ``/payments/obligations/settings/``)."""

    list_display = ["tenant", "reminder_days_before", "overdue_days_after", "sms_enabled", "holiday_subdivision"]
    list_select_related = ["tenant"]


@admin.register(ClosingDay)
class ClosingDayAdmin(admin.ModelAdmin):
    list_display = ["tenant", "day", "description"]
    list_filter = ["tenant"]
    list_select_related = ["tenant"]
