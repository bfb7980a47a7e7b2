import io

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from crm.models import Customer, Tenant, User
from finance.models import Account, Allocation, FinancialTransaction
from gateways.models import GatewayAccount


def counts():
    with scopes_disabled():
        return {model.__name__: model.objects.count()
                for model in (Tenant, User, Customer, Account, FinancialTransaction, Allocation, GatewayAccount)}


@pytest.mark.django_db
class TestSeedDemo:
    def test_loads_the_demo_once_however_often_it_runs(self):
        call_command("seed_demo", stdout=io.StringIO())
        first = counts()

        output = io.StringIO()
        call_command("seed_demo", stdout=output)

        assert counts() == first
        assert first == {"Tenant": 2, "User": 4, "Customer": 7, "Account": 7, "FinancialTransaction": 17,
                         "Allocation": 6, "GatewayAccount": 2}
        assert "alice / duly-demo-2026" in output.getvalue()
