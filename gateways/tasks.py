"""Celery tasks of the gateways app: thin, named, keyword-only, safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from gateways import inbox

# A delivery waits this long for its task before the sweep enqueues it again: longer than a busy
# queue takes to reach it, so the sweep only adds what was really lost.
SWEEP_AFTER = timedelta(minutes=5)


@shared_task(name="gateways.sweep_webhook_inbox", acks_late=True, ignore_result=True)
def sweep_webhook_inbox(*, older_than_seconds: float | None = None, **kwargs) -> None:
    """Every minute (``config.beat``): deliveries stored while the broker was down are processed."""
    older_than = SWEEP_AFTER if older_than_seconds is None else timedelta(seconds=older_than_seconds)
    inbox.sweep_unprocessed(older_than=older_than, at=timezone.now())
