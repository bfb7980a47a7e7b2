"""What the payment pages post, read for the services (which check the values)."""

from __future__ import annotations

from core.posted import PostedForm, text


class RefundForm(PostedForm):
    amount = text()


class BankConfirmationForm(PostedForm):
    bank_reference = text()
