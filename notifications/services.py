"""Writes of the notifications app: the outbox, its delivery, templates, settings and the inbox.

``notify`` and ``communicate`` write notification rows in the caller's transaction and ask for
delivery once it commits; ``deliver`` (run by a Celery task) claims a row, sends it and records the
outcome, so a row is sent once however often its task runs. Every state change goes through
``notifications.states`` and leaves a :class:`~notifications.models.DeliveryLog` row.
"""

from __future__ import annotations

import enum
import logging
import re
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core import tallies
from crm.models import Customer, Tenant, User
from notifications import channels, defaults, hours, selectors, states, tags
from notifications.models import (
    Channel,
    DeliveryLog,
    MessageTemplate,
    Notification,
    NotificationSettings,
)

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.deliver"
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
STUCK_AFTER = timedelta(minutes=15)
SWEEP_BATCH = 500
SUBJECT_REF_RE = re.compile(r"^[a-z_]+\.[a-z_]+:\d+$")
OUTGOING = (Channel.EMAIL, Channel.SMS)
INTERRUPTED = (
    "The delivery was interrupted after it started; the message may or may not have reached the "
    "recipient. Check with them before retrying."
)


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    NOTHING = "nothing"  # not due, already sent, or being sent by another worker


def retry_delay(attempts: int) -> timedelta:
    """The pause before attempt ``attempts + 1``: 1, 2, 4, 8 … minutes, at most an hour."""
    return min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CAP)


# --- the state door ----------------------------------------------------------------------------


def _move(notification: Notification, action: str, *, at: datetime, actor: User | None = None, error: str = "",
          **fields) -> Notification:
    """Apply ``action`` to ``notification`` (locked or freshly loaded by the caller), update ``fields``
    with it and log the change."""
    before = notification.state
    after = states.target(action, before)
    changed = Notification.objects.filter(tenant=notification.tenant_id, pk=notification.pk, state=before).update(
        state=after, **fields
    )
    if changed != 1:
        raise states.InvalidTransition(action, "no longer " + before)
    DeliveryLog.objects.create(tenant_id=notification.tenant_id, notification=notification, action=action,
                               from_state=before, to_state=after, at=at, actor=actor, error=error)
    if after in (states.SENT, states.FAILED):
        tallies.add_on_commit("messages", channel=notification.channel, outcome=after)
    notification.state = after
    for name, value in fields.items():
        setattr(notification, name, value)
    return notification


def _enqueue(*, tenant_id: int, notification_ids: Sequence[int], countdown: float | None = None) -> None:
    for notification_id in notification_ids:
        current_app.send_task(DELIVER_TASK, kwargs={"tenant_id": tenant_id, "notification_id": notification_id},
                              countdown=countdown)


def _enqueue_on_commit(*, tenant_id: int, notification_ids: Sequence[int], countdown: float | None = None) -> None:
    # robust: a broker that is down must not undo the caller's commit; the sweep finds the rows later.
    if notification_ids:
        transaction.on_commit(
            partial(_enqueue, tenant_id=tenant_id, notification_ids=list(notification_ids), countdown=countdown),
            robust=True,
        )


# --- writing to the outbox ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    channel: str
    recipient: str
    recipient_user: User | None
    subject: str
    body: str
    unreachable: str = ""


def _base_values(*, tenant: Tenant, customer: Customer | None, actor: User | None) -> dict[str, str]:
    options = selectors.get_notification_settings(tenant=tenant)
    values = {"tenant.name": tenant.name, "tenant.email": options.reply_to_email}
    if customer is not None:
        values |= {"customer.name": customer.name, "customer.email": customer.email,
                   "customer.phone": str(customer.phone) if customer.phone else ""}
    if actor is not None:
        values["staff.name"] = actor.get_full_name() or actor.username
    return values


def _check_context(context: Mapping[str, str] | None) -> dict[str, str]:
    context = dict(context or {})
    if unknown := sorted(set(context) - set(tags.VOCABULARY)):
        raise ValueError(f"context has values for unknown tags: {unknown}")
    return {name: "" if value is None else str(value) for name, value in context.items()}


