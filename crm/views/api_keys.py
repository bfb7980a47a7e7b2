"""The Settings area's API keys, for the tenant's administrators: which integrations reach which parts of
Duly, until when; a new key is shown once; a revoked or expired one is refused at once."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.posted import show_errors
from crm import services
from crm.access import require_administrator, staff_view
from crm.forms import ApiKeyForm
from crm.models import API_ACCESS, API_AREAS, ApiKey, scope_names
from crm.staff import audit


def _end_of(day) -> datetime:
    """The moment ``day`` ends where the tenant is (the page runs in the tenant's zone)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=timezone.get_current_timezone())


@staff_view
def api_key_list(request):
    require_administrator(request)
    keys = ApiKey.objects.filter(tenant=request.tenant).order_by("revoked_at", "-created_at")
    now = timezone.now()
    return render(request, "crm/api_key_list.html", {"keys": [
        (key, key.works_at(now), scope_names(key.scopes))
        for key in keys]})


@staff_view
def api_key_create(request):
    require_administrator(request)
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data, now = form.cleaned_data, timezone.now()
        expires_at = _end_of(data["expires_on"]) if data["expires_on"] else None
        try:
            api_key, raw_key = services.create_api_key(tenant=request.tenant, name=data["name"],
                                                       scopes=data["scopes"], expires_at=expires_at, at=now)
        except ValidationError as error:
            show_errors(form, error, renamed={"expires_at": "expires_on"})
        else:
            audit(tenant=request.tenant, actor=request.user, at=now, action="api_key.created",
                  subject=f"{api_key.name} ({api_key.prefix}…)", detail=", ".join(api_key.scopes))
            return render(request, "crm/api_key_created.html", {
                "api_key": api_key, "raw_key": raw_key, "scopes": scope_names(api_key.scopes)}, status=201)
    chosen = set(form["scopes"].value() or [])
    grid = [(area, name, [(f"{area}:{access}", label, f"{area}:{access}" in chosen)
                          for access, label in API_ACCESS.items()]) for area, name in API_AREAS.items()]
    return render(request, "crm/api_key_form.html", {"form": form, "grid": grid},
                  status=422 if form.errors else 200)


@require_POST
@staff_view
def api_key_revoke(request, key_id: int):
    require_administrator(request)
    api_key = ApiKey.objects.filter(tenant=request.tenant, pk=key_id).first()
    if api_key is None:
        raise Http404(_("No such API key."))
    now = timezone.now()
    services.revoke_api_key(api_key=api_key, at=now)
    audit(tenant=request.tenant, actor=request.user, at=now, action="api_key.revoked",
          subject=f"{api_key.name} ({api_key.prefix}…)")
    messages.success(request, _("The key “%(name)s” is revoked: requests with it are refused.") % {
        "name": api_key.name})
    return redirect("crm:api_key_list")
