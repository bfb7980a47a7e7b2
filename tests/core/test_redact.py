"""What ``core.redact`` takes out of a log line or an error report, and what it leaves."""

import pytest

from core.redact import redact


@pytest.mark.parametrize(("text", "expected"), [
    ("Not Found: /pay/kq3X-9a_Zt0/", "Not Found: /pay/[redacted]/"),
    ("GET /pay/invoice/kq3X9aZt0/done/", "GET /pay/invoice/[redacted]/done/"),
    ("/receipts/AbC123.pdf and /statements/xYz/", "/receipts/[redacted] and /statements/[redacted]/"),
    ("/portal/link/t0k/ /p/t0k/ /invitation/MQ/set-password/", "/portal/link/[redacted]/ /p/[redacted]/ "
     "/invitation/MQ/[redacted]/"),
    ("/webhooks/stripe/9f1c2d3e-0000-4000-8000-000000000000/", "/webhooks/stripe/[redacted]/"),
    ("paid by 4242 4242 4242 4242 (cvc 123)", "paid by [card number] (cvc 123)"),
    ("card=4000-0000-0000-0002;", "card=[card number];"),
    ("sk_test_51Abc and rk_live_9 and whsec_Q1w2", "[redacted] and [redacted] and [redacted]"),
    ("key duly_0a1b2c3d4e5f_Zx-9_y refused", "key [redacted] refused"),
    ('{"Authorization": "Bearer abc.def"}', '{"Authorization": "Bearer [redacted]"}'),
    ("Stripe-Signature: t=1733472000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
     "Stripe-Signature: t=1733472000,v1=[redacted]"),
    ("?token=abc&page=2 password=hunter2", "?token=[redacted]&page=2 password=[redacted]"),
])
def test_secrets_are_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "Payment dp_cs_test_a1B2 of 1234567890123 minor units",  # 13 digits failing the Luhn check
    "INV-000042 posted: €1,234.56 on /payments/42/ and /finance/invoices/7/",
    "Webhook delivery 8123 failed in a batch; handed to a task of its own",
    "Took 1733472000.123456 s",
])
def test_what_is_not_a_secret_is_left(text):
    assert redact(text) == text
