"""Which gateway account collects what: one selector (``gateways.selectors.gateway_account_for``) for
Take Payment, payment requests, invoice pay links and the portal, decided by purpose and currency; money
in a currency no gateway takes is refused when staff ask for it, not when the customer opens the link."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from gateways import selectors as gateway_selectors
from gateways import services as gateway_services
from gateways.models import GatewayAccount, Purpose
from paylinks.models import InvoicePayLink, PaymentRequest
from paylinks.services.invoice_pay import send_invoice_pay_link
from paylinks.services.requests import RequestData, request_payment
from payments.models import GatewayPayment
from tests.factories import AccountFactory
from tests.gateways.test_stripe import session_json
from tests.paylinks.test_invoice_pay import make_invoice

pytestmark = pytest.mark.django_db
D = Decimal


def credicorp(tenant, **changes):
    return gateway_services.save_gateway_account(**{
        "tenant": tenant, "provider": "credicorp", "live": False, "secret": "cc_secret",
        "settings": {"base_url": "https://credicorp.test", "callback_secret": "cb_1"}} | changes)


def stripe(tenant, **changes):
    return gateway_services.save_gateway_account(**{
        "tenant": tenant, "provider": "stripe", "live": False, "secret": "sk_test_1",
        "settings": {"webhook_secret": "whsec_1"}} | changes)


@pytest.fixture
def credicorp_then_stripe(ledger, settings, httpserver):
    """A tenant whose Credicorp account (PAB and USD) is older than its Stripe account."""
    settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
    first = credicorp(ledger)
    second = stripe(ledger)
    assert first.created_at < second.created_at
    return first, second


@pytest.fixture
def eur(ledger, customer):
    return AccountFactory(customer=customer, currency="EUR")


class TestTheSelector:
    def test_each_currency_goes_to_a_gateway_that_takes_it_whatever_their_age(self, credicorp_then_stripe, ledger):
        older, newer = credicorp_then_stripe

        chosen = {currency: gateway_selectors.gateway_account_for(
            tenant=ledger, purpose=Purpose.PAYMENT_REQUESTS, currency=currency) for currency in ("EUR", "PAB", "USD")}

        assert chosen == {"EUR": newer, "PAB": older, "USD": older}

    def test_take_payment_needs_card_fields_which_credicorp_has_not(self, credicorp_then_stripe, ledger):
        _, newer = credicorp_then_stripe

        assert gateway_selectors.gateway_account_for(tenant=ledger, purpose=Purpose.TAKE_PAYMENT,
                                                     currency="USD") == newer
        assert gateway_selectors.gateway_account_for(tenant=ledger, purpose=Purpose.TAKE_PAYMENT,
                                                     currency="PAB") is None

    def test_an_account_serves_only_its_purposes(self, credicorp_then_stripe, ledger):
        older, newer = credicorp_then_stripe
        stripe(ledger, purposes=[Purpose.TAKE_PAYMENT])

        for purpose in (Purpose.PAYMENT_REQUESTS, Purpose.INVOICE_LINKS, Purpose.PORTAL):
            assert gateway_selectors.gateway_account_for(tenant=ledger, purpose=purpose, currency="EUR") is None
            assert gateway_selectors.gateway_account_for(tenant=ledger, purpose=purpose, currency="USD") == older
        assert gateway_selectors.gateway_account_for(tenant=ledger, purpose=Purpose.TAKE_PAYMENT,
                                                     currency="EUR") == newer

    def test_live_before_test_and_a_disabled_account_never(self, credicorp_then_stripe, ledger):
        older, _ = credicorp_then_stripe
        live = credicorp(ledger, live=True)

        assert gateway_selectors.gateway_account_for(tenant=ledger, purpose=Purpose.PORTAL, currency="USD") == live
        credicorp(ledger, live=True, enabled=False)
        assert gateway_selectors.gateway_account_for(tenant=ledger, purpose=Purpose.PORTAL, currency="USD") == older

    def test_a_new_account_serves_every_purpose_and_an_unknown_purpose_is_refused(self, ledger):
        account = stripe(ledger)

        assert account.purposes == list(Purpose.values)
        with pytest.raises(ValidationError) as refused:
            stripe(ledger, purposes=["payroll"])
        assert list(refused.value.message_dict) == ["purposes"]
        assert GatewayAccount.objects.get(pk=account.pk).purposes == list(Purpose.values)

    def test_another_tenants_gateway_is_never_chosen(self, credicorp_then_stripe, other_tenant):
        with scope(tenant=other_tenant):
            assert gateway_selectors.gateway_account_for(tenant=other_tenant, purpose=Purpose.PAYMENT_REQUESTS,
                                                         currency="EUR") is None


class TestTheEuroRequest:
    def test_the_pay_page_sends_a_euro_request_to_stripe_not_to_the_older_credicorp(
        self, credicorp_then_stripe, eur, customer, staff, client, httpserver,
    ):
        _, newer = credicorp_then_stripe
        httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
            session_json(amount_total=12000, amount_subtotal=12000, currency="eur"))
        _, token = request_payment(
            customer=customer, account=eur, actor=staff, at=timezone.now(),
            data=RequestData(amount="120.00", reference="INV-42", message="", channels=["email"]),
        )

        page = client.get(f"/pay/{token}/")
        paid = client.post(f"/pay/{token}/")

        assert page.status_code == 200 and ">Pay</button>" in page.text
        assert paid.status_code == 302
        assert paid["Location"].startswith("https://checkout.stripe.com/")
        attempt = GatewayPayment.objects.get()
        assert (attempt.gateway_account, attempt.provider, attempt.currency, attempt.amount) == (
            newer, "stripe", "EUR", D("120.00"))


class TestRefusedWhenStaffAsk:
    @pytest.fixture
    def credicorp_only(self, ledger):
        return credicorp(ledger)

    def test_the_service_refuses_a_currency_no_gateway_takes_and_saves_nothing(
        self, credicorp_only, eur, customer, staff,
    ):
        with pytest.raises(ValidationError) as refused:
            request_payment(
                customer=customer, account=eur, actor=staff, at=timezone.now(),
                data=RequestData(amount="120.00", reference="", message="", channels=["email"]),
            )

        assert refused.value.message_dict == {"currency": [
            "No payment gateway of yours takes EUR for payment requests. Use an account in another currency, "
            "or ask support to set up a gateway that takes EUR."]}
        assert PaymentRequest.objects.count() == 0

    def test_the_customer_file_form_says_so_under_the_fields(self, credicorp_only, eur, customer, staff_client):
        response = staff_client.post(
            reverse("paylinks:request_create", args=[customer.pk]),
            {"account": eur.pk, "amount": "120.00", "channels": ["email"]}, headers={"HX-Request": "true"})

        assert response.status_code == 422
        assert "No payment gateway of yours takes EUR for payment requests." in response.text
        assert PaymentRequest.objects.count() == 0

    def test_the_api_answers_422_naming_the_currency(self, credicorp_only, eur, customer, api_client):
        response = api_client.post("/api/v1/payment-requests", data=json.dumps({
            "customer": customer.pk, "account": eur.pk, "amount": "120.00", "channels": ["email"]}),
            content_type="application/json")

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "currency", "message": (
            "No payment gateway of yours takes EUR for payment requests. Use an account in another currency, "
            "or ask support to set up a gateway that takes EUR.")}]
        assert PaymentRequest.objects.count() == 0

    def test_an_invoice_pay_link_in_euro_is_refused_naming_the_currency(self, credicorp_only, eur, staff):
        invoice = make_invoice(eur)

        with pytest.raises(ValidationError) as refused:
            send_invoice_pay_link(invoice=invoice, actor=staff, at=timezone.now())

        assert list(refused.value.message_dict) == ["currency"]
        assert "takes EUR for invoice pay links" in refused.value.message_dict["currency"][0]
        assert InvoicePayLink.objects.count() == 0

    def test_the_invoice_page_offers_no_request_in_a_currency_no_gateway_takes(
        self, credicorp_only, eur, staff_client,
    ):
        invoice = make_invoice(eur)

        panel = staff_client.get(reverse("paylinks:invoice_request_panel", args=[invoice.pk]))

        assert "No payment gateway of yours takes EUR for payment requests." in panel.text
        assert "Send the request" not in panel.text

    def test_a_link_sent_before_the_gateway_went_away_tells_the_payer_calmly(
        self, credicorp_then_stripe, eur, customer, staff, client, ledger,
    ):
        _, token = request_payment(
            customer=customer, account=eur, actor=staff, at=timezone.now() - timedelta(minutes=5),
            data=RequestData(amount="120.00", reference="", message="", channels=["email"]),
        )
        stripe(ledger, enabled=False)

        response = client.post(f"/pay/{token}/")

        assert response.status_code == 409
        assert "Online payment is not available at the moment" in response.text
        assert GatewayPayment.objects.count() == 0
