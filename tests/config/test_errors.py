"""Error reports (``config.errors``) as Sentry receives them: a local server that speaks Sentry's envelope
protocol stands in for sentry.io. Duly runs in a process of its own, as production starts it with
``SENTRY_DSN``, so that the SDK's global state stays out of the tests."""

import gzip
import json

import brotli
from werkzeug import Response

from tests.config.test_settings import PRODUCTION, run

CRASH = """
import logging
import django
django.setup()
from core import logs
import sentry_sdk
logs.bind(request_id="req-5f2a9b1c", tenant_id=42, user_id=7)
logging.getLogger("payments").info("Opened /pay/kq3X9aZt0Qw/ for sk_test_51Secret")  # a breadcrumb
try:
    raise ValueError("Declined 4242 4242 4242 4242 at /receipts/Rc9tOkEn/ with whsec_Sign1ng")
except ValueError:
    logging.getLogger("payments").exception("Booking failed")
sentry_sdk.flush(timeout=10)
print("sent")
"""


def envelopes(httpserver) -> list[dict]:
    """Every event the fake Sentry received."""
    events = []
    for request, _ in httpserver.log:
        body = request.get_data()
        encoding = request.headers.get("Content-Encoding", "")
        body = {"gzip": gzip.decompress, "br": brotli.decompress, "": bytes}[encoding](body)
        lines = body.decode().splitlines()
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_an_error_is_reported_with_its_context_and_without_secrets(httpserver):
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_handler(
        lambda request: Response("{}", content_type="application/json"))
    dsn = f"http://publickey@127.0.0.1:{httpserver.port}/1"

    result = run(["-c", CRASH], {**PRODUCTION, "SENTRY_DSN": dsn, "DULY_RELEASE": "2026.12.6"})

    assert (result.returncode, result.stdout.strip()) == (0, "sent"), result.stderr
    [event] = envelopes(httpserver)
    sent = json.dumps(event)
    assert event["tags"] == {"request_id": "req-5f2a9b1c", "tenant_id": "42", "user_id": "7"}
    assert (event["environment"], event["release"], event["level"]) == ("production", "2026.12.6", "error")
    assert event["exception"]["values"][0]["value"] == (
        "Declined [card number] at /receipts/[redacted]/ with [redacted]")
    assert event["breadcrumbs"]["values"][-1]["message"] == "Opened /pay/[redacted]/ for [redacted]"
    for secret in ["4242 4242 4242 4242", "kq3X9aZt0Qw", "Rc9tOkEn", "sk_test_51Secret", "whsec_Sign1ng"]:
        assert secret not in sent


def test_without_a_dsn_nothing_is_sent(httpserver):
    result = run(["-c", CRASH], PRODUCTION)

    assert (result.returncode, result.stdout.strip()) == (0, "sent"), result.stderr
    assert httpserver.log == []
