"""Fees due from a lender or provider (seed 000): booked on the lender's own account, about the customer,
never in the customer's balance, allocation or pay links, and refused wherever the customer would be asked."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from finance import services
from finance.models import (
    Account,
    AccountKind,
    Allocation,
    Classification,
    FinancialTransaction,
    Lender,
    TransactionType,
)
from gateways import services as gateway_services
from paylinks.models import InvoicePayLink, PaymentRequest
from paylinks.services.invoice_pay import invoice_gateway_account, send_invoice_pay_link
from paylinks.services.requests import RequestData, request_payment
from payments.models import GatewayPayment
from payments.services.gateway_payments import start_payment
from tests.conftest import api_client_for, logged_in
from tests.factories import AccountFactory, UserFactory, line
from tests.finance.test_views import invoice_form
from tests.helpers import assert_404_for_other_tenant

pytestmark = pytest.mark.django_db
D = Decimal


def fee_type(tenant, name):
    return TransactionType.objects.get(tenant=tenant, classification=Classification.INVOICE, name=name)


def post_fee(account, name, price, *, lender=None):
    draft = services.create_transaction(
        account=account,
        classification=Classification.INVOICE,
        actor=None,
        at=timezone.now(),
        lender=lender,
        data=services.TransactionData(type=fee_type(account.tenant, name), lines=[line(price, description=name)]),
    )
    return services.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction


@pytest.fixture
def stranger(other_tenant):
    """A lender of another tenant, made before this tenant's scope opens."""
    return Lender.objects.create(tenant=other_tenant, name="Elsewhere Bank")


@pytest.fixture
def lender(ledger):
    return Lender.objects.create(tenant=ledger, name="Northbank Mortgages", email="fees@northbank.example")


@pytest.fixture
def gbp(ledger, customer):
    customer.email, customer.phone = "ivan@example.com", "+447911123456"
    customer.save()
    gateway_services.save_gateway_account(tenant=ledger, provider="sandbox", live=False, secret="sbx_lender_secret")
    return AccountFactory(customer=customer, currency="GBP")


@pytest.fixture
def procuration(gbp, lender):
    return post_fee(gbp, "Procuration fee", "400.00", lender=lender)


def balance(account):
    return Account.objects.get(pk=account.pk).balance


class TestBooking:
    def test_a_lenders_fee_is_booked_on_the_lenders_account_about_the_customer(self, gbp, lender, customer):
        fee = post_fee(gbp, "Procuration fee", "400.00", lender=lender)

        owed_by = Account.objects.get(kind=AccountKind.LENDER)
        assert (fee.account_id, fee.for_customer_id, fee.open_amount) == (owed_by.pk, customer.pk, D("400.00"))
        assert (owed_by.lender_id, owed_by.currency, owed_by.name) == (lender.pk, "GBP", "Northbank Mortgages (GBP)")
        assert (balance(owed_by), balance(gbp)) == (D("400.00"), D("0.00"))

    def test_the_lender_has_one_account_per_currency_however_many_fees(self, gbp, lender):
        post_fee(gbp, "Procuration fee", "400.00", lender=lender)
        post_fee(gbp, "Procuration fee", "250.00", lender=lender)

        owed_by = Account.objects.get(kind=AccountKind.LENDER)
        assert balance(owed_by) == D("650.00")
        assert owed_by.transactions.count() == 2

    def test_a_fee_due_from_a_lender_without_one_is_refused_naming_the_field(self, gbp):
        with pytest.raises(ValidationError) as refused:
            post_fee(gbp, "Procuration fee", "400.00")

        assert refused.value.message_dict == {"lender": ["A “Procuration fee” is due from a lender or provider: "
                                                         "choose which one."]}
        assert FinancialTransaction.objects.count() == 0
        assert not Account.objects.filter(kind=AccountKind.LENDER).exists()

    def test_a_customer_fee_naming_a_lender_is_refused(self, gbp, lender):
        with pytest.raises(ValidationError) as refused:
            post_fee(gbp, "Broker fee", "150.00", lender=lender)

        assert refused.value.message_dict == {"type": [
            "A lender's or provider's account takes only fees due from a lender or provider; “Broker fee” is not one."]}
        assert FinancialTransaction.objects.count() == 0

    def test_a_lender_of_another_tenant_is_refused(self, stranger, gbp):
        with pytest.raises(ValidationError) as refused:
            post_fee(gbp, "Procuration fee", "400.00", lender=stranger)

        assert refused.value.message_dict == {"lender": ["Unknown lender or provider."]}
        assert FinancialTransaction.objects.count() == 0

    def test_a_customers_payment_is_never_allocated_to_a_lenders_fee(self, gbp, lender, procuration):
        broker = post_fee(gbp, "Broker fee", "150.00")
        payment = services.create_posted_transaction(
            account=gbp,
            classification=Classification.PAYMENT,
            actor=None,
            at=timezone.now(),
            data=services.TransactionData(amount="500.00", payment_method=_card(gbp)),
        ).transaction

        assert list(Allocation.objects.values_list("debit_id", "amount")) == [(broker.pk, D("150.00"))]
        assert FinancialTransaction.objects.get(pk=procuration.pk).open_amount == D("400.00")
        assert FinancialTransaction.objects.get(pk=payment.pk).open_amount == D("350.00")
        assert balance(gbp) == D("-350.00")


