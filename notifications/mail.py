"""The development mailbox: an email backend that keeps each message in a table.

``make run`` uses it (``MAILERS`` in ``config.settings``), and ``/dev/mail/`` shows the messages with
their HTML rendered, so a demo can follow a payment link without a mail server.
"""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

from core.mail import TENANT_HEADER


class DevMailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        from notifications.models import DevMail

        count = 0
        for message in email_messages:
            message.message()  # validates the headers, as a real backend would
            html = next((content for content, mimetype in getattr(message, "alternatives", [])
                         if mimetype == "text/html"), "")
            tenant_id = (message.extra_headers or {}).get(TENANT_HEADER)
            DevMail.objects.create(
                tenant_id=int(tenant_id) if tenant_id else None,
                from_email=message.from_email,
                to=", ".join(message.to),
                reply_to=", ".join(message.reply_to),
                subject=message.subject,
                text=message.body,
                html=html,
            )
            count += 1
        return count
