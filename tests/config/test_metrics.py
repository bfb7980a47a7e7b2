"""The metrics page for Prometheus (``config.metrics``): who may read it, Duly's own figures exactly, the
requests' and statements' figures, and what it costs. Its speed with 100 tenants is in ``make bench``
(tests/bench/bench_metrics.py)."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from config import metrics
from core import tallies
from gateways.models import WebhookDelivery, WebhookOutcome
from notifications import services as notifications
from notifications.models import Notification
from payments.models import PaymentStatus
from tests.factories import AccountFactory, GatewayPaymentFactory, InvoiceFactory, TenantFactory
from tests.gateways.test_inbox import stripe_event
from tests.helpers import clear_tallies
from tests.payments.test_webhooks import deliver, process_all
from tests.payments.test_webhooks import stripe_account as stripe_account

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_tallies():
    clear_tallies()
    yield
    clear_tallies()


def samples(text: str) -> dict[tuple, float]:
    """Every sample of an exposition: (name, sorted labels) → value."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def duly(now=NOW) -> dict[tuple, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics.DulyCollector(now=now))
    return samples(generate_latest(registry).decode())


def page(**headers):
    return Client().get("/metrics/", headers=headers)


class TestWhoMayRead:
    @pytest.mark.django_db
    def test_with_a_token_only_its_bearer_reads(self, settings):
        settings.DULY_METRICS_TOKEN = "s3cret-metrics"

        answers = [page().status_code, page(authorization="Bearer wrong").status_code,
                   page(authorization="s3cret-metrics").status_code,
                   page(authorization="Bearer s3cret-metrics").status_code]

        assert answers == [401, 401, 401, 200]
        assert page()["WWW-Authenticate"] == "Bearer"

    @pytest.mark.django_db
    def test_without_a_token_production_has_no_metrics_page(self, settings):
        settings.DULY_METRICS_TOKEN, settings.PRODUCTION = "", True

        assert page().status_code == 404

    @pytest.mark.django_db
    def test_without_a_token_development_reads_it_and_it_is_never_cached(self, settings):
        settings.DULY_METRICS_TOKEN = ""

        response = page()

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
class TestDulysFigures:
    def test_nothing_waiting_reads_zero_everywhere(self):
        figures = duly()

        assert {key: value for key, value in figures.items() if key[0] != "duly_celery_queue_depth"} == {
            ("duly_webhook_deliveries_received_total", ()): 0,
            ("duly_webhook_deliveries_processed_total", ()): 0,
            ("duly_messages_total", ()): 0,
            ("duly_postings_total", ()): 0,
            ("duly_webhook_deliveries_unprocessed", ()): 0,
            ("duly_webhook_oldest_unprocessed_seconds", ()): 0,
            ("duly_outbox_messages", (("state", "pending"),)): 0,
            ("duly_outbox_messages", (("state", "deferred"),)): 0,
            ("duly_outbox_messages", (("state", "sending"),)): 0,
            ("duly_outbox_messages", (("state", "failed"),)): 0,
            ("duly_outbox_oldest_due_seconds", ()): 0,
            ("duly_payments_pending_stale", ()): 0,
        }

    def test_what_waits_is_counted_across_tenants_with_the_age_of_the_oldest(self, ledger, stripe_account, customer):
        other = TenantFactory()
        with scopes_disabled():
            for tenant, seconds, outcome in [(ledger, 90, "received"), (other, 30, "received"),
                                             (other, 600, "processed")]:
                WebhookDelivery.objects.create(
                    provider="stripe", tenant=tenant, event_id=f"evt_{tenant.pk}_{seconds}", body="{}",
                    received_at=NOW - timedelta(seconds=seconds), outcome=outcome)
            for tenant, state, due in [(ledger, "pending", -45), (other, "pending", -5), (other, "deferred", 3600),
                                       (ledger, "failed", -900), (ledger, "sent", -9000), (other, "pending", 60)]:
                Notification.objects.create(
                    tenant=tenant, event_key=f"e:{state}:{due}", channel="email", recipient="a@example.com",
                    body="Hello", state=state, due_at=NOW + timedelta(seconds=due), created_at=NOW)
            account = AccountFactory(customer=customer)
            for minutes, status in [(16, PaymentStatus.PENDING), (20, PaymentStatus.PROCESSING),
                                    (14, PaymentStatus.PENDING), (60, PaymentStatus.FAILED)]:
                GatewayPaymentFactory(account=account, gateway_account=stripe_account, status=status,
                                      provider_reference=f"pi_{minutes}", updated_at=NOW - timedelta(minutes=minutes))

        figures = duly()

        assert figures[("duly_webhook_deliveries_unprocessed", ())] == 2
        assert figures[("duly_webhook_oldest_unprocessed_seconds", ())] == 90
        assert {state: figures[("duly_outbox_messages", (("state", state),))]
                for state in ("pending", "deferred", "sending", "failed")} == {
            "pending": 3, "deferred": 1, "sending": 0, "failed": 1}
        assert figures[("duly_outbox_oldest_due_seconds", ())] == 45  # the failed one waits for support, not due
        assert figures[("duly_payments_pending_stale", ())] == 2  # past 15 minutes, pending or processing

    def test_queue_depths_are_the_tasks_waiting_in_each_queue(self):
        queue = metrics.queues()["webhooks"]
        client = tallies.client()
        client.delete(queue)
        client.rpush(queue, "a", "b", "c")
        try:
            figures = duly()
        finally:
            client.delete(queue)

        assert figures[("duly_celery_queue_depth", (("queue", "webhooks"),))] == 3
        assert set(metrics.queues()) == {"celery", "webhooks", "notifications"}

    def test_deliveries_processings_postings_and_messages_are_counted_once_committed(
        self, ledger, stripe_account, customer, django_capture_on_commit_callbacks
    ):
        account = AccountFactory(customer=customer, currency="EUR")
        GatewayPaymentFactory(gateway_account=stripe_account, account=account, amount="12.50",
                              provider_reference="pi_counted")
        with django_capture_on_commit_callbacks(execute=True):
            deliver(stripe_account, stripe_event(event_id="evt_counted", intent="pi_counted"))
            deliver(stripe_account, stripe_event(event_id="evt_counted", intent="pi_counted"))  # a duplicate
            deliver(stripe_account, stripe_event(event_id="evt_nobody", intent="pi_nobody"))
            process_all(ledger)
            InvoiceFactory(account=account, price="40.00")
            [message] = notifications.notify(tenant=ledger, event_key="metrics:1", template_key="generic",
                                             customer=customer, at=NOW, urgent=True)
            notifications.deliver(tenant=ledger, notification_id=message.pk, at=NOW)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
            with transaction.atomic():  # rolled back: counts nothing
                InvoiceFactory(account=account, price="1.00")
                raise RuntimeError

        figures = {key: value for key, value in duly().items() if key[0].endswith("_total")}

        assert figures == {
            ("duly_webhook_deliveries_received_total", ()): 2,
            ("duly_webhook_deliveries_processed_total", (("outcome", "ignored"),)): 1,
            ("duly_webhook_deliveries_processed_total", (("outcome", "processed"),)): 1,
            ("duly_postings_total", (("classification", "invoice"),)): 1,
            ("duly_postings_total", (("classification", "payment"),)): 1,
            ("duly_messages_total", (("channel", "email"), ("outcome", "sent"))): 1,
        }


