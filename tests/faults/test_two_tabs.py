"""Two browser tabs pressing "Pay" on the same payment link at the same moment.

Both POSTs to the public pay page run at once (two threads, each its own database connection); the
provider is the offline Sandbox served by the live server, so the checkout really is asked for over
HTTP, and a real Celery worker processes the Sandbox's webhook. The payer then pays in every tab that
reached a payment page: the money is taken and booked once.
"""

import threading

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from core import throttle
from gateways import services as gateway_services
from paylinks.models import PaymentRequest, RequestStatus
from payments.models import GatewayPayment, PaymentStatus
from sandbox.models import SandboxCheckout
from tests.faults.invariants import assert_ledger_invariants
from tests.faults.processes import SCALE
from tests.helpers import wait_for
from tests.paylinks.request_fixtures import send

pytestmark = pytest.mark.worker
TABS = 2


@pytest.fixture
def sandbox_site(live_server, settings, shop):
    settings.GATEWAY_BASE_URLS = {"sandbox": live_server.url}
    settings.DULY_SITE_URL = live_server.url
    throttle.reset(key="pay:127.0.0.1")
    with scope(tenant=shop.tenant):
        gateway_services.save_gateway_account(tenant=shop.tenant, provider="sandbox", live=False,
                                              secret="sbx_two_tabs")
    yield live_server
    throttle.reset(key="pay:127.0.0.1")


def press_pay_in_every_tab(token):
    barrier = threading.Barrier(TABS)
    answers, refusals = [], []

    def tab():
        from django.db import connection

        try:
            barrier.wait(timeout=30)
            response = Client().post(f"/pay/{token}/")
            answers.append((response.status_code, response.get("Location", "")))
            if response.status_code == 409:
                refusals.append(response.text)
        finally:
            connection.close()

    threads = [threading.Thread(target=tab) for _ in range(TABS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers, refusals


class TestTwoTabsPayOneLink:
    def test_one_checkout_is_opened_and_one_payment_booked(self, celery_worker, sandbox_site, shop, staff):
        for round_number in range(1, SCALE + 1):
            with scope(tenant=shop.tenant):
                payment_request, token = send(shop.customer, shop, staff, amount="40.00", at=timezone.now(),
                                              reference=f"INV-{round_number}")

            answers, refusals = press_pay_in_every_tab(token)

            with scope(tenant=shop.tenant):
                attempts = list(GatewayPayment.objects.filter(payment_request=payment_request))
                assert len(attempts) == 1, answers
                assert SandboxCheckout.objects.filter(reference=attempts[0].reference).count() == 1
            hosted_page = attempts[0].redirect_url
            # A tab that came while the other was still asking the provider is told to reload; both
            # tabs then reach the same page.
            assert sorted(status for status, _ in answers) in ([302, 302], [302, 409]), answers
            assert {location for status, location in answers if status == 302} == {hosted_page}
            waiting = [Client().post(f"/pay/{token}/") for status, _ in answers if status == 409]
            assert [(r.status_code, r["Location"]) for r in waiting] == [(302, hosted_page)] * len(waiting)
            assert all("being started in another window" in text for text in refusals), refusals

            card = {"number": "4242 4242 4242 4242", "expiry": "12/39", "cvc": "123", "name": "Harriet Holloway"}
            paid = [Client().post(hosted_page, card).status_code for _ in range(TABS)]
            assert paid == [302, 409]  # the second tab finds it paid

            with scope(tenant=shop.tenant):
                wait_for(lambda pk=payment_request.pk: PaymentRequest.objects.get(pk=pk).status
                         == RequestStatus.COMPLETE, timeout=60)
                assert [a.status for a in GatewayPayment.objects.filter(payment_request=payment_request)] == [
                    PaymentStatus.SUCCEEDED]
            assert_ledger_invariants(shop.tenant)
