"""Celery tasks of obligations: thin, keyword-only, safe to run twice."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from obligations.services.reminders import send_instalment_reminders as send_reminders


@shared_task(name="obligations.send_instalment_reminders", acks_late=True, ignore_result=True)
def send_instalment_reminders(*, as_of: str | None = None, **kwargs) -> None:
    """Reminders before instalments fall due and overdue notices after (beat, every 15 minutes)."""
    send_reminders(at=datetime.fromisoformat(as_of) if as_of else timezone.now())
