"""Take Payment in Chromium, on the sandbox gateway: success, decline, and processing then success.
The page follows the payment by itself (htmx) and the ledger is checked, not only the page."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from finance import services as ledger
from finance.models import Classification, FinancialTransaction, TransactionType
from gateways import services as gateway_services
from notifications.models import Notification
from payments.models import GatewayPayment, PaymentStatus
from tests.browser.test_staff_login import SCREENSHOTS
from tests.factories import PASSWORD, CustomerFactory, UserFactory
from tests.helpers import wait_for


@pytest.fixture
def fee(tenant, settings, live_server):
    settings.GATEWAY_BASE_URLS = {"sandbox": live_server.url}
    settings.DULY_SITE_URL = live_server.url
    with scope(tenant=tenant):
        ledger.set_up_ledger(tenant=tenant)
        customer = CustomerFactory(tenant=tenant, name="Harriet Holloway")
        account = ledger.open_account(customer=customer, currency="GBP")
        gateway_services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret="sbx_take_1")
        kind = TransactionType.objects.get(tenant=tenant, name="Broker fee")
        draft = ledger.create_transaction(
            account=account,
            classification=Classification.INVOICE,
            actor=None,
            at=timezone.now(),
            data=ledger.TransactionData(
                type=kind, lines=[ledger.LineData("Broker fee", Decimal(1), Decimal("150.00"))]
            ),
        )
        return ledger.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction


@pytest.fixture
def cashier(tenant):
    return UserFactory(tenant=tenant, username="carla", role_keys=["staff", "can_take_payment"])


def take_payment_with(page, live_server, cashier, fee, card):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(cashier.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/customers/{fee.account.customer_id}/")
    page.locator("#panel-fees").get_by_role("link", name="Take Payment").click()
    page.get_by_role("button", name="Take 150.00 GBP by card").click()
    fields = page.frame_locator("#sandbox-card-fields")
    fields.get_by_label("Card number").fill(card)
    fields.get_by_label("Expiry (MM/YY)").fill("12/30")
    fields.get_by_label("CVC").fill("123")
    fields.get_by_label("Name on card").fill("Harriet Holloway")
    fields.get_by_role("button", name="Pay").click()


def ledger_payments(tenant):
    with scope(tenant=tenant):
        return list(FinancialTransaction.objects.filter(classification=Classification.PAYMENT))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestTakePayment:
    def test_a_successful_card_books_the_fee_and_tells_the_cashier(self, live_server, page, tenant, fee, cashier,
                                                                    celery_worker):
        take_payment_with(page, live_server, cashier, fee, "4242 4242 4242 4242")

        expect(page.locator("#payment-status-poll")).to_contain_text("Payment succeeded: 150.00 GBP", timeout=15_000)
        expect(page.locator("#paid-fee-outstanding")).to_have_text(
            f"Outstanding on Broker fee {fee.number} after this payment: 0.00 GBP.")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "take_payment.png", full_page=True)
        # the notifications worker writes the cashier's note and the payer's confirmation after the booking
        with scope(tenant=tenant):
            wait_for(lambda: Notification.objects.filter(recipient_user=cashier).exists(), timeout=20,
                     what="the cashier's note")
        page.reload()
        expect(page.locator("#bell-count")).to_have_text("1")
        page.goto(f"{live_server.url}/notifications/")
        expect(page.locator("main")).to_contain_text(f"Harriet Holloway paid £150.00 for Broker fee {fee.number}")
        page.screenshot(path=SCREENSHOTS / "notifications_staff_payment.png", full_page=True)
        payments = ledger_payments(tenant)
        assert len(payments) == 1
        with scope(tenant=tenant):
            payment = GatewayPayment.objects.get()
            assert payment.status == PaymentStatus.SUCCEEDED
            assert payments[0].external_reference == payment.provider_reference
            assert FinancialTransaction.objects.get(pk=fee.pk).open_amount == Decimal("0.00")
            assert Notification.objects.filter(recipient_user=cashier, channel="in_app").count() == 1
            # The customer is emailed a confirmation with the receipt's link.
            confirmation = Notification.objects.get(template_key="payment_received")
            assert (confirmation.channel, confirmation.recipient) == ("email", fee.account.customer.email)
        # written by the worker, whose site address is its own setting: the link's path opens the receipt here
        path = re.search(r"https?://[^/\s]+(/receipts/[\w-]{32}/)", confirmation.body).group(1)
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main")).to_contain_text("£150.00")

    def test_a_declined_card_says_so_and_books_nothing(self, live_server, page, tenant, fee, cashier):
        take_payment_with(page, live_server, cashier, fee, "4000 0000 0000 0002")

        expect(page.frame_locator("#sandbox-card-fields").get_by_role("alert")).to_contain_text(
            "Your card was declined.")
        expect(page.locator("#payment-status-poll")).to_contain_text("Payment failed", timeout=15_000)
        assert ledger_payments(tenant) == []

    def test_a_processing_payment_updates_by_itself_when_it_settles(self, live_server, page, tenant, fee, cashier):
        take_payment_with(page, live_server, cashier, fee, "4000 0000 0000 0077")
        expect(page.locator("#payment-status-poll")).to_contain_text("still processing", timeout=15_000)
        with scope(tenant=tenant):
            checkout_id = GatewayPayment.objects.get().provider_reference

        settle = page.context.new_page()
        settle.goto(f"{live_server.url}/sandbox/pay/{checkout_id}/")
        settle.get_by_role("button", name="Settle: payment succeeds").click()

        expect(page.locator("#payment-status-poll")).to_contain_text("Payment succeeded", timeout=15_000)
        assert len(ledger_payments(tenant)) == 1
