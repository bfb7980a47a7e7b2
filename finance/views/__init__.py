"""Staff pages of the ledger: the transactions summary, data entry, the transaction and account
pages with their actions, the finance panel of the customer file, and the settings area.

Every page parses its input, makes one service call and renders. Objects are reached through
``finance.selectors`` (404 alike for "missing" and "another tenant's"); what changes the ledger is
for accountants (``crm.post_transactions``), except drafts and shared notes, which all staff write.
"""

from finance.views.accounts import (
    account_detail,
    account_list,
    account_open,
    account_refund,
    account_state,
    customer_panel,
)
from finance.views.printouts import (
    printout_public,
    transaction_export,
    transaction_printout,
    transaction_printout_send,
)
from finance.views.settings import ledger_settings, setting_edit, setting_list, settings_index
from finance.views.transactions import (
    transaction_action,
    transaction_create,
    transaction_detail,
    transaction_list,
    transaction_update,
)

__all__ = [
    "account_detail",
    "account_list",
    "account_open",
    "account_refund",
    "account_state",
    "customer_panel",
    "ledger_settings",
    "printout_public",
    "setting_edit",
    "setting_list",
    "settings_index",
    "transaction_action",
    "transaction_create",
    "transaction_detail",
    "transaction_export",
    "transaction_list",
    "transaction_printout",
    "transaction_printout_send",
    "transaction_update",
]
