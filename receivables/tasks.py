"""Celery tasks of receivables: thin, keyword-only, safe to run twice."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from receivables.services import dunning, statements


def _at(as_of: str | None) -> datetime:
    return datetime.fromisoformat(as_of) if as_of else timezone.now()


@shared_task(name="receivables.dunning_sweep", acks_late=True, ignore_result=True)
def dunning_sweep(*, as_of: str | None = None, **kwargs) -> None:
    """Each tenant's dunning levels, inside its sending hours (beat, every 15 minutes)."""
    dunning.sweep(at=_at(as_of))


@shared_task(name="receivables.send_monthly_statements", acks_late=True, ignore_result=True)
def send_monthly_statements(*, as_of: str | None = None, **kwargs) -> None:
    """Last month's statements of account, for tenants that asked for them (beat, hourly)."""
    statements.send_monthly_statements(at=_at(as_of))
