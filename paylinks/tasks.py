"""Celery tasks of pay links: thin, keyword-only, safe to run twice."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from paylinks.services.requests import expire_payment_requests as expire_requests


@shared_task(name="paylinks.expire_payment_requests", acks_late=True, ignore_result=True)
def expire_payment_requests(*, as_of: str | None = None, **kwargs) -> None:
    """The sweep: open payment requests whose link ran out become expired (beat, every 5 minutes)."""
    expire_requests(at=datetime.fromisoformat(as_of) if as_of else timezone.now())
