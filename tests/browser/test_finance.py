import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from crm.models import Role
from finance import services
from finance.models import Account, Classification, FinancialTransaction, TaxRate, TransactionType
from tests.browser.test_staff_login import SCREENSHOTS
from tests.factories import PASSWORD, CustomerFactory, UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestFinance:
    def test_an_accountant_creates_posts_and_quick_pays_an_invoice(self, live_server, page, tenant):
        accountant = UserFactory(tenant=tenant, username="anna", role_keys=[Role.STAFF, Role.ACCOUNTANT])
        customer = CustomerFactory(tenant=tenant, name="Harriet Holloway")
        with scope(tenant=tenant):
            services.set_up_ledger(tenant=tenant)  # as every tenant has from its creation
            account = services.open_account(customer=customer, currency="EUR", credit_limit="500.00")

        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(accountant.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
        page.get_by_role("link", name="Harriet Holloway").click()
        panel = page.locator("#panel-finance")
        expect(panel).to_contain_text("€0.00")  # loaded by htmx
        panel.get_by_role("link", name="New invoice").click()

        expect(page.get_by_role("heading", name="New invoice")).to_be_visible()
        page.locator("[name=lines-0-description]").fill("Consulting")
        page.locator("[name=lines-0-quantity]").fill("2")
        page.locator("[name=lines-0-unit_price]").fill("45.50")
        page.locator("[name=lines-0-tax_rate]").select_option(label="Standard (20 %)")
        page.locator("[name=lines-1-description]").fill("Travel")
        page.locator("[name=lines-1-quantity]").fill("1")
        page.locator("[name=lines-1-unit_price]").fill("20.00")
        page.locator("[name=lines-1-unit_price]").blur()
        expect(page.locator("#amounts")).to_contain_text("€129.20")  # previewed by htmx before saving
        page.get_by_role("button", name="Save and post").click()

        expect(page.get_by_role("heading", name="Invoice INV-000001")).to_be_visible()
        expect(page.locator("#txn-number")).to_have_text("INV-000001")
        expect(page.locator("#txn-total")).to_have_text("€129.20")
        expect(page.locator("#txn-open")).to_have_text("€129.20")
        expect(page.locator("[data-action=post]")).to_have_count(0)
        page.locator("[data-action=quick_pay] select[name=payment_method]").select_option(label="Cash")
        page.get_by_role("button", name="Quick pay €129.20").click()

        expect(page.get_by_role("status")).to_contain_text("Invoice INV-000001 paid by Payment PAY-000001 (€129.20).")
        expect(page.locator("#txn-open")).to_have_text("€0.00")
        expect(page.locator("[data-action=quick_pay]")).to_have_count(0)
        expect(page.locator("#panel-allocations")).to_contain_text("Payment PAY-000001")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "finance_invoice.png", full_page=True)

        with scopes_disabled():
            invoice = FinancialTransaction.objects.get(classification=Classification.INVOICE)
            payment = FinancialTransaction.objects.get(classification=Classification.PAYMENT)
            assert (invoice.number, invoice.state, invoice.created_by) == ("INV-000001", "posted", accountant)
            assert [(ln.description, ln.total_amount) for ln in invoice.lines.all()] == [
                ("Consulting", Decimal("109.20")), ("Travel", Decimal("20.00"))]
            assert (invoice.total_amount, invoice.open_amount) == (Decimal("129.20"), Decimal("0.00"))
            assert (payment.total_amount, payment.payment_method.name) == (Decimal("129.20"), "Cash")
            assert list(payment.credit_allocations.values_list("debit_id", "amount")) == [
                (invoice.pk, Decimal("129.20"))]
            assert Account.objects.get(pk=account.pk).balance == Decimal("0.00")
        expect(page).to_have_url(re.compile(rf"/finance/transactions/{invoice.pk}/$"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestWriteOff:
    def test_an_accountant_writes_off_an_invoice_choosing_its_type_and_reason(self, live_server, page, tenant):
        accountant = UserFactory(tenant=tenant, username="anna", role_keys=[Role.STAFF, Role.ACCOUNTANT])
        customer = CustomerFactory(tenant=tenant, name="Harriet Holloway")
        with scope(tenant=tenant):
            services.set_up_ledger(tenant=tenant)
            account = services.open_account(customer=customer, currency="EUR", credit_limit="500.00")
            TransactionType.objects.create(tenant=tenant, classification=Classification.WRITE_OFF, name="Bankruptcy")
            standard = TaxRate.objects.get(tenant=tenant, name="Standard")
            draft = services.create_transaction(
                account=account,
                classification=Classification.INVOICE,
                actor=None,
                at=timezone.now(),
                data=services.TransactionData(
                    lines=[
                        services.LineData(
                            description="Annual review",
                            quantity=Decimal(1),
                            unit_price=Decimal("100.00"),
                            discount_percent=Decimal(10),
                            tax_rate=standard,
                        )
                    ]
                ),
            )
            invoice = services.post_transaction(txn=draft, actor=None, at=timezone.now()).transaction
        problems = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(accountant.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/finance/transactions/{invoice.pk}/")

        expect(page.locator("#txn-without-tax")).to_have_text("€90.00")  # net 100.00 less 10 % discount
        expect(page.locator("#txn-total")).to_have_text("€108.00")
        form = page.locator("#write-off-form")
        expect(form.locator("select[name=type] option:checked")).to_have_text("Write-off")  # the default
        form.locator("select[name=type]").select_option(label="Choose a type…")
        form.get_by_role("button", name="Write off €108.00").click()
        expect(page.get_by_role("status")).to_contain_text("Write-off type: This field is required.")
        expect(page.locator("#txn-open")).to_have_text("€108.00")

        form.locator("select[name=type]").select_option(label="Bankruptcy")
        form.locator("select[name=issue_reason]").select_option(label="Uncollectable debt")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "finance_write_off_form.png", full_page=True)
        form.get_by_role("button", name="Write off €108.00").click()

        expect(page.get_by_role("status")).to_contain_text("Invoice INV-000001 written off by Write-off WO-000001.")
        expect(page.locator("#txn-open")).to_have_text("€0.00")
        expect(page.locator("#write-off-form")).to_have_count(0)
        page.locator("#panel-allocations").get_by_role("link", name="Write-off WO-000001").click()
        expect(page.get_by_role("heading", name="Write-off WO-000001")).to_be_visible()
        expect(page.locator("#panel-details")).to_contain_text("Bankruptcy")
        expect(page.locator("#txn-issue-reason")).to_have_text("Uncollectable debt")
        page.screenshot(path=SCREENSHOTS / "finance_write_off.png", full_page=True)
        assert problems == []

        with scopes_disabled():
            write_off = FinancialTransaction.objects.get(classification=Classification.WRITE_OFF)
            assert (write_off.type.name, write_off.issue_reason.text, write_off.total_amount, write_off.related_id) == (
                "Bankruptcy", "Uncollectable debt", Decimal("108.00"), invoice.pk)
            assert Account.objects.get(pk=account.pk).balance == Decimal("0.00")
