"""Staff and public pages of payments."""

from payments.views.fees import fees_panel, payment_status, take_payment
from payments.views.gateway_payments import (
    payment_confirm,
    payment_detail,
    payment_list,
    receipt_detail,
    receipt_new_link,
    receipt_public,
    refund_create,
    refund_retry,
    webhook_list,
    webhook_replay,
)
from payments.views.invoice_pay import (
    invoice_pay_done,
    invoice_pay_page,
    invoice_pay_panel,
    invoice_pay_send,
)
from payments.views.requests import (
    customer_panel,
    invoice_request_create,
    invoice_request_panel,
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
    "fees_panel",
    "invoice_pay_done",
    "invoice_pay_page",
    "invoice_pay_panel",
    "invoice_pay_send",
    "invoice_request_create",
    "invoice_request_panel",
    "pay_done",
    "pay_page",
    "payment_confirm",
    "payment_detail",
    "payment_list",
    "payment_status",
    "receipt_detail",
    "receipt_new_link",
    "receipt_public",
    "refund_create",
    "refund_retry",
    "request_cancel",
    "request_consolidate",
    "request_create",
    "request_list",
    "request_resend",
    "take_payment",
    "webhook_list",
    "webhook_replay",
]
