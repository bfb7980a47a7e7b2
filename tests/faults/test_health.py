"""Readiness under uWSGI with a real worker, on a Redis of the test's own: stopping Redis turns readiness
red within seconds, liveness stays green, and readiness is green again once Redis is back and the worker
has sent its heartbeat again. The containers' probe (``bin/probe``) follows it."""

import os
import subprocess
import time

import httpx
import pytest

from tests.faults.processes import ROOT, RedisServer, WebServer, Worker
from tests.helpers import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def site(transactional_db):
    redis = RedisServer().start()
    web, worker = WebServer(redis.url, workers=1), Worker(redis.url, heartbeat=True)
    try:
        web.start()
        worker.start()
        yield redis, web
    finally:
        worker.stop()
        web.stop()
        redis.close()


def probe(web, name):
    response = httpx.get(f"{web.url}/health/{name}/?format=json", timeout=10)
    return response.status_code, response.json()


def test_readiness_and_the_containers_probe_follow_redis_and_liveness_does_not(site):
    """One server for both (starting uWSGI and a worker takes seconds): readiness and ``bin/probe``, which
    docker-compose.yml runs as the web container's health check."""
    redis, web = site
    probe_ready = [str(ROOT / "bin" / "probe"), f"{web.url}/health/ready/"]
    env = {"PATH": os.environ["PATH"], "ALLOWED_HOSTS": "localhost,duly.example.com"}
    wait_for(lambda: probe(web, "ready")[0] == 200, timeout=30, what="readiness once the worker beats")
    passed = subprocess.run(probe_ready, env=env)

    redis.stop()
    stopped = time.monotonic()
    wait_for(lambda: probe(web, "ready")[0] == 503, timeout=10, what="readiness to turn red")
    red_after = time.monotonic() - stopped
    status, checks = probe(web, "ready")
    failed = subprocess.run(probe_ready, env=env, capture_output=True, text=True)
    wrong_host = subprocess.run(probe_ready, env={**env, "ALLOWED_HOSTS": "elsewhere.example.com"},
                                capture_output=True, text=True)
    live = probe(web, "live")

    redis.start()
    started = time.monotonic()
    wait_for(lambda: probe(web, "ready")[0] == 200, timeout=60, what="readiness to turn green again")
    green_after = time.monotonic() - started

    assert (status, checks["WorkerHeartbeat()"]) == (503, "Unavailable: The workers' heartbeat cannot be read")
    assert [name for name, state in checks.items() if state != "OK"] == [
        next(name for name in checks if name.startswith("Redis(")), "WorkerHeartbeat()"]
    assert live == (200, {})
    assert passed.returncode == 0
    assert (failed.returncode, failed.stderr.strip()) == (1, f"{probe_ready[1]}: HTTP Error 503: Service Unavailable")
    assert (wrong_host.returncode, wrong_host.stderr.strip()) == (1, f"{probe_ready[1]}: HTTP Error 400: Bad Request")
    assert red_after < 5
    assert green_after < 30
    print(f"red after {red_after:.1f} s, green again after {green_after:.1f} s")
