"""The payment flows' log output, as production writes it (JSON, ``core.logs``), scanned for every secret
they handled: a card number, pay-link and webhook-address tokens, an API key, the providers' secrets and
signatures. Each flow is also checked to have logged the line that would have carried it, so that a clean
scan means the secret was redacted, not that nothing was written."""

import io
import json
import logging

import pytest
from django.test import Client
from django.utils import timezone

from core import logs
from crm import services as crm_services
from gateways import services as gateway_services
from paylinks.services.requests import cancel_payment_request
from sandbox.models import SandboxCheckout
from tests.gateways.test_inbox import signed, stripe_event
from tests.paylinks.request_fixtures import gbp as gbp
from tests.paylinks.request_fixtures import sandbox as sandbox
from tests.paylinks.request_fixtures import send
from tests.sandbox.test_server import CANCEL_URL, RETURN_URL, api, pay

CARD = "4242 4242 4242 4242"
STRIPE_SECRET, WEBHOOK_SECRET = "sk_test_51LogScanSecretKey", "whsec_LogScanSigningSecret"


@pytest.fixture
def production_log():
    """Every record at INFO and above, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def checkout_at(account) -> SandboxCheckout:
    payload = {"reference": "pay-log", "amount_minor": 1250, "currency": "GBP", "description": "Broker fee",
               "mode": "hosted_page", "return_url": RETURN_URL, "cancel_url": CANCEL_URL,
               "webhook_url": f"http://testserver/webhooks/sandbox/{account.webhook_token}/"}
    response = api("POST", "/sandbox/api/checkouts", payload, secret="sbx_1")
    assert response.status_code == 201, response.content
    return SandboxCheckout.objects.with_scopes_disabled().get(id=response.json()["id"])


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
def test_the_payment_flows_log_no_secret(production_log, ledger, customer, gbp, sandbox, staff,
                                         django_capture_on_commit_callbacks):
    stripe = gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret=STRIPE_SECRET,
                                                   settings={"webhook_secret": WEBHOOK_SECRET})
    # a payer's card at the sandbox's hosted page: a bad expiry first, then paid (its webhook is delivered)
    checkout = checkout_at(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        refused_card = pay(checkout, CARD, expiry="13/99")
        paid = pay(checkout, CARD)
    paid_again = pay(checkout, CARD)
    # a pay link, cancelled, then opened with a character too many
    request, token = send(customer, gbp, staff, at=timezone.now())
    cancel_payment_request(request=request, actor=staff, at=timezone.now())
    closed_link = Client().get(f"/pay/{token}x/")  # mistyped: it still holds the whole token
    # a provider's delivery with a wrong signature, at the account's webhook address
    body = stripe_event(event_id="evt_log_scan", intent="pi_log_scan")
    forged = Client().post(f"/webhooks/stripe/{stripe.webhook_token}/", data=body, content_type="application/json",
                           **signed(body, secret="whsec_not_the_one"))
    # an API key, revoked, then used
    api_key, raw_key = crm_services.create_api_key(tenant=ledger, name="Accounting sync")
    crm_services.revoke_api_key(api_key=api_key, at=timezone.now())
    revoked = Client().get("/api/v1/customers", headers={"Authorization": f"Bearer {raw_key}"})

    written = production_log.getvalue()
    messages = [line["message"] for line in lines(production_log)]

    assert [refused_card.status_code, paid.status_code, closed_link.status_code, forged.status_code,
            revoked.status_code] == [200, 302, 404, 400, 401]
    assert paid_again.status_code in (400, 409, 410)
    assert "Not Found: /pay/[redacted]/" in messages
    assert "Bad Request: /webhooks/stripe/[redacted]/" in messages
    assert any(message.startswith("Refused a stripe webhook") for message in messages)
    for secret in [CARD, CARD.replace(" ", ""), token, str(stripe.webhook_token), str(sandbox.webhook_token),
                   raw_key, raw_key.split("_", 2)[2], STRIPE_SECRET, WEBHOOK_SECRET, "sbx_1",
                   signed(body, secret="whsec_not_the_one")["HTTP_STRIPE_SIGNATURE"].split("v1=")[1]]:
        assert secret not in written, secret


@pytest.mark.django_db
def test_a_request_s_lines_name_it_its_tenant_and_its_user(production_log, staff_client, staff):
    response = staff_client.get("/finance/settings/")  # for accountants only: refused, and logged

    [line] = [line for line in lines(production_log) if line["logger"] == "django.request"]
    assert response.status_code == 403
    assert {key: line[key] for key in ("level", "message", *logs.FIELDS)} == {
        "level": "WARNING", "message": "Forbidden (Permission denied): /finance/settings/",
        "request_id": response["X-Request-ID"], "tenant_id": staff.tenant_id, "user_id": staff.pk,
        "api_key_id": None, "task_id": None}
    assert len(response["X-Request-ID"]) == 32
    assert set(line) >= {"time", "level", "logger", "message"}


@pytest.mark.django_db
def test_an_api_request_s_lines_name_its_key_and_keep_a_caller_s_request_id(production_log, tenant):
    api_key, raw_key = crm_services.create_api_key(tenant=tenant, name="Accounting sync")

    response = Client().get("/api/v1/customers/999999", headers={"Authorization": f"Bearer {raw_key}",
                                                                 "X-Request-ID": "lb-7f3a9c2e"})
    refused_id = Client().get("/api/v1/customers/999999", headers={"X-Request-ID": "not a plain id\n"})

    [line, _] = [line for line in lines(production_log) if line["logger"] == "django.request"]
    assert (response.status_code, response["X-Request-ID"]) == (404, "lb-7f3a9c2e")
    assert {key: line[key] for key in logs.FIELDS} == {
        "request_id": "lb-7f3a9c2e", "tenant_id": tenant.pk, "user_id": None, "api_key_id": api_key.pk,
        "task_id": None}
    assert refused_id["X-Request-ID"] != "not a plain id\n" and len(refused_id["X-Request-ID"]) == 32

