"""Finance: the accounts-receivable ledger."""