@pytest.mark.django_db
class TestThePage:
    def test_it_shows_requests_by_view_and_the_database_s_statements(self, staff_client):
        staff_client.get("/customers/")
        before = samples(page().content.decode())
        staff_client.get("/customers/")

        after = samples(page().content.decode())

        key = ("django_http_requests_latency_seconds_by_view_method_count",
               (("method", "GET"), ("view", "crm:customer_list")))
        assert after[key] - before[key] == 1
        statements = ("django_db_execute_total", (("alias", "default"), ("vendor", "postgresql")))
        assert after[statements] > before[statements]

    def test_it_reads_one_statement_however_many_tenants_have_work_waiting(self, ledger):
        with CaptureQueriesContext(connection) as one:
            page()
        with scopes_disabled():
            for number in range(3):
                tenant = TenantFactory()
                WebhookDelivery.objects.create(provider="stripe", tenant=tenant, event_id=f"evt_{number}", body="{}",
                                               received_at=NOW, outcome=WebhookOutcome.RECEIVED)
        with CaptureQueriesContext(connection) as three:
            response = page()

        assert (len(one), len(three)) == (1, 1)
        assert samples(response.content.decode())[("duly_webhook_deliveries_unprocessed", ())] == 3



@pytest.mark.django_db
def test_every_metric_the_grafana_dashboard_charts_is_on_the_page(staff_client):
    staff_client.get("/customers/")
    names = {name for name, _ in samples(page().content.decode())}
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text())

    charted = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\b(?:django|duly)_[a-z_]+", target["expr"])}

    assert len(charted) == 15
    assert charted - names == set()


@pytest.mark.django_db(transaction=True)
def test_redis_not_answering_is_a_503_naming_it(settings):
    tallies.client.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        response = page()
    finally:
        tallies.client.cache_clear()

    assert (response.status_code, response.content) == (503, b"Not available: ConnectionError\n")
