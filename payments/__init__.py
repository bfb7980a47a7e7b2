"""Payments: gateway payments, Take Payment on fees, receipts, refunds and webhook processing."""
