"""Writes of the reports app: saving segments and sending a message to a segment's customers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.models import Customer, Tenant, User
from finance.amounts import NotAnAmount, parse_plain
from finance.models import Classification, TransactionState
from notifications import services as notifications
from notifications.models import Notification
from obligations.models import InstalmentStatus
from reports import selectors
from reports.models import Segment, SegmentSubject

RULES = {
    SegmentSubject.TRANSACTIONS: ("classification", "currency", "state", "overdue_days", "min_amount"),
    SegmentSubject.CUSTOMERS: ("currency", "min_balance", "overdue_days"),
    SegmentSubject.INSTALMENTS: ("currency", "state", "overdue_days", "min_amount"),
}


def _clean_rules(subject: str, rules: dict) -> dict:
    errors: dict[str, str] = {}
    cleaned: dict[str, str | int] = {}
    for key, value in (rules or {}).items():
        if value in (None, ""):
            continue
        if key not in RULES.get(subject, ()):
            errors[key] = _("This filter does not apply to this kind of segment.")
        elif key == "classification" and value not in Classification.values:
            errors[key] = _("Unknown classification “%(value)s”.") % {"value": value}
        elif key == "state" and subject == SegmentSubject.INSTALMENTS and value not in InstalmentStatus.values:
            errors[key] = _("Unknown instalment state “%(value)s”.") % {"value": value}
        elif key == "state" and subject != SegmentSubject.INSTALMENTS and value not in TransactionState.values:
            errors[key] = _("Unknown state “%(value)s”.") % {"value": value}
        elif key == "currency" and value not in settings.CURRENCIES:
            errors[key] = _("Unknown currency “%(value)s”.") % {"value": value}
        elif key == "overdue_days":
            try:
                cleaned[key] = int(value)
                if cleaned[key] < 0:
                    raise ValueError
            except (TypeError, ValueError):
                errors[key] = _("A number of days, zero or more.")
            continue
        elif key in ("min_amount", "min_balance"):
            try:
                cleaned[key] = str(parse_plain(value).quantize(Decimal("0.01")))
            except NotAnAmount:
                errors[key] = _("“%(value)s” is not an amount.") % {"value": value}
            continue
        cleaned[key] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def save_segment(*, tenant: Tenant, name: str, subject: str, rules: dict, actor: User | None, at: datetime,
                 segment: Segment | None = None) -> Segment:
    """Create a segment, or change ``segment``.

    :raises ValidationError: no name, a name already used, an unknown subject or filter value.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Name the segment.")})
    if subject not in SegmentSubject.values:
        raise ValidationError({"subject": _("Unknown kind of segment “%(subject)s”.") % {"subject": subject}})
    cleaned = _clean_rules(subject, rules)
    if segment is None:
        segment = Segment(tenant=tenant, created_by=actor, created_at=at)
    segment.name, segment.subject, segment.rules = name, subject, cleaned
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise ValidationError({"name": _("A segment called “%(name)s” exists already.") % {"name": name}}) from None
    return segment


@transaction.atomic
def delete_segment(*, segment: Segment) -> None:
    segment.delete()


@transaction.atomic
def message_segment(*, segment: Segment, actor: User, channels: list[str], template_key: str, at: datetime,
                    today: date, idempotency_key: str) -> list[Notification]:
    """Send one message (one of the tenant's templates) to every customer the segment reaches,
    through the outbox; each customer's messages are written in this transaction.

    :raises ValidationError: as ``notifications.services.communicate``, for the first customer it
        refuses (nothing is sent to anyone then).
    """
    customers = Customer.objects.filter(
        tenant=segment.tenant_id, pk__in=selectors.segment_customer_ids(segment=segment, today=today)
    ).order_by("pk")
    sent: list[Notification] = []
    for customer in customers:
        sent += notifications.communicate(
            tenant=segment.tenant, actor=actor, customer=customer, subject_ref=f"reports.segment:{segment.pk}",
            channels=channels, at=at, template_key=template_key, idempotency_key=f"{idempotency_key}:{customer.pk}",
        )
    return sent
