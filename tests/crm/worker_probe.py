"""A task that reports what it can see, to prove the tenant task wrapper on a real worker.

The worker started by the ``celery_worker`` fixture loads this module with ``--include``.
"""

from django.core.cache import cache

from crm.models import Customer
from crm.scoping import tenant_task


@tenant_task(name="tests.scope_probe")
def scope_probe(*, tenant, key: str) -> None:
    cache.set(key, {"tenant": tenant.slug, "customers": sorted(Customer.objects.values_list("name", flat=True))}, 60)
