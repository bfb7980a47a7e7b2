"""Saving the ledger's configuration rows (tax rates, products, types, methods, reasons, due-date
rules, the ledger definition) with their database constraints checked first, so that a duplicate
name is a message naming the field rather than an ``IntegrityError``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from crm.models import Tenant


def _constraint_field(constraint) -> str:
    if isinstance(constraint, models.UniqueConstraint):
        if constraint.condition is not None:
            return constraint.condition.children[0][0].split("__")[0]
        names = list(constraint.fields) or [e.name for e in constraint.expressions if isinstance(e, F)]
        return names[-1]
    return constraint.condition.children[0][0].split("__")[0]


@transaction.atomic
def save_configuration(
    *, tenant: Tenant, instance: models.Model, many: Mapping[str, Sequence[models.Model]] | None = None,
) -> models.Model:
    """Create or change one configuration row of ``tenant``: ``instance`` (new, or the tenant's own)
    with its fields set (its model form sets them), ``many`` its many-to-many fields (the tenant's rows).

    :raises ValidationError: a value breaks a field rule or a constraint (a duplicate name, a
        percentage out of range), or names another tenant's row; the field is named.
    """
    if instance.pk is not None and instance.tenant_id != tenant.pk:
        raise ValidationError(_("Unknown row."))
    chosen = {field.name: [getattr(instance, field.name)] for field in instance._meta.concrete_fields
              if field.is_relation and field.name != "tenant"}
    errors: dict[str, list[str]] = {}
    for name, rows in {**chosen, **(many or {})}.items():
        if any(isinstance(row, models.Model) and getattr(row, "tenant_id", tenant.pk) != tenant.pk for row in rows):
            errors[name] = [_("Unknown choice.")]
    if errors:
        raise ValidationError(errors)
    instance.tenant = tenant
    try:
        instance.full_clean(exclude=["tenant"], validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    for constraint in instance._meta.constraints:
        try:
            constraint.validate(type(instance), instance)
        except ValidationError:
            field = _constraint_field(constraint)
            # Filed under the field, whose label the page and the API name already.
            unique = isinstance(constraint, models.UniqueConstraint)
            message = _("Another entry already has this value.") if unique else _("This value is not allowed.")
            errors.setdefault(field, []).append(message)
    if errors:
        raise ValidationError(errors)
    instance.save()
    for name, rows in (many or {}).items():
        getattr(instance, name).set(rows, through_defaults={"tenant": tenant})
    return instance
