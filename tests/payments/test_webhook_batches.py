"""Deliveries processed in batches: a stored delivery wakes one batch task of its tenant, which claims
the tenant's waiting deliveries one at a time, each processed on its own."""

import json
import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from finance.models import Classification, FinancialTransaction
from gateways import inbox
from gateways import services as gateway_services
from gateways.models import WebhookDelivery, WebhookOutcome
from payments import tasks
from payments.models import GatewayPayment, PaymentStatus
from payments.services.webhooks import RETRY_AFTER_SECONDS, process_waiting_deliveries
from tests.factories import GatewayPaymentFactory, TenantFactory
from tests.gateways.test_inbox import stripe_event
from tests.gateways.test_inbox_sweep import queued_messages
from tests.helpers import at_once
from tests.payments.test_webhooks import deliver, gbp_account, stripe_account  # noqa: F401 - fixtures


def paid_on(gateway_account, account, count):
    """``count`` pending Stripe payments on ``account`` and each one's success delivered (stored, not
    yet processed)."""
    for n in range(count):
        GatewayPaymentFactory(gateway_account=gateway_account, account=account, amount="12.50",
                              provider_reference=f"pi_{n}")
        deliver(gateway_account, stripe_event(event_id=f"evt_{n}", intent=f"pi_{n}"))


def ledger_payments():
    return FinancialTransaction.objects.filter(classification=Classification.PAYMENT)


def queued_tasks() -> list[tuple[str, dict, float | None]]:
    found = []
    for message in queued_messages():
        _, kwargs, _ = message.decode()
        found.append((message.headers["task"], kwargs, message.headers.get("eta")))
    return found


@pytest.mark.django_db
class TestABatch:
    def test_processes_the_tenants_waiting_deliveries_oldest_first_up_to_its_limit(
            self, ledger, stripe_account, gbp_account):  # noqa: F811
        paid_on(stripe_account, gbp_account, 5)
        queued_messages()

        batch = process_waiting_deliveries(tenant=ledger, claimer="task-1", limit=3)

        oldest = list(WebhookDelivery.objects.order_by("received_at", "id").values_list("pk", flat=True))
        assert (batch.processed, batch.handed_over) == (oldest[:3], [])
        assert list(WebhookDelivery.objects.order_by("received_at", "id").values_list("outcome", "attempts")) == [
            (WebhookOutcome.PROCESSED, 1)] * 3 + [(WebhookOutcome.RECEIVED, 0)] * 2
        assert ledger_payments().count() == 3
        # having found work, it woke another batch task for the rest
        assert queued_tasks() == [(inbox.BATCH_TASK, {"tenant_id": ledger.pk}, None)]

        rest = process_waiting_deliveries(tenant=ledger, claimer="task-1", limit=3)

        assert rest.processed == oldest[3:]
        assert ledger_payments().count() == 5
        assert set(GatewayPayment.objects.values_list("status", flat=True)) == {PaymentStatus.SUCCEEDED}

    def test_a_task_run_again_takes_up_first_what_it_claimed_and_did_not_finish(
            self, ledger, stripe_account, gbp_account):  # noqa: F811
        paid_on(stripe_account, gbp_account, 2)
        killed_in = inbox.claim_waiting(tenant_id=ledger.pk, claimer="task-1").pk  # the worker died here

        assert process_waiting_deliveries(tenant=ledger, claimer="task-2", limit=5).processed != [killed_in]
        assert WebhookDelivery.objects.get(pk=killed_in).outcome == WebhookOutcome.RECEIVED

        again = process_waiting_deliveries(tenant=ledger, claimer="task-1")

        assert again.processed == [killed_in]
        delivery = WebhookDelivery.objects.get(pk=killed_in)
        assert (delivery.outcome, delivery.attempts) == (WebhookOutcome.PROCESSED, 2)
        assert ledger_payments().count() == 2
        queued_messages()

    def test_leaves_another_tenants_deliveries_alone(self, ledger, stripe_account, gbp_account):  # noqa: F811
        paid_on(stripe_account, gbp_account, 1)
        other = TenantFactory()

        with scope(tenant=other):
            assert process_waiting_deliveries(tenant=other, claimer="task-1").processed == []
        assert WebhookDelivery.objects.get().outcome == WebhookOutcome.RECEIVED

    def test_hands_a_delivery_the_provider_cannot_confirm_to_a_task_of_its_own_and_goes_on(
            self, ledger, stripe_account, gbp_account, settings):  # noqa: F811
        settings.GATEWAY_BASE_URLS = {"cashflows": "http://127.0.0.1:9"}  # nothing listens there
        cashflows = gateway_services.save_gateway_account(tenant=ledger, provider="cashflows", live=False,
                                                          secret="cf-key", settings={"configuration_id": "cfg-1"})
        GatewayPaymentFactory(gateway_account=cashflows, account=gbp_account, amount="12.50",
                              provider_reference="job2/pay2")
        body = json.dumps({"paymentJobReference": "job2", "paymentReference": "pay2"}).encode()
        Client().post(f"/webhooks/cashflows/{cashflows.webhook_token}/", data=body, content_type="application/json")
        unconfirmed = WebhookDelivery.objects.get()
        paid_on(stripe_account, gbp_account, 2)
        queued_messages()

        batch = process_waiting_deliveries(tenant=ledger, claimer="task-1")

        assert batch.handed_over == [unconfirmed.pk]
        assert len(batch.processed) == 2
        assert ledger_payments().count() == 2
        assert WebhookDelivery.objects.get(pk=unconfirmed.pk).outcome == WebhookOutcome.RECEIVED
        queued = queued_tasks()
        assert [(name, kwargs) for name, kwargs, _eta in queued] == [
            (inbox.BATCH_TASK, {"tenant_id": ledger.pk}),
            (inbox.PROCESS_TASK, {"delivery_id": unconfirmed.pk, "tenant_id": ledger.pk})]
        eta = datetime.fromisoformat(queued[1][2])
        assert timedelta(0) < eta - timezone.now() <= timedelta(seconds=RETRY_AFTER_SECONDS)