def _address(customer: Customer | None, channel: str) -> tuple[str, str]:
    """The customer's address on ``channel``, or ``""`` and why there is none."""
    if customer is None:
        return "", _("There is no customer to send it to.")
    if channel == Channel.EMAIL:
        return (customer.email, "") if customer.email else ("", _("%(name)s has no email address.") % {
            "name": customer.name})
    return (str(customer.phone), "") if customer.phone else ("", _("%(name)s has no phone number.") % {
        "name": customer.name})


def _plan(*, channels_: Iterable[str], customer: Customer | None, users: Iterable[User], subject: str, body: str,
          sms: str, values: Mapping[str, str]) -> list[_Planned]:
    planned = []
    for channel in channels_:
        if channel == Channel.IN_APP:
            planned += [
                _Planned(Channel.IN_APP, f"user:{user.pk}", user, tags.render(subject, values),
                         tags.render(sms or body, values))
                for user in users
            ]
            continue
        recipient, unreachable = _address(customer, channel)
        planned.append(_Planned(
            channel, recipient, None,
            tags.render(subject, values) if channel == Channel.EMAIL else "",
            tags.render(body if channel == Channel.EMAIL else (sms or body), values),
            unreachable,
        ))
    return planned


def _write(*, tenant: Tenant, event_key: str, planned: list[_Planned], customer: Customer | None, subject_ref: str,
           template_key: str, language: str, urgent: bool, link: str, actor: User | None,
           at: datetime) -> list[Notification]:
    existing = {(n.channel, n.recipient): n for n in Notification.objects.filter(tenant=tenant, event_key=event_key)}
    due_at = at
    if not urgent:
        options = selectors.get_notification_settings(tenant=tenant)
        due_at = hours.next_sending_time(at=at, time_zone=tenant.time_zone, start=options.sending_start,
                                         end=options.sending_end, days=options.sending_days)
    written, to_enqueue = [], []
    for plan in planned:
        if (plan.channel, plan.recipient) in existing:
            written.append(existing[(plan.channel, plan.recipient)])
            continue
        if plan.channel == Channel.IN_APP:
            state = states.SENT
        elif plan.unreachable:
            state = states.FAILED
        else:
            state = states.DEFERRED if due_at > at else states.PENDING
        notification = Notification(
            tenant=tenant, event_key=event_key, channel=plan.channel, recipient=plan.recipient,
            recipient_user=plan.recipient_user, customer=customer, subject_ref=subject_ref, template_key=template_key,
            language=language, subject=plan.subject[:300], body=plan.body, link=link, urgent=urgent, state=state,
            due_at=due_at, sent_at=at if state == states.SENT else None, last_error=plan.unreachable, actor=actor,
            created_at=at,
        )
        try:
            with transaction.atomic():
                notification.save()
        except IntegrityError:
            # Written by a concurrent call for the same event since we looked: that one stands.
            written.append(Notification.objects.get(tenant=tenant, event_key=event_key, channel=plan.channel,
                                                    recipient=plan.recipient))
            continue
        DeliveryLog.objects.create(tenant=tenant, notification=notification, action="create", to_state=state, at=at,
                                   actor=actor, error=plan.unreachable)
        written.append(notification)
        if state == states.PENDING:
            to_enqueue.append(notification.pk)
    _enqueue_on_commit(tenant_id=tenant.pk, notification_ids=to_enqueue)
    return written


