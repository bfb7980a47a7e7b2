"""Bank identifiers: IBANs (checked by ``schwifty``) and the customer's payment code, an ISO 11649
structured creditor reference (``RF`` and two check digits, checked by ``python-stdnum``) that a customer
writes on a transfer so that it finds their account."""

from __future__ import annotations

from django.utils.translation import gettext as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

PAYMENT_CODE_DIGITS = 8


def compact_iban(text: str) -> str:
    """The IBAN without spaces, upper case.

    :raises ValueError: not a valid IBAN (the message says why, in the active language)."""
    try:
        return IBAN(text).compact
    except SchwiftyException:
        raise ValueError(_("“%(text)s” is not a valid IBAN.") % {"text": text}) from None


def payment_code(customer_id: int) -> str:
    """``RF`` + check digits + the customer's number: e.g. ``RF7100000042``."""
    body = f"{customer_id:0{PAYMENT_CODE_DIGITS}d}"
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def customer_of_payment_code(token: str) -> int | None:
    """The customer number a written payment code names, or ``None`` when it is not a valid one."""
    compact = token.replace(" ", "").upper()
    if not compact.startswith("RF") or not iso11649.is_valid(compact):
        return None
    body = compact[4:]
    return int(body) if body.isdigit() else None
