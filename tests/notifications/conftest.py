import socket
from datetime import UTC, datetime

import pytest
from django_scopes import scope

from crm.models import Role
from tests.factories import UserFactory

# A Wednesday, 10:00 in London: inside the default sending hours.
AT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def at():
    return AT


@pytest.fixture
def manager(tenant):
    return UserFactory(tenant=tenant, username="mona", first_name="Mona", last_name="Manager",
                       role_keys=[Role.MANAGER])


@pytest.fixture
def colleague(tenant):
    return UserFactory(tenant=tenant, username="carl", first_name="Carl", last_name="Colleague")


@pytest.fixture
def other_scope(other_tenant):
    with scope(tenant=other_tenant):
        yield other_tenant


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable_smtp(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 2}}}
