from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from notifications import services, states
from notifications.models import DevMail, DevSms, MessageTemplate, Notification, NotificationSettings
from tests.conftest import logged_in
from tests.factories import CustomerFactory
from tests.helpers import assert_404_for_other_tenant

HTMX = {"HX-Request": "true"}


def in_app(tenant, users, key="e1", at=None):
    with scope(tenant=tenant):
        return services.notify(tenant=tenant, event_key=key, template_key="payment_received", channels=["in_app"],
                               users=users, context={"amount": "£5.00"}, at=at or timezone.now())


def failed_email(tenant, customer, key="e1"):
    with scope(tenant=tenant):
        [notification] = services.notify(tenant=tenant, event_key=key, template_key="generic", customer=customer,
                                         at=timezone.now())
        services._claim(tenant=tenant, notification_id=notification.pk, at=timezone.now())
        services._record(notification=notification, at=timezone.now(), error="SMTPServerDisconnected: gone")
        for _ in range(services.MAX_ATTEMPTS - 1):
            Notification.objects.filter(pk=notification.pk).update(due_at=timezone.now())
            services._claim(tenant=tenant, notification_id=notification.pk, at=timezone.now())
            services._record(notification=notification, at=timezone.now(), error="SMTPServerDisconnected: gone")
        notification.refresh_from_db()
    assert notification.state == states.FAILED
    return notification


@pytest.mark.django_db
class TestLoginRequired:
    @pytest.mark.parametrize("name", ["notifications:inbox", "notifications:bell", "notifications:outbox",
                                      "notifications:template_list", "notifications:settings",
                                      "notifications:dev_mailbox"])
    def test_anonymous_visitors_are_sent_to_log_in(self, client, name):
        response = client.get(reverse(name))

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_platform_support_is_refused(self, support_client):
        assert support_client.get(reverse("notifications:inbox")).status_code == 403


@pytest.mark.django_db
class TestBell:
    def test_shows_the_users_unread_count_in_one_query_of_its_own(self, staff_client, staff, colleague,
                                                                          tenant):
        in_app(tenant, [staff, colleague], key="e1")
        in_app(tenant, [staff], key="e2")

        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(reverse("notifications:bell"), headers=HTMX)

        assert '<span id="bell-count" class="state">2</span>' in response.text
        assert 'aria-label="Notifications, 2 unread"' in response.text
        assert [q["sql"].split(" FROM ")[1].split(" ")[0] for q in queries.captured_queries] == [
            '"django_session"', '"crm_user"', '"crm_tenant"', '"notifications_notification"']

    def test_shows_no_count_when_everything_is_read(self, staff_client):
        response = staff_client.get(reverse("notifications:bell"))

        assert "bell-count" not in response.text

    def test_the_base_layout_asks_for_it_without_a_query_of_its_own(self, staff_client, tenant, staff):
        in_app(tenant, [staff])

        response = staff_client.get(reverse("crm:customer_list"))

        assert f'hx-get="{reverse("notifications:bell")}"' in response.text
        assert 'hx-trigger="load, every 30s, notifications-changed from:body"' in response.text
        assert "bell-count" not in response.text


@pytest.mark.django_db
class TestInbox:
    def test_lists_only_the_users_own_notifications(self, staff_client, staff, colleague, tenant, other_tenant,
                                                    other_staff):
        in_app(tenant, [staff], key="mine")
        in_app(tenant, [colleague], key="theirs")
        in_app(other_tenant, [other_staff], key="elsewhere")

        response = staff_client.get(reverse("notifications:inbox"))

        assert [n.event_key for n in response.context["page"]] == ["mine"]
        assert "We received your payment of £5.00" in response.text

    def test_query_count_does_not_grow_with_the_rows(self, staff_client, staff, tenant):
        in_app(tenant, [staff], key="e0")
        with CaptureQueriesContext(connection) as few:
            staff_client.get(reverse("notifications:inbox"))
        for index in range(1, 12):
            in_app(tenant, [staff], key=f"e{index}")

        with CaptureQueriesContext(connection) as many:
            staff_client.get(reverse("notifications:inbox"))

        assert len(many) == len(few)


