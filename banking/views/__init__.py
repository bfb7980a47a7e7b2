"""The bank pages: statements and reconciliation (``statements``), refunds by transfer (``refunds``)."""

from banking.views.refunds import refund_file, refund_propose, refund_run_approve, refund_run_detail, refund_runs
from banking.views.statements import (
    bank_account_edit,
    bank_account_lines,
    bank_home,
    import_detail,
    line_confirm,
    line_detail,
    line_move,
    line_split,
    reconciliation,
    statement_import,
)

__all__ = [
    "bank_account_edit", "bank_account_lines", "bank_home", "import_detail", "line_confirm", "line_detail",
    "line_move", "line_split", "reconciliation", "refund_file", "refund_propose", "refund_run_approve",
    "refund_run_detail", "refund_runs", "statement_import",
]
