"""An accountant refunds part of a card payment from the payment's page, in Chromium. The payment is made
on the Sandbox provider, served by the live server, whose refunds API takes the refund."""

from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from crm.models import Role
from finance import services as ledger_services
from finance.models import Account, Classification, FinancialTransaction
from gateways import services as gateway_services
from gateways.base import CheckoutMode
from payments.models import GatewayRefund, RefundStatus
from payments.services.gateway_payments import refresh_payment, start_payment
from sandbox.models import SandboxRefund
from tests.factories import PASSWORD, UserFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_accountant_refunds_part_of_a_payment_from_its_page(live_server, settings, page, tenant, customer):
    settings.DULY_SITE_URL = live_server.url
    settings.GATEWAY_BASE_URLS = {"sandbox": live_server.url}
    httpx.get(f"{live_server.url}/accounts/login/", timeout=60).raise_for_status()  # warm the URL conf
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        sandbox = gateway_services.save_gateway_account(tenant=tenant, provider="sandbox", live=False,
                                                        secret="sbx_browser_refund")
        gbp = ledger_services.open_account(customer=customer, currency="GBP")
        payment = start_payment(
            gateway_account=sandbox, account=gbp, amount=Decimal("120.00"), description="Broker fee",
            mode=CheckoutMode.HOSTED_PAGE, return_url=f"{live_server.url}/accounts/login/",
            webhook_url="", at=timezone.now()).payment
    accountant = UserFactory(tenant=tenant, username="anna", first_name="Anna", last_name="Accountant",
                             role_keys=[Role.STAFF, Role.ACCOUNTANT])

    # The customer pays on the sandbox's hosted page; the payment is settled by asking the provider.
    page.goto(payment.redirect_url)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Harriet Holloway")
    page.get_by_role("button", name="Pay 120.00 GBP").click()
    expect(page.get_by_label("Username")).to_be_visible()
    with scope(tenant=tenant):
        payment = refresh_payment(payment=payment, at=timezone.now()).payment
    assert payment.status == "succeeded"

    page.get_by_label("Username").fill(accountant.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/payments/{payment.pk}/")
    refunds = page.locator("#refunds")
    expect(refunds.get_by_text("120.00 GBP of 120.00 GBP is left to refund.")).to_be_visible()
    amount = refunds.get_by_label("Amount to refund (GBP)")
    expect(amount).to_have_value("120.00")

    amount.fill("500")
    refunds.get_by_role("button", name="Refund").click()
    expect(page.locator("#refunds").get_by_text("Amount: At most £120.00 can still be refunded.")).to_be_visible()

    page.locator("#refunds").get_by_label("Amount to refund (GBP)").fill("20.00")
    page.locator("#refunds").get_by_role("button", name="Refund").click()

    with scopes_disabled():
        refund = GatewayRefund.objects.get()
        ledger_refund = FinancialTransaction.objects.get(classification=Classification.REFUND)
        provider_side = SandboxRefund.objects.get()
    expect(page.get_by_role("status")).to_contain_text(
        f"20.00 GBP is refunded ({provider_side.id}) and booked as {ledger_refund.number}.")
    row = page.locator("#refund-list tbody tr")
    expect(row).to_have_count(1)
    for text in ("20.00 GBP", "Succeeded", "Anna Accountant", provider_side.id, ledger_refund.number):
        expect(row).to_contain_text(text)
    expect(page.get_by_text("100.00 GBP of 120.00 GBP is left to refund.")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "payment_refund_1280.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # nothing overflows sideways
    assert (refund.status, refund.amount, provider_side.amount_minor) == (RefundStatus.SUCCEEDED, Decimal("20.00"),
                                                                        2000)
    with scopes_disabled():
        assert Account.objects.get(pk=gbp.pk).balance == Decimal("-100.00")
