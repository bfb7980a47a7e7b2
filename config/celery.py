"""The Celery application. Tasks are found in each app's ``tasks`` module; the beat schedule lives in
``config.beat``. Each worker's heartbeat is remembered for the readiness check (``config.health``). A task's
log lines name it, its tenant and the request that enqueued it (``core.logs``)."""

import os

from celery import Celery
from celery.signals import before_task_publish, heartbeat_sent, task_postrun, task_prerun

from config.beat import SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("duly")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = SCHEDULE
app.autodiscover_tasks()


@heartbeat_sent.connect
def _heartbeat(**kwargs):
    from config.health import record_heartbeat

    record_heartbeat()


REQUEST_ID_HEADER = "duly_request_id"


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    from core import logs

    if headers is not None and (request_id := logs.current().get("request_id")):
        headers[REQUEST_ID_HEADER] = request_id


@task_prerun.connect
def _bind_task(task_id=None, task=None, kwargs=None, **other):
    from core import logs

    request_id = getattr(task.request, REQUEST_ID_HEADER, None)  # a message header is an attribute of the request
    task.request.duly_log_context = logs.bind(task_id=task_id, tenant_id=(kwargs or {}).get("tenant_id"),
                                              request_id=request_id)


@task_postrun.connect
def _unbind_task(task=None, **other):
    from core import logs

    if (token := getattr(task.request, "duly_log_context", None)) is not None:
        logs.unbind(token)
