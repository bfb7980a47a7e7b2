"""Email pay in Chromium: staff email a posted invoice with a "Pay now" link; the customer pays part of it
from the delivered email, comes back later with the same link and pays the rest. Sandbox provider, a real
Celery worker for the email and the webhooks; checked against the ledger, not the page."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from finance import services as ledger_services
from finance.models import Allocation, Classification, FinancialTransaction
from gateways.models import WebhookOutcome
from notifications.models import DevMail
from payments.models import GatewayPayment, PaymentStatus, Receipt
from tests.browser.test_payment_requests import gbp, log_in, new_page, sandbox_site, webhooks_processed  # noqa: F401
from tests.factories import UserFactory
from tests.helpers import wait_for

INVOICE_LINK = re.compile(r"https?://[^\s]+/pay/invoice/[A-Za-z0-9_-]+/")


@pytest.fixture
def invoice(gbp, tenant):  # noqa: F811
    with scope(tenant=tenant):
        draft = ledger_services.create_transaction(
            account=gbp,
            classification=Classification.INVOICE,
            actor=None,
            at=timezone.now(),
            data=ledger_services.TransactionData(
                lines=[ledger_services.LineData("Annual service plan", Decimal(1), Decimal("120.00"))]
            ),
        )
        return ledger_services.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction


def mails_to(address):
    with scopes_disabled():
        return list(DevMail.objects.filter(to=address).order_by("id"))


def pay_on_the_sandbox(payer, amount_label):
    payer.get_by_role("button", name="Pay now").click()
    expect(payer).to_have_url(re.compile(r"/sandbox/pay/[^/]+/$"))
    payer.get_by_label("Card number").fill("4242 4242 4242 4242")
    payer.get_by_label("Expiry (MM/YY)").fill("12/39")
    payer.get_by_label("CVC").fill("123")
    payer.get_by_label("Name on card").fill("Harriet Holloway")
    payer.get_by_role("button", name=f"Pay {amount_label}").click()
    expect(payer).to_have_url(re.compile(r"/pay/invoice/[^/]+/done/$"))


def processed(count):
    rows = webhooks_processed()
    return rows if rows and len(rows) == count else None


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
class TestEmailPay:
    def test_the_customer_pays_part_of_the_invoice_then_the_rest(
            self, celery_worker, sandbox_site, invoice, gbp, page, browser, tenant):  # noqa: F811
        live_server = sandbox_site
        log_in(page, live_server, UserFactory(tenant=tenant, username="alice"))
        page.goto(f"{live_server.url}/finance/transactions/{invoice.pk}/")
        page.locator("#panel-email-pay").get_by_role("button", name="Send email pay").click()
        expect(page.locator("#email-pay-links tbody tr")).to_have_count(1)

        mail = wait_for(lambda: mails_to("harriet@example.com") or None)[0]
        assert mail.subject == f"Invoice {invoice.number} from Acme Brokers"
        pay_url = INVOICE_LINK.search(mail.text).group(0)

        payer = new_page(browser)
        try:
            payer.goto(pay_url)
            expect(payer.get_by_text("Annual service plan")).to_be_visible()
            expect(payer.locator("#invoice-outstanding")).to_have_text("£120.00")
            payer.get_by_label("Amount to pay (GBP)").fill("50.00")
            pay_on_the_sandbox(payer, "50.00 GBP")
            expect(payer.get_by_text("Thank you: your payment was received.")).to_be_visible()
            expect(payer.locator("#invoice-outstanding")).to_have_text("£70.00")
            assert wait_for(lambda: processed(1)) == [("checkout.succeeded", WebhookOutcome.PROCESSED)]

            payer.goto(pay_url)  # later, the same link from the email
            expect(payer.get_by_label("Amount to pay (GBP)")).to_have_value("70.00")
            pay_on_the_sandbox(payer, "70.00 GBP")
            expect(payer.locator("#invoice-outstanding")).to_have_text("£0.00")
            expect(payer.get_by_text("This invoice has been paid. Thank you.")).to_be_visible()
            assert wait_for(lambda: processed(2)) == [("checkout.succeeded", WebhookOutcome.PROCESSED)] * 2
        finally:
            payer.context.close()

        with scopes_disabled():
            payments = list(FinancialTransaction.objects.filter(account=gbp, classification=Classification.PAYMENT)
                            .order_by("id"))
            assert [p.total_amount for p in payments] == [Decimal("50.00"), Decimal("70.00")]
            assert sorted((a.credit_id, a.debit_id, a.amount) for a in Allocation.objects.filter(account=gbp)) == [
                (payments[0].pk, invoice.pk, Decimal("50.00")), (payments[1].pk, invoice.pk, Decimal("70.00"))]
            assert FinancialTransaction.objects.get(pk=invoice.pk).open_amount == Decimal("0.00")
            attempts = GatewayPayment.objects.filter(invoice=invoice).order_by("id")
            assert [(a.status, a.ledger_payment_id) for a in attempts] == [
                (PaymentStatus.SUCCEEDED, payments[0].pk), (PaymentStatus.SUCCEEDED, payments[1].pk)]
            assert Receipt.objects.filter(ledger_payment__in=payments).count() == 2
        # One invoice email, then one confirmation per payment.
        confirmations = wait_for(lambda: mails_to("harriet@example.com")[1:] if len(
            mails_to("harriet@example.com")) == 3 else None)
        assert ["50.00" in m.subject for m in confirmations] == [True, False]
        assert ["70.00" in m.subject for m in confirmations] == [False, True]
