"""Email that Duly sends in a tenant's name outside the outbox (an invitation): from the tenant, marked with
it so the development mailbox files it under the tenant."""

from __future__ import annotations

from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage

TENANT_HEADER = "X-Duly-Tenant"


def send_as_tenant(*, tenant, to: str, subject: str, body: str) -> None:
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    EmailMessage(subject=subject, body=body, from_email=formataddr((tenant.name, sender)), to=[to],
                 headers={TENANT_HEADER: str(tenant.pk)}).send()
