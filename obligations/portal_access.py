"""The customer portal's session: which tenant and customer a browser is signed in as, and the decorator
every portal page goes through (obligations' and receivables' alike). Not a view module, so that the
pages of another app can share it."""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from core.l10n import for_customer
from crm.models import Customer, Tenant

SESSION_KEY = "portal"


def public(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


def portal_view(view):
    """A page of the signed-in customer: loads their tenant and customer from the session and opens the
    tenant's scope; without a current portal session, a page saying how to sign in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        held = request.session.get(SESSION_KEY) or {}
        try:
            until = datetime.fromisoformat(held["until"])
            tenant = Tenant.objects.get(pk=held["tenant"])
        except (KeyError, ValueError, TypeError, Tenant.DoesNotExist):
            until, tenant = None, None
        if tenant is None or until <= timezone.now():
            request.session.pop(SESSION_KEY, None)
            return public(render(request, "obligations/portal_message.html", {
                "message": _("You are not signed in. Use the sign-in link we emailed you, or ask for a new one.")},
                status=403))
        with scope(tenant=tenant):
            customer = Customer.objects.select_related("tenant").get(tenant=tenant, pk=held["customer"])
            with for_customer(customer):
                return public(view(request, customer, *args, **kwargs))

    return wrapped