@transaction.atomic
def notify(
    *, tenant: Tenant, event_key: str, template_key: str, at: datetime, channels: Collection[str] = (Channel.EMAIL,),
    customer: Customer | None = None, users: Sequence[User] = (), context: Mapping[str, str] | None = None,
    subject_ref: str = "", actor: User | None = None, language: str | None = None, urgent: bool | None = None,
    link: str = "",
) -> list[Notification]:
    """Write the notifications of one event into the outbox, in the caller's transaction.

    One row per channel and recipient: the customer's email address and/or phone number, and each of
    ``users`` for ``in_app``. ``event_key`` names the event (``"invoice:42:posted"``); notifying the
    same event again writes nothing new and returns the rows already there. Email and SMS are
    delivered after the transaction commits (nothing, if it rolls back); a message that is not
    urgent waits for the tenant's sending hours. A channel the customer has no address for gets a
    failed row saying so, visible in the outbox, rather than nothing.

    :param context: tag values (``{"invoice.number": "INV-000042", "amount": "£12.00"}``); the
        customer's and tenant's tags are filled in here.
    :raises KeyError: ``template_key`` is not a message Duly sends.
    :raises ValueError: an unknown channel or context tag, a user of another tenant, or no event key.
    """
    language = language or (customer.language if customer else tenant.locale)
    message = selectors.resolve_message(tenant=tenant, key=template_key, language=language)
    if not event_key:
        raise ValueError("notify needs an event key")
    if set(channels) - set(Channel.values):
        raise ValueError(f"unknown channels: {sorted(set(channels) - set(Channel.values))}")
    if any(user.tenant_id != tenant.pk for user in users):
        raise ValueError("in-app notifications go to staff of the same tenant only")
    values = _base_values(tenant=tenant, customer=customer, actor=actor) | _check_context(context)
    planned = _plan(channels_=channels, customer=customer, users=users, subject=message.subject, body=message.body,
                    sms=message.sms, values=values)
    return _write(
        tenant=tenant, event_key=event_key, planned=planned, customer=customer, subject_ref=subject_ref,
        template_key=template_key, language=language,
        urgent=message.urgent if urgent is None else urgent, link=link, actor=actor, at=at,
    )


@transaction.atomic
def communicate(
    *, tenant: Tenant, actor: User, customer: Customer, subject_ref: str, channels: Collection[str], at: datetime,
    template_key: str = "", subject: str = "", message: str = "", context: Mapping[str, str] | None = None,
    idempotency_key: str = "",
) -> list[Notification]:
    """Send a message about one record to its customer, by email and/or SMS, through the outbox.

    The message is a template (``template_key``) or the text staff wrote (``subject`` for email,
    ``message``), with #tags filled from ``context`` and the customer, tenant and sender. It is sent
    at once (not held for sending hours). The same ``idempotency_key`` (one per form shown) sends once.

    :raises ValidationError: keyed ``channels``, ``template``, ``subject``, ``message`` or
        ``subject_ref``: no or unknown channel, the customer has no address for a channel, unknown
        template, missing text, an unknown tag, or a tag this record has no value for. Nothing is written.
    """
    errors: dict[str, str] = {}
    channels = list(dict.fromkeys(channels or []))
    if not SUBJECT_REF_RE.match(subject_ref or ""):
        errors["subject_ref"] = _("“%(subject_ref)s” is not a record reference such as finance.invoice:42.") % {
            "subject_ref": subject_ref}
    if not channels:
        errors["channels"] = _("Choose email, SMS or both.")
    elif set(channels) - set(OUTGOING):
        errors["channels"] = _("Messages go by email or SMS.")
    else:
        missing = [why for channel in channels if (why := _address(customer, channel)[1])]
        if missing:
            errors["channels"] = " ".join(missing) + _(" Add it to the customer's file first.")
    values = _base_values(tenant=tenant, customer=customer, actor=actor) | _check_context(context)
    subject, message = (subject or "").strip(), (message or "").strip()
    if message:
        if Channel.EMAIL in channels and not subject:
            errors["subject"] = _("An email needs a subject.")
        for field, text in (("subject", subject), ("message", message)):
            if unknown := tags.unknown_tags(text):
                errors.setdefault(field, _("Unknown tag %(describe)s. Write ## for a literal #.") % {
                    "describe": tags.describe(unknown)})
            elif without := [name for name in tags.tags_in(text) if name not in values]:
                errors.setdefault(field, _("This record has no value for %(describe)s.") % {
                    "describe": tags.describe(without)})
        body, sms, key = message, message, ""
    elif template_key:
        if template_key not in defaults.MESSAGES:
            raise ValidationError(errors | {"template": _("“%(template_key)s” is not a message Duly sends.") % {
                "template_key": template_key}})
        resolved = selectors.resolve_message(tenant=tenant, key=template_key, language=customer.language)
        if without := [name for name in resolved.tags_used if name not in values]:
            errors["template"] = _("This message uses %(describe)s, which this record has no value for.") % {
                "describe": tags.describe(without)}
        subject, body, sms, key = resolved.subject, resolved.body, resolved.sms, template_key
    else:
        errors["message"] = _("Choose a message or write one.")
    if errors:
        raise ValidationError(errors)
    planned = _plan(channels_=channels, customer=customer, users=(), subject=subject, body=body, sms=sms,
                    values=values)
    return _write(
        tenant=tenant, event_key=f"communicate:{idempotency_key or uuid.uuid4()}", planned=planned, customer=customer,
        subject_ref=subject_ref, template_key=key, language=customer.language, urgent=True, link="", actor=actor,
        at=at,
    )


