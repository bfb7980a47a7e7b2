import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, CustomerFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestStaffLogin:
    def test_staff_log_in_search_the_customer_list_and_open_a_customer_file(self, live_server, page, staff, tenant,
                                                                          other_tenant):
        CustomerFactory(tenant=tenant, name="Harriet Holloway", email="harriet@example.com", city="London")
        CustomerFactory(tenant=tenant, name="Ivan Ilic", email="ivan@example.com", city="Leeds")
        CustomerFactory(tenant=other_tenant, name="Oscar Other")

        page.goto(f"{live_server.url}/")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        page.get_by_label("Username").fill(staff.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

        # The staff home first: today's work, each figure a link to its list.
        expect(page.get_by_role("heading", name="Today")).to_be_visible()
        expect(page.locator("#today-counts a")).to_have_count(4)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "staff_home_1280.png", full_page=True)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
        expect(page.get_by_role("heading", name="Customers")).to_be_visible()
        rows = page.locator("#customer-rows tbody tr")
        expect(rows).to_have_count(2)
        expect(page.get_by_text("Oscar Other")).to_have_count(0)

        page.get_by_role("searchbox", name="Search customers").fill("leeds")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Ivan Ilic")
        expect(page).to_have_url(re.compile(r"\?q=leeds"))

        page.get_by_role("link", name="Ivan Ilic").click()
        expect(page.get_by_role("heading", name="Ivan Ilic", level=1)).to_be_visible()
        expect(page.locator("#panel-details")).to_contain_text("ivan@example.com")
        expect(page.locator("#panel-history")).to_contain_text("Created")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "customer_file.png", full_page=True)

    def test_a_wrong_password_is_refused_with_a_message(self, live_server, page, staff):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(staff.username)
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()

        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
