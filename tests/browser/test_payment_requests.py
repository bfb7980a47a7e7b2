"""Payment requests in Chromium, on the Sandbox provider served by the live server.

A staff member sends a request from the customer file; the email goes through the outbox; the payer
follows the link from the delivered email, pays on the sandbox's hosted page and comes back to Duly.

Asynchronous work happens for real: the ``celery_worker`` fixture runs a Celery worker process on the
test database, which delivers the email (``notifications.deliver``, into the development mailbox table,
the worker's mailer in tests) and processes the sandbox's signed webhook
(``payments.process_webhook_delivery``, enqueued by the inbox after commit). Nothing of Duly's is mocked.
"""

import re
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from core import throttle
from crm.models import Role
from finance import services as ledger_services
from finance.models import Classification, FinancialTransaction
from gateways import services as gateway_services
from gateways.models import WebhookDelivery, WebhookOutcome
from notifications.models import DevMail, Notification
from paylinks.models import PaymentRequest, RequestStatus
from paylinks.services.requests import RequestData, request_payment
from payments.models import GatewayPayment, PaymentStatus, Receipt
from sandbox.models import SandboxCheckout
from tests.browser.test_staff_login import SCREENSHOTS
from tests.factories import AccountFactory, UserFactory
from tests.helpers import log_in, wait_for

PAY_LINK = re.compile(r"https?://[^\s]+/pay/[A-Za-z0-9_-]+/")


@pytest.fixture
def sandbox_site(live_server, settings, tenant):
    """The tenant's ledger, a GBP account for Harriet and a sandbox gateway account; Duly and the sandbox
    are both reached at the live server."""
    settings.GATEWAY_BASE_URLS = {"sandbox": live_server.url}
    settings.DULY_SITE_URL = live_server.url
    throttle.reset(key="pay:127.0.0.1")
    # The server's first request loads the whole URL conf (PDF printing included), which can take longer
    # than a page's 10 s while a worker starts beside it: warm it up first.
    httpx.get(f"{live_server.url}/accounts/login/", timeout=60).raise_for_status()
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        gateway_services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret="sbx_browser_pr")
    yield live_server
    throttle.reset(key="pay:127.0.0.1")


@pytest.fixture
def gbp(sandbox_site, tenant, customer):
    with scope(tenant=tenant):
        return AccountFactory(customer=customer, currency="GBP")


def new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def pay_on_the_sandbox(payer, pay_url, *, amount_label):
    """The payer opens the link, presses Pay, pays with the succeeding test card and comes back."""
    payer.goto(pay_url)
    expect(payer.get_by_role("heading", name="Acme Brokers")).to_be_visible()
    payer.get_by_role("button", name="Pay", exact=True).click()
    expect(payer).to_have_url(re.compile(r"/sandbox/pay/[^/]+/$"))
    expect(payer.get_by_role("heading", name=f"Pay {amount_label}")).to_be_visible()
    payer.get_by_label("Card number").fill("4242 4242 4242 4242")
    payer.get_by_label("Expiry (MM/YY)").fill("12/39")
    payer.get_by_label("CVC").fill("123")
    payer.get_by_label("Name on card").fill("Harriet Holloway")
    payer.get_by_role("button", name=f"Pay {amount_label}").click()
    expect(payer).to_have_url(pay_url + "done/")
    expect(payer.get_by_role("status")).to_have_text("Thank you: your payment was received.")


def webhooks_processed():
    with scopes_disabled():
        rows = list(WebhookDelivery.objects.values_list("event_type", "outcome"))
    return rows if rows and all(outcome != WebhookOutcome.RECEIVED for _, outcome in rows) else None


def email_sent(request):
    with scopes_disabled():
        return Notification.objects.filter(subject_ref=f"payments.paymentrequest:{request.pk}", channel="email",
                                           state="sent").exists()


def mail_to(address, subject):
    with scopes_disabled():
        return DevMail.objects.filter(to=address, subject=subject).first()


def first_mail_to(address):
    with scopes_disabled():
        return DevMail.objects.filter(to=address).first()


