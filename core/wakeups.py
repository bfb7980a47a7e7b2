"""Waking a tenant's task once. Work stored for a tenant (a webhook delivery, a payment's notice) enqueues
the task that takes that tenant's waiting work, unless one is queued and not yet started: that one will
take it too. A Redis mark says a task is queued.

Nothing waits unseen: the task clears the mark (``started``) before it looks for work, so work stored
while the mark is set is work that task will find, and work stored after sets the mark again and enqueues
another task. A mark whose task was lost stops holding others back after ``MARK_SECONDS``; the sweeps
``enqueue`` whatever the mark says.
"""

from __future__ import annotations

from celery import current_app
from django.core.cache import cache

MARK_SECONDS = 60


def _mark(task: str, tenant_id: int) -> str:
    return f"wake:{task}:{tenant_id}"


def wake(task: str, *, tenant_id: int) -> None:
    """Enqueue ``task`` for the tenant, unless one is queued and not yet started."""
    if cache.add(_mark(task, tenant_id), 1, timeout=MARK_SECONDS):
        enqueue(task, tenant_id=tenant_id)


def enqueue(task: str, *, tenant_id: int) -> None:
    """Enqueue ``task`` for the tenant whatever the mark says."""
    kwargs = {"tenant_id": tenant_id}
    # declare=[]: the queue exists; argsrepr/kwargsrepr: given, Celery does not build its safe repr of them
    current_app.send_task(task, kwargs=kwargs, declare=[], argsrepr="()", kwargsrepr=repr(kwargs))


def started(task: str, *, tenant_id: int) -> None:
    """A ``task`` of the tenant starts: work stored from now on wakes another one."""
    cache.delete(_mark(task, tenant_id))
