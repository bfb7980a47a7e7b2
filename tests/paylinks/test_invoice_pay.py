"""Email pay ("Email Pago"): a posted invoice emailed with a pay-now link, paid in parts through a
gateway, each success booking one ledger payment allocated to the invoice and confirmed by email."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer
from finance import services as ledger_services
from finance.models import Allocation, Classification, FinancialTransaction
from gateways import services as gateway_services
from notifications.models import MessageTemplate, Notification
from paylinks.models import InvoicePayLink
from paylinks.services.invoice_pay import (
    invoice_gateway_account,
    link_for_token,
    send_invoice_pay_link,
    start_invoice_payment,
)
from payments.models import GatewayPayment, PaymentStatus
from payments.services.gateway_payments import AttemptRefused, apply_state
from payments.services.notices import send_waiting_notices
from tests.factories import AccountFactory, line
from tests.gateways.test_stripe import session_json
from tests.helpers import assert_404_for_other_tenant

pytestmark = pytest.mark.django_db
D = Decimal


def make_invoice(account, *, post=True):
    draft = ledger_services.create_transaction(
        account=account,
        classification=Classification.INVOICE,
        actor=None,
        at=timezone.now(),
        data=ledger_services.TransactionData(
            lines=[line("80.00", description="Broker fee"), line("20.00", quantity="2", description="Document check")]
        ),
    )
    if not post:
        return draft
    return ledger_services.post_transaction(txn=draft, actor=None, at=timezone.now()).transaction


@pytest.fixture
def gbp(ledger, customer):
    # Without the payment-request fixtures' sandbox: each test here sets up the gateways it needs.
    return AccountFactory(customer=customer, currency="GBP")


@pytest.fixture
def invoice(gbp):
    return make_invoice(gbp)  # 80 + 2 × 20 = 120.00 GBP


def fresh(invoice):
    return FinancialTransaction.objects.get(pk=invoice.pk)


def ledger_payments():
    return FinancialTransaction.objects.filter(classification=Classification.PAYMENT)


def start(token, amount):
    link = link_for_token(token=token)
    return start_invoice_payment(
        link=link, amount=amount, gateway_account=invoice_gateway_account(invoice=link.invoice),
        return_url="https://duly.test/back", webhook_url="https://duly.test/hook", at=timezone.now(),
    ).payment


def settle(attempt):
    """The provider's success, booked, and the confirmations the notifications worker then writes."""
    applied = apply_state(payment=attempt, status="succeeded", at=timezone.now(), source="test",
                          amount_minor=int(attempt.amount * 100))
    send_waiting_notices(tenant=attempt.tenant)
    return applied


class TestSending:
    def test_the_invoice_goes_through_the_outbox_once_with_its_link(self, invoice, sandbox, staff):
        token = send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now())

        sent = Notification.objects.get(template_key="invoice_email_pay")
        assert sent.channel == "email" and sent.recipient == "harriet@example.com"
        assert f"/pay/invoice/{token}/" in sent.body
        assert invoice.number in sent.subject and "120.00" in sent.body
        link = InvoicePayLink.objects.get()
        assert link.invoice == invoice and token not in link.token_hash and len(token) >= 22
        assert link.expires_at > timezone.now() + timedelta(days=29)

    @pytest.mark.parametrize("case", ["no_email", "paid", "draft", "no_gateway"])
    def test_refusals_name_the_reason_and_send_nothing(self, case, gbp, customer, staff, card, settings):
        settings.GATEWAY_BASE_URLS = {"sandbox": "http://127.0.0.1:9"}
        expected = {"no_email": "has no email address", "paid": "nothing outstanding",
                    "draft": "only a posted invoice",
                    "no_gateway": "No payment gateway of yours takes GBP for invoice pay links"}[case]
        if case != "no_gateway":
            gateway_services.save_gateway_account(tenant=gbp.tenant, provider="sandbox", live=False, secret="s")
        else:  # Credicorp is enabled but takes PAB and USD only; the sandbox is switched off
            gateway_services.save_gateway_account(tenant=gbp.tenant, provider="credicorp", live=False, secret="k",
                                                  settings={"base_url": "http://x", "callback_secret": "s"})
            gateway_services.save_gateway_account(tenant=gbp.tenant, provider="sandbox", live=False, secret="s",
                                                  enabled=False)
        if case == "no_email":
            Customer.objects.filter(pk=customer.pk).update(email="")
        invoice = make_invoice(gbp, post=case != "draft")
        if case == "paid":
            ledger_services.post_transaction(
                txn=ledger_services.create_transaction(
                    account=gbp,
                    classification=Classification.PAYMENT,
                    actor=None,
                    at=timezone.now(),
                    data=ledger_services.TransactionData(amount=D("120.00"), payment_method=card, targets=[invoice]),
                ),
                actor=None,
                at=timezone.now(),
            )
            assert fresh(invoice).open_amount == 0

        with pytest.raises(ValidationError) as refused:
            send_invoice_pay_link(invoice=fresh(invoice), actor=staff, at=timezone.now())

        assert expected in " ".join(refused.value.messages)
        assert not Notification.objects.filter(template_key="invoice_email_pay").exists()
        assert not InvoicePayLink.objects.exists()