def _card(account):
    from finance.models import PaymentMethod

    return PaymentMethod.objects.get_or_create(tenant=account.tenant, name="Card")[0]


class TestTheCustomerIsNeverAsked:
    def test_no_payment_request_for_it(self, gbp, customer, procuration):
        with pytest.raises(ValidationError) as refused:
            request_payment(
                customer=customer, account=gbp, actor=None, at=timezone.now(), invoice=procuration,
                data=RequestData(amount="400.00", reference="", message="", channels=["email"]),
            )

        assert refused.value.message_dict == {"invoice": [
            f"Procuration fee {procuration.number} is due from Northbank Mortgages, not from the customer; "
            "the customer is never asked to pay it."]}
        assert PaymentRequest.objects.count() == 0

    def test_no_pay_link_for_it(self, gbp, procuration):
        with pytest.raises(ValidationError) as refused:
            send_invoice_pay_link(invoice=procuration, actor=None, at=timezone.now())

        assert refused.value.messages == [
            f"Procuration fee {procuration.number} is due from Northbank Mortgages, not from the customer; "
            "the customer is never asked to pay it."]
        assert InvoicePayLink.objects.count() == 0

    def test_take_payment_refuses_it_with_the_reason(self, tenant, procuration):
        cashier = logged_in(UserFactory(tenant=tenant, role_keys=["staff", "can_take_payment"]))

        response = cashier.post(reverse("payments:take_payment", args=[procuration.pk]))

        assert response.status_code == 403
        assert "is due from Northbank Mortgages, not from the customer" in response.content.decode()

    def test_an_old_provider_fee_on_the_customers_own_account_is_refused_as_well(self, gbp, customer):
        # Booked before fees due from lenders had accounts of their own: still never asked of the customer.
        draft = services.create_transaction(
            account=gbp,
            classification=Classification.INVOICE,
            actor=None,
            at=timezone.now(),
            data=services.TransactionData(type=fee_type(gbp.tenant, "Broker fee"), lines=[line("90.00")]),
        )
        FinancialTransaction.objects.filter(pk=draft.pk).update(type=fee_type(gbp.tenant, "Procuration fee"))
        old = services.post_transaction(txn=FinancialTransaction.objects.get(pk=draft.pk), actor=None,
                                        at=timezone.now()).transaction

        with pytest.raises(ValidationError) as refused:
            send_invoice_pay_link(invoice=old, actor=None, at=timezone.now())

        assert refused.value.messages == [
            f"Procuration fee {old.number} is due from a lender or provider, not from the customer; "
            "the customer is never asked to pay it."]


class TestCustomerFile:
    def test_the_fees_panel_shows_it_as_due_from_the_lender_without_take_payment(self, tenant, customer, gbp,
                                                                                    procuration):
        broker = post_fee(gbp, "Broker fee", "150.00")
        cashier = logged_in(UserFactory(tenant=tenant, role_keys=["staff", "can_take_payment"]))

        panel = cashier.get(reverse("payments:fees_panel", args=[customer.pk])).content.decode()

        assert "Due from Northbank Mortgages" in panel
        assert f"Procuration fee {procuration.number}" in panel
        assert reverse("payments:take_payment", args=[broker.pk]) in panel
        assert reverse("payments:take_payment", args=[procuration.pk]) not in panel

    def test_the_fee_page_names_the_lender_and_the_customer(self, staff_client, customer, procuration):
        page = staff_client.get(reverse("finance:transaction_detail", args=[procuration.pk])).content.decode()

        assert "Northbank Mortgages (lender or provider)" in page
        assert reverse("crm:customer_detail", args=[customer.pk]) in page


