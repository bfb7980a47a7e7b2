"""Assertions shared by every app's tests."""

from __future__ import annotations

import json

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