class TestPayingInParts:
    def test_part_then_the_rest_books_one_allocated_payment_each_and_confirms_by_email(
            self, invoice, sandbox, staff, client):
        token = send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now())

        first = start(token, "50.00")
        assert (first.invoice_id, first.amount, first.status) == (invoice.pk, D("50.00"), PaymentStatus.PENDING)
        settled = settle(first)

        assert fresh(invoice).open_amount == D("70.00")
        booked = ledger_payments().get()
        assert settled.payment.ledger_payment == booked and booked.total_amount == D("50.00")
        assert list(Allocation.objects.values_list("credit_id", "debit_id", "amount")) == [
            (booked.pk, invoice.pk, D("50.00"))]
        confirmation = Notification.objects.get(template_key="payment_received", channel="email")
        assert confirmation.recipient == "harriet@example.com" and "50.00" in confirmation.subject
        settle(first)  # a duplicate success changes nothing
        assert ledger_payments().count() == 1
        assert Notification.objects.filter(template_key="payment_received", channel="email").count() == 1
        page = client.get(f"/pay/invoice/{token}/")
        assert "70.00" in page.text and 'name="amount"' in page.text

        second = start(token, "70.00")
        settle(second)

        assert fresh(invoice).open_amount == D("0.00")
        assert ledger_payments().count() == 2
        assert Allocation.objects.filter(debit=invoice).count() == 2
        assert Notification.objects.filter(template_key="payment_received", channel="email").count() == 2
        paid = client.get(f"/pay/invoice/{token}/")
        assert "This invoice has been paid" in paid.text
        assert 'name="amount"' not in paid.text
        assert client.post(f"/pay/invoice/{token}/", {"amount": "1.00"}).status_code == 409
        with pytest.raises(AttemptRefused):
            start(token, "1.00")

    def test_the_confirmation_carries_the_receipt_link(self, invoice, sandbox, staff, client, customer):
        # The default wording does not print #receipt_link; a tenant's own wording may.
        MessageTemplate.objects.create(
            tenant=invoice.tenant, key="payment_received", language=customer.language,
            subject="Paid #amount", body="Invoice #invoice.number: #amount. Receipt: #receipt_link",
            updated_at=timezone.now(),
        )
        token = send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now())

        settled = settle(start(token, "120.00"))

        assert settled.receipt_token
        assert GatewayPayment.objects.get().invoice_pay_link is not None
        body = Notification.objects.get(template_key="payment_received", channel="email").body
        assert invoice.number in body and "120.00" in body
        receipt_url = body.split("Receipt: ")[1].strip()
        assert receipt_url.endswith(f"/receipts/{settled.receipt_token}/")
        assert client.get(urlsplit(receipt_url).path).status_code == 200

    @pytest.mark.parametrize(("amount", "message"), [
        ("120.01", "cannot be more than the outstanding"), ("0", "more than zero"), ("-5", "more than zero"),
        ("abc", "Enter an amount"),
    ])
    def test_more_than_outstanding_or_nothing_is_refused_naming_the_field(
            self, invoice, sandbox, staff, client, amount, message):
        token = send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now())

        response = client.post(f"/pay/invoice/{token}/", {"amount": amount})

        assert response.status_code == 422
        assert "Amount:" in response.text and message in response.text
        assert GatewayPayment.objects.count() == 0


