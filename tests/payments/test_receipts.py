"""Receipts: issued once per succeeded payment, numbered without gaps per tenant, printed as HTML and
PDF for staff, and shown to the customer through a link whose token only they hold."""

import hashlib
import io
import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_scopes import scope
from pypdf import PdfReader

from finance import services as ledger
from finance.models import Account
from gateways import services as gateway_services
from payments.models import GatewayPayment, Receipt
from payments.services.gateway_payments import apply_state
from payments.services.receipts import issue_receipt, receipt_link
from tests.factories import CustomerFactory, GatewayPaymentFactory, InvoiceFactory, PaymentFactory, UserFactory
from tests.helpers import assert_404_for_other_tenant
from tests.payments.test_gateway_payments import AT, D

CSRF = re.compile(rb'"X-CSRFToken": "[^"]*"|nonce="[^"]*"')  # both differ with every response


def succeed(payment, at=AT):
    return apply_state(payment=payment, status="succeeded", at=at, source="test")


def numbers():
    return list(Receipt.objects.order_by("number").values_list("number", flat=True))


def pdf_text(response) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


@pytest.fixture
def gbp_account(ledger, customer):
    return _open(customer, "GBP")


def _open(customer, currency):
    return ledger.open_account(customer=customer, currency=currency)


@pytest.fixture
def invoice(gbp_account):
    return InvoiceFactory(account=gbp_account, price="300.00")


@pytest.fixture
def paid(stripe_account, gbp_account, invoice):
    """A succeeded payment of 120.00 GBP against a 300.00 invoice, with the link token it was given."""
    return succeed(GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, invoice=invoice))


@pytest.fixture
def receipt(paid):
    return Receipt.objects.get(ledger_payment=paid.payment.ledger_payment)


@pytest.fixture
def stripe_account(ledger, settings, httpserver):
    settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
    return gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_test_1",
                                                 settings={"webhook_secret": "whsec_1"})


def other_tenants_success(other_tenant, other_customer, reference):
    with scope(tenant=other_tenant):
        ledger.set_up_ledger(tenant=other_tenant)
        gateway = gateway_services.save_gateway_account(
            tenant=other_tenant, provider="stripe", live=False, secret="sk_test_2",
            settings={"webhook_secret": "whsec_2"},
        )
        payment = GatewayPaymentFactory(gateway_account=gateway, account=_open(other_customer, "EUR"),
                                        provider_reference=reference)
        return succeed(payment)


@pytest.mark.django_db
class TestIssueReceipt:
    def test_a_success_issues_one_receipt_with_what_the_payer_needs(self, stripe_account, gbp_account, invoice):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, invoice=invoice)

        settled = succeed(payment)

        receipt = Receipt.objects.get()
        assert (receipt.number, receipt.gateway_payment_id, receipt.ledger_payment_id) == (
            "RC-000001", payment.pk, settled.payment.ledger_payment_id)
        assert (receipt.amount, receipt.currency, receipt.provider, receipt.provider_reference) == (
            D("120.00"), "GBP", "stripe", "cs_test_a1B2c3")
        assert (receipt.invoice_number, receipt.description, receipt.payer_name, receipt.payer_email) == (
            invoice.number, "Broker fee", "Harriet Holloway", "harriet@example.com")
        assert receipt.issued_at == AT
        assert len(settled.receipt_token) == 32
        assert receipt.public_token_hash == hashlib.sha256(settled.receipt_token.encode()).hexdigest()

    def test_numbers_follow_without_gaps_and_each_tenant_starts_at_one(
        self, stripe_account, gbp_account, other_tenant, other_customer
    ):
        succeed(GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                      provider_reference="cs_first"))
        succeed(GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                      provider_reference="cs_second"))

        other_tenants_success(other_tenant, other_customer, "cs_elsewhere")

        assert numbers() == ["RC-000001", "RC-000002"]
        with scope(tenant=other_tenant):
            assert numbers() == ["RC-000001"]

    def test_a_success_applied_twice_keeps_one_receipt_and_consumes_one_number(self, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)
        succeed(payment)

        again = succeed(payment, at=AT + timedelta(hours=1))
        succeed(GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                      provider_reference="cs_next"))

        assert again.receipt_token == ""
        assert numbers() == ["RC-000001", "RC-000002"]
        assert Receipt.objects.get(gateway_payment=payment).issued_at == AT

    def test_issuing_again_returns_the_same_receipt_without_a_token(self, paid, receipt):
        before = receipt.public_token_hash

        again, token = issue_receipt(ledger_payment=paid.payment.ledger_payment, gateway_payment=paid.payment,
                                              at=AT + timedelta(days=1))

        assert (again.pk, again.number, token) == (receipt.pk, "RC-000001", "")
        assert Receipt.objects.get().public_token_hash == before

    def test_a_ledger_payment_posted_by_hand_gets_a_receipt_for_the_invoice_it_targets(
        self, gbp_account, invoice, card
    ):
        payment = PaymentFactory(account=gbp_account, amount="50.00", method=card, targets=[invoice])

        receipt, token = issue_receipt(ledger_payment=payment, at=AT)

        assert (receipt.number, receipt.gateway_payment, receipt.amount, receipt.currency) == (
            "RC-000001", None, D("50.00"), "GBP")
        assert (receipt.provider, receipt.provider_reference, receipt.invoice_number, receipt.payer_name) == (
            "", "", invoice.number, "Harriet Holloway")
        assert receipt.public_token_hash == Receipt.hash_token(token)

    def test_an_invoice_gets_no_receipt_and_no_number_is_consumed(self, gbp_account, invoice, card):
        with pytest.raises(ValueError, match="is not a posted payment"):
            issue_receipt(ledger_payment=invoice, at=AT)

        assert Receipt.objects.count() == 0
        receipt, _ = issue_receipt(ledger_payment=PaymentFactory(account=gbp_account, amount="10.00", method=card),
                                                                 at=AT)
        assert receipt.number == "RC-000001"

    def test_a_gateway_payment_that_booked_another_ledger_payment_is_refused(self, paid, gbp_account, card):
        other = PaymentFactory(account=gbp_account, amount="10.00", method=card)

        with pytest.raises(ValueError, match=f"{paid.payment.reference} did not book"):
            issue_receipt(ledger_payment=other, gateway_payment=paid.payment, at=AT)

        assert numbers() == ["RC-000001"]


