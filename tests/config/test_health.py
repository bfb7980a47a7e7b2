"""Liveness and readiness (``config.health``), in process: what each answers, without a login and without
tenant data. Redis stopped and started again under uWSGI is in ``tests/faults/test_health.py``."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config import health

REDIS = urlsplit(settings.REDIS_URL)
READY = {"Database(alias='default')": "OK", f"Redis(db={REDIS.path.strip('/') or 0}, host='{REDIS.hostname}', "
         f"port={REDIS.port})": "OK", "MigrationsApplied()": "OK", "WorkerHeartbeat()": "OK"}


def ready(client=None):
    return (client or Client()).get("/health/ready/", headers={"accept": "application/json"})


@pytest.mark.django_db
def test_liveness_checks_nothing_and_reads_nothing():
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/health/live/?format=json")

    assert (response.status_code, response.json(), len(queries)) == (200, {}, 0)
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_ready_when_everything_answers_and_a_worker_beat_lately():
    health.record_heartbeat()

    response = ready()

    assert (response.status_code, response.json()) == (200, READY)


@pytest.mark.django_db(transaction=True)
def test_not_ready_without_a_worker_s_heartbeat_in_the_last_30_seconds():
    cache.set(health.HEARTBEAT_KEY, time.time() - 31)
    stale = ready()
    cache.delete(health.HEARTBEAT_KEY)
    never = ready()

    expected = READY | {"WorkerHeartbeat()": "Unavailable: No worker's heartbeat in the last 30 s"}
    assert (stale.status_code, stale.json()) == (503, expected)
    assert (never.status_code, never.json()) == (503, expected)


@pytest.mark.django_db(transaction=True)
def test_not_ready_while_a_migration_is_not_applied():
    health.record_heartbeat()
    health._migrated.clear()  # as a process started before the migration ran
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'crm' AND name = '0009_colocated_by_tenant'"
                       " RETURNING applied")
        applied = cursor.fetchone()[0]
    try:
        waiting = ready()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES"
                           " ('crm', '0009_colocated_by_tenant', %s)", [applied])
    after = ready()

    unapplied = {"MigrationsApplied()": "Unavailable: 1 migration(s) not applied"}
    assert (waiting.status_code, waiting.json()) == (503, READY | unapplied)
    assert (after.status_code, after.json()) == (200, READY)


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_user_reads_the_same_and_no_page_of_a_tenant(staff_client):
    health.record_heartbeat()

    response = ready(staff_client)

    assert (response.status_code, response.json()) == (200, READY)


@pytest.mark.django_db(transaction=True)
def test_answered_from_a_thread_whose_event_loop_runs():
    """The checks run in a loop of their own: a caller whose thread runs an event loop (as the browser
    tests' Playwright leaves it) is answered too."""
    health.record_heartbeat()
    answers = {}

    async def calling():
        answers["live"] = Client().get("/health/live/?format=json").status_code
        answers["ready"] = ready().status_code

    with ThreadPoolExecutor(max_workers=1) as thread:  # a thread of its own, whatever runs in this one
        thread.submit(asyncio.run, calling()).result()

    assert answers == {"live": 200, "ready": 200}
