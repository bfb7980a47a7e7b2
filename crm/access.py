"""Who may open a staff page. Shared by every app's views (which may not import each other)."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def staff_view(view):
    """A page for staff of a tenant: logged in, with a tenant (platform support use the admin)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.tenant is None:
            raise PermissionDenied(_("This page is for staff of a tenant."))
        return view(request, *args, **kwargs)

    return wrapper


def require_permission(request, permission: str, message: str) -> None:
    """:raises PermissionDenied: the user lacks ``permission`` (e.g. ``crm.post_transactions``)."""
    if not request.user.has_perm(permission):
        raise PermissionDenied(message)


def signed_in_too_often(request, credentials, *args, **kwargs) -> HttpResponse:
    """What django-axes answers once an account or an address has failed to sign in too often: the reason,
    when to try again, and the way out (a password reset clears the account's count)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
