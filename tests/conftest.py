from urllib.parse import quote

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_scopes import scope, scopes_disabled

from crm import services, two_factor
from tests.factories import CustomerFactory, SupportUserFactory, TenantFactory, UserFactory
from tests.helpers import every_queue


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme Brokers", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Globex Motors", slug="globex", country="IE", default_currency="EUR")


@pytest.fixture
def staff(tenant):
    return UserFactory(tenant=tenant, username="alice")


@pytest.fixture
def other_staff(other_tenant):
    return UserFactory(tenant=other_tenant, username="olga")


@pytest.fixture
def support_user(db):
    return SupportUserFactory(username="support")


def logged_in(user) -> Client:
    """A client signed in as ``user``, past the second factor when the user needs one (platform support
    always does): the sign-in pages themselves are tested through their forms."""
    client = Client()
    with scopes_disabled():  # a login happens before any tenant scope, whatever fixture is open
        client.force_login(user)
        if two_factor.needed(user):
            device = TOTPDevice.objects.create(user=user, name="test app", confirmed=True)
            type(user).objects.filter(pk=user.pk).update(two_factor=True)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
    return client


@pytest.fixture
def staff_client(staff):
    return logged_in(staff)


@pytest.fixture
def other_client(other_staff):
    return logged_in(other_staff)


@pytest.fixture
def support_client(support_user):
    return logged_in(support_user)


@pytest.fixture
def in_tenant(tenant):
    """Run the test body inside the tenant's scope, as a request would."""
    with scope(tenant=tenant):
        yield tenant


@pytest.fixture
def ledger(tenant):
    """The tenant's scope with its ledger set up (FIFO, 30-day due dates), as every tenant has from its creation."""
    from finance.services.setup import set_up_ledger

    with scope(tenant=tenant):
        set_up_ledger(tenant=tenant)
        yield tenant


@pytest.fixture
def unscoped(db):
    with scopes_disabled():
        yield


@pytest.fixture
def customer(tenant):
    return CustomerFactory(tenant=tenant, name="Harriet Holloway", email="harriet@example.com")


@pytest.fixture
def other_customer(other_tenant):
    return CustomerFactory(tenant=other_tenant, name="Oscar Other", email="oscar@example.com", country="IE")


def api_client_for(tenant, name="integration") -> Client:
    with scope(tenant=tenant):  # the key is the tenant's row, whatever fixture scope is open
        _, raw_key = services.create_api_key(tenant=tenant, name=name)
    return Client(headers={"Authorization": f"Bearer {raw_key}"})


@pytest.fixture
def api_client(tenant):
    return api_client_for(tenant)


@pytest.fixture
def other_api_client(other_tenant):
    return api_client_for(other_tenant)


def start_worker(queues: list[str]):
    """A real Celery worker process on the test database, taking ``queues``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    url = f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@{quote(db['HOST'] or '', safe='')}" \
          f"{':' + str(db['PORT']) if db['PORT'] else ''}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL, "DULY_ENV": "test"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
         "--include=tests.crm.worker_probe", "-Q", ",".join(queues), "--without-gossip",
         "--without-mingle", "--loglevel=WARNING"],
        cwd=Path(__file__).resolve().parent.parent, env=env,
    )


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker process on the test database and every test queue, stopped after the test."""
    worker = start_worker(every_queue())
    yield worker
    worker.terminate()
    worker.wait(timeout=30)
