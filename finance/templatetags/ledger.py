"""Template filters of the ledger's pages."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext_lazy as _

from finance.models import Classification

register = template.Library()

# The actions and events of a transaction and the transitions of an account, by their key.
LABELS = {
    "create": _("Create"), "edit": _("Edit"), "post": _("Post"), "reject": _("Reject"), "cancel": _("Cancel"),
    "quick_pay": _("Quick pay"), "write_off": _("Write off"), "move": _("Move"), "communicate": _("Communicate"),
    "suspend": _("Suspend"), "reactivate": _("Reactivate"), "terminate": _("Terminate"),
}
# Whole phrases, not "New" + a lower-cased label: Spanish and German inflect them.
NEW = {
    Classification.INVOICE: _("New invoice"), Classification.CREDIT_NOTE: _("New credit note"),
    Classification.PAYMENT: _("New payment"), Classification.REFUND: _("New refund"),
}
CANCEL = {Classification.INVOICE: _("Cancel invoice"), Classification.PAYMENT: _("Cancel payment")}


@register.filter
def label(key: str) -> str:
    """``quick_pay`` → ``Quick pay``, in the active language; a classification by its own label."""
    if key in LABELS:
        return LABELS[key]
    if key in Classification.values:
        return Classification(key).label
    return str(key).replace("_", " ").capitalize()


@register.filter
def new_label(classification: str) -> str:
    """``invoice`` → ``New invoice``."""
    return NEW[classification]


@register.filter
def cancel_label(classification: str) -> str:
    """``payment`` → ``Cancel payment``."""
    return CANCEL[classification]


@register.filter
def who(user) -> str:
    """The name of whoever did it; the system when nobody did (an API key, a task)."""
    if user is None:
        return _("the system")
    return user.get_full_name() or user.username


@register.filter
def plain(number: Decimal | None) -> str:
    """``20.000`` → ``20``, ``2.500`` → ``2.5`` (``Decimal.normalize`` alone gives ``2E+1``)."""
    if number is None:
        return ""
    return f"{number.normalize():f}"