@pytest.mark.django_db
class TestWakingABatch:
    def test_one_task_is_queued_until_it_starts(self, ledger):
        queued_messages()

        for _ in range(3):
            inbox.wake_processing(tenant_id=ledger.pk)
        assert queued_tasks() == [(inbox.BATCH_TASK, {"tenant_id": ledger.pk}, None)]

        inbox.batch_started(tenant_id=ledger.pk)
        inbox.wake_processing(tenant_id=ledger.pk)
        assert queued_tasks() == [(inbox.BATCH_TASK, {"tenant_id": ledger.pk}, None)]

    def test_each_tenant_has_its_own(self, ledger):
        other = TenantFactory()
        queued_messages()

        inbox.wake_processing(tenant_id=ledger.pk)
        inbox.wake_processing(tenant_id=other.pk)

        assert sorted(kwargs["tenant_id"] for _name, kwargs, _eta in queued_tasks()) == sorted([ledger.pk, other.pk])


@pytest.mark.django_db(transaction=True)
def test_a_stored_delivery_wakes_a_batch_task_of_its_tenant(ledger, stripe_account, gbp_account):  # noqa: F811
    queued_messages()
    GatewayPaymentFactory(gateway_account=stripe_account, account=gbp_account, amount="12.50",
                          provider_reference="pi_woken")

    deliver(stripe_account, stripe_event(event_id="evt_woken", intent="pi_woken"))
    deliver(stripe_account, stripe_event(event_id="evt_woken_too", intent="pi_woken"))

    assert queued_tasks() == [(inbox.BATCH_TASK, {"tenant_id": ledger.pk}, None)]
    tasks.process_webhook_batch.apply(kwargs={"tenant_id": ledger.pk})
    with scope(tenant=ledger):
        assert sorted(WebhookDelivery.objects.values_list("outcome", flat=True)) == [
            WebhookOutcome.PROCESSED, WebhookOutcome.PROCESSED]
        assert ledger_payments().count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_batches_at_once_never_take_the_same_delivery(ledger, stripe_account, gbp_account):  # noqa: F811
    with scope(tenant=ledger):
        paid_on(stripe_account, gbp_account, 24)
    barrier = threading.Barrier(2)
    batches = []

    def run():
        try:
            with scope(tenant=ledger):
                barrier.wait(timeout=10)
                batches.append(process_waiting_deliveries(tenant=ledger, claimer=threading.current_thread().name))
        finally:
            connection.close()

    at_once(run, times=2, timeout=120)

    first, second = (set(batch.processed) for batch in batches)
    with scope(tenant=ledger):
        assert first.isdisjoint(second)
        assert first | second == set(WebhookDelivery.objects.values_list("pk", flat=True))
        assert set(WebhookDelivery.objects.values_list("outcome", "attempts")) == {(WebhookOutcome.PROCESSED, 1)}
        assert ledger_payments().count() == 24
    queued_messages()


@pytest.mark.django_db
class TestTheSweepAfterABatchWasLost:
    def stored(self, account, event_id, *, age, attempts):
        return WebhookDelivery.objects.create(
            provider=account.provider, tenant_id=account.tenant_id, gateway_account=account, event_id=event_id,
            body="{}", received_at=timezone.now() - age, attempts=attempts,
        )

    def test_enqueues_a_delivery_claimed_once_and_left_unfinished_for_two_hours(self, stripe_account):  # noqa: F811
        stalled = self.stored(stripe_account, "evt_stalled", age=timedelta(hours=3), attempts=1)
        self.stored(stripe_account, "evt_in_hand", age=timedelta(minutes=30), attempts=1)
        self.stored(stripe_account, "evt_retrying", age=timedelta(hours=3), attempts=2)
        queued_messages()

        swept = inbox.sweep_unprocessed(older_than=timedelta(minutes=5), at=timezone.now())

        assert swept == [stalled.pk]
        assert queued_tasks() == [(inbox.PROCESS_TASK, {"delivery_id": stalled.pk,
                                                        "tenant_id": stripe_account.tenant_id}, None)]
