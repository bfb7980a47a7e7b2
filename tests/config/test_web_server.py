"""Duly under uWSGI with ``uwsgi.ini``, the way the Docker image serves it: what a client sees of
the server's own settings (the answers' framing, the size of the headers it reads), and what its two
processes must agree on (the count of failed sign-ins, kept in the database)."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django_scopes import scopes_disabled

from gateways.models import WebhookDelivery, WebhookOutcome
from tests.factories import PASSWORD, UserFactory
from tests.faults.processes import ROOT, RedisServer, WebServer
from tests.gateways.test_inbox import new_stripe_account, signed, stripe_event, url


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


def test_the_ini_starts_two_processes_per_core_plus_one():
    uwsgi = Path(sys.executable).with_name("uwsgi")
    asked = subprocess.run([uwsgi, "--ini", "uwsgi.ini", "--get", "processes"], cwd=ROOT, capture_output=True,
                           text=True, check=True, timeout=60)

    assert asked.stdout == f"{2 * os.cpu_count() + 1}\n"


def test_a_delivery_is_answered_with_its_length_and_the_connection_closed(transactional_db, tenant, web):
    account = new_stripe_account(tenant)
    body = stripe_event(event_id="evt_served")
    request = (
        f"POST {url(account)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Stripe-Signature: {signed(body)['HTTP_STRIPE_SIGNATURE']}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    with socket.create_connection(("127.0.0.1", web.port), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):  # the server closes the connection: recv returns b""
            answer += chunk

    head, _, content = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:])}
    assert lines[0] == "HTTP/1.1 200 OK"
    assert content == b'{"received": true, "duplicate": false}'
    assert headers["content-length"] == str(len(content))
    assert headers["connection"] == "close"
    with scopes_disabled():
        assert list(WebhookDelivery.objects.values_list("event_id", "outcome")) == [
            ("evt_served", WebhookOutcome.RECEIVED)]


def test_a_page_is_served_with_sixteen_kib_of_cookies(web):
    cookies = "; ".join(f"c{n}={'x' * 1000}" for n in range(16))

    response = httpx.get(f"{web.url}/accounts/login/", headers={"Cookie": cookies}, timeout=30)

    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in response.text
    assert response.headers["Content-Length"] == str(len(response.content))


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
