"""Tenants, their staff and roles, their customers, and API keys.

Every tenant-owned model derives from :class:`TenantOwned`: a ``tenant`` foreign key and a
django-scopes manager, so a query outside an open scope raises instead of leaking rows.
"""

from __future__ import annotations

import base64
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from django_scopes import ScopedManager
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from core import bank_codes

TIME_ZONE_CHOICES = sorted((name, name) for name in zoneinfo.available_timezones())


class Tenant(models.Model):
    """A business using Duly: a broker firm, a car dealer, an accountancy practice."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    country = CountryField()
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    default_currency = models.CharField(max_length=3, default="EUR")
    locale = models.CharField(max_length=10, default="en")
    # Every member of staff must sign in with a second factor (an administrator's choice).
    require_two_factor = models.BooleanField(default=False)
    address = models.TextField(blank=True, help_text=_("Postal address, printed on documents."))
    logo = models.BinaryField(null=True, blank=True, help_text=_("Printed on documents (PNG, JPEG or SVG)."))
    logo_type = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["logo"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(slug__regex=r"^[a-z0-9]+(-[a-z0-9]+)*$"), name="tenant_slug_format"
            ),
            models.CheckConstraint(
                condition=models.Q(default_currency__regex=r"^[A-Z]{3}$"), name="tenant_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def logo_data_uri(self) -> str:
        """The logo inline, so a page and its PDF need no file storage and the CSP needs no other origin."""
        if not self.logo or not self.logo_type:
            return ""
        return f"data:{self.logo_type};base64,{base64.b64encode(bytes(self.logo)).decode()}"


class TenantOwned(models.Model):
    """Base for every tenant-owned row: the foreign key and the scoped manager."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True


