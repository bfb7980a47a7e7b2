"""The wire side of delivery: turn a notification into an email or a text message and hand it over.

Called by ``services.deliver`` outside any database transaction. Each function returns the provider's
id for the message or raises; the caller records either outcome.
"""

from __future__ import annotations

from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string

from core.mail import TENANT_HEADER
from crm.models import Tenant
from notifications import sms
from notifications.models import Notification, NotificationSettings


def build_email(*, notification: Notification, tenant: Tenant, options: NotificationSettings) -> EmailMultiAlternatives:
    """The email for ``notification``: a text part and an HTML part carrying the tenant's name and
    logo, replies going to the tenant."""
    context = {"tenant": tenant, "logo_url": options.logo_url, "subject": notification.subject,
               "body": notification.body, "language": notification.language}
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=render_to_string("notifications/emails/message.txt", context),
        from_email=formataddr((tenant.name, sender)),
        to=[notification.recipient],
        reply_to=[options.reply_to_email] if options.reply_to_email else [],
        headers={
            "Message-ID": make_msgid(idstring=f"n{notification.pk}", domain=sender.rpartition("@")[2] or None),
            TENANT_HEADER: str(tenant.pk),
        },
    )
    message.attach_alternative(render_to_string("notifications/emails/message.html", context), "text/html")
    return message


def send_email(*, notification: Notification, tenant: Tenant, options: NotificationSettings) -> str:
    message = build_email(notification=notification, tenant=tenant, options=options)
    if mailers.default.send_messages([message]) != 1:
        raise RuntimeError("The mail server accepted nothing.")
    status = getattr(message, "anymail_status", None)  # set by django-anymail's backends
    return (status and status.message_id) or message.extra_headers["Message-ID"]


def send_sms(*, notification: Notification, tenant: Tenant) -> str:
    message = sms.Sms(to=notification.recipient, body=notification.body, tenant_id=tenant.pk)
    return sms.get_backend().send(message).provider_id
