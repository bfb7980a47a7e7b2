import io

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from crm.models import Customer, Tenant, User
from finance.models import Account, Allocation, FinancialTransaction, Lender
from gateways.models import GatewayAccount


def counts():
    with scopes_disabled():
        return {model.__name__: model.objects.count()
                for model in (Tenant, User, Customer, Lender, Account, FinancialTransaction, Allocation,
                              GatewayAccount)}


@pytest.mark.django_db
class TestSeedDemo:
    def test_loads_the_demo_once_however_often_it_runs(self):
        call_command("seed_demo", stdout=io.StringIO())
        first = counts()

        output = io.StringIO()
        call_command("seed_demo", stdout=output)

        assert counts() == first
        # Each tenant's first customer has a procuration fee on its lender's account besides its own.
        assert first == {"Tenant": 2, "User": 4, "Customer": 7, "Lender": 2, "Account": 9, "FinancialTransaction": 19,
                         "Allocation": 6, "GatewayAccount": 2}
        assert "alice / duly-demo-2026" in output.getvalue()
