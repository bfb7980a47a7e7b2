"""Opens the tenant scope for every request, from the logged-in user or the API key."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from django_scopes.state import state as scope_state

from core import logs, throttle
from core.l10n import for_tenant
from crm import services, two_factor

API_PREFIX = "/api/"
SEEN_AT = "duly_seen_at"


class TenantScopeMiddleware:
    """Sets ``request.tenant`` and runs the view inside that tenant's scope.

    * API requests authenticate their ``Authorization: Bearer`` key here (the API's own auth class
      then only checks ``request.api_key``), so the scope is open before the endpoint runs.
    * Staff of a tenant get their tenant's scope, language, formats and time zone (``core.l10n``).
    * Platform support (no tenant) work in the Django admin across tenants, so scopes are disabled
      for them there and nowhere else.
    * Anyone else gets no scope at all: a tenant-owned query raises rather than guessing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A request starts with no scope, whatever the calling thread had open (a test's fixture, say):
        # the user is then loaded outside any tenant, as row-level security expects.
        token = scope_state.set({})
        try:
            return self._in_scope(request)
        finally:
            scope_state.reset(token)

    def _in_scope(self, request):
        request.tenant = None
        request.api_key = None
        if request.path.startswith(API_PREFIX):
            header = request.headers.get("Authorization", "")
            if header.startswith("Bearer "):
                request.api_key = services.authenticate_api_key(raw_key=header[7:].strip(), at=timezone.now(),
                                                                address=throttle.client_ip(request))
            if request.api_key is not None:
                allowed, retry_after = throttle.allow_in_window(
                    key=f"api-key:{request.api_key.pk}", limit=settings.API_RATE_LIMIT, window_seconds=60)
                if not allowed:
                    detail = (f"Too many requests with this API key: at most {settings.API_RATE_LIMIT} a minute. "
                              f"Try again in {retry_after} s.")
                    return JsonResponse({"detail": detail}, status=429, headers={"Retry-After": str(retry_after)})
                request.tenant = request.api_key.tenant
                logs.add(tenant_id=request.tenant.pk, api_key_id=request.api_key.pk)
                with scope(tenant=request.tenant), for_tenant(request.tenant):
                    return self.get_response(request)
            return self.get_response(request)

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            logs.add(tenant_id=user.tenant_id, user_id=user.pk)
            if user.tenant_id is not None:
                request.tenant = user.tenant
                with scope(tenant=request.tenant), for_tenant(request.tenant, language=user.language or None):
                    return self.get_response(request)
            if user.is_support and request.path.startswith("/admin/"):
                with scopes_disabled():
                    return self.get_response(request)
        return self.get_response(request)


class SecondFactorMiddleware:
    """Whoever needs a second factor — anyone who set one up, platform support, and all staff of a tenant
    that requires it — reaches nothing but the sign-in pages until they have given a code this session.
    Someone required to have one and without it is sent to set it up."""

    OPEN = ("/accounts/", "/static/", "/favicon.ico")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is None or not user.is_authenticated or user.is_verified() or request.path.startswith(self.OPEN)
                or not two_factor.needed(user)):
            return self.get_response(request)
        if two_factor.has_device(user):
            return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': request.get_full_path()})}")
        if request.path == reverse("crm:two_factor_setup"):
            return self.get_response(request)
        return redirect("crm:two_factor_setup")


class IdleSessionMiddleware:
    """A signed-in session ends after ``SESSION_COOKIE_AGE`` without a request. Each save pushes the
    session's expiry on; to spare a database write per request, a request saves it only when the last
    save is ``SESSION_REFRESH_SECONDS`` old, so the idle limit holds to within that."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            mark_seen(request.session)
        return self.get_response(request)


def mark_seen(session, *, force: bool = False) -> None:
    now = int(time.time())
    if force or now - session.get(SEEN_AT, 0) >= settings.SESSION_REFRESH_SECONDS:
        session[SEEN_AT] = now  # a change: the session is saved, with a new expiry


def seen_at_sign_in(sender, request, user, **kwargs) -> None:
    mark_seen(request.session, force=True)
