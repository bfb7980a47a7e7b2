"""A new tenant's administrator, from the invitation in the development mailbox to a working API key, in the
browser and never in the Django admin: joins, invites a colleague, gives them "Can take payment", connects
the sandbox for GBP and makes a read-only API key that reads and may not write."""

import re

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from crm import services as crm_services
from crm import staff
from crm.models import Role, User
from gateways.models import GatewayAccount
from notifications.models import DevMail
from tests.browser.test_staff_login import SCREENSHOTS

PASSWORD = "a long and new passphrase 42"


def shot(page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"admin_{name}.png", full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_administrator_sets_up_the_tenant_in_the_browser(live_server, page, settings):
    settings.MAILERS = {"default": {"BACKEND": "notifications.mail.DevMailboxBackend", "OPTIONS": {}}}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tenant = crm_services.create_tenant(name="Initech", slug="initech", country="GB", time_zone="Europe/London",
                                        default_currency="GBP")
    with scope(tenant=tenant):  # as platform support's "Invite an administrator" does
        staff.invite(tenant=tenant, actor=None, at=timezone.now(), site=live_server.url,
                     data=staff.Invitation(email="boss@initech.example", first_name="Bea", last_name="Boss",
                                           role_keys=(Role.STAFF, Role.ADMINISTRATOR)))
    with scopes_disabled():
        invitation = DevMail.objects.get(to="boss@initech.example")
    link = re.search(r"http://\S+/invitation/\S+/", invitation.text).group(0)

    page.goto(link)
    page.get_by_label("New password *", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation *").fill(PASSWORD)
    shot(page, "1_invitation")
    page.get_by_role("button", name="Save password").click()
    page.get_by_label("Username").fill("boss@initech.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Staff", exact=True).click()
    page.get_by_role("link", name="Invite a colleague").click()
    page.get_by_label("Email").fill("carla@initech.example")
    page.get_by_label("First name").fill("Carla")
    shot(page, "2_invite")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("The invitation is on its way to carla@initech.example.")).to_be_visible()
    page.get_by_role("link", name="Carla", exact=True).click()
    page.get_by_label("Can take payment").check()
    page.get_by_role("button", name="Save the roles").click()
    expect(page.get_by_text("The roles of Carla are saved.")).to_be_visible()
    shot(page, "3_roles")

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Payment gateways").click()
    page.get_by_role("link", name="Connect a gateway").click()
    page.get_by_label("Provider *").select_option("sandbox")
    page.get_by_label("Secret (API key)").fill("sbx_secret_initech_0042")
    page.get_by_label("Currencies").fill("GBP")
    shot(page, "4_gateway")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("…0042")).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="New API key").click()
    page.get_by_label("Name *", exact=True).fill("Accounting sync")
    page.get_by_label("Customers: read").check()
    page.get_by_role("button", name="Create the key").click()
    raw_key = page.locator("#new-api-key").inner_text()
    shot(page, "5_api_key")

    headers = {"Authorization": f"Bearer {raw_key}"}
    read = page.request.get(f"{live_server.url}/api/v1/customers", headers=headers)
    written = page.request.post(f"{live_server.url}/api/v1/customers", headers=headers, data={"name": "Ivy"})

    assert read.status == 200 and read.json()["count"] == 0
    assert (written.status, written.json()["scope"]) == (403, "customers:write")
    carla = User.objects.get(username="carla@initech.example")
    assert carla.has_perm("crm.take_payment") and not carla.has_perm("crm.administer")
    with scopes_disabled():
        gateway = GatewayAccount.objects.get(tenant=tenant)
    assert (gateway.provider, gateway.currencies, gateway.secret_last4) == ("sandbox", ["GBP"], "0042")
