"""Loaded first (`-p tests.environment` in pyproject), before pytest-django reads the settings."""

import os

# Settings read these at import time.
os.environ.setdefault("DULY_ENV", "test")
# Playwright's sync API runs an event loop in the test thread; Django's ORM calls there are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