@pytest.mark.django_db(transaction=True)
class TestConcurrentReceipts:
    def race(self, tenant, action, n=5):
        barrier = threading.Barrier(n)
        errors = []

        def run():
            try:
                with scope(tenant=tenant):
                    barrier.wait(timeout=10)
                    action()
            except BaseException as error:
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        return errors

    def test_five_simultaneous_successes_issue_one_receipt_and_one_number(self, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)

        errors = self.race(gbp_account.tenant, lambda: succeed(payment))

        assert errors == []
        assert numbers() == ["RC-000001"]
        succeed(GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account,
                                      provider_reference="cs_next"))
        assert numbers() == ["RC-000001", "RC-000002"]

    def test_five_simultaneous_issues_for_one_ledger_payment_consume_one_number(self, gbp_account, card):
        payment = PaymentFactory(account=gbp_account, amount="40.00", method=card)

        errors = self.race(gbp_account.tenant, lambda: issue_receipt(ledger_payment=payment, at=AT))

        assert errors == []
        assert numbers() == ["RC-000001"]
        issue_receipt(ledger_payment=PaymentFactory(account=gbp_account, amount="41.00", method=card), at=AT)
        assert numbers() == ["RC-000001", "RC-000002"]


@pytest.mark.django_db
class TestReceiptLink:
    def test_a_new_link_replaces_the_old_one(self, paid, receipt):
        old = paid.receipt_token

        token = receipt_link(receipt=receipt)

        assert token != old
        assert Receipt.objects.get().public_token_hash == Receipt.hash_token(token)
        assert Client().get(reverse("receipt_public", args=[old])).status_code == 404
        assert Client().get(reverse("receipt_public", args=[token])).status_code == 200


