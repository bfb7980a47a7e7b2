"""What the Django admin shows platform support but never lets them change."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written once by Duly (receipts, a provider's own records): listed and opened, never added,
    edited or deleted from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
