"""What the ledger's pages share: who may change the ledger, and page sizes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from finance.models import ENTRY_CLASSIFICATIONS

ACCOUNTANT = "crm.post_transactions"
TRANSACTIONS_PER_PAGE = 25
ACCOUNTS_PER_PAGE = 25
ACCOUNT_ROWS_PER_PAGE = 25


def require_accountant(request) -> None:
    if not request.user.has_perm(ACCOUNTANT):
        raise PermissionDenied(_("Only accountants may do this."))


def form_errors(form) -> ValidationError:
    return ValidationError({name: list(errors) for name, errors in form.errors.items()})


def entry_links() -> list[tuple[str, str]]:
    """The classifications staff create by hand, for the "New …" menu."""
    return [(c.value, c.label) for c in ENTRY_CLASSIFICATIONS]
