"""The customer portal: magic links (emailed on request, single-use, expiring, stored hashed), a session
scoped to one customer, the obligation log and calendar, paying one instalment, and 404s for anything
that is not the signed-in customer's."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from core import throttle
from crm.models import Role
from notifications.models import Notification
from obligations.models import Instalment, PortalLink
from obligations.services.obligations import update_instalment
from obligations.services.portal import start_instalment_payment
from payments.models import GatewayPayment
from payments.services.gateway_payments import apply_state
from payments.services.notices import send_waiting_notices
from tests.factories import CustomerFactory, ObligationFactory, UserFactory

pytestmark = pytest.mark.django_db
MAGIC = re.compile(r"/portal/link/([A-Za-z0-9_-]+)/")
ANSWER = "If that address is one of our customers&#x27;, a sign-in link is on its way."


@pytest.fixture(autouse=True)
def fresh_portal_throttle():
    throttle.reset(key="portal:127.0.0.1")
    yield
    throttle.reset(key="portal:127.0.0.1")


def without_csrf(html):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def magic_token(customer):
    sent = Notification.objects.filter(template_key="portal_magic_link", customer=customer).order_by("-id").first()
    return MAGIC.search(sent.body).group(1)


def signed_in(client, customer):
    client.post("/portal/acme/", {"email": customer.email})
    response = client.get(f"/portal/link/{magic_token(customer)}/")
    assert response.status_code == 302 and response["Location"] == "/portal/"
    return client


class TestSignIn:
    def test_a_known_address_is_emailed_a_single_use_link_stored_only_as_its_hash(self, obligation, customer, client):
        response = client.post("/portal/acme/", {"email": "Harriet@Example.com"})

        assert response.status_code == 200 and ANSWER in response.text
        assert response["Cache-Control"] == "no-store"
        sent = Notification.objects.get(template_key="portal_magic_link")
        assert (sent.channel, sent.recipient, sent.subject) == ("email", "harriet@example.com",
                                                                "Your sign-in link for Acme Brokers")
        token = MAGIC.search(sent.body).group(1)
        assert len(token) >= 43  # 256 random bits
        link = PortalLink.objects.get()
        assert link.token_hash == PortalLink.hash_token(token) and token not in link.token_hash

    def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(self, obligation, client):
        known = client.post("/portal/acme/", {"email": "harriet@example.com"}).text
        Notification.objects.all().delete()

        unknown = client.post("/portal/acme/", {"email": "nobody@example.com"})

        assert unknown.status_code == 200 and without_csrf(unknown.text) == without_csrf(known)
        assert not Notification.objects.exists()
        assert PortalLink.objects.count() == 1

    def test_a_nul_character_or_a_far_month_is_handled(self, obligation, customer, client):
        assert client.post("/portal/acme/", {"email": "harriet\u0000@example.com"}).status_code == 200
        assert not Notification.objects.exists()
        signed_in(client, customer)
        assert client.get("/portal/?month=9999-12").status_code == 200

    def test_the_link_works_once(self, obligation, customer, client):
        client.post("/portal/acme/", {"email": customer.email})
        token = magic_token(customer)

        assert client.get(f"/portal/link/{token}/").status_code == 302
        again = Client().get(f"/portal/link/{token}/")

        assert again.status_code == 404 and "expired or was used already" in again.text

    def test_an_expired_link_does_not_sign_in(self, obligation, customer, client):
        client.post("/portal/acme/", {"email": customer.email})
        PortalLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

        response = client.get(f"/portal/link/{magic_token(customer)}/")

        assert response.status_code == 404
        assert client.get("/portal/").status_code == 403

    def test_guessing_is_throttled(self, obligation, client, settings):
        for _ in range(30):
            client.get("/portal/link/guess/")

        assert client.get("/portal/link/guess/").status_code == 429

    def test_an_unknown_portal_is_404(self, db, client):
        assert client.get("/portal/nobody-here/").status_code == 404

    def test_without_a_session_the_portal_says_how_to_sign_in(self, db, client):
        response = client.get("/portal/")

        assert response.status_code == 403 and "sign-in link" in response.text


class TestTheObligationLog:
    def test_the_customer_sees_every_obligation_with_its_instalments_and_a_calendar(self, obligation, customer,
                                                                                    client, sandbox):
        signed_in(client, customer)

        page = client.get("/portal/?month=2026-04")

        assert page.status_code == 200
        text = page.text
        assert "Road tax 2026" in text and "RT-2026-0042" in text and "DVLA" in text
        assert text.count("£100.00") == 7  # three rows, three Pay buttons, April's calendar day
        assert "Wed, 1 Apr 2026" in text and "Fri, 1 May 2026" in text and "Mon, 1 Jun 2026" in text
        assert "April 2026" in text and "Road tax 2026 #1" in text
        assert text.count("Pay instalment") == 3
        assert "slow to pay" not in text  # manager comments never reach a customer

    def test_a_change_by_staff_shows_at_once(self, obligation, customer, client, staff):
        signed_in(client, customer)
        update_instalment(instalment=obligation.instalments.get(number=2), amount="120.00",
                                   due_on="2026-05-04", actor=staff, at=timezone.now())

        text = client.get("/portal/").text

        assert "Mon, 4 May 2026" in text and 'data-label="Amount">£120.00</td>' in text and "total £320.00" in text

    def test_the_log_does_not_query_per_instalment(self, ledger, customer, client, django_assert_max_num_queries):
        for n in range(3):
            ObligationFactory(customer=customer, total="600.00", count=6, description=f"Plan {n}")
        signed_in(client, customer)

        with django_assert_max_num_queries(14):
            assert client.get("/portal/").status_code == 200


class TestAnotherCustomersObligations:
    @pytest.fixture
    def others(self, ledger):
        ivan = CustomerFactory(tenant=ledger, name="Ivan Ilic", email="ivan@example.com")
        return ObligationFactory(customer=ivan, description="Ivan's tax").instalments.get(number=1)

    def test_are_never_shown(self, obligation, others, customer, client):
        signed_in(client, customer)

        assert "Ivan" not in client.get("/portal/").text

    @pytest.mark.parametrize("path", ["pay", "done", "receipt"])
    def test_answer_404_even_with_a_valid_session_of_ones_own(self, obligation, others, customer, client, sandbox,
                                                               path):
        signed_in(client, customer)
        method = client.get if path == "done" else client.post

        assert method(f"/portal/instalments/{others.pk}/{path}/").status_code == 404
        assert method(f"/portal/instalments/999999/{path}/").status_code == 404
        assert not GatewayPayment.objects.exists()

    def test_another_tenants_customer_gets_404_for_this_tenants_instalments(
            self, obligation, other_tenant, other_customer, client):
        with scope(tenant=other_tenant):
            PortalLink.objects.create(tenant=other_tenant, customer=other_customer,
                                      token_hash=PortalLink.hash_token("t" * 43),
                                      expires_at=timezone.now() + timedelta(minutes=5), created_at=timezone.now())
        assert client.get(f"/portal/link/{'t' * 43}/").status_code == 302
        first = obligation.instalments.get(number=1)

        assert client.post(f"/portal/instalments/{first.pk}/pay/").status_code == 404
        assert "Road tax" not in client.get("/portal/").text


class TestPaying:
    def test_a_paid_instalment_tells_the_payment_managers_who_paid_what_and_confirms_to_the_payer(
            self, obligation, customer, sandbox, tenant):
        managers = [UserFactory(tenant=tenant, username=name, role_keys=[Role.STAFF, Role.PAYMENT_MANAGER])
                    for name in ("mia", "max")]
        first = obligation.instalments.get(number=1)
        attempt = start_instalment_payment(instalment=first, gateway_account=sandbox,
                                                    return_url="https://duly.test/r", webhook_url="https://duly.test/h",
                                                    at=timezone.now()).payment

        paid_at = timezone.now()
        apply_state(payment=attempt, status="succeeded", at=paid_at, source="test")
        apply_state(payment=attempt, status="succeeded", at=paid_at, source="a duplicate webhook")
        send_waiting_notices(tenant=attempt.tenant)  # the notifications worker's part

        attempt = GatewayPayment.objects.get(pk=attempt.pk)
        told = Notification.objects.filter(template_key="staff_payment_received").order_by("recipient_user_id")
        count = obligation.instalments.count()
        assert [(n.recipient_user, n.subject, n.body, n.link) for n in told] == [(manager, (
            f"{customer.name} paid £100.00"), (
            f"{customer.name} paid £100.00 for instalment 1 of {count} of {obligation.description} "
            f"(ref {attempt.provider_reference or attempt.reference})."), f"/payments/{attempt.pk}/")
            for manager in managers]
        confirmation = Notification.objects.get(template_key="payment_received")
        assert (confirmation.channel, confirmation.recipient) == ("email", customer.email)
        assert "/receipts/" in confirmation.body

    def test_the_pay_button_starts_a_payment_of_exactly_that_instalment(self, obligation, customer, client, sandbox):
        signed_in(client, customer)
        second = obligation.instalments.get(number=2)

        response = client.post(f"/portal/instalments/{second.pk}/pay/")

        attempt = GatewayPayment.objects.get()
        assert (attempt.instalment_id, attempt.amount, attempt.currency) == (second.pk, Decimal("100.00"), "GBP")
        # The sandbox in these tests does not answer, so the payment stays pending with the reason shown.
        assert response.status_code in (302, 502)

    def test_a_paid_instalment_has_a_receipt_button_and_no_pay_button(self, obligation, customer, client, sandbox):
        first = obligation.instalments.get(number=1)
        attempt = start_instalment_payment(instalment=first, gateway_account=sandbox,
                                                    return_url="https://duly.test/r", webhook_url="https://duly.test/h",
                                                    at=timezone.now()).payment
        apply_state(payment=attempt, status="succeeded", at=timezone.now(), source="test")
        signed_in(client, customer)

        text = client.get("/portal/").text
        receipt = client.post(f"/portal/instalments/{first.pk}/receipt/")

        assert text.count("Pay instalment") == 2 and "Receipt" in text
        assert receipt.status_code == 302 and receipt["Location"].startswith("/receipts/")
        assert client.get(receipt["Location"]).status_code == 200
        assert Instalment.objects.get(pk=first.pk).status == "paid"
