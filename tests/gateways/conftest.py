"""Fixtures for the provider adapters: each runs against a local fake server (pytest-httpserver)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from werkzeug import Request, Response

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
# A timeout short enough for the test suite, and an answer that comes after it.
SHORT_TIMEOUT = 0.5
SLOW_ANSWER_SECONDS = 1.0


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def base_url(httpserver) -> str:
    return httpserver.url_for("").rstrip("/")


_slow_in_flight = threading.Semaphore(0)
_slow_started = []


def slow_json(payload: dict, status: int = 200):
    """A handler that answers only after the adapter has given up."""

    def handler(request: Request) -> Response:
        _slow_started.append(1)
        try:
            time.sleep(SLOW_ANSWER_SECONDS)
            return Response(json.dumps(payload), status=status, content_type="application/json")
        finally:
            _slow_in_flight.release()

    return handler


@pytest.fixture(autouse=True)
def _slow_answers_finish_within_their_test(httpserver):
    """A slow answer outlives the adapter's timeout; wait for it, so the fake server logs it within
    the test that asked for it and not in the next one."""
    yield
    while _slow_started:
        _slow_started.pop()
        _slow_in_flight.acquire(timeout=SLOW_ANSWER_SECONDS * 5)
    time.sleep(0.05)


def closed_port_url() -> str:
    """A local address nothing listens on: the connection is refused at once."""
    return "http://127.0.0.1:9"
