"""Records made by the API, the admin, imports and tasks have no staff member behind them: every
``created_by``/``actor``-like column is empty. Every staff page of the site must still render them.

The world's rows are stripped of every nullable reference to a user (found by walking the models, so
a new one is covered), then every staff page the URL walker knows is fetched by the tenant's staff.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from crm.models import User
from tests.conftest import logged_in
from tests.security.test_url_walker import ROUTES, admin_url, family, walk
from tests.security.world import build_world

APPS = ("crm", "finance", "payments", "paylinks", "obligations", "reports", "gateways", "notifications")


def _user_columns() -> list[tuple[type, str]]:
    return [(model, field.name) for model in apps.get_models() for field in model._meta.get_fields()
            if field.many_to_one and field.concrete and field.null and field.related_model is User
            and model._meta.app_label in APPS]


def test_the_models_have_records_without_a_user():
    names = {f"{model._meta.label}.{name}" for model, name in _user_columns()}

    assert "paylinks.PaymentRequest.created_by" in names


@pytest.mark.django_db
def test_every_staff_page_and_admin_list_renders_records_made_without_a_user(tenant, settings, support_client):
    settings.DULY_DEV_TOOLS = True
    world = build_world(tenant)
    emptied = 0
    with scopes_disabled():
        for model, name in _user_columns():
            try:
                with transaction.atomic():
                    emptied += model._base_manager.filter(**{f"{name}__isnull": False}).update(**{name: None})
            except IntegrityError:  # a check constraint wants the user (an in-app message's recipient)
                pass
    assert emptied >= 3
    owner: Client = logged_in(world.staff)
    owner.raise_request_exception = False
    failures, walked = [], 0
    for route in walk():
        kind = ROUTES.get(route.key)
        if family(route) != "site" or kind is None or kind.kind not in ("staff", "own") or not route.name:
            continue
        url = reverse(route.name, kwargs=kind.kwargs(world))
        response = owner.get(url)
        walked += 1
        if response.status_code not in (200, 302, 405):  # 405: a GET of a page that only takes a POST
            failures.append(f"{url} → {response.status_code}")
    support_client.raise_request_exception = False
    for route in walk():
        if family(route) == "admin" and route.name and route.name.endswith("_changelist"):
            walked += 1
            url = admin_url(route, {})
            if (status := support_client.get(url).status_code) != 200:
                failures.append(f"{url} → {status}")

    assert walked > 40
    assert failures == []
