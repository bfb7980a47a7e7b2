"""The metrics page for Prometheus (``/metrics/``), for the operator's monitoring, not for tenants.

* **Requests and queries** (django-prometheus): requests per view, method and status with their
  latencies, and the database statements with theirs, of this web container's processes (uWSGI's
  processes share them through ``PROMETHEUS_MULTIPROC_DIR``).
* **Duly's own**, the same from every web container: webhook deliveries received and processed (by
  outcome), how many wait and how long the oldest has; messages by state and how long the oldest due one
  has waited, and messages sent or failed; gateway payments pending past the janitor's threshold;
  postings per classification; the Celery queues' depths. The counts are ``core.tallies`` in Redis; the
  rest is read when Prometheus asks: one statement over partial indexes of what waits, and Redis
  ``LLEN``s. Nothing is labelled by tenant (Duly's pages show a tenant's own), so the page costs the
  same however many tenants there are.

Protected by a token (``DULY_METRICS_TOKEN``, sent as ``Authorization: Bearer …``). Without one it is
open in development and tests and absent (404) in production. See docs/operations.md, "Metrics".
"""

from __future__ import annotations

import hmac
from datetime import datetime

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView
from django_prometheus.middleware import PrometheusAfterMiddleware
from django_prometheus.utils import Time
from django_scopes import scopes_disabled
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core import tallies
from gateways.models import WebhookDelivery, WebhookOutcome
from notifications.models import DeliveryState, Notification
from payments.models import GatewayPayment, PaymentStatus

# Counters kept in ``core.tallies``: name → what it counts.
COUNTERS = {
    "webhook_deliveries_received": "Webhook deliveries stored (duplicates and refused ones are not counted).",
    "webhook_deliveries_processed": "Webhook deliveries processed, by outcome (processed, ignored, failed).",
    "messages": "Messages whose delivery ended, by channel and outcome (sent, failed).",
    "postings": "Ledger transactions posted, by classification.",
}
WAITING_STATES = (DeliveryState.PENDING, DeliveryState.DEFERRED, DeliveryState.SENDING, DeliveryState.FAILED)
UNSETTLED = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)


def _waiting_sql() -> str:
    deliveries, messages = WebhookDelivery._meta.db_table, Notification._meta.db_table
    payments = GatewayPayment._meta.db_table
    return f"""
        SELECT (SELECT count(*) FROM {deliveries} WHERE outcome = %(received)s),
               (SELECT min(received_at) FROM {deliveries} WHERE outcome = %(received)s),
               (SELECT coalesce(json_object_agg(state, n), '{{}}') FROM (
                    SELECT state, count(*) AS n FROM {messages} WHERE state <> %(sent)s GROUP BY state) AS s),
               (SELECT min(due_at) FROM {messages}
                 WHERE state IN (%(pending)s, %(deferred)s) AND due_at <= %(now)s),
               (SELECT count(*) FROM {payments} WHERE status = ANY(%(unsettled)s) AND updated_at < %(stale_before)s)
    """  # noqa: S608 (the names are the models' tables)


def _age(since: datetime | None, now: datetime) -> float:
    return max((now - since).total_seconds(), 0.0) if since else 0.0


def queues() -> dict[str, str]:
    """Each Celery queue Duly's workers take, by the name it is shown with."""
    default = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    return {"celery": default} | dict(settings.DULY_QUEUES)


class DulyCollector:
    """Duly's own metrics, read when collected."""

    def __init__(self, now: datetime | None = None):
        self.now = now or timezone.now()

    def collect(self):
        yield from self._counters()
        yield from self._waiting()
        yield from self._queues()

    def _counters(self):
        families = {name: None for name in COUNTERS}
        for name, labels, count in sorted(tallies.read(), key=lambda tally: tally[0]):
            if name not in families:
                continue
            if families[name] is None:
                families[name] = CounterMetricFamily(f"duly_{name}", COUNTERS[name], labels=sorted(labels))
            families[name].add_metric([labels[label] for label in sorted(labels)], count)
        for name, family in families.items():
            yield family or CounterMetricFamily(f"duly_{name}", COUNTERS[name], value=0)

    def _waiting(self):
        with scopes_disabled(), connection.cursor() as cursor:  # every tenant's, as the connecting role
            cursor.execute(_waiting_sql(), {
                "received": WebhookOutcome.RECEIVED, "sent": DeliveryState.SENT, "pending": DeliveryState.PENDING,
                "deferred": DeliveryState.DEFERRED, "now": self.now, "unsettled": list(UNSETTLED),
                "stale_before": self.now - settings.PAYMENTS_STALE_AFTER,
            })
            unprocessed, oldest_delivery, messages, oldest_due, stale = cursor.fetchone()
        yield GaugeMetricFamily("duly_webhook_deliveries_unprocessed",
                                "Webhook deliveries stored and not yet processed.", value=unprocessed)
        yield GaugeMetricFamily("duly_webhook_oldest_unprocessed_seconds",
                                "How long the oldest unprocessed webhook delivery has waited (0: none waits).",
                                value=_age(oldest_delivery, self.now))
        by_state = GaugeMetricFamily("duly_outbox_messages", "Messages not sent, by state.", labels=["state"])
        for state in WAITING_STATES:
            by_state.add_metric([state], messages.get(state, 0))
        yield by_state
        yield GaugeMetricFamily("duly_outbox_oldest_due_seconds",
                                "How long the oldest message due to be sent has waited (0: none is due).",
                                value=_age(oldest_due, self.now))
        yield GaugeMetricFamily(
            "duly_payments_pending_stale",
            f"Gateway payments pending or processing for over {settings.PAYMENTS_STALE_AFTER} (the janitor's "
            "threshold).", value=stale)

    def _queues(self):
        named = queues()
        pipeline = tallies.client().pipeline(transaction=False)
        for queue in named.values():
            pipeline.llen(queue)
        depths = pipeline.execute()
        family = GaugeMetricFamily("duly_celery_queue_depth", "Tasks waiting in each Celery queue.", labels=["queue"])
        for shown, depth in zip(named, depths, strict=True):
            family.add_metric([shown], depth)
        yield family


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    """django-prometheus's per-view middleware, for a request whose ``Content-Length`` is not a number too:
    it is counted without its size (the library would raise, and answer 500), and the view refuses it."""

    def process_request(self, request):
        try:
            super().process_request(request)
        except ValueError:
            request.prometheus_after_middleware_event = Time()


def _authorized(request: HttpRequest) -> bool | None:
    """Whether the request may read the page; ``None`` where there is no page (production without a token)."""
    token = settings.DULY_METRICS_TOKEN
    if not token:
        return None if settings.PRODUCTION else True
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode())


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    authorized = _authorized(request)
    if authorized is None:  # a plain answer: the site's error page needs what a probe does not
        return HttpResponse("Not found.\n", status=404, content_type="text/plain; charset=utf-8")
    if not authorized:
        return HttpResponse("A metrics token is needed: Authorization: Bearer <DULY_METRICS_TOKEN>.\n", status=401,
                            content_type="text/plain; charset=utf-8", headers={"WWW-Authenticate": "Bearer"})
    duly = CollectorRegistry(auto_describe=False)
    duly.register(DulyCollector())
    try:
        # django-prometheus's own export: this process's figures, or with PROMETHEUS_MULTIPROC_DIR all uWSGI's
        body = ExportToDjangoView(request).content + generate_latest(duly)
    except (redis.RedisError, DatabaseError) as error:  # a service's state, which readiness reports too
        return HttpResponse(f"Not available: {type(error).__name__}\n", status=503,
                            content_type="text/plain; charset=utf-8")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
