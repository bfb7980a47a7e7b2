"""The Django admin is for platform support: they may look at the outbox, not write to it."""

from __future__ import annotations

from django.contrib import admin

from notifications.models import DeliveryLog, MessageTemplate, Notification, NotificationSettings


class DeliveryLogInline(admin.TabularInline):
    model = DeliveryLog
    extra = 0
    can_delete = False
    readonly_fields = ["action", "from_state", "to_state", "at", "actor", "error"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "channel", "recipient", "subject", "state", "attempts", "sent_at"]
    list_filter = ["state", "channel", "tenant"]
    search_fields = ["recipient", "event_key", "subject_ref"]
    inlines = [DeliveryLogInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["tenant", "key", "language", "updated_at"]
    list_filter = ["tenant", "key"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["tenant", "reply_to_email", "sending_start", "sending_end"]

    def has_change_permission(self, request, obj=None):
        return False
