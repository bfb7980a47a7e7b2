"""Every htmx form of the staff pages shows why it refused: htmx leaves a 4xx answer unswapped unless
told otherwise, and a "422 with the form and its errors" used to leave the page unchanged."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from crm.models import Customer
from finance import services as ledger
from finance.models import Classification
from gateways import services as gateway_services
from tests.browser.test_staff_login import SCREENSHOTS
from tests.factories import PASSWORD, CustomerFactory, UserFactory


@pytest.fixture
def invoice(tenant, live_server):
    with scope(tenant=tenant):
        ledger.set_up_ledger(tenant=tenant)
        customer = CustomerFactory(tenant=tenant, name="Harriet Holloway", email="harriet@example.com",
                                   phone="+447911123456")
        account = ledger.open_account(customer=customer, currency="GBP")
        gateway_services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret="sbx_htmx_1")
        draft = ledger.create_transaction(
            account=account,
            classification=Classification.INVOICE,
            actor=None,
            at=timezone.now(),
            data=ledger.TransactionData(lines=[ledger.LineData("Annual fee", Decimal(1), Decimal("120.00"))]),
        )
        return ledger.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction


@pytest.fixture
def staff_page(page, live_server, tenant):
    user = UserFactory(tenant=tenant, username="alice", role_keys=["staff", "accountant", "can_take_payment"])
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    return page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestHtmxFormsShowTheirErrors:
    def test_request_a_payment_from_the_customer_file_with_no_amount(self, staff_page, live_server, invoice):
        page = staff_page
        page.goto(f"{live_server.url}/customers/{invoice.account.customer_id}/")
        panel = page.locator("#panel-payment-requests")
        panel.get_by_text("Request a payment").click()
        panel.get_by_label("Email").check()
        panel.get_by_role("button", name="Send the request").click()

        expect(panel.locator(".error")).to_contain_text("Enter an amount such as 120.00.")
        expect(panel.get_by_label("Email")).to_be_checked()  # the form comes back as it was left
        page.screenshot(path=SCREENSHOTS / "htmx_request_error.png", full_page=True)

    def test_request_a_payment_from_the_invoice_with_too_much(self, staff_page, live_server, invoice):
        page = staff_page
        page.goto(f"{live_server.url}/finance/transactions/{invoice.pk}/")
        panel = page.locator("#panel-invoice-requests")
        panel.get_by_text("Request a payment").click()
        panel.get_by_label("Amount").fill("500.00")
        panel.get_by_label("Email").check()
        panel.get_by_role("button", name="Send the request").click()

        expect(panel.locator(".error")).to_contain_text("cannot ask for more")

    def test_email_pay_to_a_customer_whose_address_was_removed_meanwhile(self, staff_page, live_server, invoice,
                                                                        tenant):
        page = staff_page
        page.goto(f"{live_server.url}/finance/transactions/{invoice.pk}/")
        panel = page.locator("#panel-email-pay")
        expect(panel.get_by_role("button", name="Send email pay")).to_be_visible()
        with scope(tenant=tenant):
            Customer.objects.filter(pk=invoice.account.customer_id).update(email="")

        panel.get_by_role("button", name="Send email pay").click()

        expect(page.locator("#panel-email-pay [role=alert]")).to_contain_text("has no email address")

    def test_a_message_from_the_customer_file_without_text(self, staff_page, live_server, invoice):
        page = staff_page
        page.goto(f"{live_server.url}/customers/{invoice.account.customer_id}/")
        panel = page.locator("#panel-communicate")
        panel.get_by_role("button", name="Send").click()

        expect(panel.locator(".error").first).to_be_visible()
