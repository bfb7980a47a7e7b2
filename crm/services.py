"""Writes of the crm app: tenants, staff, roles, customers and API keys.

Each function is one database transaction and validates everything before writing, raising
``django.core.exceptions.ValidationError`` with a message per field name.
"""

from __future__ import annotations

import re
import secrets
import zoneinfo
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries
from django_scopes import scope

from core import tokens
from core.bank_codes import compact_iban
from core.changes import UNCHANGED, given
from crm.models import API_SCOPES, ApiKey, Customer, Role, Tenant, User
from crm.signals import tenant_created

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.STAFF: [],
    Role.CAN_TAKE_PAYMENT: ["take_payment"],
    Role.PAYMENT_MANAGER: ["manage_payments"],
    Role.ACCOUNTANT: ["post_transactions"],
    Role.MANAGER: ["see_manager_comments"],
    Role.ADMINISTRATOR: ["administer"],
}
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
API_KEY_PREFIX = "duly"


# --- tenants and staff -------------------------------------------------------------------------


@transaction.atomic
def create_tenant(
    *, name: str, slug: str, country: str, time_zone: str = "UTC", default_currency: str = "EUR", locale: str = "en"
) -> Tenant:
    """Create a tenant with its default roles; the other apps' defaults follow (``crm.signals.tenant_created``).

    :raises ValidationError: a field is missing or malformed, or the slug is taken.
    """
    errors: dict[str, str] = {}
    name, slug = (name or "").strip(), (slug or "").strip()
    if not name:
        errors["name"] = _("Name is required.")
    if not SLUG_RE.match(slug):
        errors["slug"] = _("Slug must be lowercase letters, digits and single hyphens, e.g. acme-brokers.")
    elif Tenant.objects.filter(slug=slug).exists():
        errors["slug"] = _("The slug “%(slug)s” is already used by another tenant.") % {"slug": slug}
    if country not in dict(countries):
        errors["country"] = _("“%(country)s” is not an ISO 3166 country code.") % {"country": country}
    if time_zone not in zoneinfo.available_timezones():
        errors["time_zone"] = _("“%(time_zone)s” is not a known time zone.") % {"time_zone": time_zone}
    if default_currency not in settings.CURRENCIES:
        errors["default_currency"] = _("Currency must be one of %(join)s.") % {"join": ', '.join(settings.CURRENCIES)}
    if errors:
        raise ValidationError(errors)
    tenant = Tenant.objects.create(
        name=name, slug=slug, country=country, time_zone=time_zone, default_currency=default_currency, locale=locale
    )
    # Tenant creation is a platform operation, run outside any tenant; the new tenant is the scope.
    with scope(tenant=tenant):
        ensure_default_roles(tenant=tenant)
        tenant_created.send(sender=Tenant, tenant=tenant)
    return tenant


