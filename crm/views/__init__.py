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
    organisation,
    settings_index,
    staff_deactivate,
    staff_detail,
    staff_invite,
    staff_list,
    staff_reactivate,
    staff_resend,
    staff_roles,
)
from crm.views.two_factor import setup as two_factor_setup
from crm.views.two_factor import turn_off as two_factor_off
from crm.views.two_factor import verify as two_factor_verify

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
    "organisation",
    "settings_index",
    "staff_deactivate",
    "staff_detail",
    "staff_invite",
    "staff_list",
    "staff_reactivate",
    "staff_resend",
    "staff_roles",
    "two_factor_off",
    "two_factor_setup",
    "two_factor_verify",
]
