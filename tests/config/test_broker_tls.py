"""The TLS Celery's broker is given: a ``rediss://`` URL verifies the server's certificate."""

import ssl

from tests.config.test_settings import PRODUCTION, run

SHOW = "import django; django.setup(); from config.celery import app; print(app.connection_for_write().ssl)"


def broker_tls(redis_url: str) -> str:
    result = run(["-c", SHOW], {**PRODUCTION, "REDIS_URL": redis_url,
                                "DATABASE_URL": "postgresql://duly@db.example/duly"})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_rediss_url_verifies_the_servers_certificate():
    assert broker_tls("rediss://:secret@cache.example:6380/0") == str({"ssl_cert_reqs": ssl.CERT_REQUIRED})


def test_a_redis_url_has_no_tls():
    assert broker_tls("redis://cache.example:6379/0") == "False"


def test_options_in_the_url_take_precedence():
    assert broker_tls("rediss://cache.example:6380/0?ssl_cert_reqs=none") == str({"ssl_cert_reqs": ssl.CERT_NONE})
