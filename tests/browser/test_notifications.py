from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from notifications import services
from tests.factories import UserFactory
from tests.helpers import log_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestInAppNotifications:
    def test_a_staff_user_sees_a_notification_in_the_bell_and_marks_it_read(self, live_server, page, staff, tenant):
        with scope(tenant=tenant):
            services.notify(tenant=tenant, event_key="payment:7:received", template_key="payment_received",
                            channels=["in_app"], users=[staff], context={"amount": "£120.00"}, at=timezone.now())

        log_in(page, live_server, staff)

        bell = page.get_by_role("link", name="Notifications, 1 unread")
        expect(bell).to_be_visible()
        expect(page.locator("#bell-count")).to_have_text("1")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        bell.click()
        row = page.locator("#notification-rows tbody tr").first
        expect(row).to_contain_text("We received your payment of £120.00")
        row.get_by_role("button", name="Mark as read").click()

        expect(row).to_contain_text("Read ")
        expect(page.locator("#bell-count")).to_have_count(0)
        expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
        page.reload()
        expect(page.get_by_role("button", name="Mark as read")).to_have_count(0)

    def test_staff_send_a_message_from_the_customer_file_and_see_it_listed(self, live_server, page, staff, tenant,
                                                                            customer):
        log_in(page, live_server, staff)

        page.goto(f"{live_server.url}/customers/{customer.pk}/")
        panel = page.locator("#panel-communicate")
        panel.get_by_label("Template").select_option("generic")
        panel.get_by_role("button", name="Send").click()

        expect(panel.get_by_role("status")).to_contain_text("Message queued")
        expect(panel.locator(".sent-list tbody tr")).to_have_count(1)
        expect(panel.locator(".sent-list tbody tr").first).to_contain_text("harriet@example.com")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "customer_communicate.png", full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestTheMessageEditor:
    def test_a_good_preview_clears_the_error_of_a_bad_save(self, live_server, page, tenant):
        manager = UserFactory(tenant=tenant, username="maria", role_keys=["staff", "manager"])
        log_in(page, live_server, manager)
        page.goto(f"{live_server.url}/notifications/messages/payment_request/en/")
        body = page.get_by_label("Email text")

        body.fill("Dear #customer.name, please pay #amount. #nonsense")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".errors[role=alert]").first).to_contain_text("Nothing was saved")
        expect(page.locator(".field.invalid")).to_have_count(1)

        page.get_by_label("Email text").fill("Dear #customer.name, please pay #amount.")
        page.get_by_role("button", name="Preview").click()

        expect(page.locator("#preview")).to_contain_text("Dear Harriet Holloway, please pay £312.50.")
        expect(page.locator(".errors[role=alert]")).to_have_count(0)
        expect(page.locator(".field.invalid")).to_have_count(0)
        page.screenshot(path=SCREENSHOTS / "message_editor_preview.png", full_page=True)
