"""The payer's page of a euro payment request, for a tenant whose Credicorp account (PAB and USD) is
older than its Stripe account: the page offers the payment and Pay goes to Stripe. Stripe is a local fake
server (pytest-httpserver) answering the Checkout Session and serving its hosted page."""

import re
from pathlib import Path

import httpx
import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from core import throttle
from finance import services as ledger_services
from gateways import services as gateway_services
from paylinks.services.requests import RequestData, request_payment
from payments.models import GatewayPayment
from tests.factories import UserFactory
from tests.gateways.test_stripe import session_json

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_euro_request_of_a_tenant_with_credicorp_first_is_paid_through_stripe(
    live_server, settings, httpserver, browser, tenant, customer,
):
    settings.DULY_SITE_URL = live_server.url
    settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
    throttle.reset(key="pay:127.0.0.1")
    httpx.get(f"{live_server.url}/accounts/login/", timeout=60).raise_for_status()  # warm the URL conf
    hosted = httpserver.url_for("/c/pay/cs_test_a1B2c3")
    httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        session_json(amount_total=12000, amount_subtotal=12000, currency="eur", url=hosted))
    httpserver.expect_request("/c/pay/cs_test_a1B2c3").respond_with_data(
        "<!doctype html><meta charset=\"utf-8\"><title>Stripe Checkout</title><h1>Pay €120.00 to Acme Brokers</h1>",
        content_type="text/html")
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        gateway_services.save_gateway_account(
            tenant=tenant, provider="credicorp", live=False, secret="cc_secret",
            settings={"base_url": "https://credicorp.test", "callback_secret": "cb_1"})
        stripe = gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                       secret="sk_test_1", settings={"webhook_secret": "whsec_1"})
        eur = ledger_services.open_account(customer=customer, currency="EUR")
        _, token = request_payment(
            customer=customer, account=eur, actor=UserFactory(tenant=tenant, username="alice"), at=timezone.now(),
            data=RequestData(
                amount="120.00",
                reference="INV-42",
                message="Deposit for the Corolla",
                channels=["email"],
            ),
        )
    context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    payer = context.new_page()
    payer.set_default_timeout(10_000)
    problems = []  # refused by the Content-Security-Policy, or answered with an error (the favicon's included)
    payer.on("console", lambda message: problems.append(message.text) if "Refused" in message.text else None)
    payer.on("response", lambda response: problems.append(f"{response.status} {response.url}")
             if response.status >= 400 else None)

    payer.goto(f"{live_server.url}/pay/{token}/")

    expect(payer.get_by_role("heading", name="Acme Brokers")).to_be_visible()
    expect(payer.get_by_text("€120.00")).to_be_visible()
    pay = payer.get_by_role("button", name="Pay", exact=True)
    expect(pay).to_be_visible()
    assert payer.evaluate("document.documentElement.scrollWidth") <= 375  # nothing overflows sideways
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    payer.screenshot(path=SCREENSHOTS / "pay_page_eur_375.png", full_page=True)
    assert "not available" not in payer.content()

    pay.click()

    expect(payer).to_have_url(re.compile(r"/c/pay/cs_test_a1B2c3$"))
    expect(payer.get_by_role("heading", name="Pay €120.00 to Acme Brokers")).to_be_visible()
    assert problems == []
    with scope(tenant=tenant):
        attempt = GatewayPayment.objects.get()
        assert (attempt.gateway_account_id, attempt.currency, attempt.status) == (stripe.pk, "EUR", "pending")
    context.close()
    throttle.reset(key="pay:127.0.0.1")
