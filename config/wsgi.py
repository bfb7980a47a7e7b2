"""The WSGI application: Duly's pages and API through the full middleware stack, and
``/webhooks/`` through a lean one (``config.webhook_handler``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
pages = get_wsgi_application()

from config.webhook_handler import WEBHOOK_PREFIX, WebhookHandler  # noqa: E402 (needs Django set up)

webhooks = WebhookHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
        return webhooks(environ, start_response)
    return pages(environ, start_response)
