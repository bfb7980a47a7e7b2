"""Every periodic task of Duly, in one place. Entries are added by the apps' issues as they need them."""

SCHEDULE: dict[str, dict] = {
    # Sends deferred messages once sending hours open, retries whose pause is over, and any whose task was lost.
    "notifications.sweep_outbox": {"task": "notifications.sweep_outbox", "schedule": 60.0},
    # The janitor: re-polls gateway payments stuck pending or processing (PAYMENTS_STALE_AFTER).
    "payments.poll_stale_payments": {"task": "payments.poll_stale_payments", "schedule": 300.0},
    # A payment's confirmation and staff note whose task was lost (the broker was down) are rendered.
    "payments.sweep_payment_notices": {"task": "payments.sweep_payment_notices", "schedule": 60.0},
    # Webhook deliveries stored while the broker was down (their task never ran) are enqueued again.
    "gateways.sweep_webhook_inbox": {"task": "gateways.sweep_webhook_inbox", "schedule": 60.0},
    # Open payment requests whose 24-hour link ran out become expired (the pay page also checks the time).
    "paylinks.expire_payment_requests": {"task": "paylinks.expire_payment_requests", "schedule": 300.0},
    # Instalment reminders and overdue notices; selects by a window of dates, so a late run catches up.
    "obligations.send_instalment_reminders": {"task": "obligations.send_instalment_reminders", "schedule": 900.0},
    # Bank statement lines still waiting to be booked (their import's task was lost) are booked.
    "banking.sweep_waiting_lines": {"task": "banking.sweep_waiting_lines", "schedule": 300.0},
    # The month's refund run of credit balances by bank transfer; once a month per bank account (a unique key).
    "banking.propose_monthly_refunds": {"task": "banking.propose_monthly_refunds", "schedule": 3600.0},
    # Dunning: each level's notice once per invoice, inside the tenant's sending hours; a late run catches up.
    "receivables.dunning_sweep": {"task": "receivables.dunning_sweep", "schedule": 900.0},
    # Last month's statements of account on a month's first days, once per account (tenants that ask).
    "receivables.send_monthly_statements": {"task": "receivables.send_monthly_statements", "schedule": 3600.0},
    # Recurring invoices: each schedule's period once, on or after its date; a late run issues what it missed.
    "billing.issue_recurring_invoices": {"task": "billing.issue_recurring_invoices", "schedule": 3600.0},
    # Cards on file: recurring invoices charged on their due date and each retry day, each once.
    "billing.collect_by_card": {"task": "billing.collect_by_card", "schedule": 3600.0},
}
