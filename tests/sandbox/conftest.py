"""The sandbox provider's accounts for two tenants, for the adapter's and the server's tests."""

import pytest
from django_scopes import scope

from gateways import services

SECRET = "sbx_secret_acme_1"
OTHER_SECRET = "sbx_secret_globex_2"


@pytest.fixture
def account(tenant):
    with scope(tenant=tenant):
        return services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret=SECRET)


@pytest.fixture
def other_account(other_tenant):
    with scope(tenant=other_tenant):
        return services.save_gateway_account(tenant=other_tenant, provider="sandbox", live=False,
                                             secret=OTHER_SECRET)
