"""A worker's log lines, as production writes them: JSON through Duly's logging (Celery does not take the
root logger over), each naming the task, its tenant and the request that enqueued it."""

import json

import pytest
from celery import current_app
from django.conf import settings

from core import logs
from tests.faults.processes import Worker
from tests.helpers import wait_for

pytestmark = pytest.mark.worker


def test_a_task_s_lines_name_it_its_tenant_and_the_request_that_enqueued_it(transactional_db, tenant, tmp_path):
    output = tmp_path / "worker.log"
    worker = Worker(settings.REDIS_URL, loglevel="INFO", log=output, DULY_LOG_FORMAT="json").start()
    try:
        token = logs.bind(request_id="req-7f3a9c2e")  # as a request that enqueues it
        try:
            result = current_app.send_task("payments.process_webhook_batch", kwargs={"tenant_id": tenant.pk})
        finally:
            logs.unbind(token)
        wait_for(lambda: "succeeded in" in output.read_text(), timeout=240, what="the task to run")
    finally:
        worker.stop()

    lines = [json.loads(line) for line in output.read_text().splitlines() if line.startswith("{")]
    [done] = [line for line in lines if line["message"].startswith("Task payments.process_webhook_batch[")
              and "succeeded in" in line["message"]]
    assert {key: done[key] for key in logs.FIELDS} == {
        "request_id": "req-7f3a9c2e", "tenant_id": tenant.pk, "user_id": None, "api_key_id": None,
        "task_id": result.id}
    assert (done["level"], done["logger"]) == ("INFO", "celery.app.trace")
