"""The API's documentation page renders in Chromium from Duly's own files, under its Content-Security-Policy."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_staff_login import SCREENSHOTS


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_lists_the_operations_with_no_refused_asset(live_server, page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"{error.name}: {error.message}"))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)

    page.goto(f"{live_server.url}/api/v1/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Duly")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/transactions").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "api_docs.png", full_page=False)
    assert problems == []
