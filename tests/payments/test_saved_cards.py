"""Keeping the card a customer agreed to save, once, after their payment succeeds (the task the webhook path
enqueues, and the janitor that finds one whose task was lost); forgetting a removed card at the provider."""

from datetime import UTC, datetime

import pytest

from gateways import services as gateway_services
from payments import tasks
from payments.models import ConsentSource, GatewayPayment, RemovedVia, SavedCard
from payments.services import saved_cards
from payments.services.gateway_payments import apply_state
from tests.factories import AccountFactory, GatewayPaymentFactory

pytestmark = pytest.mark.django_db
AT = datetime(2027, 1, 10, 9, tzinfo=UTC)
CHECKOUT = "sbx_0123456789abcdef"
KEPT = {"id": "sbxpm_0123456789abcdef", "brand": "visa", "last4": "4242", "exp_month": 11, "exp_year": 2039}


@pytest.fixture
def sandbox(ledger, settings, httpserver):
    settings.GATEWAY_BASE_URLS = {"sandbox": httpserver.url_for("").rstrip("/")}
    return gateway_services.save_gateway_account(tenant=ledger, provider="sandbox", live=False, secret="sbx_1")


def paid(account, gateway, *, consent=True):
    payment = GatewayPaymentFactory(account=account, gateway_account=gateway, amount="20.00",
                                    provider_reference=CHECKOUT, card_consent=saved_cards.consent(
                                        source=ConsentSource.PAY_LINK, text="Save this card.", at=AT) if consent
                                    else None)
    apply_state(payment=payment, status="succeeded", at=AT, source="webhook evt_1")
    return GatewayPayment.objects.get(pk=payment.pk)


def test_the_task_keeps_the_card_once(customer, sandbox, httpserver, django_capture_on_commit_callbacks):
    account = AccountFactory(customer=customer)
    httpserver.expect_request(f"/sandbox/api/checkouts/{CHECKOUT}").respond_with_json(
        {"id": CHECKOUT, "status": "succeeded", "amount_minor": 2000, "currency": "GBP", "failure_message": "",
         "saved_card": KEPT})
    payment = paid(account, sandbox)
    assert list(saved_cards.payments_with_card_to_keep()) == [payment]  # what the janitor re-enqueues

    tasks.keep_saved_card.apply(kwargs={"tenant_id": payment.tenant_id, "payment_id": payment.pk})
    tasks.keep_saved_card.apply(kwargs={"tenant_id": payment.tenant_id, "payment_id": payment.pk})

    card = SavedCard.objects.get()
    assert (card.customer_id, card.token, card.last4, card.expiry, card.consent_source, card.consent_text) == (
        customer.pk, KEPT["id"], "4242", "11/39", "pay_link", "Save this card.")
    assert len(httpserver.log) == 1  # the second run found it kept
    assert list(saved_cards.payments_with_card_to_keep()) == []


def test_no_consent_keeps_no_card_and_the_janitor_finds_only_the_lost_ones(customer, sandbox):
    account = AccountFactory(customer=customer)
    without = paid(account, sandbox, consent=False)

    assert saved_cards.keep_card_of(payment=without, at=AT) is None
    assert list(saved_cards.payments_with_card_to_keep()) == []
    assert SavedCard.objects.count() == 0


def test_a_removed_card_is_forgotten_at_the_provider_by_the_janitor(customer, sandbox, httpserver):
    account = AccountFactory(customer=customer)
    httpserver.expect_ordered_request(f"/sandbox/api/checkouts/{CHECKOUT}").respond_with_json(
        {"id": CHECKOUT, "status": "succeeded", "amount_minor": 2000, "currency": "GBP", "failure_message": "",
         "saved_card": KEPT})
    httpserver.expect_ordered_request(f"/sandbox/api/cards/{KEPT['id']}", method="DELETE").respond_with_data(
        "busy", status=503)
    httpserver.expect_ordered_request(f"/sandbox/api/cards/{KEPT['id']}", method="DELETE").respond_with_json(
        {"id": KEPT["id"], "removed": True})
    card = saved_cards.keep_card_of(payment=paid(account, sandbox), at=AT)

    removed = saved_cards.remove_card(card=card, via=RemovedVia.PORTAL, actor=None, at=AT)
    assert (removed.removed_at, removed.forgotten_by_provider) == (AT, False)
    assert list(saved_cards.cards_to_forget()) == [removed]
    tasks.forget_saved_card.apply(kwargs={"tenant_id": card.tenant_id, "card_id": card.pk})

    assert SavedCard.objects.get().forgotten_by_provider is True
    assert list(saved_cards.cards_to_forget()) == []
    assert saved_cards.card_to_charge(customer=customer, currency="GBP", at=AT) is None
