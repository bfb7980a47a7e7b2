import uuid

import pytest
from django.core.cache import cache

from tests.crm.worker_probe import scope_probe
from tests.factories import CustomerFactory
from tests.helpers import wait_for


@pytest.mark.django_db
class TestTenantTask:
    def test_runs_the_body_inside_the_tenants_scope(self, tenant, other_tenant):
        CustomerFactory(tenant=tenant, name="Mine")
        CustomerFactory(tenant=other_tenant, name="Theirs")
        key = f"probe-{uuid.uuid4()}"

        scope_probe.apply(kwargs={"tenant_id": tenant.pk, "key": key})

        assert cache.get(key) == {"tenant": "acme", "customers": ["Mine"]}

    def test_is_declared_with_a_stable_name_and_late_acknowledgement(self):
        assert scope_probe.name == "tests.scope_probe"
        assert scope_probe.acks_late is True
        assert scope_probe.ignore_result is True


@pytest.mark.worker
class TestTenantTaskOnARealWorker:
    def test_a_worker_process_runs_the_task_in_its_tenants_scope(self, celery_worker, tenant, other_tenant):
        CustomerFactory(tenant=tenant, name="Mine")
        CustomerFactory(tenant=other_tenant, name="Theirs")
        key = f"probe-{uuid.uuid4()}"

        scope_probe.delay(tenant_id=other_tenant.pk, key=key)

        assert wait_for(lambda: cache.get(key)) == {"tenant": "globex", "customers": ["Theirs"]}
