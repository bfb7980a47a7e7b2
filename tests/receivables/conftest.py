from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from finance.models import Classification, FeePayer, TransactionType
from receivables.services.levels import LevelData, save_level
from tests.factories import AccountFactory, InvoiceFactory


def invoice_due(account, due_on: date, price="100.00"):
    """A posted invoice due on ``due_on``: posted 30 days before (the ledger's rule), at 10:00."""
    return InvoiceFactory(account=account, price=price,
                          at=datetime.combine(due_on - timedelta(days=30), time(10), tzinfo=UTC))


@pytest.fixture
def fee_type(ledger):
    return TransactionType.objects.create(tenant=ledger, name="Late fee", classification=Classification.INVOICE,
                                          fee_payer=FeePayer.CUSTOMER)


@pytest.fixture
def levels(ledger, fee_type):
    """The issue's example: a friendly reminder 3 days before due, notices 7, 21 and 35 days after; the
    first notice charges a £10 late fee and the final goes by SMS as well."""
    return [
        save_level(tenant=ledger, data=LevelData(name="Friendly reminder", days=-3)),
        save_level(tenant=ledger, data=LevelData(name="First notice", days=7, fee_amount=Decimal("10.00"),
                                                 fee_type=fee_type)),
        save_level(tenant=ledger, data=LevelData(name="Second notice", days=21)),
        save_level(tenant=ledger, data=LevelData(name="Final notice", days=35, sms=True)),
    ]


@pytest.fixture
def account(ledger, customer):
    return AccountFactory(customer=customer)
