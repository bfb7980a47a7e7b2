"""Recurring invoices in Chromium: a clerk sets up a monthly schedule after previewing it; the customer pays
the first invoice from its email, ticking "Save this card"; the next month's invoice is paid with the card on
file without them. Sandbox provider (reached at the live server) and a real Celery worker for the emails, the
webhooks and keeping the card; checked against the ledger."""

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from billing import tasks
from billing.models import AttemptResult, CollectionAttempt, ScheduleRun
from finance.models import Classification, FinancialTransaction
from payments.models import ConsentSource, GatewayPayment, PaymentPurpose, PaymentStatus, SavedCard
from tests.browser.accessibility import accessibility_problems as violations
from tests.browser.test_invoice_pay import INVOICE_LINK, mails_to, pay_on_the_sandbox, processed
from tests.browser.test_payment_requests import gbp, sandbox_site  # noqa: F401
from tests.browser.test_staff_login import SCREENSHOTS
from tests.factories import UserFactory
from tests.helpers import log_in, wait_for


def at_nine(day):
    return datetime.combine(day, time(9), tzinfo=UTC)


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
class TestCardOnFile:
    def test_a_saved_card_pays_next_months_invoice_without_the_customer(
            self, celery_worker, sandbox_site, gbp, page, browser, tenant):  # noqa: F811
        live_server = sandbox_site
        today = timezone.localdate()
        log_in(page, live_server, UserFactory(tenant=tenant, username="alice", role_keys=["accountant"]))
        page.goto(f"{live_server.url}/finance/accounts/{gbp.pk}/")
        page.locator("#panel-schedules").get_by_role("link", name="New schedule").click()
        page.get_by_label("Name").fill("Monthly policy fee")
        page.get_by_label("First invoice on").fill(today.isoformat())
        page.get_by_label("Description, line 1").fill("Policy fee")
        page.get_by_label("Unit price, line 1").fill("30.00")
        page.get_by_role("button", name="Preview the invoices").click()
        expect(page.locator("#preview tbody tr")).to_have_count(6)
        expect(page.locator("#preview tbody tr").first).to_contain_text("£30.00")
        assert violations(page, "the schedule form") == []
        page.screenshot(path=SCREENSHOTS / "billing_schedule_preview_1280.png", full_page=True)
        page.get_by_role("button", name="Save the schedule").click()
        expect(page.get_by_role("heading", name="Monthly policy fee")).to_be_visible()

        tasks.issue_recurring_invoices.apply(kwargs={"as_of": timezone.now().isoformat()})
        with scopes_disabled():
            first = ScheduleRun.objects.get().invoice
        mail = wait_for(lambda: next((m for m in mails_to("harriet@example.com")
                                      if first.number in m.subject), None))
        assert "Policy fee" not in mail.subject and "£30.00" in mail.text
        pay_url = INVOICE_LINK.search(mail.text).group(0)

        payer = browser.new_context(viewport={"width": 375, "height": 740}).new_page()
        payer.set_default_timeout(10_000)
        try:
            payer.goto(pay_url)
            expect(payer.locator("#invoice-outstanding")).to_have_text("£30.00")
            payer.get_by_label(re.compile("Save this card so that Acme Brokers")).check()
            assert violations(payer, "the Email Pay page with its save-card box") == []
            payer.screenshot(path=SCREENSHOTS / "pay_invoice_save_card_375.png", full_page=True)
            pay_on_the_sandbox(payer, "30.00 GBP")
            expect(payer.get_by_text("Thank you: your payment was received.")).to_be_visible()
            assert wait_for(lambda: processed(1))
        finally:
            payer.context.close()

        card = wait_for(lambda: SavedCard.objects.with_scopes_disabled().first())
        assert (card.brand, card.last4, card.exp_month, card.exp_year, card.consent_source) == (
            "visa", "4242", 12, 2039, ConsentSource.EMAIL_PAY)

        # A month on: the next invoice is issued, and charged on its due date with nobody at the keyboard.
        with scopes_disabled():
            schedule = ScheduleRun.objects.get().schedule
        second_on = schedule.start_on.replace(month=schedule.start_on.month % 12 + 1) if schedule.start_on.month < 12 \
            else schedule.start_on.replace(year=schedule.start_on.year + 1, month=1)
        tasks.issue_recurring_invoices.apply(kwargs={"as_of": at_nine(second_on + timedelta(days=1)).isoformat()})
        with scopes_disabled():
            second = ScheduleRun.objects.get(period=2)
            assert second.collect_by_card
            due = FinancialTransaction.objects.get(pk=second.invoice_id).due_on
        tasks.collect_by_card.apply(kwargs={"as_of": at_nine(due).isoformat()})

        with scopes_disabled():
            attempt = CollectionAttempt.objects.get()
            assert (attempt.run_id, attempt.number, attempt.result) == (second.pk, 0, AttemptResult.SUCCEEDED)
            charge = GatewayPayment.objects.get(purpose=PaymentPurpose.CARD_ON_FILE)
            assert (charge.status, charge.saved_card_id, charge.amount) == (
                PaymentStatus.SUCCEEDED, card.pk, Decimal("30.00"))
            assert FinancialTransaction.objects.get(pk=second.invoice_id).open_amount == Decimal("0.00")
            payments = FinancialTransaction.objects.filter(account=gbp, classification=Classification.PAYMENT)
            assert sorted(p.total_amount for p in payments) == [Decimal("30.00"), Decimal("30.00")]

        page.goto(f"{live_server.url}/finance/billing/schedules/{schedule.pk}/")
        expect(page.locator("#run-2")).to_contain_text("£0.00")
        expect(page.locator("#panel-attempts")).to_contain_text("Paid")
        assert violations(page, "the schedule page") == []
        page.screenshot(path=SCREENSHOTS / "billing_schedule_1280.png", full_page=True)
        page.goto(f"{live_server.url}/customers/{gbp.customer_id}/")
        expect(page.locator("#panel-cards")).to_contain_text("Visa •••• 4242")
        page.screenshot(path=SCREENSHOTS / "customer_cards_1280.png", full_page=True)
        page.goto(f"{live_server.url}/reports/recurring/")
        expect(page.locator("#recurring-mrr tbody tr")).to_have_count(12)  # the twelve months before this one
        assert violations(page, "the recurring revenue report") == []
        page.screenshot(path=SCREENSHOTS / "report_recurring_1280.png", full_page=True)
