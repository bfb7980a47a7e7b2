"""Error reports to Sentry (sentry-sdk), when ``SENTRY_DSN`` is set.

An unhandled error in a request or a task, and every log record at ERROR, is sent with what it was about
(the request id, tenant, user or API key, and task of ``core.logs``, as tags) and without what must never
leave Duly: no request bodies, cookies, users' details or a frame's local variables (``send_default_pii``
off, the SDK's own scrubber on), and every string of the report passed through ``core.redact`` (card numbers, links'
tokens, keys, secrets).
"""

from __future__ import annotations

import os

from core import logs
from core.redact import redact


def _redacted(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


def before_send(event: dict, hint: dict) -> dict:
    """Tag the report with the log context and redact every string in it."""
    tags = event.setdefault("tags", {})
    for name, value in logs.current().items():
        if value is not None:
            tags[name] = str(value)
    return _redacted(event)


def start(*, environment: str) -> bool:
    """Send error reports to ``SENTRY_DSN``, if set; says whether they are."""
    dsn = os.environ.get("SENTRY_DSN", "")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn, environment=environment, release=os.environ.get("DULY_RELEASE") or None,
        integrations=[DjangoIntegration(), CeleryIntegration()], send_default_pii=False, max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        before_send=before_send, before_send_transaction=before_send,
    )
    return True
