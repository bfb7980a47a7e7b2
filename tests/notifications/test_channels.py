import pytest
from django.core import mail
from django_scopes import scopes_disabled

from notifications import services
from notifications.channels import build_email
from notifications.mail import DevMailboxBackend
from notifications.models import DevMail
from notifications.selectors import get_notification_settings


@pytest.fixture
def options(in_tenant):
    return services.update_notification_settings(
        tenant=in_tenant, reply_to_email="accounts@acme.example", logo_url="https://acme.example/logo.png",
        sending_start=get_notification_settings(tenant=in_tenant).sending_start,
        sending_end=get_notification_settings(tenant=in_tenant).sending_end, sending_days=range(7),
    )


@pytest.mark.django_db
class TestBuildEmail:
    def notification(self, tenant, customer, at, body="Dear #customer.name,\n\nPay here: #pay_link"):
        services.save_message_template(tenant=tenant, actor=None, key="payment_request", language="en",
                                       subject="Payment of #amount", body=body, sms="", at=at)
        [notification] = services.notify(tenant=tenant, event_key="e", template_key="payment_request",
                                         customer=customer, at=at,
                                         context={"amount": "£9.00", "pay_link": "https://pay.example/p/1"})
        return notification

    def test_has_a_text_and_an_html_part_with_the_tenants_name_logo_and_reply_to(self, in_tenant, customer, at,
                                                                                  options):
        notification = self.notification(in_tenant, customer, at)

        email = build_email(notification=notification, tenant=in_tenant, options=options)

        html, mimetype = email.alternatives[0]
        assert email.subject == "Payment of £9.00"
        assert email.from_email == "Acme Brokers <no-reply@duly.localhost>"
        assert (email.to, email.reply_to) == (["harriet@example.com"], ["accounts@acme.example"])
        assert email.body == "Dear Harriet Holloway,\n\nPay here: https://pay.example/p/1\n\n--\nAcme Brokers\n"
        assert mimetype == "text/html"
        assert '<img src="https://acme.example/logo.png" alt="Acme Brokers"' in html
        assert '<a href="https://pay.example/p/1" rel="nofollow">https://pay.example/p/1</a>' in html
        assert email.extra_headers["X-Duly-Tenant"] == str(in_tenant.pk)

    def test_without_a_logo_shows_the_name_and_without_a_reply_to_sets_none(self, in_tenant, customer, at):
        notification = self.notification(in_tenant, customer, at)

        email = build_email(notification=notification, tenant=in_tenant,
                            options=get_notification_settings(tenant=in_tenant))

        assert email.reply_to == []
        assert '<strong style="font-size:20px">Acme Brokers</strong>' in email.alternatives[0][0]

    def test_html_in_the_message_is_escaped(self, in_tenant, at, options):
        from tests.factories import CustomerFactory

        customer = CustomerFactory(tenant=in_tenant, name="<script>alert(1)</script>", email="x@example.com")
        notification = self.notification(in_tenant, customer, at, body="Hi #customer.name <b>bold</b>")

        html = build_email(notification=notification, tenant=in_tenant, options=options).alternatives[0][0]

        assert "<script>" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.django_db
class TestDevMailboxBackend:
    def test_keeps_each_message_with_its_tenant_and_html(self, in_tenant, customer, at, options):
        [notification] = services.notify(tenant=in_tenant, event_key="e", template_key="generic", customer=customer,
                                         at=at)
        email = build_email(notification=notification, tenant=in_tenant, options=options)

        count = DevMailboxBackend().send_messages([email])

        stored = DevMail.objects.get()
        assert count == 1
        assert (stored.tenant, stored.to, stored.reply_to) == (in_tenant, "harriet@example.com",
                                                               "accounts@acme.example")
        assert stored.subject == "A message from Acme Brokers"
        assert stored.html == email.alternatives[0][0]
        assert mail.outbox == []

    def test_keeps_mail_that_belongs_to_no_tenant(self, db):
        from django.core.mail import EmailMessage

        DevMailboxBackend().send_messages([EmailMessage("Reset", "Click", "a@example.com", ["b@example.com"])])

        with scopes_disabled():  # platform mail: no tenant scope sees it
            assert DevMail.objects.get().tenant is None
