"""A tenant's staff, run by its own administrators: invitations, roles and deactivation, each audited.

An invited person is a user of the tenant with no password yet; the invitation's link (single-use: it
stops working once a password is set, and after ``PASSWORD_RESET_TIMEOUT``) is where they choose one.
Deactivating a user ends their sessions at once: Django answers a session of an inactive user as
anonymous. A tenant always keeps an active administrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import l10n
from core.mail import send_as_tenant
from crm.models import AuditEntry, Role, Tenant, User
from crm.services import set_roles

INVITED, ACTIVE, DEACTIVATED = "invited", "active", "deactivated"
STATUS_NAMES = {INVITED: gettext_lazy("Invited"), ACTIVE: gettext_lazy("Active"),
                DEACTIVATED: gettext_lazy("Deactivated")}
# What the audit log calls each kind of change.
ACTIONS = {
    "staff.invited": gettext_lazy("Invited"), "staff.invitation_resent": gettext_lazy("Invitation sent again"),
    "staff.joined": gettext_lazy("Accepted the invitation"), "staff.roles": gettext_lazy("Roles changed"),
    "staff.deactivated": gettext_lazy("Deactivated"), "staff.reactivated": gettext_lazy("Reactivated"),
    "api_key.created": gettext_lazy("API key created"), "api_key.revoked": gettext_lazy("API key revoked"),
    "two_factor.on": gettext_lazy("Second factor on"), "two_factor.off": gettext_lazy("Second factor off"),
    "organisation.changed": gettext_lazy("Organisation changed"), "gateway.saved": gettext_lazy("Gateway saved"),
    "support.added": gettext_lazy("Added by support"), "support.changed": gettext_lazy("Changed by support"),
    "support.deleted": gettext_lazy("Deleted by support"),
    "bank.imported": gettext_lazy("Bank statement imported"),
    "bank.confirmed": gettext_lazy("Bank suggestion confirmed"),
    "bank.moved": gettext_lazy("Bank payment moved to an account"),
    "bank.split": gettext_lazy("Bank payment split across invoices"),
    "bank.account_saved": gettext_lazy("Bank account saved"),
    "bank.refunds_proposed": gettext_lazy("Refunds by transfer proposed"),
    "bank.refunds_approved": gettext_lazy("Refunds by transfer approved"),
}


class InvitationTokens(PasswordResetTokenGenerator):
    key_salt = "duly.crm.staff.invitation"


INVITATIONS = InvitationTokens()


@dataclass(frozen=True)
class Invitation:
    email: str
    first_name: str = ""
    last_name: str = ""
    role_keys: tuple[str, ...] = field(default=(Role.STAFF,))


def staff_of(tenant: Tenant) -> QuerySet[User]:
    return (User.objects.filter(tenant=tenant).prefetch_related("groups__role")
            .order_by("-is_active", "first_name", "last_name", "username"))


def role_keys(user: User) -> list[str]:
    """The user's roles, in the order ``Role.KEYS`` lists them (uses a prefetch of ``groups__role``)."""
    held = {group.role.key for group in user.groups.all() if hasattr(group, "role")}
    return [key for key, _ in Role.KEYS if key in held]


def status(user: User) -> str:
    if not user.is_active:
        return DEACTIVATED
    return ACTIVE if user.has_usable_password() else INVITED


def audit(*, tenant: Tenant, actor: User | None, at: datetime, action: str, subject: str, detail: str = ""):
    return AuditEntry.objects.create(tenant=tenant, actor=actor, at=at, action=action, subject=subject[:200],
                                     detail=detail[:500])


def _roles_in_words(keys) -> str:
    return ", ".join(str(Role.NAMES[key]) for key, _ in Role.KEYS if key in set(keys))


def _active_administrators(tenant: Tenant) -> QuerySet[User]:
    return User.objects.filter(tenant=tenant, is_active=True, groups__role__key=Role.ADMINISTRATOR).exclude(
        password__startswith="!")  # an invitation not yet taken up runs nothing


def _keep_an_administrator(user: User, *, losing: bool) -> None:
    if losing and not _active_administrators(user.tenant).exclude(pk=user.pk).exists():
        raise ValidationError({"roles": _("The organisation needs an active administrator: give another "
                                          "person the Administrator role first.")})


def _check_roles(keys) -> list[str]:
    unknown = set(keys) - {key for key, _ in Role.KEYS}
    if unknown:
        raise ValidationError({"roles": _("Unknown roles: %(join)s.") % {"join": ", ".join(sorted(unknown))}})
    return [key for key, _ in Role.KEYS if key in set(keys)]


