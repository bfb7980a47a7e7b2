import hashlib
import hmac
import json
import threading
import time

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from core import tallies
from gateways import inbox, services
from gateways.models import GatewayAccount, WebhookDelivery, WebhookOutcome
from tests.helpers import at_once

SECRET = "whsec_inbox_test"


def stripe_event(event_id="evt_1", event_type="payment_intent.succeeded", intent="pi_1"):
    return json.dumps({
        "id": event_id, "object": "event", "type": event_type, "created": int(time.time()),
        "data": {"object": {"id": intent, "object": "payment_intent", "amount": 1250, "currency": "eur",
                            "status": "succeeded"}},
    }).encode()


def signed(body, *, at=None, secret=SECRET):
    at = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_STRIPE_SIGNATURE": f"t={at},v1={signature}"}


def new_stripe_account(tenant):
    """A Stripe test-mode account of ``tenant`` whose webhooks are signed with ``SECRET``."""
    with scope(tenant=tenant):
        return services.save_gateway_account(tenant=tenant, provider="stripe", live=False, secret="sk_test_1",
                                             settings={"webhook_secret": SECRET})


@pytest.fixture
def stripe_account(tenant):
    return new_stripe_account(tenant)


def url(account):
    return f"/webhooks/{account.provider}/{account.webhook_token}/"


def deliver(account, body, **headers):
    return Client().post(url(account), data=body, content_type="application/json", **headers)


def send(account, event_id, *, secret=SECRET):
    """Deliver a Stripe event ``event_id`` for ``account``, signed with ``secret``."""
    body = stripe_event(event_id=event_id)
    return deliver(account, body, **signed(body, secret=secret))


@pytest.fixture
def remembered_account(stripe_account):
    """The account once a first delivery ("evt_1") has been stored for it, so this process remembers it."""
    assert send(stripe_account, "evt_1").status_code == 200
    return stripe_account


