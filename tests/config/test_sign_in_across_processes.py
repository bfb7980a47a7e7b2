"""Guessing passwords against two web processes (uWSGI, as served): the failed sign-ins are counted in the
database, so the limit holds whichever process answers."""

import re

import httpx
import pytest

from tests.factories import PASSWORD, UserFactory
from tests.faults.processes import RedisServer, WebServer


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        redis = RedisServer().start()
        server = WebServer(redis.url, workers=2)
        try:
            server.start()
            yield server
        finally:
            server.stop()
            redis.close()


def sign_in(web, username: str, password: str) -> int:
    """One sign-in on a new connection, as a separate browser would (uWSGI closes each connection)."""
    with httpx.Client(base_url=web.url, timeout=30) as client:
        form = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        return client.post("/accounts/login/", data={"csrfmiddlewaretoken": token, "username": username,
                                                     "password": password}).status_code


def test_twenty_wrong_passwords_are_refused_after_the_limit_from_two_processes(transactional_db, tenant, web):
    user = UserFactory(tenant=tenant, username="guessed")

    answers = [sign_in(web, user.username, f"guess-{number}") for number in range(20)]

    assert answers == [200] * 9 + [429] * 11
    assert sign_in(web, user.username, PASSWORD) == 429
