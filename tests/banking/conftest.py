from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from banking.models import BankAccount
from banking.services.imports import Upload, import_statement
from banking.services.matching import book_waiting
from finance import services as ledger
from tests.factories import CustomerFactory, InvoiceFactory

SAMPLES = Path(__file__).parent / "samples"
AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
IBAN = "DE89370400440532013000"
CSV_MAPPING = {
    "columns": {"date": "Buchungstag", "amount": "Betrag", "currency": "Waehrung", "reference": "Referenz",
                "name": "Name", "iban": "IBAN", "remittance": "Verwendungszweck"},
    "delimiter": ";", "decimal": ",", "date_format": "%d.%m.%Y",
}


def sample(name: str) -> Upload:
    return Upload(data=(SAMPLES / name).read_bytes(), file_name=name)


@pytest.fixture
def bank_account(ledger):
    return BankAccount.objects.create(tenant=ledger, name="Main account", iban=IBAN, currency="EUR",
                                      csv_mapping=CSV_MAPPING, created_at=AT)


@pytest.fixture
def books(ledger):
    """Anna owes INV-000001 (150.00); Bruno owes INV-000002 (80.00); both in EUR."""
    anna = CustomerFactory(tenant=ledger, name="Anna Lopez", iban="DE44500105175407324931")
    bruno = CustomerFactory(tenant=ledger, name="Bruno Weber")
    anna_account = ledger_account(anna)
    bruno_account = ledger_account(bruno)
    first = InvoiceFactory(account=anna_account, price="150.00")
    second = InvoiceFactory(account=bruno_account, price="80.00")
    assert (first.number, second.number) == ("INV-000001", "INV-000002")
    return {"anna": anna_account, "bruno": bruno_account, "first": first, "second": second}


def ledger_account(customer):
    return ledger.open_account(customer=customer, currency="EUR")


def run_import(tenant, upload: Upload, bank_account=None, at=AT):
    """Import and book, as the worker would after the commit."""
    record = import_statement(tenant=tenant, upload=upload, bank_account=bank_account, actor=None, at=at)
    book_waiting(tenant=tenant, statement_import=record, at=at)
    return record


D = Decimal
