"""Who may open a staff page. Shared by every app's views (which may not import each other)."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja.security import HttpBearer


def staff_view(view):
    """A page for staff of a tenant: logged in, with a tenant (platform support use the admin)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.tenant is None:
            raise PermissionDenied(_("This page is for staff of a tenant."))
        return view(request, *args, **kwargs)

    return wrapper


ADMINISTER = "crm.administer"


def require_administrator(request) -> None:
    """:raises PermissionDenied: the user is not one of the tenant's administrators."""
    require_permission(request, ADMINISTER, _("Only administrators manage staff and settings."))


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


class MissingScope(Exception):
    """The key is valid but lacks the scope the operation needs (answered 403, naming it)."""

    def __init__(self, scope: str):
        super().__init__(scope)
        self.scope = scope


class TenantApiKey(HttpBearer):
    """``Authorization: Bearer duly_…``. The key was already checked by ``TenantScopeMiddleware``,
    which opened the tenant's scope; this refuses a request it did not accept, and one whose key lacks
    the area's scope: ``<area>:read`` for a GET, ``<area>:write`` for anything else."""

    def __init__(self, area: str | None = None):
        super().__init__()
        self.area = area

    def __call__(self, request: HttpRequest):
        api_key = request.api_key
        if api_key is not None and self.area is not None:
            wanted = f"{self.area}:{'read' if request.method in ('GET', 'HEAD') else 'write'}"
            if wanted not in api_key.scopes:
                raise MissingScope(wanted)
        return api_key

    def authenticate(self, request: HttpRequest, token: str):  # pragma: no cover - __call__ decides
        return request.api_key
