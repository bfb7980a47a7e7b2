"""A second factor at sign-in, with django-otp: an authenticator app (TOTP) and ten single-use recovery
codes. Who needs one: anyone who set one up, platform support always, and all staff of a tenant that
requires it (``Tenant.require_two_factor``)."""

from __future__ import annotations

from base64 import b32encode
from datetime import datetime

import qrcode
from django.db import transaction
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathImage

from crm.models import User
from crm.staff import audit

RECOVERY_CODES = 10
APP_DEVICE = "Authenticator app"
RECOVERY_DEVICE = "Recovery codes"


def needed(user: User) -> bool:
    return user.is_support or user.two_factor or bool(user.tenant_id and user.tenant.require_two_factor)


def has_device(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def required(user: User) -> bool:
    """Whether the user may not turn it off."""
    return user.is_support or bool(user.tenant_id and user.tenant.require_two_factor)


def pending_device(user: User) -> TOTPDevice:
    """The authenticator app being set up: one unconfirmed device, made once and shown until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=APP_DEVICE).first()
    return device or TOTPDevice.objects.create(user=user, confirmed=False, name=APP_DEVICE)


def qr_code_svg(device: TOTPDevice) -> str:
    """The device's ``otpauth://`` address as an SVG QR code to put in the page and scan with the app: one
    path with a viewBox (django-otp's own image uses ``svg:``-prefixed elements, which HTML does not draw)."""
    return qrcode.make(device.config_url, image_factory=SvgPathImage).to_string(encoding="unicode")


def secret_in_base32(device: TOTPDevice) -> str:
    """The secret as an app asks for it when typed by hand."""
    return b32encode(device.bin_key).decode()


@transaction.atomic
def confirm(*, user: User, device: TOTPDevice, code: str, at: datetime) -> list[str] | None:
    """Turn the app on when ``code`` is one it shows now; return the new recovery codes (shown once), or
    ``None`` when the code is wrong."""
    if not device.verify_token(code.replace(" ", "")):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    User.objects.filter(pk=user.pk).update(two_factor=True)
    user.two_factor = True
    codes = new_recovery_codes(user)
    if user.tenant_id:
        audit(tenant=user.tenant, actor=user, at=at, action="two_factor.on", subject=user.email or user.username)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def turn_off(*, user: User, at: datetime) -> None:
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    User.objects.filter(pk=user.pk).update(two_factor=False)
    user.two_factor = False
    if user.tenant_id:
        audit(tenant=user.tenant, actor=user, at=at, action="two_factor.off", subject=user.email or user.username)
