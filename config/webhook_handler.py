"""Django for ``/webhooks/`` without the pages' middleware stack.

A provider's delivery carries no session, cookie, CSRF token or browser to protect, and the stack
(sessions, authentication, CSRF, messages, CSP, htmx, the tenant scope, history) cost about 1.5 ms of
CPU per delivery, a third of what answering one costs (``make bench``, webhooks.ingestion). The
webhook view needs no tenant scope: the account its URL names gives the delivery its tenant, and
processing (a task) runs in that tenant's scope. The security middleware stays: it redirects plain
HTTP in production and sets ``nosniff`` and the referrer policy.

A delivery is resolved against the inbox's URL alone (``gateways.webhook_urls``) instead of walking
the pages' URL patterns first. The views, signals (``request_started``/``request_finished`` close
stale database connections) and the conversion of an exception into a 500 answer are Django's own.
"""

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_MIDDLEWARE = ("core.logs.RequestContextMiddleware", "django.middleware.security.SecurityMiddleware")
WEBHOOK_URLCONF = "gateways.webhook_urls"


class WebhookHandler(WSGIHandler):
    def get_response(self, request):
        request.urlconf = WEBHOOK_URLCONF  # Django's per-request URLconf, as a middleware would set it
        response = super().get_response(request)
        # The body's length, as the pages' CommonMiddleware gives it (the server sends none of its own).
        # CommonMiddleware itself would also check the host and the trailing slash: a tenth of a delivery.
        if not response.streaming:
            response.headers["Content-Length"] = str(len(response.content))
        return response

    def load_middleware(self, is_async=False):
        """What ``BaseHandler.load_middleware`` builds, for ``WEBHOOK_MIDDLEWARE`` instead of
        ``settings.MIDDLEWARE``: each is synchronous, with no view, template or exception hooks."""
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(WEBHOOK_MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler
