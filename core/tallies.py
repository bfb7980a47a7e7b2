"""Duly's own counters (webhook deliveries received and processed, messages sent and failed, postings),
kept in Redis: every web process and worker of every container adds to the same counts, which the metrics
page reads (``config.metrics``). A Prometheus counter in a process would be seen only by that process's
own exporter, and a worker has none.

One Redis hash, one field per counter and labels (``HINCRBY``, atomic). A count is added once its
transaction commits: a rolled-back booking counts nothing. Counting never fails what it counts: when
Redis is down the count is lost and a warning logged (the broker is down too, which readiness reports).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections import Counter
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)
SEPARATOR = "|"
_gathering: contextvars.ContextVar[Counter | None] = contextvars.ContextVar("duly_tallies", default=None)


def key() -> str:
    """The hash's key; tests give each run and worker its own (their cache's key prefix)."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:duly:tallies" if prefix else "duly:tallies"


@functools.cache
def client() -> redis.Redis:
    # redis-py's pool opens new connections in a forked child, so one client per process is safe.
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def field(name: str, labels: dict[str, str]) -> str:
    return SEPARATOR.join([name, *(f"{label}={value}" for label, value in sorted(labels.items()))])


def add(name: str, count: int = 1, **labels: str) -> None:
    """Add ``count`` to counter ``name`` with ``labels``, now (inside ``gathered``, when it ends)."""
    if (gathering := _gathering.get()) is not None:
        gathering[field(name, labels)] += count
        return
    _send(Counter({field(name, labels): count}))


@contextlib.contextmanager
def gathered():
    """Send the counts added meanwhile at the end, in one round trip (a batch of bookings adds hundreds)."""
    token = _gathering.set(Counter())
    try:
        yield
    finally:
        counts = _gathering.get()
        _gathering.reset(token)
        _send(counts)


def _send(counts: Counter) -> None:
    if not counts:
        return
    try:
        pipeline = client().pipeline(transaction=False)
        for name, count in counts.items():
            pipeline.hincrby(key(), name, count)
        pipeline.execute()
    except redis.RedisError as error:
        logger.warning("%s counts could not be added: %s", len(counts), error)


def add_on_commit(name: str, count: int = 1, **labels: str) -> None:
    """Add to counter ``name`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(functools.partial(add, name, count, **labels))


def read() -> Iterator[tuple[str, dict[str, str], int]]:
    """Every counter: its name, labels and count. Raises ``redis.RedisError`` when Redis does not answer."""
    for raw, count in client().hgetall(key()).items():
        name, *pairs = raw.decode().split(SEPARATOR)
        yield name, dict(pair.split("=", 1) for pair in pairs), int(count)