class TestEntry:
    def test_the_invoice_form_books_a_fee_on_the_chosen_lender(self, tenant, gbp, lender, customer):
        accountant = logged_in(UserFactory(tenant=tenant, role_keys=["staff", "accountant"]))
        kind = fee_type(tenant, "Procuration fee")

        response = accountant.post(reverse("finance:transaction_create", args=["invoice"]), invoice_form(
            gbp, {"description": "Procuration fee", "quantity": "1", "unit_price": "400.00"},
            type=kind.pk, lender=lender.pk))

        fee = FinancialTransaction.objects.get()
        assert response.status_code == 302
        assert (fee.account.lender_id, fee.for_customer_id, fee.total_amount) == (lender.pk, customer.pk, D("400.00"))

    def test_the_api_books_a_fee_on_a_lender_and_names_the_field_when_it_is_missing(self, stranger, tenant, gbp,
                                                                                    lender, customer):
        client = api_client_for(tenant)
        kind = fee_type(tenant, "Procuration fee")
        body = {"account": gbp.pk, "classification": "invoice", "type": kind.pk, "post": True,
                "lines": [{"description": "Procuration fee", "quantity": "1",
                           "unit_price": "400.00"}]}

        missing = client.post("/api/v1/transactions", body, content_type="application/json")
        foreign = client.post("/api/v1/transactions", body | {"lender": stranger.pk}, content_type="application/json")
        booked = client.post("/api/v1/transactions", body | {"lender": lender.pk}, content_type="application/json")

        assert (missing.status_code, missing.json()["errors"]) == (422, [
            {"field": "lender", "message": "A “Procuration fee” is due from a lender or provider: choose which one."}])
        assert (foreign.status_code, foreign.json()["errors"]) == (422, [{"field": "lender", "message": "Not found."}])
        assert booked.status_code == 201
        owed_by = Account.objects.get(kind=AccountKind.LENDER)
        assert {k: booked.json()[k] for k in ("account", "customer", "lender", "for_customer")} == {
            "account": owed_by.pk, "customer": None, "lender": lender.pk, "for_customer": customer.pk}
        assert balance(gbp) == D("0.00")


class TestLenderSettings:
    def test_an_accountant_adds_a_lender_and_another_tenant_gets_404(self, tenant, lender, other_tenant):
        accountant = logged_in(UserFactory(tenant=tenant, role_keys=["staff", "accountant"]))
        stranger = logged_in(UserFactory(tenant=other_tenant, role_keys=["staff", "accountant"]))

        response = accountant.post(reverse("finance:setting_create", args=["lenders"]),
                                   {"name": "Provident Finance", "email": ""})

        assert response.status_code == 302
        assert sorted(Lender.objects.filter(tenant=tenant).values_list("name", flat=True)) == [
            "Northbank Mortgages", "Provident Finance"]
        assert "Northbank Mortgages" in accountant.get(reverse("finance:setting_list", args=["lenders"])).text
        assert_404_for_other_tenant(stranger, reverse("finance:setting_update", args=["lenders", lender.pk]))


class TestTheServicesBehindThePagesRefuseToo:
    def test_a_card_payment_for_it_is_refused_by_the_service(self, gbp, procuration):
        gateway_account = invoice_gateway_account(invoice=procuration)

        with pytest.raises(ValidationError) as refused:
            start_payment(
                gateway_account=gateway_account, account=procuration.account, amount=procuration.open_amount,
                invoice=procuration, description="fee", mode="hosted_page", return_url="https://duly.test/back",
                webhook_url="https://duly.test/hook", at=timezone.now(),
            )

        assert refused.value.message_dict == {"invoice": [
            f"Procuration fee {procuration.number} is due from Northbank Mortgages, not from the customer; "
            "the customer is never asked to pay it."]}
        assert GatewayPayment.objects.count() == 0

    def test_a_payment_request_for_it_over_the_api_answers_422_naming_the_invoice(self, tenant, gbp, customer,
                                                                                  procuration):
        response = api_client_for(tenant).post(
            "/api/v1/payment-requests", content_type="application/json",
            data={"customer": customer.pk, "account": gbp.pk, "invoice": procuration.pk, "amount": "400.00",
                  "channels": ["email"]},
        )

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "invoice", "message": (
            f"Procuration fee {procuration.number} is due from Northbank Mortgages, not from the customer; "
            "the customer is never asked to pay it.")}]
        assert PaymentRequest.objects.count() == 0
