"""Template filters of the ledger's pages."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def label(key: str) -> str:
    """``quick_pay`` → ``Quick pay``."""
    return str(key).replace("_", " ").capitalize()


@register.filter
def who(user) -> str:
    """The name of whoever did it; the system when nobody did (an API key, a task)."""
    if user is None:
        return "the system"
    return user.get_full_name() or user.username


@register.filter
def plain(number: Decimal | None) -> str:
    """``20.000`` → ``20``, ``2.500`` → ``2.5`` (``Decimal.normalize`` alone gives ``2E+1``)."""
    if number is None:
        return ""
    return f"{number.normalize():f}"
