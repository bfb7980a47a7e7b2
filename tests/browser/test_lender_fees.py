"""A fee due from a lender on the customer file, in Chromium: shown as due from the lender, with no Take
Payment, and outside the customer's balance."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from finance import services as ledger
from finance.models import Classification, Lender, TransactionType
from tests.browser.test_staff_login import SCREENSHOTS
from tests.factories import PASSWORD, CustomerFactory, UserFactory


def post_fee(account, name, price, lender=None):
    kind = TransactionType.objects.get(tenant=account.tenant, classification=Classification.INVOICE, name=name)
    draft = ledger.create_transaction(
        account=account,
        classification=Classification.INVOICE,
        actor=None,
        at=timezone.now(),
        lender=lender,
        data=ledger.TransactionData(type=kind, lines=[ledger.LineData(name, Decimal(1), Decimal(price))]),
    )
    return ledger.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_customer_file_shows_a_lenders_fee_as_due_from_the_lender(live_server, page, tenant):
    cashier = UserFactory(tenant=tenant, username="carla", role_keys=["staff", "can_take_payment"])
    with scope(tenant=tenant):
        ledger.set_up_ledger(tenant=tenant)
        customer = CustomerFactory(tenant=tenant, name="Harriet Holloway")
        account = ledger.open_account(customer=customer, currency="GBP")
        lender = Lender.objects.create(tenant=tenant, name="Northbank Mortgages")
        broker = post_fee(account, "Broker fee", "150.00")
        procuration = post_fee(account, "Procuration fee", "420.00", lender=lender)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(cashier.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/customers/{customer.pk}/")

    fees = page.locator("#panel-fees")
    lender_row = fees.locator("tr", has_text=f"Procuration fee {procuration.number}")
    broker_row = fees.locator("tr", has_text=f"Broker fee {broker.number}")
    expect(lender_row).to_contain_text("Due from Northbank Mortgages")
    expect(lender_row.get_by_role("link", name="Take Payment")).to_have_count(0)
    expect(broker_row.get_by_role("link", name="Take Payment")).to_have_count(1)
    expect(page.locator("#panel-finance")).to_contain_text("150.00")
    expect(page.locator("#panel-finance")).not_to_contain_text("420.00")
    page.screenshot(path=SCREENSHOTS / "customer_lender_fee.png", full_page=True)
