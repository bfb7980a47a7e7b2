"""SandboxGateway against the real sandbox server (Duly's own views), reached in-process over WSGI.

``httpx.WSGITransport`` runs the whole Django stack (URLs, middleware, views, database) inside the test's
transaction, with no network and no server thread, so these tests are as fast as unit tests while the adapter
still speaks real HTTP to the real server. ``live_server`` is used only by the browser test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from gateways import base, registry, services
from gateways.sandbox import SandboxGateway
from sandbox.models import SandboxCheckout, SandboxRefund
from tests.gateways.conftest import closed_port_url
from tests.sandbox.conftest import OTHER_SECRET, SECRET

BASE = "http://testserver"
RETURN_URL = "https://duly.test/paid"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class InProcessTransport(httpx.BaseTransport):
    """The Django app over WSGI, keeping every request so a test can read exactly what the adapter sent.

    As Django's own test client does, the database connection is not closed at the start and end of the
    request, so the app sees (and stays inside) the test's transaction.
    """

    def __init__(self) -> None:
        self.inner = httpx.WSGITransport(app=get_wsgi_application())
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.inner.handle_request(request)
            response.read()  # runs the app to the end (request_finished) while the connection is kept
            return response
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


@pytest.fixture
def transport() -> InProcessTransport:
    return InProcessTransport()


def gateway_with(transport, secret: str = SECRET) -> SandboxGateway:
    return SandboxGateway(base.Credentials(provider="sandbox", live=False, secret=secret), base_url=BASE,
                          transport=transport)


@pytest.fixture
def gateway(transport, account) -> SandboxGateway:
    return gateway_with(transport)


def checkout_request(**overrides) -> base.CheckoutRequest:
    values = dict(reference="pay-001", amount_minor=1250, currency="GBP", description="Broker fee",
                  mode=base.CheckoutMode.HOSTED_PAGE, return_url=RETURN_URL)
    return base.CheckoutRequest(**{**values, **overrides})


def stored(checkout_id: str) -> SandboxCheckout:
    return SandboxCheckout.objects.with_scopes_disabled().get(id=checkout_id)


def pay_on_the_page(checkout_id: str, number: str = "4242 4242 4242 4242"):
    return Client().post(f"/sandbox/pay/{checkout_id}/", {"number": number, "expiry": "12/39", "cvc": "123",
                                                          "name": "Harriet Holloway"})


@pytest.mark.django_db
class TestStartCheckout:
    def test_creates_a_hosted_page_checkout_for_the_secrets_tenant(self, gateway, transport, account, tenant):
        expires_at = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
        webhook_url = f"{BASE}/webhooks/sandbox/{account.webhook_token}/"

        checkout = gateway.start_checkout(checkout_request(
            expires_at=expires_at, cancel_url="https://duly.test/cancelled", webhook_url=webhook_url))

        [sent] = transport.requests
        assert (sent.method, str(sent.url)) == ("POST", f"{BASE}/sandbox/api/checkouts")
        assert sent.headers["Authorization"] == f"Bearer {SECRET}"
        assert sent.headers["Idempotency-Key"] == "pay-001"
        assert json.loads(sent.content) == {
            "reference": "pay-001", "amount_minor": 1250, "currency": "GBP", "description": "Broker fee",
            "mode": "hosted_page", "return_url": RETURN_URL, "cancel_url": "https://duly.test/cancelled",
            "expires_at": expires_at.astimezone(UTC).isoformat(), "webhook_url": webhook_url, "pay_in_4": False,
        }
        row = SandboxCheckout.objects.with_scopes_disabled().get()
        assert checkout == base.Checkout(provider_reference=row.id, status=base.PaymentStatus.PENDING,
                                    redirect_url=f"{BASE}/sandbox/pay/{row.id}/", expires_at=expires_at)
        assert row.id.startswith("sbx_")
        assert (row.tenant_id, row.account_id, row.reference, row.amount_minor, row.currency, row.mode,
                row.status, row.expires_at, row.client_token) == (
            tenant.id, account.id, "pay-001", 1250, "GBP", "hosted_page", "pending", expires_at, "")

    def test_creates_a_card_fields_checkout_with_a_client_token(self, gateway, transport):
        checkout = gateway.start_checkout(checkout_request(mode=base.CheckoutMode.CARD_FIELDS, currency="EUR",
                                                           amount_minor=9900, description=""))

        assert json.loads(transport.requests[0].content) == {
            "reference": "pay-001", "amount_minor": 9900, "currency": "EUR", "description": "",
            "mode": "card_fields", "return_url": RETURN_URL, "cancel_url": "", "expires_at": None,
            "webhook_url": "", "pay_in_4": False,
        }
        row = SandboxCheckout.objects.with_scopes_disabled().get()
        assert row.client_token.startswith("sbxct_")
        assert checkout == base.Checkout(provider_reference=row.id, status=base.PaymentStatus.PENDING,
                                    client_token=row.client_token, expires_at=None)

    def test_a_retried_reference_answers_the_first_checkout(self, gateway):
        first = gateway.start_checkout(checkout_request())

        again = gateway.start_checkout(checkout_request())

        assert again == first
        assert SandboxCheckout.objects.with_scopes_disabled().count() == 1

    def test_offers_pay_in_4_in_gbp_but_not_in_eur(self, gateway, transport):
        checkout = gateway.start_checkout(checkout_request(pay_in_4=True))

        assert json.loads(transport.requests[0].content)["pay_in_4"] is True
        assert stored(checkout.provider_reference).pay_in_4 is True
        with pytest.raises(ValueError, match="pay in 4"):
            gateway.start_checkout(checkout_request(reference="pay-002", currency="EUR", pay_in_4=True))
        assert len(transport.requests) == 1

    def test_an_unknown_secret_is_refused(self, transport, account):
        with pytest.raises(base.GatewayError, match="HTTP 401"):
            gateway_with(transport, secret="sbx_wrong").start_checkout(checkout_request())

        assert SandboxCheckout.objects.with_scopes_disabled().count() == 0

    def test_a_webhook_url_of_another_account_is_refused_naming_the_field(self, gateway, other_account):
        with pytest.raises(base.GatewayError, match="webhook_url"):
            gateway.start_checkout(checkout_request(
                webhook_url=f"{BASE}/webhooks/sandbox/{other_account.webhook_token}/"))

        assert SandboxCheckout.objects.with_scopes_disabled().count() == 0

    def test_a_server_that_does_not_answer_is_unavailable(self):
        gateway = SandboxGateway(base.Credentials(provider="sandbox", live=False, secret=SECRET),
                                 base_url=closed_port_url(), timeout=0.5)

        with pytest.raises(base.GatewayUnavailable):
            gateway.start_checkout(checkout_request())


@pytest.mark.django_db
class TestFetchStatus:
    def test_answers_pending_then_succeeded_once_paid(self, gateway, transport):
        checkout_id = gateway.start_checkout(checkout_request()).provider_reference

        before = gateway.fetch_status(checkout_id)
        pay_on_the_page(checkout_id)
        after = gateway.fetch_status(checkout_id)

        assert (transport.requests[1].method, str(transport.requests[1].url)) == (
            "GET", f"{BASE}/sandbox/api/checkouts/{checkout_id}")
        assert before == base.PaymentState(provider_reference=checkout_id, status=base.PaymentStatus.PENDING,
                                      amount_minor=1250, currency="GBP", provider_status="pending")
        assert after == base.PaymentState(provider_reference=checkout_id, status=base.PaymentStatus.SUCCEEDED,
                                     amount_minor=1250, currency="GBP", provider_status="succeeded")

    def test_a_declined_attempt_leaves_it_pending_with_the_message(self, gateway):
        checkout_id = gateway.start_checkout(checkout_request()).provider_reference
        pay_on_the_page(checkout_id, "4000 0000 0000 0002")

        state = gateway.fetch_status(checkout_id)

        assert (state.status, state.failure_message) == (base.PaymentStatus.PENDING, "Your card was declined.")

    def test_a_checkout_past_its_expiry_answers_expired(self, gateway):
        checkout_id = gateway.start_checkout(checkout_request(
            expires_at=timezone.now() + timedelta(hours=1))).provider_reference
        SandboxCheckout.objects.with_scopes_disabled().filter(id=checkout_id).update(
            expires_at=timezone.now() - timedelta(seconds=1))

        state = gateway.fetch_status(checkout_id)

        assert state.status == base.PaymentStatus.EXPIRED
        assert stored(checkout_id).status == "expired"

    def test_another_tenants_checkout_is_not_found(self, gateway, transport, other_account):
        checkout_id = gateway.start_checkout(checkout_request()).provider_reference

        with pytest.raises(base.GatewayError, match="HTTP 404"):
            gateway_with(transport, secret=OTHER_SECRET).fetch_status(checkout_id)

    def test_refuses_an_id_that_is_not_a_sandbox_checkout(self, gateway, transport):
        with pytest.raises(ValueError):
            gateway.fetch_status("../admin")

        assert transport.requests == []


@pytest.mark.django_db
class TestRefund:
    @pytest.fixture
    def paid(self, gateway) -> str:
        checkout_id = gateway.start_checkout(checkout_request()).provider_reference
        assert pay_on_the_page(checkout_id).status_code == 302
        return checkout_id

    def test_refunding_twice_with_one_key_makes_one_refund(self, gateway, transport, paid):
        request = base.RefundRequest(provider_reference=paid, amount_minor=500, currency="GBP", idempotency_key="rf-1")

        first = gateway.refund(request)
        second = gateway.refund(request)

        sent = transport.requests[-1]
        assert (sent.method, str(sent.url)) == ("POST", f"{BASE}/sandbox/api/checkouts/{paid}/refunds")
        assert json.loads(sent.content) == {"amount_minor": 500, "idempotency_key": "rf-1"}
        assert sent.headers["Idempotency-Key"] == "rf-1"
        refund = SandboxRefund.objects.with_scopes_disabled().get()
        assert first == second == base.RefundResult(refund_reference=refund.id, succeeded=True)
        assert (refund.checkout_id, refund.amount_minor, refund.idempotency_key) == (paid, 500, "rf-1")

    def test_partial_refunds_up_to_the_amount_paid(self, gateway, paid):
        gateway.refund(base.RefundRequest(provider_reference=paid, amount_minor=500, currency="GBP",
                                     idempotency_key="rf-1"))
        gateway.refund(base.RefundRequest(provider_reference=paid, amount_minor=750, currency="GBP",
                                     idempotency_key="rf-2"))

        with pytest.raises(base.PaymentDeclined, match="exceeds the 0 minor units left"):
            gateway.refund(base.RefundRequest(provider_reference=paid, amount_minor=1, currency="GBP",
                                         idempotency_key="rf-3"))

        assert sorted(SandboxRefund.objects.with_scopes_disabled().values_list("amount_minor", flat=True)) == [
            500, 750]

    def test_an_unpaid_checkout_cannot_be_refunded(self, gateway):
        checkout_id = gateway.start_checkout(checkout_request()).provider_reference

        with pytest.raises(base.PaymentDeclined, match=r"Only a paid checkout can be refunded\."):
            gateway.refund(base.RefundRequest(provider_reference=checkout_id, amount_minor=100, currency="GBP",
                                         idempotency_key="rf-1"))

        assert SandboxRefund.objects.with_scopes_disabled().count() == 0

    def test_another_tenant_cannot_refund_it(self, transport, paid, other_account):
        with pytest.raises(base.GatewayError, match="HTTP 404"):
            gateway_with(transport, secret=OTHER_SECRET).refund(base.RefundRequest(
                provider_reference=paid, amount_minor=100, currency="GBP", idempotency_key="rf-x"))

        assert SandboxRefund.objects.with_scopes_disabled().count() == 0


def event_body(event_type: str = "checkout.succeeded", checkout_id: str = "sbx_0123456789abcdef") -> bytes:
    return json.dumps({"id": "sbxevt_0001", "type": event_type,
                       "data": {"id": checkout_id, "amount_minor": 1250, "currency": "GBP"}}).encode()


def signed(body: bytes, *, at: datetime = NOW, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Sandbox-Timestamp": timestamp, "X-Sandbox-Signature": signature}


class TestParseWebhook:
    gateway = SandboxGateway(base.Credentials(provider="sandbox", live=False, secret=SECRET), base_url=BASE)

    def test_a_valid_event_becomes_a_webhook_event(self):
        body = event_body()

        event = self.gateway.parse_webhook(headers=signed(body), body=body, now=NOW + timedelta(seconds=30))

        assert event == base.WebhookEvent(event_id="sbxevt_0001", event_type="checkout.succeeded",
                                     provider_reference="sbx_0123456789abcdef", status=base.PaymentStatus.SUCCEEDED,
                                     amount_minor=1250, currency="GBP")

    @pytest.mark.parametrize(("event_type", "status"), [
        ("checkout.failed", base.PaymentStatus.FAILED), ("checkout.processing", base.PaymentStatus.PROCESSING),
        ("checkout.expired", base.PaymentStatus.EXPIRED), ("checkout.cancelled", base.PaymentStatus.CANCELLED),
        ("checkout.refunded", None),
    ])
    def test_maps_each_type_and_leaves_unknown_ones_without_a_status(self, event_type, status):
        body = event_body(event_type)

        event = self.gateway.parse_webhook(headers=signed(body), body=body, now=NOW)

        assert (event.event_type, event.status) == (event_type, status)

    @pytest.mark.parametrize("case", ["wrong-secret", "tampered", "missing", "stale", "future", "not-a-time"])
    def test_refuses_a_bad_or_stale_signature(self, case):
        body = event_body()
        headers = {
            "wrong-secret": signed(body, secret="sbx_other"),
            "tampered": signed(event_body(checkout_id="sbx_fedcba9876543210")),
            "missing": {},
            "stale": signed(body, at=NOW - timedelta(seconds=301)),
            "future": signed(body, at=NOW + timedelta(seconds=301)),
            "not-a-time": {**signed(body), "X-Sandbox-Timestamp": "yesterday"},
        }[case]

        with pytest.raises(base.InvalidWebhookSignature):
            self.gateway.parse_webhook(headers=headers, body=body, now=NOW)

    def test_reads_headers_in_any_case(self):
        body = event_body()
        headers = {key.lower(): value for key, value in signed(body).items()}

        assert self.gateway.parse_webhook(headers=headers, body=body, now=NOW).event_id == "sbxevt_0001"

    def test_a_signed_body_that_is_not_an_event_is_refused(self):
        body = b'{"id": "sbxevt_1", "type": "checkout.succeeded", "data": {"id": "../x"}}'

        with pytest.raises(base.InvalidWebhookSignature, match="not a sandbox event"):
            self.gateway.parse_webhook(headers=signed(body), body=body, now=NOW)


@pytest.mark.django_db
class TestRegistry:
    def test_the_registry_points_the_sandbox_at_duly_itself(self, account, settings):
        settings.GATEWAY_BASE_URLS = {}
        settings.DULY_SITE_URL = "http://duly.example:8000/"

        gateway = registry.gateway_for(account=account)

        assert isinstance(gateway, SandboxGateway)
        assert gateway.base_url == "http://duly.example:8000"

    def test_an_accounts_base_url_setting_wins_over_the_site_url(self, tenant, settings):
        settings.GATEWAY_BASE_URLS = {}
        with scope(tenant=tenant):
            account = services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret=SECRET,
                                                    settings={"base_url": "http://sandbox.internal"})

        assert registry.gateway_for(account=account).base_url == "http://sandbox.internal"

    def test_offers_both_modes_and_pay_in_4(self):
        capabilities = registry.capabilities_of("sandbox")

        assert capabilities.supports(mode=base.CheckoutMode.CARD_FIELDS, currency="PAB")
        assert capabilities.supports(mode=base.CheckoutMode.HOSTED_PAGE, currency="AUD", pay_in_4=True)
        assert not capabilities.supports(mode=base.CheckoutMode.HOSTED_PAGE, currency="EUR", pay_in_4=True)
        assert not capabilities.supports(mode=base.CheckoutMode.HOSTED_PAGE, currency="JPY")


@pytest.mark.django_db
class TestSavedCards:
    """The sandbox keeps a card a checkout asked it to, and charges it without the customer by the card's
    behaviour; a removed card is never charged."""

    def saved(self, gateway, number):
        checkout = gateway.start_checkout(checkout_request(reference=f"pay-{number[-4:]}", save_card=True))
        pay_on_the_page(checkout.provider_reference, number)
        return gateway.fetch_status(checkout.provider_reference).saved_card

    def test_a_paid_checkout_that_asked_keeps_the_card(self, gateway):
        card = self.saved(gateway, "4242 4242 4242 4242")

        assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2039)
        assert card.token.startswith("sbxpm_")

    def test_a_checkout_that_did_not_ask_keeps_nothing(self, gateway):
        checkout = gateway.start_checkout(checkout_request())
        pay_on_the_page(checkout.provider_reference)

        assert gateway.fetch_status(checkout.provider_reference).saved_card is None

    def test_charges_by_the_saved_cards_behaviour_once_per_reference(self, gateway):
        good = self.saved(gateway, "4242 4242 4242 4242")
        first = gateway.charge_saved_card(base.CardCharge("dc_1_0", good.token, 3000, "GBP", "Invoice"))
        again = gateway.charge_saved_card(base.CardCharge("dc_1_0", good.token, 3000, "GBP", "Invoice"))

        assert first.status == base.PaymentStatus.SUCCEEDED and again.provider_reference == first.provider_reference
        assert stored(first.provider_reference).mode == "saved_card"
        with pytest.raises(base.AuthenticationRequired):
            gateway.charge_saved_card(base.CardCharge("dc_2_0", self.saved(gateway, "4000 0025 0000 3155").token,
                                                      3000, "GBP", "Invoice"))
        with pytest.raises(base.PaymentDeclined):
            gateway.charge_saved_card(base.CardCharge("dc_3_0", self.saved(gateway, "4000 0000 0000 0341").token,
                                                      3000, "GBP", "Invoice"))

    def test_a_removed_card_is_refused(self, gateway):
        card = self.saved(gateway, "4242 4242 4242 4242")

        gateway.remove_saved_card(card.token)
        gateway.remove_saved_card(card.token)  # twice: still removed, no error

        with pytest.raises(base.GatewayError, match="No such card"):
            gateway.charge_saved_card(base.CardCharge("dc_4_0", card.token, 3000, "GBP", "Invoice"))

    def test_another_tenants_card_is_not_found(self, gateway, transport, other_account):
        card = self.saved(gateway, "4242 4242 4242 4242")

        with pytest.raises(base.GatewayError, match="not_found"):
            gateway_with(transport, OTHER_SECRET).charge_saved_card(
                base.CardCharge("dc_5_0", card.token, 3000, "GBP", "Invoice"))
