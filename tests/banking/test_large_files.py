"""A statement of a thousand lines, and two files that overlap."""

from datetime import date, timedelta

import pytest
from django.db.models import Count

from banking.models import LineState, StatementLine
from banking.services.imports import Upload
from finance.models import Classification, FinancialTransaction
from tests.banking.camt import Entry, statement
from tests.banking.conftest import IBAN, D, ledger_account, run_import
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def test_a_thousand_line_camt053_books_every_line_once(ledger, bank_account):
    account = ledger_account(CustomerFactory(tenant=ledger, name="Many Invoices Ltd"))
    invoices = [InvoiceFactory(account=account, price="10.00") for _ in range(20)]
    entries = [
        Entry(reference=f"BULK-{n:04d}", amount=D("10.00"), booked_on=date(2026, 12, 1) + timedelta(days=n % 3),
              remittance=f"Invoice {invoices[n].number}" if n < 20 else f"unknown payer {n}",
              payer=f"Payer {n}")
        for n in range(1000)
    ]

    record = run_import(ledger, Upload(data=statement(IBAN, entries), file_name="bulk.xml"))

    assert (record.lines_in_file, record.lines_added) == (1000, 1000)
    states = dict(StatementLine.objects.filter(tenant=ledger).values_list("state").annotate(n=Count("id")))
    # 20 name an invoice; the other 980 name nothing and no open invoice is left: plain suspense.
    assert states == {LineState.MATCHED: 20, LineState.SUSPENSE: 980}
    assert FinancialTransaction.objects.filter(tenant=ledger, classification=Classification.PAYMENT).count() == 1000
    assert all(invoice.__class__.objects.get(pk=invoice.pk).open_amount == 0 for invoice in invoices)


def test_duplicates_across_two_files_are_imported_once(ledger, bank_account):
    first = [Entry(reference=f"DUP-{n}", amount=D("5.00"), booked_on=date(2026, 12, 1)) for n in range(0, 60)]
    second = [Entry(reference=f"DUP-{n}", amount=D("5.00"), booked_on=date(2026, 12, 1)) for n in range(40, 100)]

    one = run_import(ledger, Upload(data=statement(IBAN, first), file_name="one.xml"))
    two = run_import(ledger, Upload(data=statement(IBAN, second), file_name="two.xml"))

    assert (one.lines_added, two.lines_added) == (60, 40)
    assert StatementLine.objects.filter(tenant=ledger).count() == 100
    assert FinancialTransaction.objects.filter(tenant=ledger, classification=Classification.PAYMENT).count() == 100
