"""Celery tasks of billing: thin, keyword-only, safe to run twice."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from billing.services import collection, runs


def _at(as_of: str | None) -> datetime:
    return datetime.fromisoformat(as_of) if as_of else timezone.now()


@shared_task(name="billing.issue_recurring_invoices", acks_late=True, ignore_result=True)
def issue_recurring_invoices(*, as_of: str | None = None, **kwargs) -> None:
    """Each schedule's periods that are due, each once (beat, hourly; a late run catches up)."""
    runs.sweep(at=_at(as_of))


@shared_task(name="billing.collect_by_card", acks_late=True, ignore_result=True)
def collect_by_card(*, as_of: str | None = None, **kwargs) -> None:
    """Charges of cards on file due today: on the due date and the retry days, each once (beat, hourly)."""
    collection.sweep(at=_at(as_of))