# --- delivering --------------------------------------------------------------------------------


def _claim(*, tenant: Tenant, notification_id: int, at: datetime) -> Notification | None:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(tenant=tenant, pk=notification_id, state__in=states.WAITING, due_at__lte=at)
            .first()
        )
        if notification is None:
            return None
        return _move(notification, "claim", at=at, attempts=notification.attempts + 1, claimed_at=at)


@transaction.atomic
def _record(*, notification: Notification, at: datetime, provider_id: str = "", error: str = "") -> Outcome:
    notification = Notification.objects.select_for_update().get(tenant=notification.tenant_id, pk=notification.pk)
    if not error:
        _move(notification, "succeed", at=at, sent_at=at, provider_id=provider_id[:100], last_error="")
        return Outcome.SENT
    if notification.attempts < MAX_ATTEMPTS:
        delay = retry_delay(notification.attempts)
        _move(notification, "retry_later", at=at, error=error, due_at=at + delay, last_error=error)
        _enqueue_on_commit(tenant_id=notification.tenant_id, notification_ids=[notification.pk],
                           countdown=delay.total_seconds())
        return Outcome.RETRY
    _move(notification, "give_up", at=at, error=error, last_error=error)
    return Outcome.FAILED


def deliver(*, tenant: Tenant, notification_id: int, at: datetime) -> Outcome:
    """Send one notification if it is due and nobody else is sending it; safe to run any number of times.

    Three steps, so that no transaction is held open while the mail or SMS provider answers: claim
    the row (``pending``/``deferred`` → ``sending``, one transaction, ``skip_locked``), send it, then
    record the outcome (one transaction): ``sent``; or, after a failed attempt, ``pending`` again with
    a back-off and a new task; or ``failed`` with the error after :data:`MAX_ATTEMPTS` attempts.
    A row that is not due, already sent, or locked by another worker is left alone.
    """
    notification = _claim(tenant=tenant, notification_id=notification_id, at=at)
    if notification is None:
        return Outcome.NOTHING
    try:
        if notification.channel == Channel.EMAIL:
            options = selectors.get_notification_settings(tenant=tenant)
            provider_id = channels.send_email(notification=notification, tenant=tenant, options=options)
        else:
            provider_id = channels.send_sms(notification=notification, tenant=tenant)
    except Exception as error:  # anything the provider raises is recorded, shown and retried
        logger.warning("notification %s: attempt %s failed: %s", notification.pk, notification.attempts, error)
        return _record(notification=notification, at=at, error=f"{type(error).__name__}: {error}"[:2000])
    return _record(notification=notification, at=at, provider_id=str(provider_id))


