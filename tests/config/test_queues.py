"""A queue per kind of work: webhook processing and notifications have their own, each with its own worker, so a
burst of webhooks never delays an email. Checked on the broker with a real worker."""

from datetime import UTC, datetime

import pytest
import redis
from celery import current_app
from django.conf import settings
from django.db import transaction
from django_scopes import scope, scopes_disabled

from gateways import inbox
from notifications import services
from notifications.models import DevMail
from tests.conftest import start_worker
from tests.helpers import wait_for

BURST = 500


def queue_of(task_name: str) -> str:
    return current_app.amqp.router.route({}, task_name)["queue"].name


def test_webhooks_and_notifications_each_have_their_queue_and_the_rest_the_default():
    assert queue_of("payments.process_webhook_delivery") == settings.DULY_QUEUES["webhooks"]
    assert queue_of("notifications.deliver") == settings.DULY_QUEUES["notifications"]
    assert queue_of("notifications.sweep_outbox") == settings.DULY_QUEUES["notifications"]
    # a payment's confirmation is rendered with the notifications, not with the bookings
    assert queue_of("payments.send_payment_notices") == settings.DULY_QUEUES["notifications"]
    assert queue_of("payments.sweep_payment_notices") == settings.DULY_QUEUES["notifications"]
    assert queue_of("billing.collect_by_card") == settings.CELERY_TASK_DEFAULT_QUEUE
    assert queue_of("payments.poll_stale_payments") == settings.CELERY_TASK_DEFAULT_QUEUE
    assert len({settings.CELERY_TASK_DEFAULT_QUEUE, *settings.DULY_QUEUES.values()}) == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_email_goes_out_while_a_burst_of_webhooks_waits(tenant, customer):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    webhooks = settings.DULY_QUEUES["webhooks"]
    broker.delete(webhooks)
    for delivery_id in range(BURST):  # nobody takes these: the webhook worker is busy elsewhere, or down
        inbox.enqueue_processing(delivery_id=delivery_id + 1, tenant_id=tenant.pk)
    worker = start_worker([settings.DULY_QUEUES["notifications"]])
    try:
        with scope(tenant=tenant), transaction.atomic():
            services.notify(tenant=tenant, event_key="invoice:1:pay", template_key="generic",
                                      customer=customer, at=datetime.now(UTC))

        wait_for(lambda: DevMail.objects.exists(), what="the email")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        left = broker.llen(webhooks)
        broker.delete(webhooks)

    assert left == BURST
    with scopes_disabled():
        assert list(DevMail.objects.values_list("to", "subject")) == [("harriet@example.com",
                                                                       "A message from Acme Brokers")]
