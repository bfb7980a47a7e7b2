"""The organisation's own details, run by its administrators: what platform support set in the admin before
(name, address, logo, country, time zone, language) and whether all staff must use a second factor."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_countries import countries

from crm.models import Tenant, User
from crm.services import set_tenant_logo, staff_languages
from crm.staff import audit

FIELDS = ("name", "address", "country", "time_zone", "locale", "require_two_factor")


@dataclass(frozen=True)
class OrganisationData:
    name: str
    address: str
    country: str
    time_zone: str
    locale: str
    require_two_factor: bool
    logo: bytes | None = None  # a new logo; ``None`` keeps the one there is
    remove_logo: bool = False


@transaction.atomic
def update_organisation(*, tenant: Tenant, actor: User, data: OrganisationData, at: datetime) -> Tenant:
    """:raises ValidationError: a field is missing or unknown, or the logo is not a small image (nothing is
    saved)."""
    errors: dict[str, str] = {}
    if not data.name.strip():
        errors["name"] = _("Name is required.")
    if data.country not in dict(countries):
        errors["country"] = _("“%(country)s” is not an ISO 3166 country code.") % {"country": data.country}
    if data.time_zone not in zoneinfo.available_timezones():
        errors["time_zone"] = _("“%(time_zone)s” is not a known time zone.") % {"time_zone": data.time_zone}
    if data.locale not in staff_languages():
        errors["locale"] = _("Language must be one of %(join)s.") % {"join": ", ".join(staff_languages())}
    if errors:
        raise ValidationError(errors)
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    changed = [name for name in FIELDS if getattr(locked, name) != _value(data, name)]
    for name in FIELDS:
        setattr(locked, name, _value(data, name))
    locked._history_user = actor
    locked.save()
    if data.logo is not None or data.remove_logo:
        try:
            set_tenant_logo(tenant=locked, data=None if data.remove_logo else data.logo)
        except ValidationError as error:
            raise ValidationError({"logo": error.messages}) from None
        changed.append("logo")
    if changed:
        audit(tenant=locked, actor=actor, at=at, action="organisation.changed", subject=locked.name,
              detail=", ".join(changed))
    return locked


def _value(data: OrganisationData, name: str):
    value = getattr(data, name)
    return value.strip() if isinstance(value, str) else value