def ledger_payments(account):
    with scopes_disabled():
        return list(FinancialTransaction.objects.filter(account=account, classification=Classification.PAYMENT))


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
class TestPayingARequest:
    def test_staff_request_a_payment_and_the_payer_pays_it_from_the_emailed_link(
        self, celery_worker, sandbox_site, gbp, page, browser, tenant, customer
    ):
        live_server = sandbox_site
        staff = UserFactory(tenant=tenant, username="alice", first_name="Alice", last_name="Archer")
        log_in(page, live_server, staff)

        page.goto(f"{live_server.url}/customers/{customer.pk}/")
        panel = page.locator("#panel-payment-requests")
        expect(panel.get_by_text("No payment requests yet.")).to_be_visible()  # loaded by htmx
        panel.get_by_text("Request a payment").click()
        panel.get_by_label("Account").select_option(label=gbp.name)
        panel.get_by_label("Amount").fill("120.00")
        panel.get_by_label("Reference (invoice or contract number)").fill("INV-42")
        panel.get_by_label("Message").fill("Deposit for the Corolla")
        panel.get_by_label("Email").check()
        panel.get_by_role("button", name="Send the request").click()
        row = page.locator("#panel-payment-requests tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("INV-42")
        expect(row).to_contain_text("Open")

        # The worker delivers the email; the payer's link is read out of the delivered message.
        mail = wait_for(lambda: first_mail_to("harriet@example.com"))
        assert mail.subject == "Acme Brokers requests a payment of £120.00"
        assert "asks you to pay £120.00.\nINV-42\nDeposit for the Corolla\n" in mail.text
        pay_url = PAY_LINK.search(mail.text).group(0)
        assert pay_url.startswith(live_server.url + "/pay/")
        with scopes_disabled():
            request = PaymentRequest.objects.get()
        wait_for(lambda: email_sent(request))

        payer = new_page(browser)
        try:
            pay_on_the_sandbox(payer, pay_url, amount_label="120.00 GBP")
            # The done page links the receipt, which the payer can print (seed 002).
            payer.set_viewport_size({"width": 375, "height": 740})
            payer.screenshot(path=SCREENSHOTS / "pay_done_375.png", full_page=True)
            payer.get_by_role("link", name="View and print your receipt").click()
            expect(payer.locator(".number")).to_have_text("RC-000001")
            expect(payer.get_by_role("button", name="Print")).to_be_visible()
            payer.screenshot(path=SCREENSHOTS / "pay_receipt_375.png", full_page=True)
        finally:
            payer.context.close()
        confirmation = wait_for(lambda: mail_to("harriet@example.com", "We received your payment of £120.00"))
        # The worker wrote it, with the site address of its own settings: the path is what the payer follows.
        receipt_path = re.search(r"https?://[^/\s]+(/receipts/[\w-]+/)", confirmation.text).group(1)
        from_email = new_page(browser)
        try:
            from_email.goto(live_server.url + receipt_path)
            expect(from_email.locator(".number")).to_have_text("RC-000001")
        finally:
            from_email.context.close()

        # The sandbox's webhook is processed by the worker, whatever the return page settled first.
        assert wait_for(webhooks_processed) == [("checkout.succeeded", WebhookOutcome.PROCESSED)]
        with scopes_disabled():
            request = PaymentRequest.objects.get(pk=request.pk)
            assert request.status == RequestStatus.COMPLETE
            [attempt] = GatewayPayment.objects.filter(payment_request=request)
            assert attempt.status == PaymentStatus.SUCCEEDED
            assert SandboxCheckout.objects.get(id=attempt.provider_reference).status == "succeeded"
            [booked] = ledger_payments(gbp)  # exactly one ledger payment for the request
            assert (booked.pk, booked.total_amount, booked.state) == (attempt.ledger_payment_id, Decimal("120.00"),
                                                                      "posted")
            receipt = Receipt.objects.get(ledger_payment=booked)
        assert receipt.number == "RC-000001"

        # The staff member sees the receipt, and gives the customer a link to it.
        page.goto(f"{live_server.url}/payments/receipts/{receipt.pk}/")
        expect(page.locator(".number")).to_have_text("RC-000001")
        page.get_by_role("button", name="New customer link").click()
        receipt_url = page.locator("#receipt-link").input_value()
        assert "/receipts/" in receipt_url
        customer_page = new_page(browser)
        try:
            customer_page.goto(receipt_url)
            expect(customer_page.locator(".number")).to_have_text("RC-000001")
            expect(customer_page.get_by_text("Harriet Holloway")).to_be_visible()
        finally:
            customer_page.context.close()

        page.goto(f"{live_server.url}/payments/requests/")
        expect(page.locator("tbody tr")).to_have_count(1)
        expect(page.locator("tbody tr")).to_contain_text("Complete")
        assert len(ledger_payments(gbp)) == 1  # still one, after everything settled


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestALinkThatCannotBePaid:
    def test_an_expired_link_says_so_and_offers_no_pay_button(self, sandbox_site, gbp, page, tenant, customer,
                                                                 staff):
        with scope(tenant=tenant):
            request, token = request_payment(
                customer=customer, account=gbp, actor=staff, at=timezone.now() - timedelta(hours=25),
                data=RequestData(amount="80.00", reference="INV-7", message="", channels=["email"]),
            )

        page.goto(f"{sandbox_site.url}/pay/{token}/")

        expect(page.get_by_role("status")).to_have_text(
            "This link has expired. Ask for a new one if you still wish to pay.")
        expect(page.get_by_role("button", name="Pay")).to_have_count(0)
        with scopes_disabled():
            request = PaymentRequest.objects.get(pk=request.pk)
            assert request.status == RequestStatus.EXPIRED
            assert not GatewayPayment.objects.exists()
            assert not SandboxCheckout.objects.exists()
        assert ledger_payments(gbp) == []

    def test_a_request_cancelled_from_the_staff_list_tells_the_payer(self, sandbox_site, gbp, page, browser, tenant,
                                                                      customer, staff):
        with scope(tenant=tenant):
            request, token = request_payment(
                customer=customer, account=gbp, actor=staff, at=timezone.now(),
                data=RequestData(amount="80.00", reference="INV-8", message="", channels=["email"]),
            )
        log_in(page, sandbox_site, staff)

        page.goto(f"{sandbox_site.url}/payments/requests/")
        row = page.locator("tbody tr")
        expect(row).to_contain_text("INV-8")
        row.get_by_role("button", name="Cancel").click()

        expect(page.get_by_role("status").filter(has_text="cancelled")).to_contain_text(
            "The payment request is cancelled.")
        expect(page.locator("tbody tr")).to_contain_text("Cancelled")
        expect(page.locator("tbody tr").get_by_role("button", name="Cancel")).to_have_count(0)
        payer = new_page(browser)
        try:
            payer.goto(f"{sandbox_site.url}/pay/{token}/")
            expect(payer.get_by_role("status")).to_have_text(
                "This payment request was cancelled; there is nothing to pay.")
            expect(payer.get_by_role("button", name="Pay")).to_have_count(0)
        finally:
            payer.context.close()
        with scopes_disabled():
            request = PaymentRequest.objects.get(pk=request.pk)
            assert request.status == RequestStatus.CANCELLED
            assert not GatewayPayment.objects.exists()


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
class TestConsolidation:
    def test_only_a_payment_manager_consolidates_a_complete_request(
        self, celery_worker, sandbox_site, gbp, page, browser, tenant, customer
    ):
        live_server = sandbox_site
        clerk = UserFactory(tenant=tenant, username="carl", first_name="Carl", last_name="Clerk")
        manager = UserFactory(tenant=tenant, username="petra", first_name="Petra", last_name="Manager",
                              role_keys=[Role.STAFF, Role.PAYMENT_MANAGER])
        with scope(tenant=tenant):
            request, token = request_payment(
                customer=customer, account=gbp, actor=clerk, at=timezone.now(),
                data=RequestData(amount="45.50", reference="INV-9", message="", channels=["email"]),
            )
        payer = new_page(browser)
        try:
            pay_on_the_sandbox(payer, f"{live_server.url}/pay/{token}/", amount_label="45.50 GBP")
        finally:
            payer.context.close()
        wait_for(webhooks_processed)
        with scopes_disabled():
            request = PaymentRequest.objects.get(pk=request.pk)
            assert request.status == RequestStatus.COMPLETE

        # A staff member without the role sees no Consolidate button, and the POST itself is refused.
        log_in(page, live_server, clerk)
        page.goto(f"{live_server.url}/payments/requests/")
        expect(page.locator("tbody tr")).to_contain_text("Complete")
        expect(page.get_by_role("button", name="Consolidate")).to_have_count(0)
        page.goto(f"{live_server.url}/customers/{customer.pk}/")
        expect(page.locator("#panel-payment-requests tbody tr")).to_contain_text("Complete")
        expect(page.get_by_role("button", name="Consolidate")).to_have_count(0)
        csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        refused = page.request.post(
            f"{live_server.url}/payments/requests/{request.pk}/consolidate/",
            form={"csrfmiddlewaretoken": csrf}, headers={"Referer": f"{live_server.url}/payments/requests/"},
            max_redirects=0,
        )
        assert refused.status == 403
        with scopes_disabled():
            request = PaymentRequest.objects.get(pk=request.pk)
            assert (request.consolidated_at, request.consolidated_by) == (None, None)

        manager_page = new_page(browser)
        try:
            log_in(manager_page, live_server, manager)
            manager_page.goto(f"{live_server.url}/payments/requests/")
            before = timezone.now()
            manager_page.locator("tbody tr").get_by_role("button", name="Consolidate").click()

            expect(manager_page.get_by_role("status").filter(has_text="consolidated")).to_contain_text(
                "The payment is consolidated.")
            with scopes_disabled():
                request = PaymentRequest.objects.get(pk=request.pk)
            assert request.consolidated_by == manager
            assert before <= request.consolidated_at <= timezone.now()
            expect(manager_page.locator("tbody tr")).to_contain_text(
                f"{timezone.localtime(request.consolidated_at):%-d %b %Y} by Petra Manager")
            expect(manager_page.get_by_role("button", name="Consolidate")).to_have_count(0)
        finally:
            manager_page.context.close()
