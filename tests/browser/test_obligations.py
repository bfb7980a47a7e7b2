"""Obligations in Chromium, on the Sandbox provider served by the live server.

Staff create an automatic instalment plan from the customer file and email the customer; the customer
follows the emailed portal link, asks for a sign-in link, opens the magic link from the delivered email,
sees their obligation log and calendar, and pays the first instalment on the sandbox's hosted page;
staff then see it paid. A real Celery worker delivers the emails (into the development mailbox) and
processes the sandbox's webhook. Nothing of Duly's is mocked.
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
from finance import services as ledger_services
from gateways import services as gateway_services
from gateways.models import WebhookDelivery, WebhookOutcome
from notifications.models import DevMail
from obligations.models import Instalment, Obligation
from obligations.services.obligations import Plan, plan_instalments
from payments.models import GatewayPayment, PaymentStatus, Receipt
from tests.factories import PASSWORD, UserFactory
from tests.helpers import wait_for

PORTAL_LINK = re.compile(r"https?://[^\s]+/portal/[a-z0-9-]+/")
MAGIC_LINK = re.compile(r"https?://[^\s]+/portal/link/[A-Za-z0-9_-]+/")


@pytest.fixture
def portal_site(live_server, settings, tenant):
    settings.GATEWAY_BASE_URLS = {"sandbox": live_server.url}
    settings.DULY_SITE_URL = live_server.url
    for key in ("portal:127.0.0.1", "pay:127.0.0.1"):
        throttle.reset(key=key)
    httpx.get(f"{live_server.url}/accounts/login/", timeout=60).raise_for_status()
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        gateway_services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret="sbx_browser_ob")
    yield live_server
    throttle.reset(key="portal:127.0.0.1")


def new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def mail_to(address, subject_part):
    with scopes_disabled():
        return DevMail.objects.filter(to=address, subject__contains=subject_part).first()


def webhooks_processed():
    with scopes_disabled():
        rows = list(WebhookDelivery.objects.values_list("event_type", "outcome"))
    return rows if rows and all(outcome != WebhookOutcome.RECEIVED for _, outcome in rows) else None


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
class TestAnInstalmentPlanPaidFromThePortal:
    def test_staff_create_a_plan_the_customer_signs_in_by_magic_link_and_pays_the_first_instalment(
        self, celery_worker, portal_site, page, browser, tenant, customer
    ):
        live_server = portal_site
        staff = UserFactory(tenant=tenant, username="alice", first_name="Alice", last_name="Archer")
        first_due = timezone.localdate() + timedelta(days=20)
        with scope(tenant=tenant):
            expected = plan_instalments(tenant=tenant, total=Decimal("300.00"), currency="GBP",
                                        plan=Plan(kind="automatic", first_due_on=first_due, count=3))

        # Staff: the customer file's Obligations panel → Create → an automatic plan of three instalments.
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(staff.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/customers/{customer.pk}/")
        panel = page.locator("#panel-obligations")
        expect(panel.get_by_text("No obligations yet.")).to_be_visible()
        panel.get_by_role("link", name="Create an obligation").click()
        page.get_by_label("Description").fill("Road tax 2026")
        page.get_by_label("Paid to").select_option("government")
        page.get_by_label("Payee").fill("DVLA")
        page.get_by_label("Payment code (payment ID)").fill("RT-2026-0042")
        page.get_by_label("Total amount").fill("300.00")
        page.get_by_label("Currency").select_option("GBP")
        page.get_by_label("Automatic creation of instalments").check()
        page.get_by_label("Date of the 1st instalment").fill(first_due.isoformat())
        page.get_by_label("Number of instalments").fill("3")
        page.get_by_label("Send email to customer").check()
        page.get_by_role("button", name="Create", exact=True).click()

        expect(page.get_by_role("heading", name="Road tax 2026")).to_be_visible()
        rows = page.locator("#panel-instalments tbody tr")
        expect(rows).to_have_count(3)
        for row, step in zip(rows.all(), expected, strict=True):
            expect(row).to_contain_text(f"{step.amount} GBP")
            expect(row).to_contain_text(step.due_on.strftime("%-d %b %Y"))
            expect(row).to_contain_text("Unpaid")
        with scopes_disabled():
            obligation = Obligation.objects.get()
            first = Instalment.objects.get(obligation=obligation, number=1)

        # The customer: the emailed portal link → asks for a sign-in link → the magic link from the mailbox.
        created = wait_for(lambda: mail_to("harriet@example.com", "Your payment plan"))
        portal_url = PORTAL_LINK.search(created.text).group(0)
        customer_page = new_page(browser)
        try:
            customer_page.goto(portal_url)
            customer_page.get_by_label("Your email address").fill("harriet@example.com")
            customer_page.get_by_role("button", name="Email me a sign-in link").click()
            expect(customer_page.get_by_role("status")).to_contain_text("a sign-in link is on its way")
            sign_in = wait_for(lambda: mail_to("harriet@example.com", "sign-in link"))
            customer_page.goto(MAGIC_LINK.search(sign_in.text).group(0))

            log = customer_page.locator("#obligation-log")
            expect(log).to_contain_text("Road tax 2026")
            expect(log).to_contain_text("RT-2026-0042")
            expect(log.locator("tbody tr")).to_have_count(3)
            customer_page.goto(f"{live_server.url}/portal/?month={expected[0].due_on:%Y-%m}")
            calendar = customer_page.locator("#calendar")
            expect(calendar.get_by_role("table")).to_contain_text(expected[0].due_on.strftime("%B %Y"))
            expect(calendar.locator(".due.unpaid").first).to_contain_text("Road tax 2026 #1")

            customer_page.get_by_role("button", name="Pay instalment 1 of Road tax 2026").click()
            expect(customer_page).to_have_url(re.compile(r"/sandbox/pay/[^/]+/$"))
            expect(customer_page.get_by_role("heading", name="Pay 100.00 GBP")).to_be_visible()
            customer_page.get_by_label("Card number").fill("4242 4242 4242 4242")
            customer_page.get_by_label("Expiry (MM/YY)").fill("12/39")
            customer_page.get_by_label("CVC").fill("123")
            customer_page.get_by_label("Name on card").fill("Harriet Holloway")
            customer_page.get_by_role("button", name="Pay 100.00 GBP").click()

            expect(customer_page).to_have_url(re.compile(r"/portal/\?notice=paid"))
            expect(customer_page.get_by_role("status")).to_have_text("Thank you: your payment was received.")
            expect(customer_page.locator("#obligation-log tbody tr").first).to_contain_text("Paid")
            expect(customer_page.get_by_role("button", name="Receipt")).to_have_count(1)
        finally:
            customer_page.context.close()

        assert wait_for(webhooks_processed) == [("checkout.succeeded", WebhookOutcome.PROCESSED)]
        with scopes_disabled():
            first.refresh_from_db()
            assert first.status == "paid"
            [attempt] = GatewayPayment.objects.filter(instalment=first)
            assert attempt.status == PaymentStatus.SUCCEEDED and attempt.ledger_payment_id == first.ledger_payment_id
            assert Receipt.objects.filter(ledger_payment_id=first.ledger_payment_id).count() == 1
            assert Instalment.objects.filter(obligation=obligation, status="paid").count() == 1

        # Staff see it paid.
        page.goto(f"{live_server.url}/payments/obligations/{obligation.pk}/")
        paid_row = page.locator("#panel-instalments tbody tr").first
        expect(paid_row).to_contain_text("Paid")
        expect(paid_row.get_by_role("button", name="Mark paid")).to_have_count(0)
        page.goto(f"{live_server.url}/payments/obligations/calendar/?view=list&status=paid")
        expect(page.locator("#instalment-list tbody tr")).to_have_count(1)
        expect(page.locator("#instalment-list tbody tr")).to_contain_text("Road tax 2026")
