from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from core import tallies
from notifications import selectors, services, states
from notifications.models import DeliveryLog, DevSms, MessageTemplate, Notification, NotificationSettings
from notifications.services import Outcome
from tests.factories import CustomerFactory

INVOICE = {"invoice.number": "INV-000042", "amount": "£1,250.00", "due_date": "31 March 2026",
           "pay_link": "https://pay.duly.example/p/7Hk2", "invoice.total": "£1,250.00",
           "invoice.outstanding": "£450.00"}


def pay_invoice_email(tenant, customer, at, **kwargs):
    return services.notify(
        tenant=tenant, event_key="invoice:42:pay-email", template_key="invoice_email_pay", customer=customer,
        context=INVOICE, subject_ref="finance.invoice:42", at=at, **kwargs,
    )


def log_of(notification):
    return list(DeliveryLog.objects.filter(notification=notification).values_list("action", "from_state", "to_state"))


@pytest.mark.django_db
class TestNotify:
    def test_writes_one_pending_email_rendered_from_the_default_and_enqueues_it_on_commit(
        self, in_tenant, customer, at, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks() as callbacks:
            [notification] = pay_invoice_email(in_tenant, customer, at)

        assert notification.channel == "email"
        assert notification.recipient == "harriet@example.com"
        assert notification.state == states.PENDING
        assert notification.due_at == at
        assert notification.subject == "Invoice INV-000042 from Acme Brokers"
        assert notification.body.startswith("Dear Harriet Holloway,\n\nPlease find invoice INV-000042: £450.00 to pay, "
                                            "due on 31 March 2026.\n\nPay now: https://pay.duly.example/p/7Hk2")
        assert notification.subject_ref == "finance.invoice:42"
        assert log_of(notification) == [("create", "", "pending")]
        assert len(callbacks) == 1

    def test_a_rolled_back_transaction_leaves_nothing_to_send(
        self, in_tenant, customer, at, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(RuntimeError), transaction.atomic():
                pay_invoice_email(in_tenant, customer, at)
                raise RuntimeError("the invoice could not be posted")
            services.sweep_outbox(tenant=in_tenant, at=at + timedelta(days=1))

        assert callbacks == []
        assert Notification.objects.count() == 0
        assert mail.outbox == []

    def test_the_same_event_twice_writes_and_enqueues_once(self, in_tenant, customer, at,
                                                           django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks() as callbacks:
            first = pay_invoice_email(in_tenant, customer, at)
            second = pay_invoice_email(in_tenant, customer, at + timedelta(minutes=5))

        assert [n.pk for n in second] == [n.pk for n in first]
        assert Notification.objects.count() == 1
        assert len(callbacks) == 1

    def test_email_and_sms_make_one_row_each_with_the_sms_wording(self, in_tenant, customer, at):
        email, sms = pay_invoice_email(in_tenant, customer, at, channels=["email", "sms"])

        assert (email.channel, email.recipient) == ("email", "harriet@example.com")
        assert (sms.channel, sms.recipient, sms.subject) == ("sms", "+447911123456", "")
        assert sms.body == ("Acme Brokers: invoice INV-000042, £450.00 to pay by 31 March 2026. "
                            "Pay: https://pay.duly.example/p/7Hk2")

    def test_a_reminder_outside_sending_hours_is_deferred_to_the_next_opening_not_enqueued(
        self, in_tenant, customer, django_capture_on_commit_callbacks
    ):
        late_evening = datetime(2026, 3, 4, 21, 30, tzinfo=UTC)

        with django_capture_on_commit_callbacks() as callbacks:
            [notification] = services.notify(
                tenant=in_tenant, event_key="instalment:9:reminder", template_key="instalment_reminder",
                customer=customer, context={"amount": "£10.00", "due_date": "6 March 2026"}, at=late_evening,
            )

        assert notification.urgent is False
        assert notification.state == states.DEFERRED
        assert notification.due_at == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
        assert callbacks == []

    def test_a_deferred_reminder_is_swept_into_delivery_when_the_hours_open(
        self, in_tenant, customer, django_capture_on_commit_callbacks
    ):
        [notification] = services.notify(
            tenant=in_tenant, event_key="instalment:9:reminder", template_key="instalment_reminder",
            customer=customer, at=datetime(2026, 3, 4, 21, 30, tzinfo=UTC),
        )

        with django_capture_on_commit_callbacks() as callbacks:
            before = services.sweep_outbox(tenant=in_tenant, at=datetime(2026, 3, 5, 7, 59, tzinfo=UTC))
            after = services.sweep_outbox(tenant=in_tenant, at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC))
        outcome = services.deliver(tenant=in_tenant, notification_id=notification.pk,
                                   at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC))

        assert (before, after) == ([], [notification.pk])
        assert len(callbacks) == 1
        assert outcome == Outcome.SENT
        assert len(mail.outbox) == 1

    def test_urgent_overrides_the_sending_hours(self, in_tenant, customer):
        late_evening = datetime(2026, 3, 4, 21, 30, tzinfo=UTC)

        [notification] = services.notify(tenant=in_tenant, event_key="e", template_key="instalment_overdue",
                                         customer=customer, at=late_evening, urgent=True)

        assert (notification.state, notification.due_at) == (states.PENDING, late_evening)

    def test_a_customer_without_an_email_address_gets_a_failed_row_that_says_so(self, in_tenant, at):
        customer = CustomerFactory(tenant=in_tenant, name="Ivan Ilic", email="")

        [notification] = pay_invoice_email(in_tenant, customer, at)

        assert (notification.state, notification.recipient) == (states.FAILED, "")
        assert notification.last_error == "Ivan Ilic has no email address."
        assert list(selectors.outbox(tenant=in_tenant, state="failed")) == [notification]

    def test_in_app_notifications_go_to_each_staff_user_and_are_delivered_at_once(self, in_tenant, staff,
                                                                                   colleague, at):
        rows = services.notify(tenant=in_tenant, event_key="payment:7:received", template_key="payment_received",
                               channels=["in_app"], users=[staff, colleague], context={"amount": "£5.00"},
                               link="/customers/1/", at=at)

        assert [(n.recipient, n.recipient_user, n.state) for n in rows] == [
            (f"user:{staff.pk}", staff, states.SENT), (f"user:{colleague.pk}", colleague, states.SENT),
        ]
        assert rows[0].subject == "We received your payment of £5.00"
        assert selectors.unread_count(tenant=in_tenant, user=staff) == 1

    def test_refuses_staff_of_another_tenant_and_unknown_tags_and_channels(self, in_tenant, customer, other_staff,
                                                                          at):
        with pytest.raises(ValueError, match="same tenant"):
            services.notify(tenant=in_tenant, event_key="e", template_key="generic", channels=["in_app"],
                            users=[other_staff], at=at)
        with pytest.raises(ValueError, match=r"customer\.nickname"):
            services.notify(tenant=in_tenant, event_key="e", template_key="generic", customer=customer,
                            context={"customer.nickname": "Hat"}, at=at)
        with pytest.raises(ValueError, match="fax"):
            services.notify(tenant=in_tenant, event_key="e", template_key="generic", customer=customer,
                            channels=["fax"], at=at)
        with pytest.raises(KeyError):
            services.notify(tenant=in_tenant, event_key="e", template_key="nope", customer=customer, at=at)

        assert Notification.objects.count() == 0

    def test_uses_the_tenants_wording_in_the_customers_language(self, in_tenant, manager, at):
        customer = CustomerFactory(tenant=in_tenant, name="Lucía", email="lucia@example.com", language="es")
        services.save_message_template(tenant=in_tenant, actor=manager, key="invoice_email_pay", language="es",
                                       subject="Factura #invoice.number", body="Hola #customer.name: #pay_link",
                                       sms="", at=at)

        [notification] = pay_invoice_email(in_tenant, customer, at)

        assert notification.language == "es"
        assert (notification.subject, notification.body) == ("Factura INV-000042",
                                                             "Hola Lucía: https://pay.duly.example/p/7Hk2")


@pytest.mark.django_db
class TestDeliver:
    def test_sends_the_email_once_and_records_it(self, in_tenant, customer, at):
        [notification] = pay_invoice_email(in_tenant, customer, at)

        outcome = services.deliver(tenant=in_tenant, notification_id=notification.pk, at=at)

        notification.refresh_from_db()
        assert outcome == Outcome.SENT
        assert [m.to for m in mail.outbox] == [["harriet@example.com"]]
        assert (notification.state, notification.sent_at, notification.attempts) == (states.SENT, at, 1)
        assert notification.provider_id == mail.outbox[0].extra_headers["Message-ID"]
        assert log_of(notification) == [("create", "", "pending"), ("claim", "pending", "sending"),
                                        ("succeed", "sending", "sent")]

    def test_running_twice_sends_once(self, in_tenant, customer, at):
        [notification] = pay_invoice_email(in_tenant, customer, at)

        first = services.deliver(tenant=in_tenant, notification_id=notification.pk, at=at)
        second = services.deliver(tenant=in_tenant, notification_id=notification.pk, at=at + timedelta(seconds=1))

        assert (first, second) == (Outcome.SENT, Outcome.NOTHING)
        assert len(mail.outbox) == 1

    def test_leaves_a_deferred_notification_alone_until_it_is_due(self, in_tenant, customer):
        evening = datetime(2026, 3, 4, 21, 30, tzinfo=UTC)
        [notification] = services.notify(tenant=in_tenant, event_key="e", template_key="instalment_reminder",
                                         customer=customer, at=evening)

        outcome = services.deliver(tenant=in_tenant, notification_id=notification.pk, at=evening)

        assert outcome == Outcome.NOTHING
        assert mail.outbox == []
        assert Notification.objects.get().state == states.DEFERRED

    def test_an_smtp_failure_is_retried_with_back_off_then_fails_with_the_error(
        self, in_tenant, customer, at, unreachable_smtp, django_capture_on_commit_callbacks
    ):
        [notification] = pay_invoice_email(in_tenant, customer, at)

        with django_capture_on_commit_callbacks() as callbacks:
            outcomes, moment = [], at
            for _ in range(services.MAX_ATTEMPTS):
                outcomes.append(services.deliver(tenant=in_tenant, notification_id=notification.pk, at=moment))
                notification.refresh_from_db()
                moment = notification.due_at
            again = services.deliver(tenant=in_tenant, notification_id=notification.pk, at=moment + timedelta(days=1))

        assert outcomes == [Outcome.RETRY] * 4 + [Outcome.FAILED]
        assert again == Outcome.NOTHING
        assert (notification.state, notification.attempts) == (states.FAILED, 5)
        assert notification.last_error.startswith("ConnectionRefusedError:")
        assert notification.sent_at is None
        # Each retry is enqueued after its pause: 1, 2, 4 and 8 minutes; the failure is counted (config.metrics).
        retries, [failed] = callbacks[:4], callbacks[4:]
        assert [retry.func for retry in retries] == [services._enqueue] * 4
        assert (failed.func, failed.args, failed.keywords) == (tallies.add, ("messages", 1),
                                                               {"channel": "email", "outcome": "failed"})
        claims = DeliveryLog.objects.filter(notification=notification, action="claim").values_list("at", flat=True)
        assert [b - a for a, b in zip(list(claims), list(claims)[1:], strict=False)] == [
            timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
        assert list(selectors.outbox(tenant=in_tenant, state="failed")) == [notification]

    def test_a_failed_notification_retried_by_staff_is_sent(self, in_tenant, customer, staff, at, unreachable_smtp,
                                                            settings):
        [notification] = pay_invoice_email(in_tenant, customer, at)
        for attempt in range(services.MAX_ATTEMPTS):
            services.deliver(tenant=in_tenant, notification_id=notification.pk, at=at + timedelta(hours=attempt))
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
        later = at + timedelta(days=1)

        services.retry_notification(notification=notification, actor=staff, at=later)
        outcome = services.deliver(tenant=in_tenant, notification_id=notification.pk, at=later)

        notification.refresh_from_db()
        assert outcome == Outcome.SENT
        assert (notification.state, notification.attempts, notification.last_error) == (states.SENT, 1, "")
        assert len(mail.outbox) == 1
        assert DeliveryLog.objects.get(notification=notification, action="retry").actor == staff

    def test_retrying_a_notification_that_has_not_failed_is_refused(self, in_tenant, customer, staff, at):
        [notification] = pay_invoice_email(in_tenant, customer, at)

        with pytest.raises(states.InvalidTransition, match="Cannot retry a notification that is pending"):
            services.retry_notification(notification=notification, actor=staff, at=at)

    def test_retrying_for_want_of_an_address_takes_the_customers_new_one(self, in_tenant, staff, at):
        customer = CustomerFactory(tenant=in_tenant, name="Ivan Ilic", email="")
        [notification] = pay_invoice_email(in_tenant, customer, at)

        with pytest.raises(ValidationError) as refused:
            services.retry_notification(notification=notification, actor=staff, at=at)
        customer.email = "ivan@example.com"
        customer.save()
        services.retry_notification(notification=notification, actor=staff, at=at)
        services.deliver(tenant=in_tenant, notification_id=notification.pk, at=at)

        assert refused.value.message_dict == {"recipient": ["Ivan Ilic has no email address."]}
        assert [m.to for m in mail.outbox] == [["ivan@example.com"]]

    def test_sends_an_sms_through_the_configured_backend(self, in_tenant, customer, at):
        [sms] = pay_invoice_email(in_tenant, customer, at, channels=["sms"])

        outcome = services.deliver(tenant=in_tenant, notification_id=sms.pk, at=at)

        row = DevSms.objects.get()
        sms.refresh_from_db()
        assert outcome == Outcome.SENT
        assert (row.tenant, row.to, row.body) == (in_tenant, "+447911123456", sms.body)
        assert sms.provider_id == f"dev-{row.pk}"


@pytest.mark.django_db
class TestSweepOutbox:
    def test_a_send_that_never_finished_is_marked_failed_rather_than_sent_twice(self, in_tenant, customer, at):
        [notification] = pay_invoice_email(in_tenant, customer, at)
        services._claim(tenant=in_tenant, notification_id=notification.pk, at=at)  # the worker then died

        early = services.sweep_outbox(tenant=in_tenant, at=at + timedelta(minutes=14))
        state_early = Notification.objects.get().state
        late = services.sweep_outbox(tenant=in_tenant, at=at + timedelta(minutes=16))

        notification.refresh_from_db()
        assert (early, late, state_early) == ([], [], states.SENDING)
        assert notification.state == states.FAILED
        assert notification.last_error == services.INTERRUPTED

    def test_enqueues_a_pending_notification_whose_task_was_lost(self, in_tenant, customer, at,
                                                                 django_capture_on_commit_callbacks):
        [notification] = pay_invoice_email(in_tenant, customer, at)

        with django_capture_on_commit_callbacks() as callbacks:
            due = services.sweep_outbox(tenant=in_tenant, at=at)

        assert due == [notification.pk]
        assert len(callbacks) == 1


@pytest.mark.django_db
class TestCommunicate:
    def communicate(self, tenant, staff, customer, at, **kwargs):
        kwargs.setdefault("channels", ["email", "sms"])
        kwargs.setdefault("subject_ref", f"crm.customer:{customer.pk}")
        return services.communicate(tenant=tenant, actor=staff, customer=customer, at=at, **kwargs)

    def test_sends_a_written_message_with_tags_by_email_and_sms(self, in_tenant, staff, customer, at):
        rows = self.communicate(in_tenant, staff, customer, at, subject="About #invoice.number",
                                message="Hello #customer.name, invoice #invoice.number is ready. ##1 #staff.name",
                                context={"invoice.number": "INV-7"}, subject_ref="finance.invoice:7")

        text = f"Hello Harriet Holloway, invoice INV-7 is ready. #1 {staff.get_full_name()}"
        assert [(n.channel, n.recipient, n.subject, n.body) for n in rows] == [
            ("email", "harriet@example.com", "About INV-7", text),
            ("sms", "+447911123456", "", text),
        ]
        assert all(n.actor == staff and n.urgent and n.state == states.PENDING for n in rows)
        assert list(selectors.sent_for(tenant=in_tenant, subject_ref="finance.invoice:7")) == rows[::-1]

    def test_sends_a_chosen_template(self, in_tenant, staff, customer, at):
        [email] = self.communicate(in_tenant, staff, customer, at, channels=["email"], template_key="generic")

        assert email.template_key == "generic"
        assert email.subject == "A message from Acme Brokers"
        assert email.body.startswith("Dear Harriet Holloway,")

    def test_the_same_form_submitted_twice_sends_once(self, in_tenant, staff, customer, at):
        first = self.communicate(in_tenant, staff, customer, at, template_key="generic", idempotency_key="k1")
        second = self.communicate(in_tenant, staff, customer, at, template_key="generic", idempotency_key="k1")

        assert [n.pk for n in first] == [n.pk for n in second]
        assert Notification.objects.count() == 2

    @pytest.mark.parametrize(("kwargs", "errors"), [
        ({"channels": [], "template_key": "generic"}, {"channels": ["Choose email, SMS or both."]}),
        ({"channels": ["in_app"], "template_key": "generic"}, {"channels": ["Messages go by email or SMS."]}),
        ({"template_key": "", "message": ""}, {"message": ["Choose a message or write one."]}),
        ({"template_key": "nope"}, {"template": ["“nope” is not a message Duly sends."]}),
        ({"subject": "", "message": "Hello"}, {"subject": ["An email needs a subject."]}),
        ({"subject": "Hi", "message": "Hello #customer.nickname"},
         {"message": ["Unknown tag #customer.nickname. Write ## for a literal #."]}),
        ({"subject": "Hi", "message": "Invoice #invoice.number"},
         {"message": ["This record has no value for #invoice.number."]}),
        ({"template_key": "invoice_email_pay"},
         {"template": ["This message uses #invoice.number, #invoice.outstanding, #due_date, #pay_link, "
                       "which this record has no value for."]}),
        ({"template_key": "generic", "subject_ref": "customer 1"},
         {"subject_ref": ["“customer 1” is not a record reference such as finance.invoice:42."]}),
    ])
    def test_bad_input_is_refused_by_field_and_nothing_is_written(self, in_tenant, staff, customer, at, kwargs,
                                                                  errors):
        with pytest.raises(ValidationError) as refused:
            self.communicate(in_tenant, staff, customer, at, **kwargs)

        assert refused.value.message_dict == errors
        assert Notification.objects.count() == 0

    def test_a_customer_without_a_phone_number_cannot_be_texted(self, in_tenant, staff, at):
        customer = CustomerFactory(tenant=in_tenant, name="Ivan Ilic", phone="")

        with pytest.raises(ValidationError) as refused:
            self.communicate(in_tenant, staff, customer, at, template_key="generic")

        assert refused.value.message_dict == {
            "channels": ["Ivan Ilic has no phone number. Add it to the customer's file first."]}
        assert Notification.objects.count() == 0


@pytest.mark.django_db
class TestMarkRead:
    def notify_in_app(self, tenant, users, at, key="e1"):
        return services.notify(tenant=tenant, event_key=key, template_key="generic", channels=["in_app"],
                               users=users, at=at)

    def test_marks_the_users_own_notification_read_once(self, in_tenant, staff, at):
        [notification] = self.notify_in_app(in_tenant, [staff], at)

        services.mark_read(notification=notification, user=staff, at=at)
        services.mark_read(notification=notification, user=staff, at=at + timedelta(hours=1))

        notification.refresh_from_db()
        assert notification.read_at == at
        assert selectors.unread_count(tenant=in_tenant, user=staff) == 0

    def test_refuses_another_users_notification_and_changes_nothing(self, in_tenant, staff, colleague, at):
        [notification] = self.notify_in_app(in_tenant, [colleague], at)

        with pytest.raises(PermissionDenied):
            services.mark_read(notification=notification, user=staff, at=at)

        notification.refresh_from_db()
        assert notification.read_at is None

    def test_mark_all_read_touches_only_the_users_own(self, in_tenant, staff, colleague, at):
        self.notify_in_app(in_tenant, [staff, colleague], at, key="e1")
        self.notify_in_app(in_tenant, [staff], at, key="e2")

        count = services.mark_all_read(tenant=in_tenant, user=staff, at=at)

        assert count == 2
        assert selectors.unread_count(tenant=in_tenant, user=staff) == 0
        assert selectors.unread_count(tenant=in_tenant, user=colleague) == 1


@pytest.mark.django_db
class TestSaveMessageTemplate:
    def save(self, tenant, user, at, **kwargs):
        fields = {"key": "invoice_email_pay", "language": "en", "subject": "Invoice #invoice.number",
                  "body": "Pay #amount: #pay_link", "sms": ""} | kwargs
        return services.save_message_template(tenant=tenant, actor=user, at=at, **fields)

    def test_saves_and_replaces_the_tenants_wording(self, in_tenant, manager, at):
        self.save(in_tenant, manager, at)
        self.save(in_tenant, manager, at, subject="Your invoice #invoice.number")

        template = MessageTemplate.objects.get()
        assert (template.subject, template.updated_by) == ("Your invoice #invoice.number", manager)
        assert selectors.resolve_message(tenant=in_tenant, key="invoice_email_pay", language="en").customised

    def test_an_unknown_tag_is_refused_with_the_tag_named(self, in_tenant, manager, at):
        with pytest.raises(ValidationError) as refused:
            self.save(in_tenant, manager, at, body="Dear #customer.nickname, pay #amount")

        assert refused.value.message_dict == {"body": ["Unknown tag #customer.nickname. Write ## for a literal #."]}
        assert MessageTemplate.objects.count() == 0

    def test_a_tag_the_message_does_not_offer_is_refused(self, in_tenant, manager, at):
        with pytest.raises(ValidationError) as refused:
            self.save(in_tenant, manager, at, key="portal_magic_link", subject="Sign in", body="#invoice.number",
                      sms="#magic_link #payment.reference")

        assert refused.value.message_dict["body"][0].startswith(
            "#invoice.number cannot be used in the “Portal sign-in link” message; it offers #customer.name,")
        assert refused.value.message_dict["sms"][0].startswith("#payment.reference cannot be used")

    def test_refuses_a_missing_subject_or_text_and_unknown_messages_and_languages(self, in_tenant, manager, at):
        with pytest.raises(ValidationError) as empty:
            self.save(in_tenant, manager, at, subject=" ", body="")
        with pytest.raises(ValidationError) as unknown_key:
            self.save(in_tenant, manager, at, key="nope")
        with pytest.raises(ValidationError) as unknown_language:
            self.save(in_tenant, manager, at, language="xx")

        assert empty.value.message_dict == {"subject": ["Subject is required."],
                                            "body": ["The email text is required."]}
        assert list(unknown_key.value.message_dict) == ["key"]
        assert list(unknown_language.value.message_dict) == ["language"]

    def test_template_syntax_is_kept_as_text_and_never_reaches_settings_or_the_database(
        self, in_tenant, manager, customer, at, settings
    ):
        sneaky = "{{ settings.SECRET_KEY }} {% load static %}{{ customer.tenant.api_keys.all }} #customer.name"
        self.save(in_tenant, manager, at, key="generic", subject="Hi {{ request.user.password }}", body=sneaky)

        [email] = services.notify(tenant=in_tenant, event_key="e", template_key="generic", customer=customer, at=at)
        services.deliver(tenant=in_tenant, notification_id=email.pk, at=at)

        assert email.subject == "Hi {{ request.user.password }}"
        assert email.body == sneaky.replace("#customer.name", "Harriet Holloway")
        sent = mail.outbox[0]
        html = sent.alternatives[0][0]
        assert settings.SECRET_KEY not in sent.body + html
        assert "{{ settings.SECRET_KEY }} {% load static %}" in html

    def test_preview_renders_sample_values_and_names_unknown_tags(self):
        preview = services.preview_message(key="invoice_email_pay", subject="Invoice #invoice.number",
                                           body="Dear #customer.name, pay #pay_link", sms="")

        with pytest.raises(ValidationError) as refused:
            services.preview_message(key="invoice_email_pay", subject="x", body="#bogus", sms="")

        assert preview == {"subject": "Invoice INV-000042", "body": "Dear Harriet Holloway, pay "
                           "https://pay.duly.example/p/7Hk2", "sms": "Dear Harriet Holloway, pay "
                           "https://pay.duly.example/p/7Hk2"}
        assert refused.value.message_dict == {"body": ["Unknown tag #bogus. Write ## for a literal #."]}

    def test_every_default_uses_only_the_tags_its_message_offers(self):
        from notifications import defaults, tags

        for message in defaults.MESSAGES.values():
            for text in (message.subject, message.body, message.sms):
                assert tags.unknown_tags(text, allowed=message.allowed_tags) == [], message.key


@pytest.mark.django_db
class TestUpdateNotificationSettings:
    def test_saves_reply_to_logo_and_sending_hours(self, in_tenant):
        services.update_notification_settings(
            tenant=in_tenant, reply_to_email="accounts@acme.example", logo_url="https://acme.example/logo.png",
            sending_start=time(9), sending_end=time(17, 30), sending_days=[0, 1, 2, 3, 4],
        )

        options = NotificationSettings.objects.get()
        assert (options.reply_to_email, options.logo_url) == ("accounts@acme.example", "https://acme.example/logo.png")
        assert (options.sending_start, options.sending_end, options.sending_days) == (time(9), time(17, 30),
                                                                                     (0, 1, 2, 3, 4))

    def test_refuses_bad_input_by_field(self, in_tenant):
        with pytest.raises(ValidationError) as refused:
            services.update_notification_settings(
                tenant=in_tenant, reply_to_email="nope", logo_url="http://acme.example/logo.png",
                sending_start=time(18), sending_end=time(9), sending_days=[],
            )

        assert refused.value.message_dict == {
            "reply_to_email": ["“nope” is not a valid email address."],
            "logo_url": ["The logo address must be an https:// URL."],
            "sending_end": ["Sending hours must end after they start."],
            "sending_days": ["Choose at least one sending day."],
        }
        assert NotificationSettings.objects.count() == 0


@pytest.mark.django_db
class TestAvailableMessages:
    def test_offers_only_messages_whose_tags_the_record_has(self, in_tenant):
        customer_only = selectors.available_messages(tenant=in_tenant, language="en",
                                                     provided=["customer.name", "tenant.name", "staff.name"])
        with_invoice = selectors.available_messages(
            tenant=in_tenant, language="en",
            provided=["customer.name", "tenant.name", "staff.name", "invoice.number", "invoice.outstanding",
                      "due_date", "pay_link"],
        )

        assert [m.key for m in customer_only] == ["generic"]
        assert [m.key for m in with_invoice] == ["generic", "invoice_email_pay"]

