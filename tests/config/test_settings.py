import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = {"SECRET_KEY", "DULY_SECRETS_KEYS", "ALLOWED_HOSTS", "DULY_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in TEST_ONLY}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True, text=True, timeout=120,
    )


PRODUCTION = {"DULY_ENV": "production", "SECRET_KEY": "a-long-random-production-secret-" * 3,
              "ALLOWED_HOSTS": "duly.example", "DULY_SECRETS_KEYS": "k"}
SETUP = ["-c", "import django; django.setup(); print('started')"]


class TestProductionSettings:
    def test_refuse_to_start_while_a_secret_is_missing(self):
        result = run(SETUP, {"DULY_ENV": "production", "SECRET_KEY": "s" * 50})

        assert result.returncode != 0
        assert "Production settings need these environment variables: ALLOWED_HOSTS, DULY_SECRETS_KEYS" in result.stderr

    def test_start_when_everything_is_given(self):
        result = run(SETUP, PRODUCTION)

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "started"

    def test_the_health_probes_and_prometheus_are_answered_over_plain_http(self):
        """A load balancer's or a container's probe, and Prometheus, ask over HTTP; everything else is sent to
        HTTPS. (The metrics page asks for its token; without one set it is absent: tests/config/test_metrics.py.)"""
        show = ("import django; django.setup(); from django.test import Client; c = Client(SERVER_NAME='duly.example');"
                "print(c.get('/health/live/').status_code, c.get('/accounts/login/').status_code,"
                " c.get('/metrics/').status_code)")

        result = run(["-c", show], {**PRODUCTION, "DULY_METRICS_TOKEN": "t0ken-for-prometheus"})

        assert (result.returncode, result.stdout.strip()) == (0, "200 301 401"), result.stderr

    def test_logs_are_json_lines_without_secrets_and_text_in_development(self):
        log = ("import django; django.setup(); import logging;"
               "logging.getLogger('duly.test').warning('Paid by %s', '4242 4242 4242 4242')")

        production = run(["-c", log], PRODUCTION)
        development = run(["-c", log], {"DATABASE_URL": "postgres://unused/duly", "REDIS_URL": "redis://unused"})

        line = json.loads(production.stderr.strip().splitlines()[-1])
        assert {key: line[key] for key in ("level", "logger", "message", "request_id", "tenant_id")} == {
            "level": "WARNING", "logger": "duly.test", "message": "Paid by [card number]", "request_id": None,
            "tenant_id": None}
        assert development.stderr.strip().splitlines()[-1] == "WARNING duly.test: Paid by [card number]"

    def test_pass_the_deploy_checks(self):
        result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)

        assert result.returncode == 0, result.stdout + result.stderr


class TestBrokerTls:
    """The TLS Celery's broker is given: a ``rediss://`` URL verifies the server's certificate."""

    SHOW = "import django; django.setup(); from config.celery import app; print(app.connection_for_write().ssl)"

    def broker_tls(self, redis_url: str) -> str:
        result = run(["-c", self.SHOW], {**PRODUCTION, "REDIS_URL": redis_url,
                                         "DATABASE_URL": "postgresql://duly@db.example/duly"})
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def test_a_rediss_url_verifies_the_servers_certificate(self):
        assert self.broker_tls("rediss://:secret@cache.example:6380/0") == str({"ssl_cert_reqs": ssl.CERT_REQUIRED})

    def test_a_redis_url_has_no_tls(self):
        assert self.broker_tls("redis://cache.example:6379/0") == "False"

    def test_options_in_the_url_take_precedence(self):
        url = "rediss://cache.example:6380/0?ssl_cert_reqs=none"
        assert self.broker_tls(url) == str({"ssl_cert_reqs": ssl.CERT_NONE})


class TestImportingStartsNoServer:
    """Starting embedded PostgreSQL and Redis is ``config.embedded``'s job alone."""

    def test_without_the_urls_the_settings_refuse_with_the_command_to_run_and_start_nothing(self, tmp_path):
        clean = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}

        result = subprocess.run(
            [sys.executable, "-c", "import config.settings"], cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**clean, "DULY_ENV": "development", "DULY_VAR_DIR": str(tmp_path)},
        )

        assert result.returncode != 0
        assert "DATABASE_URL is not set. Run Duly through make (make run, make test)" in result.stderr
        assert list(tmp_path.iterdir()) == []
