""""Request a payment" from an invoice: the request carries the invoice, and its payment is allocated to it."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scope

from finance import services as ledger_services
from finance.models import Allocation, Classification, FinancialTransaction, PaymentMethod
from paylinks.models import PaymentRequest
from paylinks.services.requests import RequestData, request_payment, start_request_attempt
from payments.services.gateway_payments import apply_state
from tests.factories import CustomerFactory, InvoiceFactory
from tests.helpers import assert_404_for_other_tenant
from tests.paylinks.request_fixtures import AT, D

pytestmark = pytest.mark.django_db


def request_from(invoice, staff, amount, at=AT):
    return request_payment(
        customer=invoice.account.customer, account=invoice.account, invoice=invoice, actor=staff, at=at,
        data=RequestData(amount=amount, reference=invoice.number, message="", channels=["email"]),
    )


def reload(txn):
    return FinancialTransaction.objects.get(pk=txn.pk)


class TestRequestFromAnInvoice:
    def test_the_payment_is_allocated_to_that_invoice_not_to_the_oldest(self, ledger, customer, gbp, staff, sandbox):
        older = InvoiceFactory(account=gbp, price="50.00", at=AT - timedelta(days=30))
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)
        request, _ = request_from(invoice, staff, "120.00")
        attempt = start_request_attempt(request=request, gateway_account=sandbox,
                                                 return_url="https://x.test/done", webhook_url="",
                                                 at=AT + timedelta(minutes=5)).payment

        apply_state(payment=attempt, status="succeeded", at=AT + timedelta(minutes=6), source="test")
        apply_state(payment=attempt, status="succeeded", at=AT + timedelta(minutes=6), source="again")

        payment = FinancialTransaction.objects.get(classification=Classification.PAYMENT)
        assert attempt.invoice_id == invoice.pk
        allocations = [(a.debit_id, a.amount) for a in Allocation.objects.filter(credit=payment)]
        assert allocations == [(invoice.pk, D("120.00"))]
        assert (reload(invoice).open_amount, reload(older).open_amount) == (D("0.00"), D("50.00"))

    def test_cannot_ask_for_more_than_is_outstanding(self, ledger, gbp, staff):
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)

        with pytest.raises(ValidationError) as refused:
            request_from(invoice, staff, "120.01")

        assert refused.value.message_dict == {
            "amount": [f"Invoice {invoice.number} has £120.00 outstanding; a request from it cannot ask for more."]}
        assert PaymentRequest.objects.count() == 0

    def test_refuses_an_invoice_of_another_account(self, ledger, customer, gbp, staff):
        someone_else = ledger_services.open_account(customer=CustomerFactory(tenant=ledger), currency="GBP")
        invoice = InvoiceFactory(account=someone_else, price="80.00", at=AT)

        with pytest.raises(ValidationError) as refused:
            request_payment(
                customer=customer, account=gbp, invoice=invoice, actor=staff, at=AT,
                data=RequestData(amount="80.00", reference="", message="", channels=["email"]),
            )

        assert list(refused.value.message_dict) == ["invoice"]
        assert PaymentRequest.objects.count() == 0


class TestTheInvoicePanel:
    def test_offers_the_outstanding_amount_and_the_invoice_number(self, ledger, gbp, staff_client):
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)

        page = staff_client.get(reverse("paylinks:invoice_request_panel", args=[invoice.pk])).content.decode()

        assert 'name="amount" inputmode="decimal" value="120.00"' in page
        assert f'name="reference" maxlength="100" value="{invoice.number}"' in page

    def test_sends_a_request_tied_to_the_invoice(self, ledger, gbp, staff, staff_client):
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)

        response = staff_client.post(reverse("paylinks:invoice_request_create", args=[invoice.pk]),
                                     {"amount": "70.00", "reference": invoice.number, "channels": ["email"]},
                                     headers={"HX-Request": "true"})

        assert response.status_code == 200
        request = PaymentRequest.objects.get()
        assert (request.invoice_id, request.account_id, request.amount, request.created_by) == (
            invoice.pk, gbp.pk, D("70.00"), staff)
        assert "70.00" in response.content.decode()

    def test_bad_input_names_the_field_and_sends_nothing(self, ledger, gbp, staff_client):
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)

        response = staff_client.post(reverse("paylinks:invoice_request_create", args=[invoice.pk]),
                                     {"amount": "70.00", "channels": []}, headers={"HX-Request": "true"})

        assert response.status_code == 422
        assert "Choose email, SMS or both." in response.content.decode()
        assert PaymentRequest.objects.count() == 0

    def test_a_paid_invoice_offers_nothing(self, ledger, gbp, staff_client):
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)
        bank = PaymentMethod.objects.get(tenant=ledger, name="Bank transfer")
        ledger_services.quick_pay(invoice=invoice, payment_method=bank, actor=None, at=AT + timedelta(hours=1))

        page = staff_client.get(reverse("paylinks:invoice_request_panel", args=[invoice.pk])).content.decode()

        assert "Nothing is outstanding on this invoice." in page
        assert "Send the request" not in page

    def test_another_tenant_gets_404(self, ledger, gbp, other_client):
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)

        assert_404_for_other_tenant(other_client, reverse("paylinks:invoice_request_panel", args=[invoice.pk]))
        assert_404_for_other_tenant(other_client, reverse("paylinks:invoice_request_create", args=[invoice.pk]),
                                    method="post", data={"amount": "1.00", "channels": ["email"]})
        assert PaymentRequest.objects.count() == 0


class TestOverTheApi:
    def test_creates_a_request_for_an_invoice(self, api_client, ledger, customer, gbp):
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)

        response = api_client.post("/api/v1/payment-requests", content_type="application/json", data=json.dumps({
            "customer": customer.pk, "account": gbp.pk, "invoice": invoice.pk, "amount": "120.00",
            "channels": ["email"]}))

        assert response.status_code == 201
        assert response.json()["invoice"] == invoice.pk

    def test_another_tenants_invoice_is_refused_naming_the_field(self, other_api_client, other_tenant, ledger, gbp):
        invoice = InvoiceFactory(account=gbp, price="120.00", at=AT)
        with scope(tenant=other_tenant):
            theirs = CustomerFactory(tenant=other_tenant)
            account = ledger_services.open_account(customer=theirs, currency="GBP")

        response = other_api_client.post("/api/v1/payment-requests", content_type="application/json",
                                         data=json.dumps({"customer": theirs.pk, "account": account.pk,
                                                          "invoice": invoice.pk, "amount": "1.00",
                                                          "channels": ["email"]}))

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "invoice", "message": "Not found."}]
