"""Assertions and helpers shared by every app's tests."""

from __future__ import annotations

import json
import os

from django.test import Client


def assert_404_for_other_tenant(
    client: Client, url: str, *, method: str = "get", data: dict | None = None, as_json: bool = False,
    headers: dict | None = None,
) -> None:
    """Assert that ``client`` — logged in as another tenant's staff, or holding another tenant's API
    key — gets 404 for ``url``, exactly as for an id that does not exist.

    Every page and endpoint that reaches a tenant-owned object gets this test.
    """
    kwargs: dict = {"headers": headers or {}}
    if data is not None:
        if as_json:
            kwargs.update(data=json.dumps(data), content_type="application/json")
        else:
            kwargs["data"] = data
    response = getattr(client, method.lower())(url, **kwargs)
    assert response.status_code == 404, f"{method.upper()} {url} answered {response.status_code}, not 404"


def at_once(work, *, times: int, timeout: float = 30.0) -> None:
    """Run ``work`` in ``times`` threads started together, and wait for them all."""
    import threading

    threads = [threading.Thread(target=work) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)


def wait_for(probe, *, timeout: float = 30.0, interval: float = 0.1, what: str = ""):
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what + ': ' if what else ''}nothing after {timeout} s")


def log_in(page, live_server, user) -> None:
    """Sign ``user`` in through the login page in the browser, which lands on Today; then open the customer
    list from the main navigation."""
    from playwright.sync_api import expect

    from tests.factories import PASSWORD

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()


def examples(count: int) -> int:
    """How many examples a property-based test tries: ``count`` in ``make test``; in ``make check``
    (``DULY_QUICK_PROPERTIES`` set), the developer's loop, a fifth of them and at least three — the same
    derandomized examples, fewer of them."""
    if not os.environ.get("DULY_QUICK_PROPERTIES"):
        return count
    return max(count // 5, min(count, 3))


def clear_tallies() -> None:
    """Forget every count of the metrics page (``core.tallies``) this test run kept."""
    from core import tallies

    tallies.client().delete(tallies.key())


def every_queue() -> list[str]:
    """The test run's queues: the default one and each kind's (``settings.DULY_QUEUES``), for a worker that
    takes everything."""
    from config.metrics import queues

    return list(queues().values())
