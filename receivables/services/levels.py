"""A tenant's dunning levels and receivables settings: the only writers of them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Tenant
from finance.models import Classification, FeePayer, TransactionType
from receivables.models import SLOTS, DunningLevel, DunningNotice, ReceivablesSettings

SUGGESTED = ((-3, gettext_lazy("Friendly reminder")), (7, gettext_lazy("First notice")),
             (21, gettext_lazy("Second notice")), (35, gettext_lazy("Final notice")))


@dataclass(frozen=True)
class LevelData:
    name: str
    days: int
    email: bool = True
    sms: bool = False
    fee_amount: Decimal | None = None
    fee_type: TransactionType | None = None


def _check(tenant: Tenant, data: LevelData, level: DunningLevel | None) -> dict[str, str]:
    errors = {}
    if not data.name.strip() or "\x00" in data.name:
        errors["name"] = _("Name the level.")
    elif len(data.name) > 100:
        errors["name"] = _("The name has at most 100 characters.")
    if not -60 <= data.days <= 365:
        errors["days"] = _("Days after the due date are between -60 (before it) and 365.")
    elif DunningLevel.objects.filter(tenant=tenant, days=data.days).exclude(pk=getattr(level, "pk", None)).exists():
        errors["days"] = _("Another level is on that day already.")
    if not (data.email or data.sms):
        errors["email"] = _("Choose at least one channel.")
    if data.fee_amount is not None:
        if data.fee_amount <= 0:
            errors["fee_amount"] = _("The late fee must be more than zero, or left empty.")
        elif data.fee_amount.as_tuple().exponent < -2:
            errors["fee_amount"] = _("The amount has at most 2 decimal places.")
        if data.fee_type is None:
            errors["fee_type"] = _("Choose the invoice type the late fee is posted as.")
    if data.fee_type is not None and (
            data.fee_type.tenant_id != tenant.pk or data.fee_type.classification != Classification.INVOICE
            or data.fee_type.fee_payer == FeePayer.PROVIDER):
        errors["fee_type"] = _("Choose one of your invoice types the customer pays.")
    elif data.fee_type is not None and data.fee_amount is None:
        errors["fee_amount"] = _("Enter the late fee, or choose no type.")
    return errors


@transaction.atomic
def save_level(*, tenant: Tenant, data: LevelData, level: DunningLevel | None = None) -> DunningLevel:
    """Create a level (in the first free slot, which names its message) or change one.

    :raises ValidationError: named by field; nothing is saved."""
    errors = _check(tenant, data, level)
    if level is None:
        used = set(DunningLevel.objects.filter(tenant=tenant).values_list("slot", flat=True))
        free = [slot for slot in SLOTS if slot not in used]
        if not free:
            errors.setdefault("__all__", _("A tenant has at most six dunning levels."))
        level = DunningLevel(tenant=tenant, slot=free[0] if free else 0)
    if errors:
        raise ValidationError(errors)
    level.name, level.days, level.email, level.sms = data.name.strip(), data.days, data.email, data.sms
    level.fee_amount, level.fee_type = data.fee_amount, data.fee_type
    try:
        with transaction.atomic():
            level.save()
    except IntegrityError:
        raise ValidationError({"days": _("Another level is on that day already.")}) from None
    return level


@transaction.atomic
def delete_level(*, level: DunningLevel) -> None:
    """:raises ValidationError: notices were sent at this level (they keep it; change it instead)."""
    if DunningNotice.objects.filter(tenant=level.tenant_id, level=level).exists():
        raise ValidationError({"__all__": _("Notices were sent at this level, so it stays. Change it instead.")})
    level.delete()


@transaction.atomic
def add_suggested_levels(*, tenant: Tenant) -> int:
    """The usual four levels (3 days before, then 7, 21 and 35 days after), for a tenant with none."""
    if DunningLevel.objects.filter(tenant=tenant).exists():
        return 0
    for days, name in SUGGESTED:
        save_level(tenant=tenant, data=LevelData(name=str(name), days=days))
    return len(SUGGESTED)


@transaction.atomic
def save_settings(*, tenant: Tenant, monthly_statements: bool, dunning_enabled: bool) -> ReceivablesSettings:
    options, _created = ReceivablesSettings.objects.get_or_create(tenant=tenant)
    options.monthly_statements, options.dunning_enabled = monthly_statements, dunning_enabled
    options.save()
    return options