@pytest.mark.django_db
class TestMarkRead:
    def test_marks_the_users_own_notification_and_tells_the_bell(self, staff_client, staff, tenant):
        [notification] = in_app(tenant, [staff])

        response = staff_client.post(reverse("notifications:mark_read", args=[notification.pk]), headers=HTMX)

        notification.refresh_from_db()
        assert response.status_code == 200
        assert response["HX-Trigger"] == "notifications-changed"
        assert f'id="notification-{notification.pk}" class="read"' in response.text
        assert notification.read_at is not None

    def test_without_htmx_goes_back_to_the_list(self, staff_client, staff, tenant):
        [notification] = in_app(tenant, [staff])

        response = staff_client.post(reverse("notifications:mark_read", args=[notification.pk]))

        assert (response.status_code, response.url) == (302, reverse("notifications:inbox"))

    def test_another_users_notification_answers_404_and_stays_unread(self, staff_client, colleague, tenant):
        [notification] = in_app(tenant, [colleague])

        response = staff_client.post(reverse("notifications:mark_read", args=[notification.pk]))

        notification.refresh_from_db()
        assert response.status_code == 404
        assert notification.read_at is None

    def test_another_tenants_notification_answers_404(self, other_client, staff, tenant):
        [notification] = in_app(tenant, [staff])

        assert_404_for_other_tenant(other_client, reverse("notifications:mark_read", args=[notification.pk]),
                                    method="post")

        notification.refresh_from_db()
        assert notification.read_at is None

    def test_get_is_not_allowed(self, staff_client, staff, tenant):
        [notification] = in_app(tenant, [staff])

        assert staff_client.get(reverse("notifications:mark_read", args=[notification.pk])).status_code == 405

    def test_mark_all_read(self, staff_client, staff, colleague, tenant):
        in_app(tenant, [staff, colleague], key="e1")
        in_app(tenant, [staff], key="e2")

        response = staff_client.post(reverse("notifications:mark_all_read"), follow=True)

        assert "2 notifications marked as read." in response.text
        with scope(tenant=tenant):
            assert Notification.objects.filter(recipient_user=colleague, read_at__isnull=True).count() == 1


@pytest.mark.django_db
class TestOutbox:
    def test_lists_a_failed_delivery_with_its_error_and_a_retry_button(self, staff_client, tenant, customer):
        notification = failed_email(tenant, customer)

        response = staff_client.get(reverse("notifications:outbox"), {"state": "failed"})

        assert list(response.context["page"]) == [notification]
        assert "SMTPServerDisconnected: gone" in response.text
        assert "5 attempts" in response.text
        assert reverse("notifications:outbox_retry", args=[notification.pk]) in response.text

    def test_shows_only_the_tenants_own(self, other_client, tenant, customer):
        failed_email(tenant, customer)

        response = other_client.get(reverse("notifications:outbox"))

        assert list(response.context["page"]) == []

    def test_retry_puts_it_back_in_the_outbox(self, staff_client, staff, tenant, customer,
                                              django_capture_on_commit_callbacks):
        notification = failed_email(tenant, customer)

        with django_capture_on_commit_callbacks() as callbacks:
            response = staff_client.post(reverse("notifications:outbox_retry", args=[notification.pk]), follow=True)

        notification.refresh_from_db()
        assert (notification.state, notification.attempts) == (states.PENDING, 0)
        assert len(callbacks) == 1
        assert "The message to harriet@example.com will be sent again." in response.text

    def test_retrying_one_that_has_not_failed_says_why(self, staff_client, tenant, customer):
        with scope(tenant=tenant):
            [notification] = services.notify(tenant=tenant, event_key="e", template_key="generic",
                                             customer=customer, at=timezone.now())

        response = staff_client.post(reverse("notifications:outbox_retry", args=[notification.pk]), follow=True)

        assert "Cannot retry a notification that is pending." in response.text

    def test_retry_of_another_tenants_delivery_answers_404(self, other_client, tenant, customer):
        notification = failed_email(tenant, customer)

        assert_404_for_other_tenant(other_client, reverse("notifications:outbox_retry", args=[notification.pk]),
                                    method="post")

        notification.refresh_from_db()
        assert notification.state == states.FAILED

    def test_query_count_does_not_grow_with_the_rows(self, staff_client, tenant, staff):
        def add(key):
            customer = CustomerFactory(tenant=tenant)
            with scope(tenant=tenant):
                services.communicate(tenant=tenant, actor=staff, customer=customer, subject_ref="crm.customer:1",
                                     channels=["email", "sms"], template_key="generic", idempotency_key=key,
                                     at=timezone.now())

        add("k0")
        with CaptureQueriesContext(connection) as few:
            staff_client.get(reverse("notifications:outbox"))
        for index in range(1, 8):
            add(f"k{index}")

        with CaptureQueriesContext(connection) as many:
            staff_client.get(reverse("notifications:outbox"))

        assert len(many) == len(few)


