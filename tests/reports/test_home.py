"""The staff home: after login, today's work — each figure a link to the list it counts — and the invoices
overdue by how long, for the tenant's own records only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from core import l10n
from core.clock import tenant_today
from finance.services.setup import set_up_ledger
from gateways.models import WebhookDelivery, WebhookOutcome
from tests.factories import (
    PASSWORD,
    AccountFactory,
    CustomerFactory,
    GatewayPaymentFactory,
    InvoiceFactory,
    PaymentRequestFactory,
)
from tests.paylinks.request_fixtures import sandbox

__all__ = ["sandbox"]
pytestmark = pytest.mark.django_db


def invoice_overdue_by(account, days: int, price: str):
    """An invoice posted ``days`` + 30 days ago: the 30-day rule makes it ``days`` overdue today."""
    return InvoiceFactory(account=account, price=price, at=timezone.now() - timedelta(days=days + 30))


@pytest.fixture
def busy(ledger, customer, sandbox):
    now = timezone.now()
    gbp = AccountFactory(customer=customer, currency="GBP")
    invoice_overdue_by(gbp, 10, "100.00")
    invoice_overdue_by(gbp, 12, "20.00")
    invoice_overdue_by(gbp, 45, "300.00")
    invoice_overdue_by(gbp, 100, "400.00")
    InvoiceFactory(account=gbp, price="999.00", at=now - timedelta(days=5))  # not due yet
    GatewayPaymentFactory(account=gbp, gateway_account=sandbox, status="processing", provider_reference="sbx_busy")
    PaymentRequestFactory(account=gbp, at=now - timedelta(hours=23))  # its link runs out within the hour
    PaymentRequestFactory(account=gbp, at=now + timedelta(minutes=5), reference="INV-43")  # over a day left
    with scope(tenant=ledger):
        WebhookDelivery.objects.create(provider="sandbox", tenant=ledger, gateway_account=sandbox, event_id="evt_bad",
                                       body="{}", received_at=now - timedelta(days=1), outcome=WebhookOutcome.FAILED)
    return gbp


class TestStaffHome:
    def test_login_lands_on_today(self, client, staff):
        response = client.post(reverse("login"), {"username": staff.username, "password": PASSWORD})

        assert response["Location"] == reverse("reports:home")
        assert client.get("/")["Location"] == reverse("reports:home")

    def test_shows_todays_work_each_a_link_to_its_list(self, busy, staff_client, tenant):
        monday = tenant_today(tenant) - timedelta(days=tenant_today(tenant).weekday())

        page = staff_client.get(reverse("reports:home")).text

        assert 'id="count-processing">1<' in page and 'href="/payments/?status=processing"' in page
        assert 'id="count-expiring">1<' in page and f'href="{reverse("paylinks:request_list")}?status=open"' in page
        assert 'id="count-webhooks">1<' in page and 'href="/payments/webhooks/?outcome=failed"' in page
        assert (f'{reverse("obligations:obligation_calendar")}?view=list&amp;status=unpaid&amp;'
                f'from={monday:%Y-%m-%d}&amp;to={monday + timedelta(days=6):%Y-%m-%d}"') in page

    def test_invoices_overdue_by_bucket_count_and_amount(self, busy, staff_client):
        page = staff_client.get(reverse("reports:home")).text

        assert 'id="overdue-GBP-d1_30">2 · £120.00<' in page
        assert 'id="overdue-GBP-d31_60">1 · £300.00<' in page
        assert 'id="overdue-GBP-d61_90">0 · £0.00<' in page
        assert 'id="overdue-GBP-d90_plus">1 · £400.00<' in page
        assert f'href="{reverse("reports:report", args=["aged"])}?currency=GBP"' in page

    def test_another_tenants_work_is_not_counted(self, ledger, staff_client, other_tenant):
        with scope(tenant=other_tenant):
            set_up_ledger(tenant=other_tenant)
        theirs = AccountFactory(customer=CustomerFactory(tenant=other_tenant), currency="EUR")
        invoice_overdue_by(theirs, 10, "50.00")

        page = staff_client.get(reverse("reports:home")).text

        assert "Nothing is overdue." in page and "overdue-EUR" not in page
        assert 'id="count-processing">0<' in page

    def test_a_fixed_number_of_queries_whatever_the_rows(self, busy, staff_client):
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(reverse("reports:home"))

        assert response.status_code == 200
        # session, user, tenant, the four counts and the overdue buckets in one query
        assert len(queries) == 8


class TestInTheTenantsLanguage:
    def test_a_spanish_speaking_tenants_staff_read_today_in_spanish(self, ledger, staff_client, tenant):
        tenant.locale = "es"
        tenant.save(update_fields=["locale"])
        with l10n.for_tenant(tenant):
            today = l10n.weekday(tenant_today(tenant))

        page = staff_client.get(reverse("reports:home")).text

        assert '<html lang="es">' in page and "<title>Hoy · Duly</title>" in page and "<h1>Hoy</h1>" in page
        assert ">Clientes</a>" in page and ">Cerrar sesión</button>" in page
        assert f'<p class="help">{today}</p>' in page and today.startswith(("lun", "mar", "mié", "jue", "vie", "sáb",
                                                                             "dom"))
        assert "pagos en proceso" in page and "No hay nada vencido." in page
        assert "Today" not in page and "payments processing" not in page
