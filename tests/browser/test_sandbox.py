"""The Sandbox provider in Chromium: a payer pays on the hosted page, and in the card fields embedded in a page.

The checkout is started by the real adapter over real HTTP against the live server, as Duly starts one.
"""

import re

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from gateways import services
from gateways.base import CheckoutMode, CheckoutRequest, Credentials
from gateways.models import WebhookDelivery
from gateways.sandbox import SandboxGateway
from sandbox.models import SandboxCheckout

SECRET = "sbx_secret_browser"


@pytest.fixture
def account(tenant):
    with scope(tenant=tenant):
        return services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret=SECRET)


def start(live_server, account, *, mode=CheckoutMode.HOSTED_PAGE):
    gateway = SandboxGateway(Credentials(provider="sandbox", live=False, secret=SECRET), base_url=live_server.url)
    return gateway.start_checkout(CheckoutRequest(
        reference=f"pay-{mode}", amount_minor=1250, currency="GBP", description="Broker fee", mode=mode,
        return_url=f"{live_server.url}/accounts/login/",
        webhook_url=f"{live_server.url}/webhooks/sandbox/{account.webhook_token}/",
    ))


def fill_card(scope_, number="4242 4242 4242 4242"):
    scope_.get_by_label("Card number").fill(number)
    scope_.get_by_label("Expiry (MM/YY)").fill("12/39")
    scope_.get_by_label("CVC").fill("123")
    scope_.get_by_label("Name on card").fill("Harriet Holloway")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestSandboxPayment:
    def test_a_payer_pays_on_the_hosted_page_and_lands_on_the_return_url(self, live_server, page, account):
        checkout = start(live_server, account)

        page.goto(checkout.redirect_url)
        expect(page.get_by_role("heading", name="Pay 12.50 GBP")).to_be_visible()
        fill_card(page, "4000 0000 0000 0002")
        page.get_by_role("button", name="Pay 12.50 GBP").click()
        expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
        fill_card(page)
        page.get_by_role("button", name="Pay 12.50 GBP").click()

        expect(page).to_have_url(f"{live_server.url}/accounts/login/")
        expect(page.get_by_role("heading", name="Log in to Duly")).to_be_visible()
        paid = SandboxCheckout.objects.with_scopes_disabled().get(id=checkout.provider_reference)
        assert (paid.status, paid.card_last4, paid.failed_attempts) == ("succeeded", "4242", 1)
        assert list(WebhookDelivery.objects.order_by("id").values_list("event_type", "outcome")) == [
            ("checkout.failed", "received"), ("checkout.succeeded", "received")]

    def test_card_fields_in_an_iframe_tell_the_page_the_outcome(self, live_server, page, account):
        checkout = start(live_server, account, mode=CheckoutMode.CARD_FIELDS)
        embedding_page = f"{live_server.url}/embedding-test/"  # served by the browser, on Duly's origin
        page.route(embedding_page, lambda route: route.fulfill(content_type="text/html", body=f"""
            <!doctype html><title>Pay</title><output id="result">waiting</output>
            <iframe src="/sandbox/fields/{checkout.client_token}/" title="Card details" width="500" height="600">
            </iframe>
            <script>
              window.addEventListener("message", function (event) {{
                if (event.origin === window.location.origin && event.data.type === "sandbox:result") {{
                  document.getElementById("result").textContent = event.data.status + " " + event.data.checkout;
                }}
              }});
            </script>"""))

        page.goto(embedding_page)
        fields = page.frame_locator("iframe[title='Card details']")
        fill_card(fields, "4111 1111 1111 1111")
        fields.get_by_role("button", name="Pay 12.50 GBP").click()
        expect(fields.get_by_text(re.compile(r"Card number: Use a sandbox test card"))).to_be_visible()
        fill_card(fields)
        fields.get_by_role("button", name="Pay 12.50 GBP").click()

        expect(page.locator("#result")).to_have_text(f"succeeded {checkout.provider_reference}")
        expect(fields.get_by_text("Payment received. Thank you.")).to_be_visible()
        assert SandboxCheckout.objects.with_scopes_disabled().get(id=checkout.provider_reference).status == (
            "succeeded")
        assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["checkout.succeeded"]
