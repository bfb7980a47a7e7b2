import uuid
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django_scopes import scope, scopes_disabled

from config.beat import SCHEDULE
from notifications import services, states, tasks
from notifications.models import DevMail, Notification
from tests.crm.worker_probe import scope_probe
from tests.helpers import wait_for


def sent(tenant, notification_id) -> bool:
    with scope(tenant=tenant):
        return Notification.objects.filter(pk=notification_id, state=states.SENT).exists()


class TestDeclarations:
    def test_tasks_have_stable_names_and_late_acknowledgement(self):
        assert (tasks.deliver.name, tasks.sweep_tenant_outbox.name, tasks.sweep_outbox.name) == (
            "notifications.deliver", "notifications.sweep_tenant_outbox", "notifications.sweep_outbox")
        assert all(task.acks_late for task in (tasks.deliver, tasks.sweep_tenant_outbox, tasks.sweep_outbox))

    def test_the_sweep_runs_every_minute(self):
        assert SCHEDULE["notifications.sweep_outbox"] == {"task": "notifications.sweep_outbox", "schedule": 60.0}


@pytest.mark.django_db
class TestDeliverTask:
    def test_run_twice_sends_once(self, tenant, customer, at):
        with scope(tenant=tenant):
            [notification] = services.notify(tenant=tenant, event_key="e", template_key="generic",
                                             customer=customer, at=at)

        first = tasks.deliver.apply(kwargs={"tenant_id": tenant.pk, "notification_id": notification.pk}).get()
        second = tasks.deliver.apply(kwargs={"tenant_id": tenant.pk, "notification_id": notification.pk}).get()

        assert (first, second) == ("sent", "nothing")
        assert len(mail.outbox) == 1

    def test_another_tenants_id_finds_nothing(self, tenant, other_tenant, customer, at):
        with scope(tenant=tenant):
            [notification] = services.notify(tenant=tenant, event_key="e", template_key="generic",
                                             customer=customer, at=at)

        outcome = tasks.deliver.apply(kwargs={"tenant_id": other_tenant.pk, "notification_id": notification.pk}).get()

        assert outcome == "nothing"
        assert mail.outbox == []


@pytest.mark.worker
class TestOnARealWorker:
    def test_a_committed_notification_is_delivered_once_even_when_its_task_runs_again(
        self, celery_worker, tenant, customer
    ):
        with scope(tenant=tenant), transaction.atomic():
            [notification] = services.notify(tenant=tenant, event_key="invoice:1:pay", template_key="generic",
                                             customer=customer, at=datetime.now(UTC))

        wait_for(lambda: sent(tenant, notification.pk))
        tasks.deliver.delay(tenant_id=tenant.pk, notification_id=notification.pk)
        key = f"probe-{uuid.uuid4()}"
        scope_probe.delay(tenant_id=tenant.pk, key=key)  # the solo worker runs it after the second delivery
        wait_for(lambda: cache.get(key))

        with scopes_disabled():
            assert list(DevMail.objects.values_list("tenant", "to", "subject")) == [
                (tenant.pk, "harriet@example.com", "A message from Acme Brokers")]

    def test_the_sweep_sends_a_deferred_reminder_once_its_hours_have_come(self, celery_worker, tenant, customer):
        with scope(tenant=tenant), transaction.atomic():
            [reminder] = services.notify(tenant=tenant, event_key="instalment:1:reminder",
                                         template_key="instalment_reminder", customer=customer,
                                         at=datetime(2026, 1, 1, 21, 30, tzinfo=UTC))
        assert reminder.state == states.DEFERRED

        tasks.sweep_outbox.delay()

        wait_for(lambda: sent(tenant, reminder.pk))
        with scopes_disabled():
            assert DevMail.objects.count() == 1
