"""Staff and public pages of payments."""

from payments.views.gateway_payments import (
    payment_confirm,
    payment_detail,
    payment_list,
    receipt_detail,
    receipt_new_link,
    receipt_public,
    webhook_list,
    webhook_replay,
)
from payments.views.requests import (
    customer_panel,
    pay_done,
    pay_page,
    request_cancel,
    request_consolidate,
    request_create,
    request_list,
    request_resend,
)

__all__ = [
    "customer_panel",
    "pay_done",
    "pay_page",
    "payment_confirm",
    "payment_detail",
    "payment_list",
    "receipt_detail",
    "receipt_new_link",
    "receipt_public",
    "request_cancel",
    "request_consolidate",
    "request_create",
    "request_list",
    "request_resend",
    "webhook_list",
    "webhook_replay",
]
