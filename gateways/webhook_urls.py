"""The webhook inbox's URL on its own. ``config.webhook_handler`` resolves deliveries against it alone,
rather than walking every page's pattern first; ``gateways.urls`` includes it for the rest of Duly.
A path under ``/webhooks/`` that names no endpoint gets the same JSON 404 as an unknown account: the
pages' not-found page links to pages this URLconf does not know."""

from django.urls import path

from gateways import webhooks

urlpatterns = [
    path("webhooks/<str:provider>/<uuid:token>/", webhooks.receive, name="webhook"),
]

handler404 = webhooks.not_found
