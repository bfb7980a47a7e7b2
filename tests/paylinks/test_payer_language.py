"""Payers read their pages in their own language, with amounts and dates as their language writes them,
whatever the tenant's language; a tenant's portal speaks the tenant's."""

import pytest
from django.utils import timezone
from django_scopes import scope

from core import l10n
from notifications.models import Notification
from paylinks.services.requests import cancel_payment_request
from tests.factories import TenantFactory
from tests.paylinks.request_fixtures import send

pytestmark = pytest.mark.django_db


def sent_to(customer, account, staff, language):
    customer.language = language
    customer.save(update_fields=["language"])
    return send(customer, account, staff, at=timezone.now())


def until_as(language, request):
    """The link's end as a reader in ``language`` of Acme Brokers (Great Britain, London) reads it."""
    with l10n.localized(language=language, country="GB", time_zone="Europe/London"):
        return l10n.moment(request.expires_at)


class TestPaymentRequestPage:
    def test_a_spanish_speaking_customer_of_an_english_tenant_reads_spanish(self, client, customer, gbp, staff):
        request, token = sent_to(customer, gbp, staff, "es")
        until = until_as("es", request)

        page = client.get(f"/pay/{token}/").text

        assert '<html lang="es">' in page
        assert "<title>Pago a Acme Brokers</title>" in page
        assert "<strong>120,00\xa0GBP</strong>" in page
        assert "Referencia: INV-42" in page
        assert '<button type="submit" class="primary">Pagar</button>' in page
        assert f"Este enlace funciona hasta el {until}." in page
        assert "This link works" not in page and ">Pay</button>" not in page

    def test_an_english_speaking_customer_reads_british_english(self, client, customer, gbp, staff):
        request, token = sent_to(customer, gbp, staff, "en")
        until = until_as("en", request)

        page = client.get(f"/pay/{token}/").text

        assert '<html lang="en-gb">' in page
        assert "<strong>£120.00</strong>" in page
        assert f"This link works until {until}." in page

    def test_a_customer_in_a_language_the_pages_do_not_speak_reads_the_tenants(self, client, customer, gbp, staff):
        _, token = sent_to(customer, gbp, staff, "el")

        page = client.get(f"/pay/{token}/").text

        assert '<html lang="en-gb">' in page and ">Pay</button>" in page

    def test_a_status_notice_is_in_the_customers_language(self, client, customer, gbp, staff):
        request, token = sent_to(customer, gbp, staff, "de")
        with scope(tenant=customer.tenant):
            cancel_payment_request(request=request, actor=staff, at=timezone.now())

        page = client.get(f"/pay/{token}/").text

        assert "Diese Zahlungsanforderung wurde storniert; es gibt nichts zu bezahlen." in page
        assert "<strong>120,00\xa0£</strong>" in page


class TestPortalSignIn:
    def test_a_german_tenants_portal_speaks_german(self, client, db):
        TenantFactory(name="Autohaus Weber", slug="weber", country="DE", time_zone="Europe/Berlin", locale="de",
                      default_currency="EUR")

        page = client.get("/portal/weber/").text

        assert '<html lang="de-de">' in page
        assert "<title>Autohaus Weber: Ihre Zahlungen</title>" in page
        assert "Anmeldelink per E-Mail senden" in page
        assert "Email me a sign-in link" not in page

    def test_the_answer_to_a_sign_in_is_in_the_tenants_language(self, client, db):
        TenantFactory(name="Banco Istmo", slug="istmo", country="PA", time_zone="America/Panama", locale="es",
                      default_currency="USD")

        page = client.post("/portal/istmo/", {"email": "nobody@example.com"}).text

        assert "Si esa dirección es la de uno de nuestros clientes, le hemos enviado un enlace de acceso." in page


class TestMessages:
    def test_a_spanish_speaking_customer_gets_the_link_in_spanish_with_spanish_amounts_and_dates(
            self, customer, gbp, staff):
        request, _ = sent_to(customer, gbp, staff, "es")
        with l10n.localized(language="es", country="GB", time_zone="Europe/London"):
            expires = l10n.moment(request.expires_at, "long")

        with scope(tenant=customer.tenant):
            body = Notification.objects.get(customer=customer, channel="email").body

        assert body.startswith("Estimado/a Harriet Holloway:\n\nAcme Brokers le solicita el pago de 120,00\xa0GBP.\n")
        assert f"El enlace funciona hasta el {expires}." in body
        assert "£120.00" not in body and "Dear" not in body

    def test_a_greek_speaking_customer_gets_the_english_wording(self, customer, gbp, staff):
        sent_to(customer, gbp, staff, "el")

        with scope(tenant=customer.tenant):
            body = Notification.objects.get(customer=customer, channel="email").body

        assert body.startswith("Dear Harriet Holloway,\n\nAcme Brokers asks you to pay £120.00.\n")
