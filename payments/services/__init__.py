"""Collecting money: gateway payments, webhook processing, refunds, receipts and payment requests.

Import from here: ``from payments import services``.
"""

from payments.services.gateway_payments import (
    DEFAULT_PAYMENT_METHOD,
    TRANSITIONS,
    apply_state,
    create_payment_row,
    fetch_provider_state,
    new_reference,
    open_checkout,
    record_bank_confirmation,
    refresh_payment,
    stale_payments,
    start_payment,
)
from payments.services.invoice_pay import (
    INVOICE_LINK_LIFETIME,
    invoice_gateway_account,
    invoice_pay_link,
    link_for_token,
    send_invoice_pay_link,
    send_refusal,
    start_invoice_payment,
)
from payments.services.receipts import (
    issue_receipt,
    receipt_link,
)
from payments.services.refunds import (
    DEFAULT_REFUND_METHOD,
    refund_payment,
    retry_refund,
)
from payments.services.request_records import (
    PAYER_STATUS_TEXT,
)
from payments.services.requests import (
    MAX_MESSAGE,
    MAX_REFERENCE,
    REQUEST_LIFETIME,
    AttemptRefused,
    cancel_payment_request,
    consolidate_payment_request,
    expire_payment_requests,
    pay_link,
    request_for_token,
    request_payment,
    resend_payment_request,
    start_request_attempt,
)
from payments.services.webhooks import (
    DeliveryResult,
    process_webhook_delivery,
    replay_webhook_delivery,
)

__all__ = [
    "DEFAULT_PAYMENT_METHOD",
    "DEFAULT_REFUND_METHOD",
    "INVOICE_LINK_LIFETIME",
    "MAX_MESSAGE",
    "MAX_REFERENCE",
    "PAYER_STATUS_TEXT",
    "REQUEST_LIFETIME",
    "TRANSITIONS",
    "AttemptRefused",
    "DeliveryResult",
    "apply_state",
    "cancel_payment_request",
    "consolidate_payment_request",
    "create_payment_row",
    "expire_payment_requests",
    "fetch_provider_state",
    "invoice_gateway_account",
    "invoice_pay_link",
    "issue_receipt",
    "link_for_token",
    "new_reference",
    "open_checkout",
    "pay_link",
    "process_webhook_delivery",
    "receipt_link",
    "record_bank_confirmation",
    "refresh_payment",
    "refund_payment",
    "replay_webhook_delivery",
    "request_for_token",
    "request_payment",
    "resend_payment_request",
    "retry_refund",
    "send_invoice_pay_link",
    "send_refusal",
    "stale_payments",
    "start_invoice_payment",
    "start_payment",
    "start_request_attempt",
]
