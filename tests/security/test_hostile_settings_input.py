"""Every field of the Settings pages, the staff member's own settings and the second factor, posted a
hostile value: each is refused with a page (never a 500) or taken as the text it is, and nothing is half
saved."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from crm.models import ApiKey, AuditEntry, Role, User
from gateways.models import GatewayAccount
from tests.conftest import logged_in
from tests.factories import UserFactory

HOSTILE = ["a\x00b", "x" * 10_000, "<script>alert(1)</script>", "💸" * 300]
FORMS = {
    "crm:my_settings": ["language"],
    "crm:staff_invite": ["email", "first_name", "last_name", "roles"],
    "crm:organisation": ["name", "address", "country", "time_zone", "locale", "require_two_factor"],
    "crm:api_key_create": ["name", "scopes", "expires_on"],
    "payments:gateway_connect": ["provider", "secret", "purposes", "currencies", "payment_method",
                                 "refund_method", "publishable_key", "base_url"],
    "crm:two_factor_setup": ["code"],
}


@pytest.fixture
def admin(tenant):
    return UserFactory(tenant=tenant, username="ada", role_keys=[Role.STAFF, Role.ADMINISTRATOR])


def counts():
    with scopes_disabled():
        return (User.objects.count(), ApiKey.objects.count(), GatewayAccount.objects.count(),
                AuditEntry.objects.count())


@pytest.mark.django_db
@pytest.mark.parametrize("name", FORMS)
def test_hostile_values_are_refused_with_a_page_and_nothing_is_half_saved(admin, tenant, name):
    client = logged_in(admin)
    client.raise_request_exception = False
    before = counts()

    answers = {(field, value): client.post(reverse(name), {field: value}).status_code
               for field in FORMS[name] for value in HOSTILE}

    assert {answer for answer in answers.values()} <= {200, 422}, answers
    assert counts() == before
    tenant.refresh_from_db()
    assert tenant.name == "Acme Brokers"


@pytest.mark.django_db
def test_hostile_roles_for_a_colleague_are_refused_naming_the_field(admin, staff):
    client = logged_in(admin)

    for value in [*HOSTILE, "superuser"]:
        response = client.post(reverse("crm:staff_roles", args=[staff.pk]), {"roles": [value]})
        assert response.status_code == 422
        assert "Roles: Select a valid choice." in response.text
    assert not User.objects.get(pk=staff.pk).has_perm("crm.administer")


@pytest.mark.django_db
def test_a_hostile_code_after_the_password_is_refused(staff):
    staff.two_factor = True
    staff.save(update_fields=["two_factor"])
    client = logged_in(staff)  # past the second factor already: sign in again without it
    client.logout()
    client.force_login(staff)
    client.raise_request_exception = False

    answers = {value: client.post(reverse("two_factor_verify"), {"code": value, "next": value}).status_code
               for value in HOSTILE}

    assert set(answers.values()) == {422}, answers
