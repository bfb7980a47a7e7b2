"""Sending text messages: a small provider protocol and its backends.

``settings.SMS_BACKEND`` names the backend: :class:`DatabaseSmsBackend` (development and tests:
keeps each message in a table that ``/dev/mail/`` shows), :class:`ConsoleSmsBackend` (prints it), or
:class:`TwilioSmsBackend` (production, the official ``twilio`` SDK).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sms:
    to: str
    body: str
    tenant_id: int | None = None


@dataclass(frozen=True)
class SmsSent:
    provider_id: str


class SmsError(Exception):
    """The provider did not take the message. The text is shown to staff beside the failed delivery."""


class SmsBackend(Protocol):
    def send(self, sms: Sms) -> SmsSent: ...


def get_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


class DatabaseSmsBackend:
    """Keeps the message in :class:`notifications.models.DevSms`; nothing leaves the machine."""

    def send(self, sms: Sms) -> SmsSent:
        from notifications.models import DevSms

        row = DevSms.objects.create(tenant_id=sms.tenant_id, to=sms.to, from_number=settings.SMS_FROM_NUMBER,
                                    body=sms.body)
        return SmsSent(provider_id=f"dev-{row.pk}")


class ConsoleSmsBackend:
    """Prints the message to standard output."""

    def send(self, sms: Sms) -> SmsSent:
        sys.stdout.write(f"SMS to {sms.to}: {sms.body}\n")
        sys.stdout.flush()
        return SmsSent(provider_id="console")


class TwilioSmsBackend:
    """Twilio's Messages API through the official SDK.

    Configured by ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``SMS_FROM_NUMBER`` (or
    ``TWILIO_MESSAGING_SERVICE_SID``); ``TWILIO_BASE_URL`` replaces ``https://api.twilio.com``, which
    is how the tests point it at a local fake server.
    """

    def __init__(self) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
            raise SmsError("SMS is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
        if not (settings.SMS_FROM_NUMBER or settings.TWILIO_MESSAGING_SERVICE_SID):
            raise SmsError("SMS is not configured: set SMS_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID.")
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=settings.SMS_TIMEOUT_SECONDS),
        )
        if settings.TWILIO_BASE_URL:
            self.client.api.base_url = settings.TWILIO_BASE_URL.rstrip("/")

    def send(self, sms: Sms) -> SmsSent:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        sender = (
            {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
            if settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": settings.SMS_FROM_NUMBER}
        )
        try:
            message = self.client.messages.create(to=sms.to, body=sms.body, **sender)
        except TwilioRestException as error:
            raise SmsError(f"Twilio refused the message ({error.status}, code {error.code}): {error.msg}") from error
        except (TwilioException, OSError) as error:
            raise SmsError(f"Twilio could not be reached: {error}") from error
        return SmsSent(provider_id=message.sid)
