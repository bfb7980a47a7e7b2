"""The crm app's pages."""

from crm.views.api_keys import api_key_create, api_key_list, api_key_revoke
from crm.views.customers import (
    PasswordResetConfirm,
    customer_create,
    customer_detail,
    customer_list,
    customer_update,
    favicon,
    home,
    my_settings,
)
from crm.views.staff import (
    audit_log,
    invitation,
    settings_index,
    staff_deactivate,
    staff_detail,
    staff_invite,
    staff_list,
    staff_reactivate,
    staff_resend,
    staff_roles,
)

__all__ = [
    "PasswordResetConfirm",
    "api_key_create",
    "api_key_list",
    "api_key_revoke",
    "audit_log",
    "customer_create",
    "customer_detail",
    "customer_list",
    "customer_update",
    "favicon",
    "home",
    "invitation",
    "my_settings",
    "settings_index",
    "staff_deactivate",
    "staff_detail",
    "staff_invite",
    "staff_list",
    "staff_reactivate",
    "staff_resend",
    "staff_roles",
]
