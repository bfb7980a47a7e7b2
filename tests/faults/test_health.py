"""The health checks docker-compose runs, against the embedded servers: uWSGI as the image serves it
(``bin/serve``), a real worker named as ``docker-compose.yml`` names it, and a Redis of the test's own.
Stopping Redis turns readiness red within seconds, liveness stays green, and readiness is green again once
Redis is back and the worker has sent its heartbeat again. The commands are read from ``docker-compose.yml``
itself. One server serves the metrics check too: starting uWSGI and a worker takes seconds."""

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.processes import ROOT, RedisServer, WebServer, Worker
from tests.helpers import wait_for

pytestmark = pytest.mark.worker
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
WORKERS = ("worker", "webhooks", "notifications")
TOKEN = "metrics-test-token"


def node_name(service: str) -> str:
    """The ``-n`` a worker service is started with (``default@%h``)."""
    command = COMPOSE[service]["command"].split()
    after = command[command.index("worker"):]  # not nice's own -n
    return after[after.index("-n") + 1]


def healthcheck(service: str, *, web=None, env=None) -> subprocess.CompletedProcess:
    """Run ``service``'s health check as docker-compose would, here: the web's address is the test server's."""
    kind, *command = COMPOSE[service]["healthcheck"]["test"]
    if kind == "CMD-SHELL":
        command = ["sh", "-c", command[0].replace("$$", "$")]
    if web is not None:
        command = [part.replace("http://127.0.0.1:8000", web.url) for part in command]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def site(transactional_db):
    redis = RedisServer().start()
    web = WebServer(redis.url, workers=2, DULY_METRICS_TOKEN=TOKEN)
    worker = Worker(redis.url, heartbeat=True, name=node_name("worker"))
    try:
        web.start()
        worker.start()
        yield redis, web, worker
    finally:
        worker.stop()
        web.stop()
        redis.close()


def probe(web, name):
    response = httpx.get(f"{web.url}/health/{name}/?format=json", timeout=10)
    return response.status_code, response.json()


def served(web) -> float:
    """How many ``/health/live/`` requests the server's metrics say its processes served, together."""
    response = httpx.get(f"{web.url}/metrics/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    response.raise_for_status()
    return next((sample.value for family in text_string_to_metric_families(response.text) for sample in family.samples
                 if sample.name == "django_http_requests_latency_seconds_by_view_method_count"
                 and sample.labels == {"view": "health_live", "method": "GET"}), 0)


def test_the_containers_health_checks_follow_redis_and_liveness_does_not(site):
    redis, web, worker = site
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "ALLOWED_HOSTS": "localhost,duly.example.com"}
    wait_for(lambda: probe(web, "ready")[0] == 200, timeout=30, what="readiness once the worker beats")
    passed = healthcheck("web", web=web, env=env)
    pinged = healthcheck("worker", env={**worker.env, "PATH": env["PATH"], "HOSTNAME": socket.gethostname()})

    redis.stop()
    stopped = time.monotonic()
    wait_for(lambda: probe(web, "ready")[0] == 503, timeout=10, what="readiness to turn red")
    red_after = time.monotonic() - stopped
    status, checks = probe(web, "ready")
    failed = healthcheck("web", web=web, env=env)
    wrong_host = healthcheck("web", web=web, env={**env, "ALLOWED_HOSTS": "elsewhere.example.com"})
    live = probe(web, "live")

    redis.start()
    started = time.monotonic()
    wait_for(lambda: probe(web, "ready")[0] == 200, timeout=60, what="readiness to turn green again")
    green_after = time.monotonic() - started

    url = f"{web.url}/health/ready/"
    assert (status, checks["WorkerHeartbeat()"]) == (503, "Unavailable: The workers' heartbeat cannot be read")
    assert [name for name, state in checks.items() if state != "OK"] == [
        next(name for name in checks if name.startswith("Redis(")), "WorkerHeartbeat()"]
    assert live == (200, {})
    assert passed.returncode == 0
    assert (failed.returncode, failed.stderr.strip()) == (1, f"{url}: HTTP Error 503: Service Unavailable")
    assert (wrong_host.returncode, wrong_host.stderr.strip()) == (1, f"{url}: HTTP Error 400: Bad Request")
    assert (pinged.returncode, pinged.stdout.count("pong")) == (0, 1), pinged.stdout + pinged.stderr
    assert red_after < 5
    assert green_after < 30
    print(f"red after {red_after:.1f} s, green again after {green_after:.1f} s")


def test_each_worker_s_health_check_pings_the_name_it_is_started_with():
    for service in WORKERS:
        queue = node_name(service).split("@")[0]
        assert COMPOSE[service]["healthcheck"]["test"] == [
            "CMD-SHELL", f"celery -A config inspect ping --timeout 5 -d {queue}@$$HOSTNAME"]
        assert node_name(service) == f"{queue}@%h"


def test_every_web_process_s_requests_are_counted_together(site):
    """The request figures of uWSGI's processes, added up (``PROMETHEUS_MULTIPROC_DIR``, set by ``bin/serve``);
    only the token's bearer reads them."""
    _, web, _ = site
    before = served(web)
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda _: httpx.get(f"{web.url}/health/live/", timeout=10).status_code, range(20)))

    assert codes == [200] * 20
    assert served(web) - before == 20
    assert httpx.get(f"{web.url}/metrics/", timeout=10).status_code == 401


def test_beat_s_health_check_sees_the_schedule_it_keeps(tmp_path):
    """Beat, started as docker-compose starts it, with its schedule under the test's own directory."""
    env = {**os.environ, "DULY_ENV": "test", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    command = COMPOSE["beat"]["command"].replace("/tmp", str(tmp_path)).split()
    kind, check = COMPOSE["beat"]["healthcheck"]["test"]
    check = ["sh", "-c", check.replace("/tmp", str(tmp_path))]

    before = subprocess.run(check, capture_output=True, timeout=10).returncode
    beat = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: subprocess.run(check, capture_output=True, timeout=10).returncode == 0, timeout=120,
                 what="beat to keep its schedule")
    finally:
        beat.terminate()
        beat.wait(timeout=30)

    assert (kind, before) == ("CMD-SHELL", 1)
