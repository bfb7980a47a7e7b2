"""Guessing pay-link tokens is rate-limited per client address, and the count lives in Redis, so every
web process (and every machine behind the load balancer) counts against the same limit."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.test import Client

from core import throttle
from tests.security.world import build_world

ROOT = Path(__file__).resolve().parents[2]


def another_process(code: str) -> str:
    """Run ``code`` in a separate Python process with Duly's settings on the same Redis (and database)."""
    db = connection.settings_dict
    url = (f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@{quote(db['HOST'] or '', safe='')}"
           f"{':' + str(db['PORT']) if db['PORT'] else ''}/{db['NAME']}")
    env = {**os.environ, "DULY_ENV": "test", "DJANGO_SETTINGS_MODULE": "config.settings",
           "REDIS_URL": django_settings.REDIS_URL, "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def client_address():
    """A client address of this test alone, so that nothing else counts against it."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    throttle.reset(key=f"pay:{address}")
    yield address
    throttle.reset(key=f"pay:{address}")


class TestTheLimiterIsShared:
    def test_the_cache_is_redis(self):
        assert django_settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        assert django_settings.CACHES["default"]["LOCATION"] == django_settings.REDIS_URL
        assert django_settings.REDIS_URL.startswith("redis://")

    def test_two_cache_clients_count_the_same_hits(self):
        key = f"shared-{uuid.uuid4().hex}"
        first, second = caches.create_connection("default"), caches.create_connection("default")
        assert first is not second

        first.add(f"throttle:{key}", 0, timeout=60)
        counts = [first.incr(f"throttle:{key}"), second.incr(f"throttle:{key}"), first.incr(f"throttle:{key}")]

        assert counts == [1, 2, 3]
        throttle.reset(key=key)

    @pytest.mark.django_db
    def test_hits_in_another_process_count_here(self):
        key = f"process-{uuid.uuid4().hex}"

        there = another_process(
            "from core import throttle\n"
            f"print([throttle.allow(key={key!r}, limit=3, window_seconds=60) for _ in range(3)])"
        )
        here = throttle.allow(key=key, limit=3, window_seconds=60)

        assert (there, here) == ("[True, True, True]", False)
        throttle.reset(key=key)


@pytest.mark.django_db
class TestGuessingPayLinks:
    def test_the_limit_is_a_setting(self):
        assert django_settings.PAY_LOOKUPS_PER_MINUTE == 30

    def test_guesses_get_404_until_the_limit_then_429(self, settings, client_address):
        settings.PAY_LOOKUPS_PER_MINUTE = 5
        guesser = Client(REMOTE_ADDR=client_address)

        statuses = [guesser.get(f"/pay/{uuid.uuid4().hex}{uuid.uuid4().hex}/").status_code for _ in range(7)]

        assert statuses == [404] * 5 + [429] * 2

    def test_once_limited_even_a_real_token_waits_and_other_clients_do_not(self, settings, tenant, client_address):
        world = build_world(tenant)
        settings.PAY_LOOKUPS_PER_MINUTE = 3
        guesser, bystander = Client(REMOTE_ADDR=client_address), Client(REMOTE_ADDR=f"{client_address}9")
        throttle.reset(key=f"pay:{client_address}9")
        for _ in range(3):
            guesser.get("/pay/invoice/not-a-token/")

        limited = guesser.get(f"/pay/{world.request_token}/")
        other = bystander.get(f"/pay/{world.request_token}/")

        assert limited.status_code == 429
        assert "Too many attempts. Wait a minute and try again." in limited.text
        assert limited["Cache-Control"] == "no-store" and limited["Referrer-Policy"] == "no-referrer"
        assert other.status_code == 200
        throttle.reset(key=f"pay:{client_address}9")

    def test_guesses_made_through_another_web_process_count_too(self, settings, client_address):
        settings.PAY_LOOKUPS_PER_MINUTE = 4

        another_process(
            "from django.test import Client\n"
            f"c = Client(REMOTE_ADDR={client_address!r})\n"
            "print([c.get('/pay/guess-%d/' % i).status_code for i in range(4)])"
        )
        here = Client(REMOTE_ADDR=client_address).get("/pay/one-more-guess/")

        assert here.status_code == 429