@transaction.atomic
def retry_notification(*, notification: Notification, actor: User, at: datetime) -> Notification:
    """Put a failed notification back in the outbox to be sent now, with a fresh set of attempts.

    A notification that failed for want of an address takes the customer's current one.

    :raises InvalidTransition: it has not failed.
    :raises ValidationError: keyed ``recipient``: the customer still has no address for its channel.
    """
    notification = Notification.objects.select_for_update().get(tenant=notification.tenant_id, pk=notification.pk)
    states.target("retry", notification.state)
    fields: dict = {}
    if not notification.recipient:
        recipient, unreachable = _address(notification.customer, notification.channel)
        if unreachable:
            raise ValidationError({"recipient": unreachable})
        fields["recipient"] = recipient
    _move(notification, "retry", at=at, actor=actor, attempts=0, due_at=at, **fields)
    _enqueue_on_commit(tenant_id=notification.tenant_id, notification_ids=[notification.pk])
    return notification


@transaction.atomic
def sweep_outbox(*, tenant: Tenant, at: datetime) -> list[int]:
    """Enqueue every waiting notification that is due (deferred ones whose sending hours have come,
    retries whose pause is over, and any whose task was lost), and mark sends that started more than
    :data:`STUCK_AFTER` ago and never finished as failed. Returns the ids enqueued."""
    stuck = Notification.objects.select_for_update(skip_locked=True).filter(
        tenant=tenant, state=states.SENDING, claimed_at__lt=at - STUCK_AFTER
    )
    for notification in stuck:
        _move(notification, "interrupt", at=at, error=INTERRUPTED, last_error=INTERRUPTED)
    due = list(
        Notification.objects.filter(tenant=tenant, state__in=states.WAITING, due_at__lte=at)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    _enqueue_on_commit(tenant_id=tenant.pk, notification_ids=due)
    return due


# --- the in-app inbox --------------------------------------------------------------------------


@transaction.atomic
def mark_read(*, notification: Notification, user: User, at: datetime) -> Notification:
    """Mark one of ``user``'s own in-app notifications read; marking it again keeps the first time.

    :raises PermissionDenied: it is not ``user``'s in-app notification.
    """
    if notification.channel != Channel.IN_APP or notification.recipient_user_id != user.pk:
        raise PermissionDenied(_("You may mark only your own notifications as read."))
    Notification.objects.filter(tenant=notification.tenant_id, pk=notification.pk, read_at__isnull=True).update(
        read_at=at
    )
    notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_read(*, tenant: Tenant, user: User, at: datetime) -> int:
    """Mark all of ``user``'s unread in-app notifications read; returns how many."""
    return Notification.objects.filter(
        tenant=tenant, channel=Channel.IN_APP, recipient_user=user, read_at__isnull=True
    ).update(read_at=at)


# --- message templates and settings ------------------------------------------------------------


def _tag_errors(*, key: str, subject: str, body: str, sms: str) -> dict[str, str]:
    allowed = defaults.get(key).allowed_tags
    errors: dict[str, str] = {}
    for field, text in (("subject", subject), ("body", body), ("sms", sms)):
        if unknown := tags.unknown_tags(text):
            errors[field] = _("Unknown tag %(describe)s. Write ## for a literal #.") % {
                "describe": tags.describe(unknown)}
        elif unavailable := tags.unknown_tags(text, allowed=allowed):
            errors[field] = (
                _("%(unavailable)s cannot be used in the “%(message)s” message; it offers %(allowed)s.") % {
                    "unavailable": tags.describe(unavailable), "message": defaults.get(key).label,
                    "allowed": tags.describe(allowed)}
            )
    return errors


def _template_errors(*, key: str, subject: str, body: str, sms: str) -> dict[str, str]:
    errors = _tag_errors(key=key, subject=subject, body=body, sms=sms)
    if not subject.strip():
        errors.setdefault("subject", _("Subject is required."))
    elif len(subject) > 300:
        errors.setdefault("subject", _("At most 300 characters."))
    if not body.strip():
        errors.setdefault("body", _("The email text is required."))
    return errors


def preview_message(*, key: str, subject: str, body: str, sms: str) -> dict[str, str]:
    """The message rendered on sample values, as a preview.

    :raises ValidationError: keyed ``subject``, ``body`` or ``sms``: an unknown or unavailable tag.
    """
    if key not in defaults.MESSAGES:
        raise ValidationError({"key": _("“%(key)s” is not a message Duly sends.") % {"key": key}})
    if errors := _tag_errors(key=key, subject=subject or "", body=body or "", sms=sms or ""):
        raise ValidationError(errors)
    values = tags.samples()
    return {"subject": tags.render(subject, values), "body": tags.render(body, values),
            "sms": tags.render(sms or body, values)}


@transaction.atomic
def save_message_template(
    *, tenant: Tenant, actor: User, key: str, language: str, subject: str, body: str, sms: str, at: datetime
) -> MessageTemplate:
    """Save the tenant's own wording of message ``key`` in ``language``.

    :raises ValidationError: keyed ``key``, ``language``, ``subject``, ``body`` or ``sms``: an unknown
        message or language, a missing text, an unknown tag (named), or a tag the message does not
        offer. Nothing is saved.
    """
    if key not in defaults.MESSAGES:
        raise ValidationError({"key": _("“%(key)s” is not a message Duly sends.") % {"key": key}})
    if language not in dict(settings.CUSTOMER_LANGUAGES):
        raise ValidationError({"language": _("Language must be one of %(join)s.") % {
            "join": ', '.join(dict(settings.CUSTOMER_LANGUAGES))}})
    subject, body, sms = (subject or "").strip(), (body or "").strip(), (sms or "").strip()
    errors = _template_errors(key=key, subject=subject, body=body, sms=sms)
    if errors:
        raise ValidationError(errors)
    template, _created = MessageTemplate.objects.update_or_create(
        tenant=tenant, key=key, language=language,
        defaults={"subject": subject, "body": body, "sms": sms, "updated_at": at, "updated_by": actor},
    )
    return template


@transaction.atomic
def reset_message_template(*, tenant: Tenant, key: str, language: str) -> None:
    """Drop the tenant's own wording of ``key`` in ``language``: Duly's default applies again."""
    MessageTemplate.objects.filter(tenant=tenant, key=key, language=language).delete()


@transaction.atomic
def update_notification_settings(
    *, tenant: Tenant, reply_to_email: str, logo_url: str, sending_start: time, sending_end: time,
    sending_days: Collection[int],
) -> NotificationSettings:
    """Set the tenant's reply-to address, email logo and sending hours.

    :raises ValidationError: keyed by field: a malformed address or URL, hours that end before they
        start, or no sending day.
    """
    errors: dict[str, str] = {}
    reply_to_email, logo_url = (reply_to_email or "").strip(), (logo_url or "").strip()
    if reply_to_email:
        try:
            validate_email(reply_to_email)
        except ValidationError:
            errors["reply_to_email"] = _("“%(reply_to_email)s” is not a valid email address.") % {
                "reply_to_email": reply_to_email}
    if logo_url:
        try:
            URLValidator(schemes=["https"])(logo_url)
        except ValidationError:
            errors["logo_url"] = _("The logo address must be an https:// URL.")
    if sending_start is None or sending_end is None or sending_start >= sending_end:
        errors["sending_end"] = _("Sending hours must end after they start.")
    days = sorted({int(day) for day in sending_days or []})
    if not days or not set(days) <= set(hours.EVERY_DAY):
        errors["sending_days"] = _("Choose at least one sending day.")
    if errors:
        raise ValidationError(errors)
    options, _created = NotificationSettings.objects.update_or_create(
        tenant=tenant,
        defaults={"reply_to_email": reply_to_email, "logo_url": logo_url, "sending_start": sending_start,
                  "sending_end": sending_end, "sending_days_mask": hours.days_to_mask(days)},
    )
    return options
