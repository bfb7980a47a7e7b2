"""Payments: fees and Take Payment, payment requests, Email Pago, receipts, obligations, the portal."""
