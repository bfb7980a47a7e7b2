"""Where tenant scopes are opened: for a Celery task (here) and for a request (``crm.middleware``).

Domain code never reads "the current tenant"; it is handed the tenant. These two doors are the only
places that open a scope, so a query that forgot its tenant raises ``ScopeError`` instead of leaking.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from celery import shared_task
from django_scopes import scope

from crm.models import Tenant


def tenant_task(*, name: str, **options) -> Callable:
    """Declare a Celery task that runs inside one tenant's scope.

    The task is called with ``tenant_id=`` (plus its own keyword arguments); the wrapped function
    receives the loaded ``tenant`` instead.
    """
    options.setdefault("acks_late", True)
    options.setdefault("ignore_result", True)

    def decorator(func: Callable) -> Callable:
        @shared_task(name=name, **options)
        @functools.wraps(func)
        def run(*, tenant_id: int, **kwargs):
            tenant = Tenant.objects.get(pk=tenant_id)
            with scope(tenant=tenant):
                return func(tenant=tenant, **kwargs)

        return run

    return decorator
