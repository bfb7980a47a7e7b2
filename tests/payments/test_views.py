import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from gateways import services as gateway_services
from gateways.models import WebhookDelivery, WebhookOutcome
from tests.factories import UserFactory
from tests.helpers import assert_404_for_other_tenant
from tests.payments.test_gateway_payments import AT


def delivery(tenant, event_id, outcome=WebhookOutcome.PROCESSED):
    with scope(tenant=tenant):
        account = gateway_services.save_gateway_account(tenant=tenant, provider="sandbox", live=False, secret="s")
    return WebhookDelivery.objects.create(provider="sandbox", tenant=tenant, gateway_account=account,
                                          event_id=event_id, body="{}", received_at=AT, outcome=outcome)


@pytest.mark.django_db
class TestWebhookList:
    def test_lists_only_the_tenants_deliveries(self, staff_client, tenant, other_tenant):
        delivery(tenant, "evt_mine")
        delivery(other_tenant, "evt_theirs")

        response = staff_client.get(reverse("payments:webhook_list"))

        assert [d.event_id for d in response.context["page"]] == ["evt_mine"]
        assert "evt_theirs" not in response.text

    def test_filters_by_outcome(self, staff_client, tenant):
        delivery(tenant, "evt_ok")
        WebhookDelivery.objects.create(provider="sandbox", tenant=tenant, event_id="evt_bad", body="{}",
                                       received_at=AT, outcome=WebhookOutcome.FAILED)

        response = staff_client.get(reverse("payments:webhook_list"), {"outcome": "failed"})

        assert [d.event_id for d in response.context["page"]] == ["evt_bad"]

    def test_the_query_count_does_not_grow_with_the_rows(self, staff_client, tenant):
        delivery(tenant, "evt_1")
        with CaptureQueriesContext(connection) as few:
            staff_client.get(reverse("payments:webhook_list"))
        for n in range(2, 12):
            WebhookDelivery.objects.create(provider="sandbox", tenant=tenant, event_id=f"evt_{n}", body="{}",
                                           received_at=AT, gateway_account_id=WebhookDelivery.objects.first()
                                           .gateway_account_id)

        with CaptureQueriesContext(connection) as many:
            staff_client.get(reverse("payments:webhook_list"))

        assert len(many) == len(few)


@pytest.mark.django_db
class TestReplay:
    def test_a_payment_manager_replays_a_delivery(self, tenant, django_capture_on_commit_callbacks):
        from tests.conftest import logged_in

        manager = logged_in(UserFactory(tenant=tenant, role_keys=["staff", "payment_manager"]))
        item = delivery(tenant, "evt_again")

        with django_capture_on_commit_callbacks() as callbacks:
            response = manager.post(reverse("payments:webhook_replay", args=[item.pk]))

        assert response.status_code == 302
        assert WebhookDelivery.objects.get(pk=item.pk).outcome == WebhookOutcome.RECEIVED
        assert len(callbacks) == 1

    def test_other_staff_may_not_replay(self, staff_client, tenant):
        item = delivery(tenant, "evt_no")

        response = staff_client.post(reverse("payments:webhook_replay", args=[item.pk]))

        assert response.status_code == 403
        assert WebhookDelivery.objects.get(pk=item.pk).outcome == WebhookOutcome.PROCESSED

    def test_another_tenants_delivery_is_not_found(self, other_tenant, tenant):
        from tests.conftest import logged_in

        other_manager = logged_in(UserFactory(tenant=other_tenant, role_keys=["staff", "payment_manager"]))
        item = delivery(tenant, "evt_private")

        assert_404_for_other_tenant(other_manager, reverse("payments:webhook_replay", args=[item.pk]), method="post")
        assert WebhookDelivery.objects.get(pk=item.pk).outcome == WebhookOutcome.PROCESSED