@pytest.mark.django_db
class TestMessageTemplates:
    def test_are_for_managers(self, staff_client):
        assert staff_client.get(reverse("notifications:template_list")).status_code == 403
        assert staff_client.get(reverse("notifications:settings")).status_code == 403

    def test_list_every_message_with_the_tenants_own_wording_marked(self, manager, tenant):
        client = logged_in(manager)
        with scope(tenant=tenant):
            services.save_message_template(tenant=tenant, actor=manager, key="receipt", language="es",
                                           subject="Recibo", body="Hola #customer.name", sms="", at=timezone.now())

        response = client.get(reverse("notifications:template_list"))

        rows = {row["message"].key: row["languages"] for row in response.context["overview"]}
        assert rows["receipt"] == ["es"]
        assert rows["payment_request"] == []
        assert "Instalment reminder" in response.text

    def test_edit_shows_the_default_wording_and_the_tags_offered(self, manager):
        response = logged_in(manager).get(reverse("notifications:template_edit", args=["receipt", "en"]))

        assert response.context["form"].initial["subject"] == "Your receipt from #tenant.name"
        assert "#receipt_link" in response.text
        assert "#pay_link" not in response.text

    def test_saving_an_unknown_tag_is_refused_naming_it(self, manager, tenant):
        response = logged_in(manager).post(reverse("notifications:template_edit", args=["receipt", "en"]), {
            "subject": "Receipt", "body": "Dear #customer.nickname", "sms": "", "action": "save"})

        assert response.status_code == 200
        assert response.context["form"].errors == {
            "body": ["Unknown tag #customer.nickname. Write ## for a literal #."]}
        with scope(tenant=tenant):
            assert MessageTemplate.objects.count() == 0

    def test_saving_stores_the_wording_and_reset_drops_it(self, manager, tenant):
        client = logged_in(manager)
        url = reverse("notifications:template_edit", args=["receipt", "fr"])

        saved = client.post(url, {"subject": "Reçu", "body": "Bonjour #customer.name", "sms": "", "action": "save"})
        with scope(tenant=tenant):
            stored = list(MessageTemplate.objects.values_list("key", "language", "subject"))
        reset = client.post(url, {"action": "reset"})

        assert (saved.status_code, saved.url) == (302, reverse("notifications:template_list"))
        assert stored == [("receipt", "fr", "Reçu")]
        assert reset.status_code == 302
        with scope(tenant=tenant):
            assert MessageTemplate.objects.count() == 0

    def test_preview_renders_the_sample_record_within_the_whole_editor(self, manager, tenant):
        response = logged_in(manager).post(reverse("notifications:template_edit", args=["receipt", "en"]), {
            "subject": "Receipt for #amount", "body": "Dear #customer.name, see #receipt_link", "sms": "",
            "action": "preview"}, headers=HTMX)

        # htmx swaps the editor (form and preview together), so no error of an earlier try stays behind.
        assert 'hx-target="#template-editor" hx-select="#template-editor"' in response.text
        assert 'class="errors"' not in response.text
        assert "Receipt for £312.50" in response.text
        assert "Dear Harriet Holloway, see https://pay.duly.example/r/7Hk2" in response.text
        with scope(tenant=tenant):
            assert MessageTemplate.objects.count() == 0

    def test_an_unknown_message_or_language_answers_404(self, manager):
        client = logged_in(manager)

        assert client.get(reverse("notifications:template_edit", args=["nope", "en"])).status_code == 404
        assert client.get(reverse("notifications:template_edit", args=["receipt", "xx"])).status_code == 404


@pytest.mark.django_db
class TestSettingsPage:
    def test_saves_the_settings(self, manager, tenant):
        response = logged_in(manager).post(reverse("notifications:settings"), {
            "reply_to_email": "accounts@acme.example", "logo_url": "", "sending_start": "09:00",
            "sending_end": "17:00", "sending_days": ["0", "1", "2", "3", "4"]})

        assert response.status_code == 302
        with scope(tenant=tenant):
            options = NotificationSettings.objects.get()
        assert (options.reply_to_email, options.sending_days) == ("accounts@acme.example", (0, 1, 2, 3, 4))

    def test_bad_input_is_shown_beside_its_field(self, manager, tenant):
        response = logged_in(manager).post(reverse("notifications:settings"), {
            "reply_to_email": "nope", "logo_url": "", "sending_start": "18:00", "sending_end": "09:00"})

        assert response.context["form"].errors == {
            "reply_to_email": ["“nope” is not a valid email address."],
            "sending_end": ["Sending hours must end after they start."],
            "sending_days": ["Choose at least one sending day."],
        }
        with scope(tenant=tenant):
            assert NotificationSettings.objects.count() == 0