@transaction.atomic
def invite(*, tenant: Tenant, actor: User | None, data: Invitation, at: datetime, site: str) -> User:
    """A new member of staff, who chooses their password from the emailed link. ``site`` is the address
    the link starts with (``https://duly.example``).

    :raises ValidationError: the address is missing, malformed or already has an account; a role is unknown.
    """
    email = data.email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("“%(email)s” is not a valid email address.") % {"email": email}}) from None
    if User.objects.filter(username=email).exists() or User.objects.filter(tenant=tenant, email__iexact=email).exists():
        raise ValidationError({"email": _("%(email)s already has a Duly account.") % {"email": email}})
    keys = _check_roles(data.role_keys) or [Role.STAFF]
    user = User.objects.create_user(username=email, email=email, password=None, first_name=data.first_name.strip(),
                                    last_name=data.last_name.strip(), tenant=tenant)
    set_roles(user=user, role_keys=keys)
    audit(tenant=tenant, actor=actor, at=at, action="staff.invited", subject=email, detail=_roles_in_words(keys))
    _send_invitation(user, actor=actor, site=site)
    return user


@transaction.atomic
def resend_invitation(*, user: User, actor: User, at: datetime, site: str) -> User:
    """:raises ValidationError: the person has already set their password (or is deactivated)."""
    if status(user) != INVITED:
        raise ValidationError(_("%(name)s has accepted the invitation already.") % {"name": user.email})
    audit(tenant=user.tenant, actor=actor, at=at, action="staff.invitation_resent", subject=user.email)
    _send_invitation(user, actor=actor, site=site)
    return user


def _send_invitation(user: User, *, actor: User | None, site: str) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = site + reverse("crm:invitation", args=[uid, INVITATIONS.make_token(user)])
    with l10n.for_tenant(user.tenant):
        subject = _("%(organisation)s invites you to Duly") % {"organisation": user.tenant.name}
        body = render_to_string("registration/invitation_email.txt", {
            "user": user, "actor": actor, "tenant": user.tenant, "link": link})
    transaction.on_commit(lambda: send_as_tenant(tenant=user.tenant, to=user.email, subject=subject, body=body))


def invited_user(uidb64: str, token: str) -> User | None:
    """The invited person the link names, while the link works; else ``None``."""
    try:
        user = User.objects.get(pk=int(urlsafe_base64_decode(uidb64).decode()))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    if user.tenant_id is None or status(user) != INVITED or not INVITATIONS.check_token(user, token):
        return None
    return user


@transaction.atomic
def accept_invitation(*, user: User, password: str, at: datetime) -> User:
    user.set_password(password)
    user.save(update_fields=["password"])
    audit(tenant=user.tenant, actor=user, at=at, action="staff.joined", subject=user.email)
    return user


@transaction.atomic
def change_roles(*, user: User, actor: User, keys, at: datetime) -> User:
    """:raises ValidationError: a role is unknown, or the tenant would be left without an administrator."""
    wanted = _check_roles(keys)
    locked = User.objects.select_for_update().get(pk=user.pk)
    before = role_keys(locked)
    _keep_an_administrator(locked, losing=Role.ADMINISTRATOR in before and Role.ADMINISTRATOR not in wanted)
    set_roles(user=locked, role_keys=wanted)
    audit(tenant=locked.tenant, actor=actor, at=at, action="staff.roles", subject=locked.email or locked.username,
          detail=f"{_roles_in_words(before) or '—'} → {_roles_in_words(wanted) or '—'}")
    return locked


@transaction.atomic
def deactivate(*, user: User, actor: User, at: datetime) -> User:
    """The user can no longer sign in, and their open sessions end at once.

    :raises ValidationError: it is the actor themself, or the tenant's last active administrator.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    _keep_an_administrator(locked, losing=Role.ADMINISTRATOR in role_keys(locked))
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    audit(tenant=locked.tenant, actor=actor, at=at, action="staff.deactivated",
          subject=locked.email or locked.username)
    return locked


@transaction.atomic
def reactivate(*, user: User, actor: User, at: datetime) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.is_active = True
    locked.save(update_fields=["is_active"])
    audit(tenant=locked.tenant, actor=actor, at=at, action="staff.reactivated",
          subject=locked.email or locked.username)
    return locked
