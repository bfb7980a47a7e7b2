import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import pagination
from finance.models import Classification, FinancialTransaction
from gateways import services as gateway_services
from payments.models import GatewayPayment, PaymentStatus
from payments.services.gateway_payments import apply_state
from tests.conftest import logged_in
from tests.factories import AccountFactory, GatewayPaymentFactory, InvoiceFactory, UserFactory
from tests.helpers import assert_404_for_other_tenant


@pytest.fixture
def usd_account(ledger, customer):

    return AccountFactory(customer=customer, currency="USD")


@pytest.fixture
def credicorp(ledger):
    return gateway_services.save_gateway_account(
        tenant=ledger, provider="credicorp", live=False, secret="cc-key",
        settings={"base_url": "http://127.0.0.1:9", "callback_secret": "s", "payment_method": "Bank transfer"},
    )


@pytest.fixture
def accountant(tenant):
    return logged_in(UserFactory(tenant=tenant, role_keys=["staff", "accountant"]))


def ledger_payments():
    return FinancialTransaction.objects.filter(classification=Classification.PAYMENT)


@pytest.mark.django_db
class TestBankConfirmation:
    def test_an_accountant_books_the_payment_with_the_banks_reference(self, accountant, credicorp, usd_account):
        invoice = InvoiceFactory(account=usd_account, price="80.00")
        payment = GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="80.00",
                                        invoice=invoice, provider_reference="lnk_1")

        response = accountant.post(reverse("payments:payment_confirm", args=[payment.pk]),
                                   {"bank_reference": "CCB-2026-0042"})

        assert response.status_code == 302
        settled = GatewayPayment.objects.get(pk=payment.pk)
        assert settled.status == PaymentStatus.SUCCEEDED
        booked = ledger_payments().get()
        assert (booked.external_reference, booked.payment_method.name, booked.total_amount) == (
            "CCB-2026-0042", "Bank transfer", settled.amount)
        assert FinancialTransaction.objects.get(pk=invoice.pk).open_amount == 0
        assert settled.events.get().source.startswith("bank confirmation by ")

    def test_a_second_confirmation_or_a_late_callback_books_nothing_more(self, accountant, credicorp, usd_account):
        payment = GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="80.00",
                                        provider_reference="lnk_2")
        accountant.post(reverse("payments:payment_confirm", args=[payment.pk]), {"bank_reference": "CCB-1"})

        again = accountant.post(reverse("payments:payment_confirm", args=[payment.pk]), {"bank_reference": "CCB-2"})
        apply_state(payment=payment, status="succeeded", at=payment.created_at, source="callback")

        assert again.status_code == 422
        assert "Bank reference: dp_lnk_2 is already paid." in again.text
        assert ledger_payments().count() == 1

    def test_a_missing_reference_names_the_field_and_books_nothing(self, accountant, credicorp, usd_account):
        payment = GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="80.00",
                                        provider_reference="lnk_3")

        response = accountant.post(reverse("payments:payment_confirm", args=[payment.pk]), {"bank_reference": " "})

        assert response.status_code == 422
        assert "Bank reference: Enter the bank&#x27;s reference for the payment." in response.text
        assert ledger_payments().count() == 0

    def test_staff_who_are_not_accountants_are_refused(self, staff_client, credicorp, usd_account):
        payment = GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="80.00",
                                        provider_reference="lnk_4")

        response = staff_client.post(reverse("payments:payment_confirm", args=[payment.pk]),
                                     {"bank_reference": "CCB-9"})

        assert response.status_code == 403
        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING

    def test_another_tenant_gets_404_for_the_page_and_the_action(self, other_tenant, credicorp, usd_account):
        other_accountant = logged_in(UserFactory(tenant=other_tenant, role_keys=["staff", "accountant"]))
        payment = GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="80.00",
                                        provider_reference="lnk_5")

        assert_404_for_other_tenant(other_accountant, reverse("payments:payment_detail", args=[payment.pk]))
        assert_404_for_other_tenant(other_accountant, reverse("payments:payment_confirm", args=[payment.pk]),
                                    method="post", data={"bank_reference": "X"})
        assert GatewayPayment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING


@pytest.mark.django_db
class TestPaymentPages:
    def test_the_list_shows_the_tenants_payments_with_a_constant_query_count(self, staff_client, credicorp,
                                                                            usd_account):
        GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="10.00",
                              provider_reference="lnk_a")
        with CaptureQueriesContext(connection) as few:
            first = staff_client.get(reverse("payments:payment_list"))
        for n in range(8):
            GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="10.00",
                                  provider_reference=f"lnk_b{n}")

        with CaptureQueriesContext(connection) as many:
            staff_client.get(reverse("payments:payment_list"))

        assert [p.reference for p in first.context["page"]] == ["dp_lnk_a"]
        assert len(many) == len(few)

    def test_the_list_pages_by_50_keeping_its_filters_and_counts_only_so_far(self, staff_client, credicorp,
                                                                              usd_account, monkeypatch):
        monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 50)
        payments = [GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="10.00",
                                          provider_reference=f"lnk_p{n}") for n in range(52)]
        url = reverse("payments:payment_list")

        first = staff_client.get(url, {"status": "pending"})
        second = staff_client.get(url, {"status": "pending", "page": 2})

        assert [p.pk for p in first.context["page"]] == [p.pk for p in reversed(payments)][:50]
        assert "Page 1 · more than 50 in all" in first.text
        assert "?status=pending&amp;page=2" in first.text
        assert [p.pk for p in second.context["page"]] == [payments[1].pk, payments[0].pk]
        assert "Page 2 of 2 · 52 in all" in second.text

    def test_the_detail_offers_the_confirmation_only_to_accountants(self, staff_client, accountant, credicorp,
                                                                   usd_account):
        payment = GatewayPaymentFactory(gateway_account=credicorp, account=usd_account, amount="10.00",
                                        provider_reference="lnk_c")
        url = reverse("payments:payment_detail", args=[payment.pk])

        assert "Record the bank" in accountant.get(url).text
        assert "Record the bank" not in staff_client.get(url).text
