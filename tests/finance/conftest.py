from datetime import UTC, datetime
from decimal import Decimal

import pytest

from finance import services
from finance.models import Classification, PaymentMethod, RefundMethod, TransactionType
from tests.factories import CustomerFactory

D = Decimal
AT = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def account(ledger, customer):
    return services.open_account(customer=customer, currency="EUR", credit_limit="500.00")


@pytest.fixture
def second_account(ledger):
    return services.open_account(customer=CustomerFactory(tenant=ledger, name="Ivan Ilic"), currency="EUR")


@pytest.fixture
def card(ledger):
    return PaymentMethod.objects.get(tenant=ledger, name="Card")


@pytest.fixture
def card_refund(ledger):
    return RefundMethod.objects.get(tenant=ledger, name="Card refund")


def default_type(tenant, classification=Classification.WRITE_OFF) -> TransactionType:
    """The tenant's default type of ``classification`` (the one ``set_up_ledger`` makes)."""
    return TransactionType.objects.get(tenant=tenant, classification=classification, is_default=True)


@pytest.fixture
def accountant(tenant):
    from crm.models import Role
    from tests.factories import UserFactory

    return UserFactory(tenant=tenant, username="anna", first_name="Anna", last_name="Count",
                       role_keys=[Role.STAFF, Role.ACCOUNTANT])


@pytest.fixture
def accountant_client(accountant):
    from tests.conftest import logged_in

    return logged_in(accountant)
