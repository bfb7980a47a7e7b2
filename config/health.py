"""Liveness and readiness, for a load balancer, docker-compose or an orchestrator (django-health-check).

* ``/health/live/`` — the web process answers. It checks nothing else, so an outage of the database or
  Redis does not get healthy processes restarted.
* ``/health/ready/`` — this process can serve: PostgreSQL answers; Redis answers (the cache, the Celery
  broker and the sign-in limits are on it); every migration is applied; a Celery worker sent its
  heartbeat in the last ``HEARTBEAT_WITHIN``.

Both answer 200 or 503, as JSON with ``Accept: application/json`` or ``?format=json`` (each check's
name and ``OK`` or what is wrong, never a secret), as text with ``?format=text``. Neither reads tenant
data or needs a login. Readiness costs a ``SELECT 1``, a Redis ``PING`` and a ``GET``; the migrations
are read once, until they are all applied.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import redis.asyncio
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

HEARTBEAT_KEY = "duly:worker-heartbeat"
HEARTBEAT_WITHIN = timedelta(seconds=30)


def record_heartbeat(**kwargs) -> None:
    """A Celery worker sent its heartbeat (every two seconds): remember when (``heartbeat_sent``)."""
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


@dataclasses.dataclass
class WorkerHeartbeat(HealthCheck):
    """A Celery worker sent its heartbeat lately: deliveries, messages and sweeps are being worked."""

    def run(self) -> None:
        try:
            last = cache.get(HEARTBEAT_KEY)
        except Exception as error:  # Redis itself is reported by its own check
            raise ServiceUnavailable("The workers' heartbeat cannot be read") from error
        if last is None or time.time() - last > HEARTBEAT_WITHIN.total_seconds():
            raise ServiceUnavailable(f"No worker's heartbeat in the last {HEARTBEAT_WITHIN.seconds} s")


_migrated = threading.Event()  # set once every migration is applied: they are not read again


@dataclasses.dataclass
class MigrationsApplied(HealthCheck):
    """Every migration of this code is applied to the database."""

    def run(self) -> None:
        if _migrated.is_set():
            return
        with connection.temporary_connection():
            executor = MigrationExecutor(connection)
            waiting = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if waiting:
            raise ServiceUnavailable(f"{len(waiting)} migration(s) not applied")
        _migrated.set()


def _redis():
    return redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


class Probe(HealthCheckView):
    """django-health-check's view, answering 503 (not ready) where it answers 500: a failing check is the
    state of a service, not an error of this process.

    It is served as a plain view: its checks run in an event loop of their own, in a thread of their own,
    whatever the calling thread runs (the web processes are WSGI)."""

    view_is_async = False

    def dispatch(self, request, *args, **kwargs):
        with ThreadPoolExecutor(max_workers=1) as thread:
            response = thread.submit(asyncio.run, super().dispatch(request, *args, **kwargs)).result()
        if response.status_code == 500:
            response.status_code = 503
        return response


live = Probe.as_view(checks=())
ready = Probe.as_view(checks=(
    "health_check.checks.Database",
    ("health_check.contrib.redis.Redis", {"client_factory": _redis}),
    MigrationsApplied,
    WorkerHeartbeat,
))
