"""Reads of the notifications app. Getters answer 404 alike for "missing" and "another tenant's"
(and, for the in-app inbox, "another user's")."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from core.l10n import language_tag
from crm.models import Tenant, User
from notifications import defaults, tags
from notifications.models import Channel, DevMail, DevSms, MessageTemplate, Notification, NotificationSettings

OUTBOX_RELATED = ("customer", "actor", "recipient_user")


@dataclass(frozen=True)
class ResolvedMessage:
    """The wording a tenant uses for one message: its own for the language, or Duly's default."""

    key: str
    label: str
    subject: str
    body: str
    sms: str
    urgent: bool
    allowed_tags: tuple[str, ...]
    customised: bool

    @property
    def tags_used(self) -> list[str]:
        return tags.tags_in("\n".join([self.subject, self.body, self.sms]))


_remembered: ContextVar[dict | None] = ContextVar("notifications_remembered", default=None)


@contextmanager
def remembering() -> Iterator[None]:
    """Within the block, each tenant's settings and each message's wording are read once: for a task that
    writes many messages in a few seconds (an edit made meanwhile applies from its next run)."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def _remembered_or(key: tuple, read: Callable):
    remembered = _remembered.get()
    if remembered is None:
        return read()
    if key not in remembered:
        remembered[key] = read()
    return remembered[key]


def get_notification_settings(*, tenant: Tenant) -> NotificationSettings:
    """The tenant's settings, or the defaults (unsaved) when it has never changed them."""
    return _remembered_or(("settings", tenant.pk), lambda: NotificationSettings.objects.filter(
        tenant=tenant).first() or NotificationSettings(tenant=tenant))


def resolve_message(*, tenant: Tenant, key: str, language: str) -> ResolvedMessage:
    """The tenant's version of message ``key`` for ``language``, else for its own locale, else Duly's
    default wording in ``language`` (in English where the pages do not speak it). ``KeyError`` for a message
    Duly does not send."""
    return _remembered_or(("message", tenant.pk, key, language),
                          lambda: _resolve_message(tenant=tenant, key=key, language=language))


def _resolve_message(*, tenant: Tenant, key: str, language: str) -> ResolvedMessage:
    default = defaults.get(key)
    overrides = {
        template.language: template
        for template in MessageTemplate.objects.filter(tenant=tenant, key=key, language__in=[language, tenant.locale])
    }
    override = overrides.get(language) or overrides.get(tenant.locale)
    if override is not None:
        subject, body, sms = override.subject, override.body, override.sms or ""
    else:
        with translation.override(language_tag(language, tenant.country)):
            subject, body, sms = str(default.subject), str(default.body), str(default.sms)
    return ResolvedMessage(
        key=key, label=str(default.label), subject=subject, body=body, sms=sms,
        urgent=default.urgent, allowed_tags=default.allowed_tags, customised=override is not None,
    )


def template_overview(*, tenant: Tenant) -> list[dict]:
    """Every message Duly sends, with the languages the tenant has its own wording for."""
    languages: dict[str, list[str]] = {}
    for key, language in MessageTemplate.objects.filter(tenant=tenant).values_list("key", "language"):
        languages.setdefault(key, []).append(language)
    return [
        {"message": message, "languages": sorted(languages.get(key, []))}
        for key, message in defaults.MESSAGES.items()
    ]


def get_message_template(*, tenant: Tenant, key: str, language: str) -> MessageTemplate | None:
    """The tenant's own wording of ``key`` in ``language``, or ``None``; 404 for an unknown message or
    language."""
    if key not in defaults.MESSAGES or language not in dict(settings.CUSTOMER_LANGUAGES):
        raise Http404(_("No such message."))
    return MessageTemplate.objects.filter(tenant=tenant, key=key, language=language).first()


def available_messages(*, tenant: Tenant, language: str, provided: Iterable[str]) -> list[ResolvedMessage]:
    """The messages that can be sent about a record offering the tag values ``provided``: those whose
    (tenant's or default) wording uses no other tag."""
    provided = set(provided)
    resolved = [resolve_message(tenant=tenant, key=key, language=language) for key in defaults.MESSAGES]
    return [message for message in resolved if set(message.tags_used) <= provided]


def sent_for(*, tenant: Tenant, subject_ref: str) -> QuerySet[Notification]:
    """What was sent about one record (``"finance.invoice:42"``), newest first: when, by whom, on which
    channel, to whom, and how its delivery stands."""
    return (
        Notification.objects.filter(tenant=tenant, subject_ref=subject_ref)
        .exclude(channel=Channel.IN_APP)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def sent_to(*, tenant: Tenant, customer_id: int) -> QuerySet[Notification]:
    """What was sent to one customer, about anything (a message, a payment request, an invoice, a
    receipt), newest first."""
    return (
        Notification.objects.filter(tenant=tenant, customer_id=customer_id)
        .exclude(channel=Channel.IN_APP)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def outbox(*, tenant: Tenant, state: str = "") -> QuerySet[Notification]:
    notifications = Notification.objects.filter(tenant=tenant).exclude(channel=Channel.IN_APP)
    if state:
        notifications = notifications.filter(state=state)
    return notifications.select_related(*OUTBOX_RELATED).order_by("-created_at", "-id")


def get_notification(*, tenant: Tenant, notification_id: int) -> Notification:
    try:
        return Notification.objects.select_related(*OUTBOX_RELATED).get(tenant=tenant, pk=notification_id)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such notification.")) from None


def inbox(*, tenant: Tenant, user: User) -> QuerySet[Notification]:
    """A staff user's in-app notifications, newest first."""
    return (
        Notification.objects.filter(tenant=tenant, channel=Channel.IN_APP, recipient_user=user)
        .select_related("actor", "customer")
        .order_by("-created_at", "-id")
    )


def unread_count(*, tenant: Tenant, user: User) -> int:
    return Notification.objects.filter(
        tenant=tenant, channel=Channel.IN_APP, recipient_user=user, read_at__isnull=True
    ).count()


def get_inbox_notification(*, tenant: Tenant, user: User, notification_id: int) -> Notification:
    """One of ``user``'s own in-app notifications; 404 for anyone else's."""
    try:
        return Notification.objects.get(
            tenant=tenant, channel=Channel.IN_APP, recipient_user=user, pk=notification_id
        )
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such notification.")) from None


def dev_mailbox(*, tenant: Tenant) -> tuple[QuerySet[DevMail], QuerySet[DevSms]]:
    """The emails and text messages the development backends caught for ``tenant``."""
    return DevMail.objects.filter(tenant=tenant), DevSms.objects.filter(tenant=tenant)


def get_dev_mail(*, tenant: Tenant, mail_id: int) -> DevMail:
    try:
        return DevMail.objects.get(tenant=tenant, pk=mail_id)
    except (DevMail.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such email.")) from None
