"""The security headers on representative pages, exactly: Content-Security-Policy everywhere (with the
provider's origins only where its card fields or hosted page are used), ``Referrer-Policy:
no-referrer`` on the pages whose URL is a capability, and what production turns on."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_scopes import scope

from core import throttle
from gateways import services as gateway_services
from gateways.models import GatewayAccount
from tests.config.test_settings import PRODUCTION, run
from tests.conftest import logged_in
from tests.factories import PASSWORD
from tests.security.world import build_world

STRICT = ("default-src 'self'; script-src 'self'{nonce}; style-src 'self'; img-src 'self' data:; "
          "font-src 'self'; connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'self'; "
          "base-uri 'none'; object-src 'none'")
STRIPE = ("default-src 'self'; script-src 'self'{nonce} https://js.stripe.com https://*.js.stripe.com; "
          "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' https://api.stripe.com; "
          "frame-src 'self' https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; "
          "form-action 'self' https://checkout.stripe.com; frame-ancestors 'self'; base-uri 'none'; "
          "object-src 'none'")
NONCE = re.compile(r'<script[^>]* nonce="([^"]+)"')


def nonce_of(response) -> str:
    """The nonce the page's own scripts carry; the header must name the same one."""
    nonces = set(NONCE.findall(response.content.decode()))
    assert len(nonces) == 1, nonces
    return f" 'nonce-{nonces.pop()}'"


def policy(response) -> str:
    return response["Content-Security-Policy"]


@pytest.fixture
def world(tenant):
    throttle.reset(key="pay:127.0.0.1")
    yield build_world(tenant)
    throttle.reset(key="pay:127.0.0.1")


@pytest.fixture
def cashier(world):
    return logged_in(world.staff)


@pytest.mark.django_db
class TestContentSecurityPolicy:
    def test_a_staff_page_allows_only_the_sites_own_origin_and_its_nonce(self, cashier):
        response = cashier.get("/customers/")

        assert response.status_code == 200
        assert policy(response) == STRICT.format(nonce=nonce_of(response))
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"

    def test_the_nonce_changes_with_every_response(self, cashier):
        first, second = cashier.get("/customers/"), cashier.get("/customers/")

        assert nonce_of(first) != nonce_of(second)

    def test_no_template_carries_inline_styles_or_handlers(self, cashier, world):
        pages = [cashier.get(url) for url in (
            "/customers/", f"/customers/{world.account.customer_id}/", f"/payments/receipts/{world.receipt.pk}/",
            f"/finance/transactions/{world.fee.pk}/", "/payments/requests/", "/notifications/",
        )]

        for page in pages:
            html = page.content.decode()
            assert page.status_code == 200
            assert re.findall(r'\sstyle="|\son[a-z]+="|<script(?![^>]*\b(?:src|nonce)=)', html) == [], page.request
            assert policy(page) == STRICT.format(nonce=nonce_of(page))

    def test_the_login_page_and_the_api_have_it_too(self, world):
        login = Client().get("/accounts/login/")
        api = Client().get("/api/v1/customers")

        assert policy(login) == STRICT.format(nonce=nonce_of(login))
        assert (api.status_code, policy(api)) == (401, STRICT.format(nonce=""))

    def test_take_payment_with_the_sandbox_allows_only_the_site_itself(self, cashier, world):
        response = cashier.get(f"/payments/fees/{world.fee.pk}/take/")

        assert response.status_code == 200
        assert policy(response) == STRICT.format(nonce=nonce_of(response))

    def test_take_payment_with_stripe_adds_stripes_origins_and_nothing_else(self, cashier, world, tenant):
        with scope(tenant=tenant):
            GatewayAccount.objects.filter(pk=world.gateway.pk).update(enabled=False)
            gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False, secret="sk_test_1",
                                                  settings={"webhook_secret": "whsec_1", "publishable_key": "pk_1"})

        response = cashier.get(f"/payments/fees/{world.fee.pk}/take/")

        assert response.status_code == 200
        assert policy(response) == STRIPE.format(nonce=nonce_of(response))


@pytest.mark.django_db
class TestPagesWhoseUrlIsTheKey:
    def test_the_pay_page(self, world):
        response = Client().get(f"/pay/{world.request_token}/")

        assert response.status_code == 200
        assert policy(response) == STRICT.format(nonce="")
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["Cache-Control"] == "no-store"
        assert '<meta name="referrer"' not in response.text  # nothing in the page loosens the header

    def test_the_invoice_pay_page(self, world):
        response = Client().get(f"/pay/invoice/{world.invoice_link_token}/")

        assert response.status_code == 200
        assert policy(response) == STRICT.format(nonce="")
        assert (response["Referrer-Policy"], response["Cache-Control"]) == ("no-referrer", "no-store")

    def test_the_receipt(self, world):
        response = Client().get(f"/receipts/{world.receipt_token}/")

        assert response.status_code == 200
        assert policy(response) == STRICT.format(nonce=nonce_of(response))
        assert (response["Referrer-Policy"], response["Cache-Control"]) == ("no-referrer", "private, no-store")
        assert '<meta name="referrer" content="no-referrer">' in response.text

    def test_a_forged_token_is_an_ordinary_404_with_the_policy(self, world):
        response = Client().get("/pay/forged/")

        assert response.status_code == 404
        assert policy(response) == STRICT.format(nonce=nonce_of(response))


@pytest.mark.django_db
class TestFormsPostedFromNoReferrerPages:
    """Under ``no-referrer`` a browser posts a page's own form with ``Origin: null``; the browser-set
    ``Sec-Fetch-Site: same-origin`` tells it apart from another site's post. The token is still checked."""

    def post_login(self, staff, **headers):
        browser = Client(enforce_csrf_checks=True)
        page = browser.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return browser.post("/accounts/login/", {"username": staff.username, "password": PASSWORD,
                                                 "csrfmiddlewaretoken": token}, headers=headers)

    def test_a_same_origin_post_with_origin_null_passes(self, world):
        response = self.post_login(world.staff, Origin="null", **{"Sec-Fetch-Site": "same-origin"})

        assert response.status_code in (200, 302)
        assert response.status_code != 403

    @pytest.mark.parametrize("fetch_site", [None, "cross-site", "same-site", "none"])
    def test_origin_null_from_anywhere_else_is_refused(self, world, fetch_site):
        headers = {"Origin": "null"} | ({"Sec-Fetch-Site": fetch_site} if fetch_site else {})

        assert self.post_login(world.staff, **headers).status_code == 403

    def test_a_same_origin_post_without_the_token_is_refused(self, world):
        browser = Client(enforce_csrf_checks=True)

        response = browser.post("/accounts/login/", {"username": "x", "password": "y"},
                                headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})

        assert response.status_code == 403


class TestProductionSettings:
    def test_cookies_hsts_and_the_policy(self):
        result = run(["-c", "import django; django.setup(); from django.conf import settings as s; print(["
                      "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
                      "s.LANGUAGE_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
                      "s.SECURE_HSTS_PRELOAD, s.SECURE_SSL_REDIRECT, s.SECURE_CONTENT_TYPE_NOSNIFF, "
                      "s.X_FRAME_OPTIONS, sorted(s.SECURE_CSP)[:3], "
                      "'django.middleware.csp.ContentSecurityPolicyMiddleware' in s.MIDDLEWARE])"], PRODUCTION)

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == (
            "[True, True, True, True, 31536000, True, True, True, True, 'DENY', "
            "['base-uri', 'connect-src', 'default-src'], True]")
