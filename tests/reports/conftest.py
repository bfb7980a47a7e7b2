"""A month of ledger activity with every kind of correction, whose report figures are worked out
by hand in the tests.

Acme (Europe/London). Harriet has an EUR and a USD account, Ivan an EUR account. All times 10:00 UTC.

* 2026-03-01 Ivan INV 70.00 (no tax), due 03-31 — never paid.
* 05-02 INV-a 80.00 (no tax), due 06-01.
* 05-05 INV-b 2 × 100.00 "Consulting", 10 % discount, 20 % tax: net 200, discount 20, tax 36, total 216.
* 05-10 INV-c 50.00 + 20 % tax = 60.00, cancelled on 05-15 (IC 60.00).
* 05-12 CN 30.00 + 20 % tax = 36.00 → FIFO to INV-a (open 44).
* 05-18 PAY card 100.00 → INV-a 44 (settled), INV-b 56 (open 160).
* 05-20 INV-d 120.00 (no tax), due 06-19; USD INV 40.00 (no tax), due 06-19.
* 05-25 INV-b written off: WO 160.00 (tax included at 20 %: 26.67), and an invoice of 160.00 on the
  write-off account.
* 05-26 PAY cash 25.00 → INV-d; cancelled 05-27 (PC 25.00), INV-d open 120 again.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from finance import services
from finance.models import Classification, PaymentMethod, Product, TaxRate
from tests.factories import CustomerFactory
from tests.finance.conftest import default_type

D = Decimal


def at(month, day, hour=10):
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def line(price, *, quantity="1", description="Service", **kwargs):
    return services.LineData(description=description, quantity=D(quantity), unit_price=D(price), **kwargs)


def post(account, classification, when, **values):
    draft = services.create_transaction(account=account, classification=classification, actor=None, at=when,
                                        data=services.TransactionData(**values))
    return services.post_transaction(txn=draft, actor=None, at=when).transaction


@pytest.fixture
def book(ledger, customer):
    """The month described above; returns the documents by name."""
    tenant = ledger
    standard = TaxRate.objects.get(tenant=tenant, name="Standard")
    zero = TaxRate.objects.get(tenant=tenant, name="Zero")
    consulting = Product.objects.create(tenant=tenant, code="CONS", name="Consulting", default_tax_rate=standard)
    card = PaymentMethod.objects.get(tenant=tenant, name="Card")
    cash = PaymentMethod.objects.get(tenant=tenant, name="Cash")
    eur = services.open_account(customer=customer, currency="EUR")
    usd = services.open_account(customer=customer, currency="USD")
    ivan = services.open_account(customer=CustomerFactory(tenant=tenant, name="Ivan Ilic"), currency="EUR")
    invoice = Classification.INVOICE
    docs = {"eur": eur, "usd": usd, "ivan": ivan}
    docs["inv_old"] = post(ivan, invoice, at(3, 1), lines=[line("70.00", tax_rate=zero)])
    docs["inv_a"] = post(eur, invoice, at(5, 2), lines=[line("80.00", tax_rate=zero)])
    docs["inv_b"] = post(eur, invoice, at(5, 5), lines=[
        line("100.00", quantity="2", description="Consulting", product=consulting, discount_percent=D("10"))])
    docs["inv_c"] = post(eur, invoice, at(5, 10), lines=[line("50.00", tax_rate=standard)])
    docs["cn"] = post(eur, Classification.CREDIT_NOTE, at(5, 12), lines=[line("30.00", tax_rate=standard)])
    docs["ic"] = services.cancel_invoice(invoice=docs["inv_c"], actor=None, at=at(5, 15))
    docs["pay"] = post(eur, Classification.PAYMENT, at(5, 18), amount=D("100.00"), payment_method=card)
    docs["inv_d"] = post(eur, invoice, at(5, 20), lines=[line("120.00", tax_rate=zero)])
    docs["inv_usd"] = post(usd, invoice, at(5, 20), lines=[line("40.00", tax_rate=zero)])
    docs["wo"], docs["wo_invoice"] = services.write_off_invoice(invoice=docs["inv_b"], actor=None, at=at(5, 25),
                                                                type=default_type(ledger))
    docs["pay_cash"] = post(eur, Classification.PAYMENT, at(5, 26), amount=D("25.00"), payment_method=cash)
    docs["pc"] = services.cancel_payment(payment=docs["pay_cash"], actor=None, at=at(5, 27))
    return docs


@pytest.fixture
def accountant(tenant):
    from crm.models import Role
    from tests.factories import UserFactory

    return UserFactory(tenant=tenant, username="anna", role_keys=[Role.STAFF, Role.ACCOUNTANT])
