"""The Celery application. Tasks are found in each app's ``tasks`` module; the beat schedule lives in
``config.beat``. Each worker's heartbeat is remembered for the readiness check (``config.health``)."""

import os

from celery import Celery
from celery.signals import heartbeat_sent

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