class TestPublicPage:
    def test_shows_the_invoice_and_its_lines_privately(self, invoice, sandbox, staff, client):
        token = send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now())

        response = client.get(f"/pay/invoice/{token}/")

        assert response.status_code == 200
        assert invoice.number in response.text and "Acme Brokers" in response.text
        assert "Broker fee" in response.text and "Document check" in response.text
        assert "120.00" in response.text and 'value="120.00"' in response.text
        assert "Pay now" in response.text
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["Cache-Control"] == "no-store"

    def test_pay_now_redirects_to_the_providers_page(self, invoice, staff, client, settings, httpserver):
        settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
        gateway_services.save_gateway_account(tenant=invoice.tenant, provider="stripe", live=False,
                                              secret="sk_test_1", settings={"webhook_secret": "whsec_1"})
        httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
            session_json(amount_total=4000, amount_subtotal=4000))
        token = send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now())

        response = client.post(f"/pay/invoice/{token}/", {"amount": "40.00"})

        assert response.status_code == 302
        assert response["Location"].startswith("https://checkout.stripe.com/")
        attempt = GatewayPayment.objects.get()
        assert (attempt.invoice_id, attempt.amount, attempt.provider) == (invoice.pk, D("40.00"), "stripe")

    def test_a_forged_token_is_404(self, invoice, sandbox, staff, client):
        send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now())

        assert client.get("/pay/invoice/forged-token-0000000000000000/").status_code == 404
        assert client.post("/pay/invoice/forged-token-0000000000000000/", {"amount": "1"}).status_code == 404

    def test_an_expired_link_says_so_and_cannot_be_paid(self, invoice, sandbox, staff, client):
        token = send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now() - timedelta(days=31))

        assert "This link has expired" in client.get(f"/pay/invoice/{token}/").text
        assert client.post(f"/pay/invoice/{token}/", {"amount": "10.00"}).status_code == 409
        assert GatewayPayment.objects.count() == 0


class TestStaffPanel:
    def test_the_invoice_page_loads_the_panel_and_send_emails_the_link(self, invoice, sandbox, staff_client):
        page = staff_client.get(reverse("finance:transaction_detail", args=[invoice.pk]))
        assert reverse("paylinks:invoice_pay_panel", args=[invoice.pk]) in page.text

        panel = staff_client.get(reverse("paylinks:invoice_pay_panel", args=[invoice.pk]))
        assert "Send email pay" in panel.text

        response = staff_client.post(reverse("paylinks:invoice_pay_send", args=[invoice.pk]),
                                     headers={"HX-Request": "true"})

        assert response.status_code == 200
        assert "harriet@example.com" in response.text and 'id="email-pay-links"' in response.text
        assert Notification.objects.filter(template_key="invoice_email_pay").count() == 1

    def test_a_refusal_is_shown_and_nothing_sent(self, invoice, staff_client):
        # No gateway account at all.
        panel = staff_client.get(reverse("paylinks:invoice_pay_panel", args=[invoice.pk]))
        assert "No payment gateway of yours takes GBP for invoice pay links" in panel.text
        assert "Send email pay" not in panel.text

        response = staff_client.post(reverse("paylinks:invoice_pay_send", args=[invoice.pk]),
                                     headers={"HX-Request": "true"})

        assert response.status_code == 422
        assert not Notification.objects.filter(template_key="invoice_email_pay").exists()

    def test_another_tenants_staff_get_404(self, invoice, sandbox, other_client):
        assert_404_for_other_tenant(other_client, reverse("paylinks:invoice_pay_panel", args=[invoice.pk]))
        assert_404_for_other_tenant(other_client, reverse("paylinks:invoice_pay_send", args=[invoice.pk]),
                                    method="post")
        assert not Notification.objects.filter(template_key="invoice_email_pay").exists()
