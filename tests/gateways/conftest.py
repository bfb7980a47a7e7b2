"""Fixtures for the provider adapters: each runs against a local fake server (pytest-httpserver)."""

from __future__ import annotations

import json
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


def slow_json(payload: dict, status: int = 200):
    """A handler that answers only after the adapter has given up."""

    def handler(request: Request) -> Response:
        time.sleep(SLOW_ANSWER_SECONDS)
        return Response(json.dumps(payload), status=status, content_type="application/json")

    return handler


def closed_port_url() -> str:
    """A local address nothing listens on: the connection is refused at once."""
    return "http://127.0.0.1:9"