MAX_LOGO_BYTES = 256 * 1024
LOGO_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def logo_type_of(data: bytes) -> str:
    """``image/png``, ``image/jpeg`` or ``image/svg+xml`` from the file's own bytes (never its name).

    :raises ValidationError: keyed ``logo``: empty, too large, or not one of those formats.
    """
    if not data:
        raise ValidationError({"logo": _("The file is empty.")})
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationError({"logo": _("A logo is at most %(value)s KB.") % {"value": MAX_LOGO_BYTES // 1024}})
    for signature, content_type in LOGO_SIGNATURES:
        if data.startswith(signature):
            return content_type
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:2048].lower()):
        return "image/svg+xml"
    raise ValidationError({"logo": _("A logo is a PNG, JPEG or SVG image.")})


@transaction.atomic
def set_tenant_logo(*, tenant: Tenant, data: bytes | None) -> Tenant:
    """Store ``data`` as the tenant's logo, or remove it with ``None``.

    :raises ValidationError: keyed ``logo`` (see ``logo_type_of``); nothing changes.
    """
    content_type = logo_type_of(data) if data is not None else ""
    Tenant.objects.filter(pk=tenant.pk).update(logo=data, logo_type=content_type)
    tenant.logo, tenant.logo_type = data, content_type
    return tenant


@transaction.atomic
def ensure_default_roles(*, tenant: Tenant) -> dict[str, Role]:
    """Create the tenant's standard roles and their groups where missing, and give each group exactly its
    role's permissions; safe to run twice. A handful of queries whatever the number of roles."""
    roles = {role.key: role for role in Role.objects.filter(tenant=tenant).select_related("group")}
    missing = [(key, label) for key, label in Role.KEYS if key not in roles]
    groups = Group.objects.bulk_create([Group(name=f"{tenant.slug}: {label}") for _, label in missing])
    created = Role.objects.bulk_create([Role(tenant=tenant, key=key, group=group)
                                        for (key, _), group in zip(missing, groups, strict=True)])
    roles |= {role.key: role for role in created}
    permission_ids = dict(Permission.objects.filter(
        content_type__app_label="crm", codename__in={c for names in ROLE_PERMISSIONS.values() for c in names},
    ).values_list("codename", "pk"))
    wanted = {(roles[key].group_id, permission_ids[codename])
              for key, codenames in ROLE_PERMISSIONS.items() for codename in codenames}
    through = Group.permissions.through
    rows = through.objects.filter(group__in=[role.group_id for role in roles.values()])
    present = set(rows.values_list("group_id", "permission_id"))
    through.objects.bulk_create(through(group_id=g, permission_id=p) for g, p in wanted - present)
    for group_id, permission_id in present - wanted:
        rows.filter(group_id=group_id, permission_id=permission_id).delete()
    return roles


def staff_languages() -> dict[str, str]:
    """The languages Duly's staff pages speak, by code (``en``, ``es``, ``de``), each named in itself."""
    return {code.split("-")[0]: name for code, name in settings.LANGUAGES}


def set_language(*, user: User, language: str) -> User:
    """The language Duly speaks to ``user``; empty for the tenant's."""
    if language and language not in staff_languages():
        raise ValidationError({"language": _("Language must be one of %(join)s.") % {
            "join": ", ".join(staff_languages())}})
    user.language = language
    user.save(update_fields=["language"])
    return user


@transaction.atomic
def create_staff_user(
    *, tenant: Tenant, username: str, email: str, password: str, first_name: str = "", last_name: str = "",
    role_keys: list[str] | tuple[str, ...] = (Role.STAFF,),
) -> User:
    """Create a staff user of ``tenant`` with the given roles.

    :raises ValidationError: the username is taken, the email is malformed or a role is unknown.
    """
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = _("Username is required.")
    elif User.objects.filter(username=username).exists():
        errors["username"] = _("The username “%(username)s” is taken.") % {"username": username}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = _("“%(email)s” is not a valid email address.") % {"email": email}
    unknown = set(role_keys) - {key for key, _ in Role.KEYS}
    if unknown:
        errors["roles"] = _("Unknown roles: %(join)s.") % {"join": ', '.join(sorted(unknown))}
    if errors:
        raise ValidationError(errors)
    user = User.objects.create_user(
        username=username, email=email, password=password, first_name=first_name, last_name=last_name, tenant=tenant
    )
    set_roles(user=user, role_keys=role_keys)
    return user


@transaction.atomic
def set_roles(*, user: User, role_keys: list[str] | tuple[str, ...]) -> None:
    """Give ``user`` exactly these roles of their own tenant (a support operation, so it opens that
    tenant's scope itself)."""
    with scope(tenant=user.tenant):
        roles = ensure_default_roles(tenant=user.tenant)
    user.groups.set([roles[key].group for key in role_keys])


# --- customers ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerData:
    """A new customer as a form or the API gives it; ``language`` ``None`` is the tenant's."""

    name: str
    email: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""
    language: str | None = None
    iban: str = ""
    notes: str = ""


CUSTOMER_FIELDS = tuple(field.name for field in fields(CustomerData))


@dataclass(frozen=True)
class CustomerChanges:
    """The fields of a customer to change; a field left ``UNCHANGED`` keeps its value."""

    name: str = UNCHANGED
    email: str = UNCHANGED
    phone: str = UNCHANGED
    address_line1: str = UNCHANGED
    address_line2: str = UNCHANGED
    city: str = UNCHANGED
    postcode: str = UNCHANGED
    country: str = UNCHANGED
    language: str = UNCHANGED
    iban: str = UNCHANGED
    notes: str = UNCHANGED


def _clean_customer_fields(*, tenant: Tenant, data: dict[str, Any], partial: bool) -> dict[str, Any]:
    cleaned = {key: ("" if value is None else str(value).strip()) for key, value in data.items()}
    errors: dict[str, str] = {}
    if "name" in cleaned or not partial:
        if not cleaned.get("name"):
            errors["name"] = _("Name is required.")
        elif len(cleaned["name"]) > 200:
            errors["name"] = _("Name must be at most 200 characters.")
    if cleaned.get("email"):
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            errors["email"] = _("“%(cleaned)s” is not a valid email address.") % {"cleaned": cleaned['email']}
    if cleaned.get("phone"):
        try:
            number = phonenumbers.parse(cleaned["phone"], str(tenant.country) or None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            errors["phone"] = (
                _("“%(cleaned)s” is not a valid phone number; use the international form, e.g. +44 20 7946 0958.") % {
                    "cleaned": cleaned['phone']}
            )
        else:
            cleaned["phone"] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if cleaned.get("country") and cleaned["country"].upper() not in dict(countries):
        errors["country"] = _("“%(cleaned)s” is not an ISO 3166 country code.") % {"cleaned": cleaned['country']}
    elif cleaned.get("country"):
        cleaned["country"] = cleaned["country"].upper()
    if "language" in cleaned and cleaned["language"] not in dict(settings.CUSTOMER_LANGUAGES):
        errors["language"] = _("Language must be one of %(join)s.") % {
            "join": ', '.join(dict(settings.CUSTOMER_LANGUAGES))}
    if cleaned.get("iban"):
        try:
            cleaned["iban"] = compact_iban(cleaned["iban"])
        except ValueError as error:
            errors["iban"] = str(error)
    for field in ("address_line1", "address_line2", "city", "postcode"):
        limit = Customer._meta.get_field(field).max_length
        if len(cleaned.get(field, "")) > limit:
            errors[field] = _("At most %(limit)s characters.") % {"limit": limit}
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def create_customer(*, tenant: Tenant, actor: User | None, data: CustomerData, reason: str = "") -> Customer:
    """Create a customer of ``tenant`` (in the tenant's language unless ``data`` names one).

    :raises ValidationError: a field is missing or malformed (nothing is saved).
    """
    values = {name: value for name, value in asdict(data).items() if not (name == "language" and value is None)}
    cleaned = _clean_customer_fields(tenant=tenant, data=values, partial=False)
    cleaned.setdefault("language", tenant.locale)
    customer = Customer(tenant=tenant, **cleaned)
    customer._history_user = actor
    customer._change_reason = reason
    customer.save()
    return customer


@transaction.atomic
def update_customer(*, customer: Customer, actor: User | None, changes: CustomerChanges,
                    reason: str = "") -> Customer:
    """Change the fields ``changes`` gives; the others keep their values.

    :raises ValidationError: a field is malformed (nothing is saved).
    """
    cleaned = _clean_customer_fields(tenant=customer.tenant, data=given(changes), partial=True)
    locked = Customer.objects.select_for_update().get(tenant=customer.tenant, pk=customer.pk)
    for field, value in cleaned.items():
        setattr(locked, field, value)
    locked._history_user = actor
    locked._change_reason = reason
    locked.save()
    return locked


# --- API keys ----------------------------------------------------------------------------------


def _hash_key(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return tokens.hash_token(secret)


@transaction.atomic
def create_api_key(*, tenant: Tenant, name: str, scopes: list[str] | None = None,
                   expires_at: datetime | None = None, at: datetime | None = None) -> tuple[ApiKey, str]:
    """Create an API key; return it with the raw key, which is never shown again. ``scopes`` ``None`` is
    every scope (the keys platform support makes); an administrator chooses them.

    :raises ValidationError: the name is missing, a scope is unknown or none is chosen, the expiry is past.
    """
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("Name is required.")
    given = list(API_SCOPES) if scopes is None else list(scopes)
    scopes = [scope for scope in API_SCOPES if scope in set(given)]
    if unknown := set(given) - set(API_SCOPES):
        errors["scopes"] = _("Unknown scopes: %(join)s.") % {"join": ", ".join(sorted(unknown))}
    elif not scopes:
        errors["scopes"] = _("Choose at least one scope.")
    if expires_at is not None and expires_at <= (at or timezone.now()):
        errors["expires_at"] = _("The expiry must be in the future.")
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(tenant=tenant, name=name.strip(), prefix=prefix, hashed_key=_hash_key(secret),
                                    scopes=scopes, expires_at=expires_at)
    return api_key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey, at: datetime) -> ApiKey:
    """Revoke a key; requests made with it are refused from now on. Revoking twice keeps the first time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=at)
    api_key.refresh_from_db()
    return api_key


def authenticate_api_key(*, raw_key: str, at: datetime, address: str = "") -> ApiKey | None:
    """The active key that ``raw_key`` is (not revoked, not expired), or ``None``. Records when it was last
    used, and from which address."""
    try:
        label, prefix, secret = raw_key.split("_", 2)
    except ValueError:
        return None
    if label != API_KEY_PREFIX:
        return None
    api_key = (ApiKey.objects.select_related("tenant").filter(prefix=prefix, revoked_at__isnull=True)
               .exclude(expires_at__lte=at).first())
    if api_key is None or not secrets.compare_digest(api_key.hashed_key, _hash_key(secret)):
        return None
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=at, last_used_from=address[:45])
    return api_key
