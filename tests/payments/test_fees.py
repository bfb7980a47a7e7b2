"""Fees on the customer file and Take Payment (permissions, tenancy, the status fragment)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from finance import services as ledger_services
from finance.models import Classification, TransactionType
from gateways import services as gateway_services
from tests.conftest import logged_in
from tests.factories import UserFactory
from tests.helpers import assert_404_for_other_tenant


def post_fee(account, name, price):
    kind = TransactionType.objects.get(tenant=account.tenant, classification=Classification.INVOICE, name=name)
    draft = ledger_services.create_transaction(account=account, classification=Classification.INVOICE, actor=None,
                                      at=timezone.now(), type=kind,
                                      lines=[ledger_services.LineData(name, Decimal(1), Decimal(price))])
    return ledger_services.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction


@pytest.fixture
def fees(ledger, customer):
    account = ledger_services.open_account(customer=customer, currency="GBP")
    gateway_services.save_gateway_account(tenant=ledger, provider="sandbox", live=False, secret="sbx_fee_secret")
    return post_fee(account, "Broker fee", "150.00"), post_fee(account, "Procuration fee", "400.00")


@pytest.fixture
def cashier(tenant):
    return logged_in(UserFactory(tenant=tenant, role_keys=["staff", "can_take_payment"]))


@pytest.mark.django_db
class TestFeesPanel:
    def test_offers_take_payment_only_on_customer_fees_to_those_allowed(self, fees, cashier, staff_client,
                                                                       customer):
        broker, procuration = fees
        url = reverse("payments:fees_panel", args=[customer.pk])

        allowed = cashier.get(url).text
        others = staff_client.get(url).text

        assert reverse("payments:take_payment", args=[broker.pk]) in allowed
        assert reverse("payments:take_payment", args=[procuration.pk]) not in allowed
        assert "Lender / provider" in allowed
        assert "Take Payment" not in others

    def test_another_tenant_gets_404(self, fees, other_tenant, customer):
        other = logged_in(UserFactory(tenant=other_tenant, role_keys=["staff", "can_take_payment"]))
        broker, _ = fees

        assert_404_for_other_tenant(other, reverse("payments:fees_panel", args=[customer.pk]))
        assert_404_for_other_tenant(other, reverse("payments:take_payment", args=[broker.pk]))
        assert_404_for_other_tenant(other, reverse("payments:take_payment", args=[broker.pk]), method="post",
                                    data={})


@pytest.mark.django_db
class TestTakePaymentRefusals:
    def test_without_the_permission_the_page_is_refused(self, fees, staff_client):
        broker, _ = fees

        assert staff_client.get(reverse("payments:take_payment", args=[broker.pk])).status_code == 403
        assert staff_client.post(reverse("payments:take_payment", args=[broker.pk])).status_code == 403

    def test_a_fee_due_from_a_lender_is_never_taken_from_the_customer(self, fees, cashier):
        _, procuration = fees

        response = cashier.post(reverse("payments:take_payment", args=[procuration.pk]))

        assert response.status_code == 403
        with scope(tenant=procuration.tenant):
            from payments.models import GatewayPayment

            assert GatewayPayment.objects.count() == 0

    def test_an_ordinary_invoice_is_not_a_fee(self, ledger, customer, cashier):
        account = ledger_services.open_account(customer=customer, currency="EUR")
        draft = ledger_services.create_transaction(account=account, classification=Classification.INVOICE, actor=None,
                                          at=timezone.now(),
                                          lines=[ledger_services.LineData("x", Decimal(1), Decimal(5))])
        invoice = ledger_services.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction

        assert cashier.get(reverse("payments:take_payment", args=[invoice.pk])).status_code == 404
