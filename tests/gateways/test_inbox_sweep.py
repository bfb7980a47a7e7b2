"""The inbox sweep (``gateways.sweep_webhook_inbox``): deliveries whose processing never started are
enqueued again, and nothing else. What it enqueues is read back from the broker's queue itself."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from kombu import Connection

from gateways import inbox, tasks
from gateways.models import WebhookDelivery, WebhookOutcome
from tests.gateways.test_inbox import stripe_account  # noqa: F401 - a fixture


def queued_messages(kind: str = "webhooks") -> list:
    """Take every message off the test run's queue of ``kind`` (``settings.DULY_QUEUES``), acknowledged."""
    found = []
    with Connection(settings.CELERY_BROKER_URL) as connection:  # its own, apart from Celery's pools
        queue = connection.SimpleQueue(settings.DULY_QUEUES[kind])
        try:
            while True:
                message = queue.get(block=False)
                message.ack()
                found.append(message)
        except queue.Empty:
            pass
        finally:
            queue.close()
    return found


def queued_deliveries() -> list[int]:
    """Take every message off the test queue; return the delivery ids of the processing tasks."""
    found = []
    for message in queued_messages():
        _, kwargs, _ = message.decode()
        assert message.headers["task"] == inbox.PROCESS_TASK
        found.append(kwargs["delivery_id"])
    return sorted(found)


def stored(account, event_id, *, age, outcome=WebhookOutcome.RECEIVED, attempts=0):
    return WebhookDelivery.objects.create(
        provider=account.provider, tenant_id=account.tenant_id, gateway_account=account, event_id=event_id,
        body="{}", received_at=timezone.now() - age, outcome=outcome, attempts=attempts,
    )


@pytest.mark.django_db
class TestSweepUnprocessed:
    def test_enqueues_only_deliveries_whose_processing_never_started(self, stripe_account):  # noqa: F811
        queued_messages()  # an empty queue to start from, whatever an earlier test left in it
        lost = stored(stripe_account, "evt_lost", age=timedelta(minutes=10))
        also_lost = stored(stripe_account, "evt_lost_too", age=timedelta(minutes=7))
        stored(stripe_account, "evt_fresh", age=timedelta(minutes=1))
        stored(stripe_account, "evt_retrying", age=timedelta(minutes=10), attempts=2)
        stored(stripe_account, "evt_done", age=timedelta(minutes=10), outcome=WebhookOutcome.PROCESSED)
        stored(stripe_account, "rejected:x", age=timedelta(minutes=10), outcome=WebhookOutcome.REJECTED)

        swept = inbox.sweep_unprocessed(older_than=tasks.SWEEP_AFTER, at=timezone.now())

        assert swept == [lost.pk, also_lost.pk]
        assert queued_deliveries() == sorted([lost.pk, also_lost.pk])

    def test_the_beat_task_sweeps_with_its_grace_or_the_one_given(self, stripe_account):  # noqa: F811
        queued_messages()
        fresh = stored(stripe_account, "evt_fresh", age=timedelta(seconds=30))

        tasks.sweep_webhook_inbox.apply(kwargs={}).get()
        assert queued_deliveries() == []

        tasks.sweep_webhook_inbox.apply(kwargs={"older_than_seconds": 0}).get()
        assert queued_deliveries() == [fresh.pk]


@pytest.mark.django_db
def test_a_processing_message_shows_its_arguments_to_monitoring():
    queued_messages()
    inbox.enqueue_processing(delivery_id=7, tenant_id=3)

    [message] = queued_messages()

    assert message.decode() == [[], {"delivery_id": 7, "tenant_id": 3}, {"callbacks": None, "errbacks": None,
                                                                         "chain": None, "chord": None}]
    assert (message.headers["argsrepr"], message.headers["kwargsrepr"]) == ("()", "{'delivery_id': 7, 'tenant_id': 3}")