class User(AbstractUser):
    """A person who logs in: staff of one tenant, or platform support (no tenant, ``is_staff``)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, null=True, blank=True, related_name="users")
    # The language Duly speaks to this person; empty: the tenant's.
    language = models.CharField(max_length=10, blank=True, default="")
    # Signs in with a second factor (django-otp's devices); kept here so no request queries the devices.
    two_factor = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("email"), condition=~models.Q(email=""), name="user_email_unique_per_tenant"
            ),
            # Django admin access is for platform support only: staff of a tenant never get it.
            models.CheckConstraint(
                condition=models.Q(tenant__isnull=True) | models.Q(is_staff=False, is_superuser=False),
                name="user_tenant_staff_not_admin",
            ),
        ]

    @property
    def is_support(self) -> bool:
        return self.tenant_id is None and self.is_staff


class Role(TenantOwned):
    """A named role of one tenant, backed by a Django group that carries its permissions."""

    STAFF = "staff"
    CAN_TAKE_PAYMENT = "can_take_payment"
    PAYMENT_MANAGER = "payment_manager"
    ACCOUNTANT = "accountant"
    MANAGER = "manager"
    ADMINISTRATOR = "administrator"
    # The labels name the roles' groups (``acme: Accountant``), so they stay English; pages use ``NAMES``.
    KEYS = [
        (STAFF, "Staff"),
        (CAN_TAKE_PAYMENT, "Can take payment"),
        (PAYMENT_MANAGER, "Payment manager"),
        (ACCOUNTANT, "Accountant"),
        (MANAGER, "Manager"),
        (ADMINISTRATOR, "Administrator"),
    ]
    NAMES = {
        STAFF: _("Staff"), CAN_TAKE_PAYMENT: _("Can take payment"), PAYMENT_MANAGER: _("Payment manager"),
        ACCOUNTANT: _("Accountant"), MANAGER: _("Manager"), ADMINISTRATOR: _("Administrator"),
    }
    # What each role may do, in words, for the pages that assign them.
    ALLOWS = {
        STAFF: _("Sees customers, the ledger, payments and reports; sends payment requests and messages."),
        CAN_TAKE_PAYMENT: _("Takes card payments on fees (Take Payment)."),
        PAYMENT_MANAGER: _("Consolidates payments, refunds them and replays webhooks."),
        ACCOUNTANT: _("Posts, cancels and writes off transactions; refunds; records bank confirmations; changes "
                      "the ledger settings."),
        MANAGER: _("Sees managers' comments; changes message wordings, sending hours and obligation settings."),
        ADMINISTRATOR: _("Invites and deactivates staff, gives roles, and manages API keys, gateways and the "
                         "organisation's details."),
    }

    key = models.CharField(max_length=40, choices=KEYS)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="role")

    class Meta:
        constraints = [models.UniqueConstraint("tenant", "key", name="role_key_unique_per_tenant")]
        permissions = [
            ("take_payment", "Can take payment"),
            ("manage_payments", "Payment manager: may consolidate payments"),
            ("post_transactions", "Accountant: may post, cancel and write off"),
            ("see_manager_comments", "Manager: sees manager-only comments"),
            ("administer", "Administrator: manages staff, API keys, gateways and the organisation"),
        ]

    def __str__(self) -> str:
        return str(self.NAMES[self.key])


class Customer(TenantOwned):
    """A customer of a tenant: the person or business who is billed and pays."""

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = CountryField(blank=True)
    language = models.CharField(max_length=10, default="en")
    # Where a refund by bank transfer goes, and how a transfer from them is recognised (validated, compact).
    iban = models.CharField("IBAN", max_length=34, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index("tenant", Lower("name"), name="customer_tenant_name"),
            models.Index("tenant", "iban", name="customer_tenant_iban", condition=~models.Q(iban="")),
        ]
        constraints = [models.CheckConstraint(condition=~models.Q(name=""), name="customer_name_required")]

    def __str__(self) -> str:
        return self.name

    @property
    def language_name(self) -> str:
        """The customer's language, named in itself (Español)."""
        return dict(settings.CUSTOMER_LANGUAGES).get(self.language, self.language)

    @property
    def payment_code(self) -> str:
        """What the customer writes on a bank transfer so that it finds their account."""
        return bank_codes.payment_code(self.pk)

    @property
    def address(self) -> str:
        parts = [self.address_line1, self.address_line2, " ".join(p for p in [self.postcode, self.city] if p)]
        if self.country:
            parts.append(self.country.name)
        return ", ".join(p for p in parts if p)


# What an API key may reach: an area of the API, to read (GET) or to write (everything else).
API_AREAS = {
    "customers": _("Customers"), "ledger": _("Ledger"), "payment_requests": _("Payment requests"),
    "payments": _("Payments"), "obligations": _("Obligations"), "reports": _("Reports"),
    "bank": _("Bank statements"),
}
API_ACCESS = {"read": _("read"), "write": _("write")}
API_SCOPES = [f"{area}:{access}" for area in API_AREAS for access in API_ACCESS]


def scope_names(scopes) -> str:
    """``["customers:read"]`` in words, for pages: ``Customers (read)``."""
    return ", ".join(f"{API_AREAS[area]} ({API_ACCESS[access]})"
                     for area, _sep, access in (scope.partition(":") for scope in scopes))


class ApiKey(models.Model):
    """A per-tenant API key. Only a hash is stored; the key itself is shown once, when created.

    Looked up by its public prefix before any tenant is known, so it is not scoped.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=40), default=list, blank=True)  # of API_SCOPES
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.CharField(max_length=45, blank=True)  # the address of the last request

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def works_at(self, at) -> bool:
        """Not revoked, and not past its expiry: what ``authenticate_api_key`` accepts."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)


class AuditEntry(TenantOwned):
    """What an administrator (or platform support) changed in the tenant's set-up: who, when, what, to whom."""

    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField()
    action = models.CharField(max_length=40)  # a key: "staff.invited", "staff.roles", "api_key.created", …
    subject = models.CharField(max_length=200)  # whom or what it was about, as shown then
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.subject}"