@pytest.mark.django_db
class TestCustomerCommunicate:
    def url(self, customer):
        return reverse("notifications:customer_communicate", args=[customer.pk])

    def test_the_customer_file_loads_the_panel(self, staff_client, customer):
        response = staff_client.get(reverse("crm:customer_detail", args=[customer.pk]))

        assert f'hx-get="{self.url(customer)}"' in response.text

    def test_the_panel_offers_the_messages_that_suit_a_customer(self, staff_client, customer):
        response = staff_client.get(self.url(customer), headers=HTMX)

        assert [key for key, _ in response.context["form"].fields["template"].choices] == ["", "generic"]
        assert "Nothing sent yet." in response.text

    def test_sends_and_lists_what_was_sent_by_whom(self, staff_client, staff, customer, tenant):
        response = staff_client.post(self.url(customer), {
            "channels": ["email", "sms"], "template": "", "subject": "Your policy",
            "message": "Hello #customer.name, call us.", "idempotency_key": "abc"}, headers=HTMX)

        with scope(tenant=tenant):
            rows = list(Notification.objects.order_by("channel").values_list(
                "channel", "recipient", "subject_ref", "actor", "body"))
        ref, text = f"crm.customer:{customer.pk}", "Hello Harriet Holloway, call us."
        assert rows == [
            ("email", "harriet@example.com", ref, staff.pk, text),
            ("sms", "+447911123456", ref, staff.pk, text),
        ]
        assert "Message queued" in response.text
        assert response.text.count(staff.get_full_name()) == 2
        assert response.context["form"].initial["idempotency_key"] != "abc"

    def test_bad_input_names_the_field_and_sends_nothing(self, staff_client, customer, tenant):
        response = staff_client.post(self.url(customer), {
            "channels": [], "template": "", "subject": "", "message": "Hi #customer.nickname",
            "idempotency_key": "abc"}, headers=HTMX)

        assert response.context["form"].errors == {
            "channels": ["Choose email, SMS or both."],
            "message": ["Unknown tag #customer.nickname. Write ## for a literal #."],
        }
        assert "Nothing was sent" in response.text
        with scope(tenant=tenant):
            assert Notification.objects.count() == 0

    def test_another_tenants_customer_answers_404(self, other_client, customer, tenant):
        assert_404_for_other_tenant(other_client, self.url(customer))
        assert_404_for_other_tenant(other_client, self.url(customer), method="post", data={
            "channels": ["email"], "template": "generic", "idempotency_key": "abc"})

        with scope(tenant=tenant):
            assert Notification.objects.count() == 0


@pytest.mark.django_db
class TestDevMailbox:
    @pytest.fixture(autouse=True)
    def dev_tools(self, settings):
        settings.DULY_DEV_TOOLS = True
        settings.MAILERS = {"default": {"BACKEND": "notifications.mail.DevMailboxBackend"}}

    def send(self, tenant, customer, channel="email"):
        with scope(tenant=tenant):
            [notification] = services.notify(tenant=tenant, event_key=f"e-{channel}", template_key="payment_request",
                                             customer=customer, channels=[channel], at=timezone.now(),
                                             context={"amount": "£9.00", "pay_link": "https://pay.example/p/1"})
            services.deliver(tenant=tenant, notification_id=notification.pk, at=timezone.now())

    def test_lists_the_tenants_emails_and_text_messages(self, staff_client, tenant, customer, other_tenant,
                                                        other_customer):
        self.send(tenant, customer)
        self.send(tenant, customer, channel="sms")
        self.send(other_tenant, other_customer)

        response = staff_client.get(reverse("notifications:dev_mailbox"))

        assert [m.to for m in response.context["emails"]] == ["harriet@example.com"]
        assert [s.to for s in response.context["texts"]] == ["+447911123456"]
        assert "Acme Brokers requests a payment of £9.00" in response.text

    def test_shows_an_email_with_its_html_in_a_sandbox(self, staff_client, tenant, customer):
        self.send(tenant, customer)
        mail = DevMail.objects.get()

        response = staff_client.get(reverse("notifications:dev_mail_detail", args=[mail.pk]))

        assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in response.text
        assert "&lt;a href=&quot;https://pay.example/p/1&quot;" in response.text
        assert "Acme Brokers &lt;no-reply@duly.localhost&gt;" in response.text

    def test_another_tenants_email_answers_404(self, other_client, tenant, customer):
        self.send(tenant, customer)

        assert_404_for_other_tenant(other_client, reverse("notifications:dev_mail_detail",
                                                          args=[DevMail.objects.get().pk]))

    def test_is_off_outside_development(self, staff_client, settings):
        settings.DULY_DEV_TOOLS = False

        assert staff_client.get(reverse("notifications:dev_mailbox")).status_code == 404

    def test_text_messages_are_kept_by_tenant(self, tenant, customer):
        self.send(tenant, customer, channel="sms")

        assert DevSms.objects.get().tenant == tenant


def test_retry_delays_double_up_to_an_hour():
    assert [services.retry_delay(n) for n in (1, 2, 3, 4, 7, 10)] == [
        timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8), timedelta(hours=1),
        timedelta(hours=1)]
