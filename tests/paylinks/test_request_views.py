"""The payer's page /pay/<token>/ and the staff pages of payment requests."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from core import throttle
from crm.models import Role
from finance import services as ledger_services
from notifications.models import Notification
from paylinks.models import PaymentRequest, RequestStatus
from paylinks.services.requests import resend_payment_request
from payments.models import GatewayPayment
from tests.conftest import logged_in
from tests.factories import CustomerFactory, UserFactory
from tests.helpers import assert_404_for_other_tenant
from tests.paylinks.request_fixtures import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(ledger, customer, gbp, staff):
    # The pages read the real clock, so the request is sent "now".
    return send(customer, gbp, staff, at=timezone.now())


class TestPayPage:
    def test_shows_what_the_payer_needs_and_no_referrer_leaves_the_site(self, client, sent, sandbox):
        _, token = sent

        response = client.get(f"/pay/{token}/")

        assert response.status_code == 200
        assert "Acme Brokers" in response.text
        assert "<strong>£120.00</strong>" in response.text
        assert "INV-42" in response.text and "Deposit for the Corolla" in response.text
        assert ">Pay</button>" in response.text
        assert "Pay in 4" in response.text  # the sandbox offers it in GBP
        assert "harriet@example.com" not in response.text
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["Cache-Control"] == "no-store"

    def test_a_forged_token_is_404(self, client, sent):
        assert client.get("/pay/forged-token-0000000000000000/").status_code == 404

    def test_pay_records_an_attempt_for_the_request(self, client, sent, sandbox):
        request, token = sent

        response = client.post(f"/pay/{token}/")

        # Nothing listens at the sandbox's address here, so the attempt stays pending and says why.
        attempt = GatewayPayment.objects.get()
        assert response.status_code == 502
        assert attempt.payment_request_id == request.pk
        assert (attempt.amount, attempt.currency, attempt.status) == (request.amount, "GBP", "pending")

    def test_an_expired_link_says_so_and_cannot_be_paid(self, client, ledger, customer, gbp, staff, sandbox):
        _, token = send(customer, gbp, staff, at=timezone.now() - timedelta(hours=25))

        shown = client.get(f"/pay/{token}/")
        posted = client.post(f"/pay/{token}/")

        assert "This link has expired" in shown.text
        assert ">Pay</button>" not in shown.text
        assert posted.status_code == 409
        assert GatewayPayment.objects.count() == 0

    def test_the_old_link_stops_working_after_a_resend(self, client, sent, staff):
        request, old_token = sent
        _, new_token = resend_payment_request(request=request, actor=staff, at=timezone.now())

        assert client.get(f"/pay/{old_token}/").status_code == 404
        assert client.get(f"/pay/{new_token}/").status_code == 200

    def test_lookups_are_rate_limited_per_client_address(self, client, sent):
        _, token = sent
        throttle.reset(key="pay:10.9.8.7")

        answers = [client.get(f"/pay/{token}/", REMOTE_ADDR="10.9.8.7").status_code for _ in range(31)]
        elsewhere = client.get(f"/pay/{token}/", REMOTE_ADDR="10.9.8.6").status_code
        throttle.reset(key="pay:10.9.8.7")
        throttle.reset(key="pay:10.9.8.6")

        assert answers == [200] * 30 + [429]
        assert elsewhere == 200


class TestThrottle:
    def test_allows_the_limit_then_refuses(self, db):
        throttle.reset(key="t:unit")

        answers = [throttle.allow(key="t:unit", limit=3, window_seconds=60) for _ in range(4)]
        throttle.reset(key="t:unit")

        assert answers == [True, True, True, False]


class TestStaffPages:
    def test_the_panel_lists_the_customers_requests(self, staff_client, sent, customer):
        response = staff_client.get(reverse("paylinks:customer_panel", args=[customer.pk]))

        assert response.status_code == 200
        assert "INV-42" in response.text and "Request a payment" in response.text

    def test_the_form_names_each_account_once_with_its_currency(self, staff_client, ledger, customer, gbp):
        panel = staff_client.get(reverse("paylinks:customer_panel", args=[customer.pk])).content.decode()

        assert f'<option value="{gbp.pk}" >{customer.name} (GBP)</option>' in panel
        assert "(GBP) (GBP)" not in panel

    def test_the_sent_list_of_the_customer_file_shows_the_request_sent_to_them(self, staff_client, sent, customer):
        panel = staff_client.get(reverse("notifications:customer_communicate", args=[customer.pk])).content.decode()

        assert "Email to harriet@example.com" in panel
        assert "requests a payment of £120.00" in panel

    def test_the_form_sends_a_request(self, staff_client, ledger, customer, gbp):
        response = staff_client.post(reverse("paylinks:request_create", args=[customer.pk]), {
            "account": gbp.pk, "amount": "75.50", "reference": "C-7", "message": "", "channels": ["email"]})

        assert response.status_code == 302
        request = PaymentRequest.objects.get()
        assert (request.amount, request.reference) == (Decimal("75.50"), "C-7")
        assert Notification.objects.filter(template_key="payment_request").count() == 1

    def test_the_form_names_the_bad_field_and_sends_nothing(self, staff_client, ledger, customer, gbp):
        response = staff_client.post(reverse("paylinks:request_create", args=[customer.pk]), {
            "account": gbp.pk, "amount": "0", "channels": ["email"]}, headers={"HX-Request": "true"})

        assert response.status_code == 422
        assert "The amount must be more than zero." in response.text
        assert PaymentRequest.objects.count() == 0

    def test_cancel_and_resend(self, staff_client, sent):
        request, _ = sent

        staff_client.post(reverse("paylinks:request_cancel", args=[request.pk]))
        refused = staff_client.post(reverse("paylinks:request_resend", args=[request.pk]), follow=True)

        assert PaymentRequest.objects.get(pk=request.pk).status == RequestStatus.CANCELLED
        assert "cannot be sent again" in refused.text

    def test_consolidate_is_forbidden_to_a_non_manager(self, staff_client, sent):
        request, _ = sent

        response = staff_client.post(reverse("paylinks:request_consolidate", args=[request.pk]))

        assert response.status_code == 403
        assert PaymentRequest.objects.get(pk=request.pk).consolidated_at is None

    def test_my_payments_and_the_payment_list(self, ledger, customer, gbp, staff, sent):
        bob = UserFactory(tenant=ledger, username="bob", role_keys=[Role.STAFF])
        send(customer, gbp, bob, at=timezone.now(), reference="BOB-1", amount="9.00")
        client = logged_in(bob)

        mine = client.get(reverse("paylinks:request_list"), {"mine": "1"})
        everyone = client.get(reverse("paylinks:request_list"), {"sort": "amount"})
        by_ref = client.get(reverse("paylinks:request_list"), {"reference": "inv-42"})
        by_status = client.get(reverse("paylinks:request_list"), {"status": "expired"})

        assert [r.reference for r in mine.context["page"]] == ["BOB-1"]
        assert [r.reference for r in everyone.context["page"]] == ["BOB-1", "INV-42"]
        assert [r.reference for r in by_ref.context["page"]] == ["INV-42"]
        assert list(by_status.context["page"]) == []

    def test_the_payment_list_finds_a_customer_by_name(self, ledger, customer, gbp, staff, staff_client, sent):
        other = CustomerFactory(tenant=ledger, name="Oscar Osei", email="oscar@example.com")
        send(other, ledger_services.open_account(customer=other, currency="GBP"), staff, at=timezone.now(),
             reference="OSC-1")

        found = staff_client.get(reverse("paylinks:request_list"), {"customer_name": "osei"})
        page = staff_client.get(reverse("paylinks:request_list")).content.decode()

        assert [r.reference for r in found.context["page"]] == ["OSC-1"]
        assert all(f'href="{reverse(name)}' in page for name in (
            "paylinks:request_list", "payments:payment_list", "payments:webhook_list"))
        assert 'href="/payments/requests/?mine=1"' in page

    def test_the_query_count_does_not_grow_with_the_rows(self, staff_client, ledger, customer, gbp, staff):
        send(customer, gbp, staff, at=timezone.now())
        with CaptureQueriesContext(connection) as few:
            staff_client.get(reverse("paylinks:request_list"))
        for n in range(10):
            send(customer, gbp, UserFactory(tenant=ledger, username=f"u{n}"), at=timezone.now(), reference=f"R{n}")

        with CaptureQueriesContext(connection) as many:
            staff_client.get(reverse("paylinks:request_list"))

        assert len(many) == len(few)


class TestOtherTenant:
    def test_every_staff_page_and_action_is_404(self, other_client, sent, customer):
        request, _ = sent

        assert_404_for_other_tenant(other_client, reverse("paylinks:customer_panel", args=[customer.pk]))
        assert_404_for_other_tenant(other_client, reverse("paylinks:request_create", args=[customer.pk]),
                                    method="post", data={"amount": "1"})
        for name in ("request_cancel", "request_resend"):
            assert_404_for_other_tenant(other_client, reverse(f"paylinks:{name}", args=[request.pk]), method="post")
        with scope(tenant=request.tenant):
            assert PaymentRequest.objects.get(pk=request.pk).status == RequestStatus.OPEN

    def test_consolidate_is_404_for_another_tenants_manager(self, other_tenant, sent):
        request, _ = sent
        manager = UserFactory(tenant=other_tenant, username="om", role_keys=[Role.STAFF, Role.PAYMENT_MANAGER])

        assert_404_for_other_tenant(logged_in(manager), reverse("paylinks:request_consolidate", args=[request.pk]),
                                    method="post")

    def test_the_list_shows_only_the_tenants_requests(self, other_client, sent):
        response = other_client.get(reverse("paylinks:request_list"))

        assert list(response.context["page"]) == []
