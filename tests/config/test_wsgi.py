"""The WSGI application as the web server calls it: pages through the full middleware stack, webhooks
through the lean one (``config.webhook_handler``)."""

import httpx
import pytest
from django_scopes import scopes_disabled

from config.wsgi import application
from gateways.models import WebhookDelivery, WebhookOutcome
from tests.gateways.test_inbox import new_stripe_account, signed, stripe_event, url


@pytest.fixture
def stripe_account(tenant):
    return new_stripe_account(tenant)


@pytest.fixture
def client(transactional_db):
    # transactional_db: each request commits on its own and Django closes stale connections around
    # it, as under uWSGI.
    with httpx.Client(transport=httpx.WSGITransport(app=application), base_url="http://localhost") as client:
        yield client


def test_a_delivery_is_stored_and_answered_without_the_pages_middleware(client, stripe_account):
    body = stripe_event(event_id="evt_wsgi")

    response = client.post(url(stripe_account), content=body, headers={
        "Content-Type": "application/json", "Stripe-Signature": signed(body)["HTTP_STRIPE_SIGNATURE"]})

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    with scopes_disabled():
        delivery = WebhookDelivery.objects.get()
    assert (delivery.event_id, delivery.tenant_id, delivery.outcome) == (
        "evt_wsgi", stripe_account.tenant_id, WebhookOutcome.RECEIVED)
    # The security middleware ran; the pages' stack (CSP, sessions, CSRF, framing) did not.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers
    assert "X-Frame-Options" not in response.headers
    assert "set-cookie" not in response.headers
    assert response.headers["Content-Length"] == str(len(response.content))


def test_a_bad_signature_unknown_account_or_wrong_method_gets_its_answer(client, stripe_account):
    body = stripe_event(event_id="evt_forged")
    forged = client.post(url(stripe_account), content=body, headers={
        "Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"})
    unknown = client.post("/webhooks/stripe/00000000-0000-4000-8000-000000000000/", content=body,
                          headers={"Content-Type": "application/json"})
    read = client.get(url(stripe_account))
    nowhere = client.post("/webhooks/nowhere/", content=body)

    assert (forged.status_code, forged.json()) == (400, {"detail": "Invalid signature."})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Unknown webhook endpoint."})
    assert read.status_code == 405
    assert (nowhere.status_code, nowhere.json()) == (404, {"detail": "Unknown webhook endpoint."})
    for answer in (forged, unknown, read, nowhere):
        assert answer.headers["Content-Length"] == str(len(answer.content))
    with scopes_disabled():
        assert list(WebhookDelivery.objects.values_list("outcome", flat=True)) == [WebhookOutcome.REJECTED]


def test_pages_still_go_through_the_full_stack(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert "script-src 'self' 'nonce-" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "csrftoken=" in response.headers["set-cookie"]
