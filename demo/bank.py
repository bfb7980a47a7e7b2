"""The demo's bank: a current account with the CSV layout of its bank, and one day's statement imported and
booked, so that the Bank pages show matched transfers, a suggestion, money on suspense and a bank fee."""

from __future__ import annotations

from django.utils import timezone

from banking.models import BankAccount
from banking.services.imports import Upload, import_statement
from banking.services.matching import book_waiting
from core.clock import tenant_today
from crm.models import Customer, Tenant
from finance.models import Classification, FinancialTransaction

CSV_MAPPING = {"columns": {"date": "Date", "amount": "Amount", "reference": "Reference", "name": "Payer",
                           "remittance": "Details"}, "delimiter": ",", "decimal": ".", "date_format": "%Y-%m-%d"}
IBANS = {"GBP": "GB33BUKB20201555555555", "EUR": "IE29AIBK93115212345678"}  # a bank in Panama has no IBAN


def seed_bank(*, tenant: Tenant, customers: list[Customer]) -> None:
    """Idempotent: the account is made once, and the statement's lines are imported once (their references)."""
    iban = IBANS.get(tenant.default_currency)
    if iban is None:
        return
    bank_account = BankAccount.objects.filter(tenant=tenant, iban=iban).first() or BankAccount.objects.create(
        tenant=tenant, name="Current account", iban=iban, currency=tenant.default_currency, csv_mapping=CSV_MAPPING,
        pays_refunds=tenant.default_currency == "EUR", created_at=timezone.now())
    day = tenant_today(tenant)
    rows = ["Date,Amount,Reference,Payer,Details"]
    open_invoices = FinancialTransaction.objects.filter(
        tenant=tenant, classification=Classification.INVOICE, state="posted", open_amount__gt=0,
        currency=tenant.default_currency, account__customer__in=customers,
    ).select_related("account__customer").order_by("due_on", "id")[:2]
    for n, invoice in enumerate(open_invoices, start=1):
        rows.append(f"{day},{invoice.open_amount},DEMO-{n},{invoice.account.customer.name},"
                    f"Invoice {invoice.number}")
    if len(customers) > 1:
        rows.append(f"{day},25.00,DEMO-3,{customers[1].name},Thanks")
    rows.append(f"{day},60.00,DEMO-4,A. N. Other,Gift")
    rows.append(f"{day},-4.50,DEMO-5,Bank,Monthly account fee")
    record = import_statement(tenant=tenant, upload=Upload(data="\n".join(rows).encode(), file_name="statement.csv"),
                              bank_account=bank_account, actor=None, at=timezone.now())
    book_waiting(tenant=tenant, statement_import=record, at=timezone.now())