@pytest.mark.django_db
class TestWebhookInbox:
    def test_a_valid_delivery_is_stored_and_answered_at_once(self, stripe_account, django_capture_on_commit_callbacks):
        body = stripe_event()

        with django_capture_on_commit_callbacks() as callbacks:
            response = deliver(stripe_account, body, **signed(body))

        assert response.status_code == 200
        assert response.json() == {"received": True, "duplicate": False}
        delivery = WebhookDelivery.objects.get()
        assert (delivery.provider, delivery.event_id, delivery.event_type, delivery.tenant_id) == (
            "stripe", "evt_1", "payment_intent.succeeded", stripe_account.tenant_id)
        assert delivery.body == body.decode()
        assert delivery.outcome == WebhookOutcome.RECEIVED
        _wake, tally = callbacks  # processing is enqueued after commit, and the delivery counted (config.metrics)
        assert (tally.func, tally.args, tally.keywords) == (tallies.add, ("webhook_deliveries_received", 1), {})

    def test_a_delivery_costs_one_lookup_of_its_account_and_one_insert(self, stripe_account):
        body = stripe_event()

        with CaptureQueriesContext(connection) as queries:
            response = deliver(stripe_account, body, **signed(body))

        assert response.status_code == 200
        statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
        assert [sql.split(" ", 1)[0] for sql in statements] == ["SELECT", "INSERT"]
        assert 'FROM "gateways_gatewayaccount"' in statements[0]
        assert statements[1].endswith('ON CONFLICT (provider, event_id, tenant_id) DO NOTHING RETURNING "id"')
        assert "crm_tenant" not in statements[0]  # the scope needs the tenant's id, not its row

    def test_the_next_delivery_for_the_account_is_one_insert_that_checks_the_account(self, remembered_account):
        with CaptureQueriesContext(connection) as queries:
            response = send(remembered_account, "evt_2")

        assert response.json() == {"received": True, "duplicate": False}
        statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
        assert len(statements) == 1
        assert statements[0].startswith('INSERT INTO "gateways_webhookdelivery"')
        guard = f'WHERE EXISTS (SELECT FROM "gateways_gatewayaccount" WHERE "id" = {remembered_account.pk}'
        assert guard in statements[0]
        assert sorted(WebhookDelivery.objects.values_list("event_id", flat=True)) == ["evt_1", "evt_2"]

    def test_a_forged_delivery_for_a_remembered_account_is_refused_and_kept_for_support(self, remembered_account):
        response = send(remembered_account, "evt_forged", secret="whsec_other")

        assert response.status_code == 400
        assert sorted(WebhookDelivery.objects.values_list("outcome", flat=True)) == [
            WebhookOutcome.RECEIVED, WebhookOutcome.REJECTED]

    def test_an_account_disabled_since_its_last_delivery_is_404_and_stores_nothing(self, remembered_account, tenant):
        with scope(tenant=tenant):
            services.save_gateway_account(tenant=tenant, provider="stripe", live=False, secret=None,
                                          settings={"webhook_secret": SECRET}, enabled=False)

        response = send(remembered_account, "evt_2")

        assert response.status_code == 404
        assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == ["evt_1"]

    def test_a_new_webhook_secret_verifies_from_the_next_delivery_and_the_old_one_no_longer(
        self, remembered_account, tenant
    ):
        with scope(tenant=tenant):
            services.save_gateway_account(tenant=tenant, provider="stripe", live=False, secret=None,
                                          settings={"webhook_secret": "whsec_new"})

        with_new = send(remembered_account, "evt_2", secret="whsec_new")
        with_old = send(remembered_account, "evt_3")

        assert (with_new.status_code, with_old.status_code) == (200, 400)
        assert dict(WebhookDelivery.objects.values_list("event_id", "outcome")) == {
            "evt_1": WebhookOutcome.RECEIVED, "evt_2": WebhookOutcome.RECEIVED,
            WebhookDelivery.objects.get(outcome=WebhookOutcome.REJECTED).event_id: WebhookOutcome.REJECTED,
        }

    def test_a_secret_re_encrypted_with_a_new_key_still_verifies_once_the_old_key_is_gone(
        self, remembered_account, settings
    ):
        new_key = Fernet.generate_key().decode()
        settings.DULY_SECRETS_KEYS = [new_key, *settings.DULY_SECRETS_KEYS]
        services.rotate_gateway_secrets()
        settings.DULY_SECRETS_KEYS = [new_key]

        response = send(remembered_account, "evt_2")

        assert response.json() == {"received": True, "duplicate": False}
        assert sorted(WebhookDelivery.objects.values_list("event_id", flat=True)) == ["evt_1", "evt_2"]

    def test_a_duplicate_is_answered_alike_and_stored_once(self, stripe_account, django_capture_on_commit_callbacks):
        body = stripe_event()
        deliver(stripe_account, body, **signed(body))

        with django_capture_on_commit_callbacks() as callbacks:
            response = deliver(stripe_account, body, **signed(body))

        assert response.json() == {"received": True, "duplicate": True}
        assert WebhookDelivery.objects.count() == 1
        assert callbacks == []

    @pytest.mark.parametrize("headers", [
        {}, {"HTTP_STRIPE_SIGNATURE": "t=1,v1=deadbeef"}, "stale", "wrong-secret",
    ])
    def test_a_bad_signature_is_refused_with_400_and_kept_for_support(self, stripe_account, headers):
        body = stripe_event()
        if headers == "stale":
            headers = signed(body, at=int(time.time()) - 3600)
        elif headers == "wrong-secret":
            headers = signed(body, secret="whsec_other")

        response = deliver(stripe_account, body, **headers)

        assert response.status_code == 400
        rejected = WebhookDelivery.objects.get()
        assert rejected.outcome == WebhookOutcome.REJECTED
        assert rejected.event_id.startswith("rejected:")

    def test_an_unknown_event_type_is_stored(self, stripe_account):
        body = stripe_event(event_type="customer.created")

        response = deliver(stripe_account, body, **signed(body))

        assert response.status_code == 200
        assert WebhookDelivery.objects.get().event_type == "customer.created"

    def test_an_unknown_account_is_404_and_stores_nothing(self, stripe_account):
        body = stripe_event()

        response = Client().post("/webhooks/stripe/00000000-0000-0000-0000-000000000000/", data=body,
                                 content_type="application/json", **signed(body))

        assert response.status_code == 404
        assert WebhookDelivery.objects.count() == 0

    def test_an_oversized_body_is_refused(self, stripe_account):
        body = b'{"id": "evt_big", "padding": "' + b"x" * (300 * 1024) + b'"}'

        response = deliver(stripe_account, body, **signed(body))

        assert response.status_code == 413
        assert WebhookDelivery.objects.count() == 0

    def test_only_post_is_accepted(self, stripe_account):
        assert Client().get(url(stripe_account)).status_code == 405


@pytest.mark.django_db(transaction=True)
class TestConcurrentDuplicates:
    def test_ten_simultaneous_copies_are_stored_once(self, stripe_account):
        body = stripe_event(event_id="evt_race")
        barrier = threading.Barrier(10)
        answers = []

        def send():
            try:
                barrier.wait(timeout=10)
                answers.append(deliver(stripe_account, body, **signed(body)).json())
            finally:
                connection.close()

        at_once(send, times=10)

        assert len(answers) == 10
        assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 9
        assert WebhookDelivery.objects.filter(event_id="evt_race").count() == 1


class TestTheGuardCoversTheAccount:
    def test_every_field_of_a_gateway_account_is_either_compared_or_said_why_not(self):
        fields = {field.name for field in GatewayAccount._meta.concrete_fields}

        assert set(inbox.ACCOUNT_AS_READ) | set(inbox.ACCOUNT_NOT_READ) == fields
        assert not set(inbox.ACCOUNT_AS_READ) & set(inbox.ACCOUNT_NOT_READ)

    def test_the_guarded_insert_names_every_delivery_column_and_every_compared_account_column(self):
        sql, fields, account_fields = inbox._insert_sql(guarded=True)

        assert [field.name for field in fields] == [f.name for f in WebhookDelivery._meta.concrete_fields
                                                    if not f.primary_key]
        assert [field.name for field in account_fields] == list(inbox.ACCOUNT_AS_READ)
        assert all(f'"{field.column}" = %s::' in sql for field in account_fields)
