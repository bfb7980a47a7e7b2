"""Who may open a staff page. Shared by every app's views (which may not import each other)."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
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
