"""A clerk imports the bank's statement in Chromium, the worker books it, and the clerk places what the matching
could not: confirms a suggestion and moves a payment off the suspense account (seed 004, scenario 3)."""

from pathlib import Path

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from banking.models import BankAccount, LineState, StatementLine
from crm.models import Role
from finance import services as ledger
from tests.browser.accessibility import accessibility_problems
from tests.factories import CustomerFactory, InvoiceFactory, UserFactory
from tests.helpers import log_in, wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SAMPLE = Path(__file__).resolve().parents[1] / "banking" / "samples" / "camt053.xml"


def booked(tenant):
    with scopes_disabled():
        lines = StatementLine.objects.filter(tenant=tenant)
        return lines.count() == 4 and not lines.filter(state=LineState.NEW).exists()


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_clerk_imports_a_statement_and_reconciles_it(celery_worker, live_server, page, tenant):
    with scope(tenant=tenant):
        ledger.set_up_ledger(tenant=tenant)
        BankAccount.objects.create(tenant=tenant, name="Main account", iban="DE89370400440532013000",
                                   currency="EUR", created_at=tenant.created_at)
        anna = ledger.open_account(customer=CustomerFactory(tenant=tenant, name="Anna Lopez"), currency="EUR")
        bruno = ledger.open_account(customer=CustomerFactory(tenant=tenant, name="Bruno Weber"), currency="EUR")
        InvoiceFactory(account=anna, price="150.00")
        InvoiceFactory(account=bruno, price="80.00")
    clerk = UserFactory(tenant=tenant, username="clara", first_name="Clara", last_name="Clerk",
                        role_keys=[Role.STAFF, Role.ACCOUNTANT])
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    log_in(page, live_server, clerk)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Bank").click()
    page.get_by_role("link", name="Import a statement").click()
    page.get_by_label("Statement file").set_input_files(SAMPLE)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("4 new of 4 in the file")).to_be_visible()

    wait_for(lambda: booked(tenant), what="the worker books the statement's lines")
    page.reload()
    expect(page.get_by_text("lines are being booked")).to_have_count(0)
    page.screenshot(path=SCREENSHOTS / "bank_import_detail.png", full_page=True)

    page.get_by_role("link", name="Reconciliation").click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Bruno Weber · INV-000002")
    expect(rows.first).to_contain_text("70 % sure")
    page.screenshot(path=SCREENSHOTS / "bank_reconciliation.png", full_page=True)
    problems += accessibility_problems(page, "reconciliation")

    rows.first.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("Booked on Bruno Weber")
    expect(page.locator("table.list tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Decide").click()
    page.get_by_label("Customer's name").fill("anna")
    page.get_by_role("button", name="Search").click()
    page.screenshot(path=SCREENSHOTS / "bank_line_detail.png", full_page=True)
    page.get_by_role("button", name="Move here").click()
    expect(page.get_by_text("Nothing to decide: every bank credit is on its account.")).to_be_visible()

    with scopes_disabled():
        states = dict(StatementLine.objects.filter(tenant=tenant).values_list("bank_reference", "state"))
        anna = type(anna).objects.get(pk=anna.pk)
    assert states == {"BANKREF0001": LineState.MATCHED, "BANKREF0002": LineState.MATCHED,
                      "BANKREF0003": LineState.MATCHED, "BANKREF0004": LineState.DEBIT}
    assert anna.balance == -42  # INV-000001 paid by its transfer; the 42.00 moved here is in her favour
    assert problems == []
