"""Duly's log lines: who and what each is about, as JSON in production, never with a secret.

* **Context.** A request binds its id (the ``X-Request-ID`` it came with, if it is a plain token, else a
  new one; sent back in the answer's ``X-Request-ID``); the tenant scope adds the tenant and the user or
  API key (``crm.middleware``), the webhook inbox the delivery's tenant. A task enqueued meanwhile
  carries the request id to the worker, which binds the task's id and tenant (``config.celery``).
  ``ContextFilter`` puts them on every record: ``request_id``, ``tenant_id``, ``user_id``, ``api_key_id``,
  ``task_id`` (``null`` where there is none).
* **Formats.** ``JsonFormatter`` (python-json-logger) writes one JSON object a line: ``time``, ``level``,
  ``logger``, ``message``, the context and any ``extra``; ``TextFormatter`` a readable line for
  development. ``DULY_LOG_FORMAT`` picks (``json`` by default in production).
* **Never a secret.** Both pass the whole formatted line, traceback included, through ``core.redact``.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from django.utils.log import log_response
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from core.redact import redact

FIELDS = ("request_id", "tenant_id", "user_id", "api_key_id", "task_id")
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("duly_log_context", default=None)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def bind(**values) -> contextvars.Token:
    """Start a context (a request, a task) with ``values``; ``unbind`` the token it returns to end it."""
    return _context.set(dict(values))


def unbind(token: contextvars.Token) -> None:
    _context.reset(token)


def add(**values) -> None:
    """Add to the current context (nothing outside one)."""
    current = _context.get()
    if current is not None:
        current.update(values)


def current() -> dict:
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Puts the context's fields on every record (``None`` for those not bound)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        return True


class JsonFormatter(BaseJsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", False)
        super().__init__("{asctime}{levelname}{name}{message}", *args, style="{", **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def request_id(header: str | None) -> str:
    """The id a request is logged with: the one its caller sent, if it is a plain token, else a new one."""
    return header if header and _REQUEST_ID.fullmatch(header) else uuid.uuid4().hex


class RequestContextMiddleware:
    """Binds the request's id for its log lines, and sends it back in ``X-Request-ID``. An answer of 400 or
    more is logged here, as Django's handler logs it (``log_response``, which then does not log it again):
    the handler's own line comes after every middleware, outside the request's context."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id(request.headers.get("X-Request-ID"))
        token = bind(request_id=request.request_id)
        try:
            response = self.get_response(request)
            if response.status_code >= 400:
                log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        finally:
            unbind(token)
        response.headers["X-Request-ID"] = request.request_id
        return response
