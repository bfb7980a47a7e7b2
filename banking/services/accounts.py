"""The tenant's bank accounts."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from banking.models import BankAccount
from crm.models import Tenant, User
from crm.staff import audit


@transaction.atomic
def save_bank_account(*, tenant: Tenant, bank_account: BankAccount | None, name: str, iban: str, bic: str,
                      currency: str, csv_mapping: dict, actor: User | None, at: datetime,
                      pays_refunds: bool = False) -> BankAccount:
    """Create or change one of the tenant's bank accounts (the IBAN already checked by the form).

    :raises ValidationError: another of the tenant's bank accounts has that IBAN."""
    if BankAccount.objects.filter(tenant=tenant, iban=iban).exclude(pk=getattr(bank_account, "pk", None)).exists():
        raise ValidationError({"iban": _("Another of your bank accounts has this IBAN.")})
    others = BankAccount.objects.filter(tenant=tenant, currency=currency, pays_refunds=True)
    if pays_refunds and others.exclude(pk=getattr(bank_account, "pk", None)).exists():
        raise ValidationError({"pays_refunds": _("Another of your %(currency)s bank accounts pays refunds already.")
                               % {"currency": currency}})
    if bank_account is None:
        bank_account = BankAccount(tenant=tenant, created_at=at)
    else:
        bank_account = BankAccount.objects.select_for_update().get(tenant=tenant, pk=bank_account.pk)
    bank_account.name, bank_account.iban, bank_account.bic = name, iban, bic
    bank_account.currency, bank_account.csv_mapping = currency, csv_mapping
    bank_account.pays_refunds = pays_refunds
    bank_account.save()
    audit(tenant=tenant, actor=actor, at=at, action="bank.account_saved", subject=str(bank_account))
    return bank_account
