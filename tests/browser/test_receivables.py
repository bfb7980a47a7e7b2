"""Receivables in Chromium: a customer signs in to the portal, pays one of their invoices in part and
downloads a statement of account; a clerk puts an overdue invoice on hold and the next dunning sweep
passes it by. Sandbox provider and a real Celery worker for the webhooks; checked against the ledger."""

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from finance import services as ledger_services
from finance.models import Allocation, FinancialTransaction
from receivables.models import DunningNotice
from receivables.services.dunning import sweep
from receivables.services.levels import LevelData, save_level
from tests.browser.accessibility import accessibility_problems as violations
from tests.browser.test_invoice_pay import pay_on_the_sandbox, processed
from tests.browser.test_obligations import MAGIC_LINK, mail_to, new_page, portal_site  # noqa: F401
from tests.browser.test_staff_login import SCREENSHOTS
from tests.factories import AccountFactory, InvoiceFactory, UserFactory
from tests.helpers import log_in, wait_for


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
class TestThePortalForTheWholeAccount:
    def test_the_customer_pays_one_invoice_in_part_and_downloads_a_statement(
            self, celery_worker, portal_site, browser, tenant, customer):  # noqa: F811
        live_server = portal_site
        account = AccountFactory(customer=customer)
        posted = timezone.now() - timedelta(days=40)
        first = InvoiceFactory(account=account, price="120.00", at=posted)     # overdue by ten days
        second = InvoiceFactory(account=account, price="80.00", at=timezone.now() - timedelta(days=2))

        payer = new_page(browser)
        payer.set_viewport_size({"width": 375, "height": 740})
        try:
            payer.goto(f"{live_server.url}/portal/{tenant.slug}/")
            payer.get_by_label("Your email address").fill("harriet@example.com")
            payer.get_by_role("button", name="Email me a sign-in link").click()
            sign_in = wait_for(lambda: mail_to("harriet@example.com", "sign-in link"))
            payer.goto(MAGIC_LINK.search(sign_in.text).group(0))

            rows = payer.locator("#open-invoices tbody tr")
            expect(rows).to_have_count(2)
            expect(payer.locator(f"#invoice-{first.pk}")).to_contain_text("Overdue")
            assert violations(payer, "the portal") == []
            payer.screenshot(path=SCREENSHOTS / "portal_invoices_375.png", full_page=True)

            payer.get_by_role("button", name=f"Pay invoice {first.number}").click()
            expect(payer).to_have_url(re.compile(r"/pay/invoice/[^/]+/$"))
            payer.get_by_label("Amount to pay (GBP)").fill("45.00")
            pay_on_the_sandbox(payer, "45.00 GBP")
            expect(payer.get_by_text("Thank you: your payment was received.")).to_be_visible()
            assert wait_for(lambda: processed(1))

            payer.goto(f"{live_server.url}/portal/")
            expect(payer.locator(f"#invoice-{first.pk}")).to_contain_text("£75.00")
            expect(payer.locator(f"#invoice-{second.pk}")).to_contain_text("£80.00")

            link = payer.locator("#statements a").first
            expect(link).to_contain_text(f"{timezone.localdate():%Y}")
            pdf = payer.request.get(live_server.url + link.get_attribute("href"))
            assert (pdf.status, pdf.headers["content-type"], pdf.body()[:5]) == (200, "application/pdf", b"%PDF-")
            payer.goto(live_server.url + link.get_attribute("href").replace("&format=pdf", ""))
            expect(payer.locator("#statement-closing")).to_have_text("£155.00")
            payer.screenshot(path=SCREENSHOTS / "portal_statement_375.png", full_page=True)
        finally:
            payer.context.close()

        with scopes_disabled():
            [allocation] = Allocation.objects.filter(account=account, reversed_at__isnull=True)
            assert (allocation.debit_id, allocation.amount) == (first.pk, Decimal("45.00"))
            assert FinancialTransaction.objects.get(pk=first.pk).open_amount == Decimal("75.00")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestAClerkHoldsAnInvoice:
    def test_the_next_sweep_passes_the_held_invoice_by(self, live_server, page, tenant, customer):
        with scope(tenant=tenant):
            ledger_services.set_up_ledger(tenant=tenant)
            save_level(tenant=tenant, data=LevelData(name="First notice", days=7))
        account = AccountFactory(customer=customer)
        posted = timezone.now() - timedelta(days=40)
        held, chased = (InvoiceFactory(account=account, price=p, at=posted) for p in ("120.00", "60.00"))

        log_in(page, live_server, UserFactory(tenant=tenant, username="clerk"))
        page.goto(f"{live_server.url}/finance/transactions/{held.pk}/")
        panel = page.locator("#panel-dunning")
        panel.get_by_text("Put on hold (dispute / promise to pay)").click()
        panel.get_by_label("Why").select_option(label="Disputed")
        panel.get_by_label("Note").fill("The customer says the service was not delivered.")
        panel.get_by_role("button", name="Put on hold").click()
        expect(panel.locator("#dunning-hold")).to_contain_text("Disputed")
        expect(panel.locator("#dunning-hold")).to_contain_text("not delivered")
        assert violations(page, "the invoice's dunning panel") == []
        page.screenshot(path=SCREENSHOTS / "invoice_dunning_hold_1280.png", full_page=True)

        noon = datetime.combine(timezone.localdate(), time(12), tzinfo=UTC)
        outcome = sweep(at=noon)
        with scopes_disabled():
            assert (outcome.sent, list(DunningNotice.objects.values_list("invoice_id", "state"))) == (
                1, [(chased.pk, "sent")])

        page.reload()
        expect(page.locator("#panel-dunning")).to_contain_text("No notice has been sent for this invoice.")
        page.goto(f"{live_server.url}/finance/transactions/{chased.pk}/")
        expect(page.locator("#dunning-notices tbody tr")).to_have_count(1)
        expect(page.locator("#dunning-notices")).to_contain_text("First notice")
        page.goto(f"{live_server.url}/reports/dunning/")
        expect(page.locator("#dunning-at-level tbody tr")).to_have_count(1)
        expect(page.locator("#dunning-at-level")).to_contain_text("£60.00")
        assert violations(page, "the dunning report") == []
        page.screenshot(path=SCREENSHOTS / "report_dunning_1280.png", full_page=True)
