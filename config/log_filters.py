"""Logging filters for Duly's log output (wired in ``config.settings.LOGGING``)."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A refused request (4xx) is one line in the log: Django attaches the exception that refused it
    (``PermissionDenied``, a bad request), whose traceback says nothing about a fault. Server errors keep
    theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
