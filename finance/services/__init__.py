"""The ledger's writers. Import from here: ``from finance import services``."""

from finance.services.accounts import change_account_state, lender_account, open_account
from finance.services.actions import (
    cancel_invoice,
    cancel_payment,
    move_payment,
    quick_pay,
    refund,
    split_payment,
    write_off_invoice,
)
from finance.services.configuration import save_configuration
from finance.services.printouts import send_printout
from finance.services.setup import set_up_ledger, system_account
from finance.services.transactions import (
    UNCHANGED,
    DraftChanges,
    LineData,
    PostingResult,
    TransactionData,
    amend_notes,
    create_posted_transaction,
    create_transaction,
    post_transaction,
    posting_refusal,
    reallocation_reason,
    reject_transaction,
    update_draft,
)

__all__ = [
    "UNCHANGED",
    "DraftChanges",
    "LineData",
    "PostingResult",
    "TransactionData",
    "amend_notes",
    "cancel_invoice",
    "cancel_payment",
    "change_account_state",
    "create_posted_transaction",
    "create_transaction",
    "lender_account",
    "move_payment",
    "open_account",
    "post_transaction",
    "posting_refusal",
    "quick_pay",
    "reallocation_reason",
    "refund",
    "reject_transaction",
    "save_configuration",
    "send_printout",
    "set_up_ledger",
    "split_payment",
    "system_account",
    "update_draft",
    "write_off_invoice",
]