@pytest.mark.django_db
class TestStaffReceiptPage:
    def test_shows_the_number_amount_and_provider_reference(self, staff_client, receipt):
        response = staff_client.get(reverse("payments:receipt_detail", args=[receipt.pk]))

        assert response.status_code == 200
        assert [t.name for t in response.templates][:2] == ["payments/receipt.html", "print_base.html"]
        text = response.text
        assert "RC-000001" in text
        assert "£120.00" in text
        assert "cs_test_a1B2c3" in text
        assert "/static/duly/print.css" in text

    def test_the_pdf_holds_the_number_amount_and_reference(self, staff_client, receipt, invoice):
        response = staff_client.get(reverse("payments:receipt_detail", args=[receipt.pk]), {"format": "pdf"})

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'inline; filename="receipt-RC-000001.pdf"'
        text = pdf_text(response)
        assert "RC-000001" in text
        assert "£120.00" in text
        assert "cs_test_a1B2c3" in text
        assert f"Invoice {invoice.number}" in text
        assert "Download PDF" not in text

    def test_the_payment_page_links_to_the_receipt(self, staff_client, paid, receipt):
        response = staff_client.get(reverse("payments:payment_detail", args=[paid.payment.pk]))

        assert f'href="{reverse("payments:receipt_detail", args=[receipt.pk])}"' in response.text
        assert "Print receipt RC-000001" in response.text

    def test_a_payment_without_a_receipt_offers_none(self, staff_client, stripe_account, gbp_account):
        payment = GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account)

        response = staff_client.get(reverse("payments:payment_detail", args=[payment.pk]))

        assert "Print receipt" not in response.text

    def test_staff_make_a_new_customer_link_and_the_old_one_stops_working(self, staff_client, paid, receipt):
        response = staff_client.post(reverse("payments:receipt_new_link", args=[receipt.pk]))

        token = response.context["link"].rsplit("/receipts/", 1)[1].rstrip("/")
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-store"
        assert f"http://testserver/receipts/{token}/" in response.text
        assert Receipt.objects.get().public_token_hash == Receipt.hash_token(token)
        assert Client().get(f"/receipts/{paid.receipt_token}/").status_code == 404
        assert Client().get(f"/receipts/{token}/").status_code == 200

    def test_another_tenants_staff_get_404(self, other_client, receipt):
        url = reverse("payments:receipt_detail", args=[receipt.pk])

        assert_404_for_other_tenant(other_client, url)
        assert_404_for_other_tenant(other_client, url + "?format=pdf")
        assert_404_for_other_tenant(other_client, reverse("payments:receipt_new_link", args=[receipt.pk]),
                                    method="post")
        assert Receipt.objects.get().public_token_hash == receipt.public_token_hash

    def test_an_unknown_receipt_is_404(self, staff_client, receipt):
        assert staff_client.get(reverse("payments:receipt_detail", args=[receipt.pk + 1000])).status_code == 404

    def test_the_query_count_is_pinned(self, staff_client, receipt, django_assert_num_queries):
        url = reverse("payments:receipt_detail", args=[receipt.pk])

        # the session, the user, the user's tenant, the receipt with its tenant
        with django_assert_num_queries(4):
            staff_client.get(url)
        with django_assert_num_queries(4):
            staff_client.get(url, {"format": "pdf"})


@pytest.mark.django_db
class TestPublicReceiptPage:
    @pytest.fixture
    def internals(self, paid, tenant, gbp_account):
        """What the tenant knows and the payer must not see: who took the payment, the account's balance,
        another customer and their invoice."""
        staff = UserFactory(tenant=tenant, username="stella", first_name="Stella", last_name="Staffwell")
        GatewayPayment.objects.filter(pk=paid.payment.pk).update(created_by=staff)
        other = CustomerFactory(tenant=tenant, name="Ivan Ilic", email="ivan@example.com")
        InvoiceFactory(account=_open(other, "GBP"), price="999.00")
        assert Account.objects.get(pk=gbp_account.pk).balance == D("180.00")
        return ["Stella", "Staffwell", "stella", "Sam Staff", "180.00", "Ivan Ilic", "999.00",
                "harriet@example.com", paid.payment.reference, paid.payment.ledger_payment.number, "Log out"]

    def test_shows_the_receipt_without_login(self, paid, receipt, invoice):
        response = Client().get(reverse("receipt_public", args=[paid.receipt_token]))

        assert response.status_code == 200
        text = response.text
        for shown in ["Acme Brokers", "United Kingdom", "RC-000001", "23 November 2026", "£120.00",
                      "cs_test_a1B2c3", f"Invoice {invoice.number}", "Harriet Holloway"]:
            assert shown in text, shown
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["Cache-Control"] == "private, no-store"
        assert f'href="/receipts/{paid.receipt_token}.pdf"' in text

    def test_shows_nothing_of_the_tenants_internals(self, paid, receipt, internals):
        response = Client().get(reverse("receipt_public", args=[paid.receipt_token]))

        assert response.status_code == 200
        for hidden in internals:
            assert hidden not in response.text, hidden
        assert "New customer link" not in response.text
        assert "csrfmiddlewaretoken" not in response.text

    def test_the_pdf_is_the_same_receipt(self, paid, receipt, internals):
        response = Client().get(reverse("receipt_public_pdf", args=[paid.receipt_token]))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'inline; filename="receipt-RC-000001.pdf"'
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["Cache-Control"] == "private, no-store"
        text = pdf_text(response)
        for shown in ["Acme Brokers", "RC-000001", "£120.00", "cs_test_a1B2c3", "Harriet Holloway"]:
            assert shown in text, shown
        for hidden in internals:
            assert hidden not in text, hidden

    @pytest.mark.parametrize("token", ["nope", "A" * 32, "x" * 200])
    def test_an_unknown_or_forged_token_is_the_ordinary_404(self, receipt, token):
        client = Client()

        response = client.get(f"/receipts/{token}/")
        pdf = client.get(f"/receipts/{token}.pdf")
        ordinary = client.get("/no-such-page/")

        assert (response.status_code, pdf.status_code, ordinary.status_code) == (404, 404, 404)
        assert CSRF.sub(b"", response.content) == CSRF.sub(b"", ordinary.content)
        assert CSRF.sub(b"", pdf.content) == CSRF.sub(b"", ordinary.content)

    def test_the_stored_hash_is_not_a_key(self, receipt):
        assert Client().get(f"/receipts/{receipt.public_token_hash}/").status_code == 404

