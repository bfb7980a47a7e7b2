"""A tenant's administrators run its staff: invitations by email, roles, deactivation, all audited; never
another tenant's staff."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from crm import staff as staff_services
from crm.models import AuditEntry, Role, User
from tests.conftest import logged_in
from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def admin(tenant):
    return UserFactory(tenant=tenant, username="ada", first_name="Ada", last_name="Admin", email="ada@acme.example",
                       role_keys=[Role.STAFF, Role.ADMINISTRATOR])


@pytest.fixture
def admin_client(admin):
    return logged_in(admin)


def invite(client, email="carla@acme.example", roles=(Role.STAFF, Role.CAN_TAKE_PAYMENT)):
    return client.post(reverse("crm:staff_invite"), {"email": email, "first_name": "Carla", "last_name": "Cruz",
                                                     "roles": list(roles)})


def link_in(message) -> str:
    return re.search(r"http://testserver(/invitation/\S+/)", message.body).group(1)


def audited(tenant) -> list[tuple[str, str]]:
    with scopes_disabled():
        return list(AuditEntry.objects.filter(tenant=tenant).order_by("id").values_list("action", "subject"))


@pytest.mark.django_db
class TestInvitations:
    def test_an_invited_colleague_chooses_a_password_from_the_emailed_link_and_signs_in(
            self, admin_client, tenant, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = invite(admin_client)

        assert response.status_code == 302
        [message] = mail.outbox
        assert message.to == ["carla@acme.example"] and message.subject == "Acme Brokers invites you to Duly"
        assert "Ada Admin invites you to work in Acme Brokers's Duly." in message.body
        carla = User.objects.get(username="carla@acme.example")
        assert (carla.tenant, staff_services.status(carla)) == (tenant, staff_services.INVITED)
        assert staff_services.role_keys(User.objects.prefetch_related("groups__role").get(pk=carla.pk)) == [
            Role.STAFF, Role.CAN_TAKE_PAYMENT]

        page = Client().get(link_in(message))
        done = Client().post(link_in(message), {"new_password1": "a long new passphrase 9",
                                                "new_password2": "a long new passphrase 9"})

        assert page.status_code == 200 and "Welcome to Acme Brokers on Duly." in page.text
        assert done.status_code == 302 and done.url == reverse("login")
        signed_in = Client().post(reverse("login"), {"username": "carla@acme.example",
                                                     "password": "a long new passphrase 9"})
        assert signed_in.status_code == 302
        assert audited(tenant) == [("staff.invited", "carla@acme.example"), ("staff.joined", "carla@acme.example")]

    def test_the_link_works_once(self, admin_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            invite(admin_client)
        link = link_in(mail.outbox[0])
        Client().post(link, {"new_password1": "a long new passphrase 9", "new_password2": "a long new passphrase 9"})

        again = Client().get(link)

        assert again.status_code == 404 and "This link no longer works" in again.text

    def test_an_expired_link_is_refused(self, admin_client, settings, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            invite(admin_client)
        settings.PASSWORD_RESET_TIMEOUT = -1  # every link is past its time

        assert Client().get(link_in(mail.outbox[0])).status_code == 404

    def test_a_weak_password_is_refused_naming_the_field(self, admin_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            invite(admin_client)

        response = Client().post(link_in(mail.outbox[0]), {"new_password1": "123", "new_password2": "123"})

        assert response.status_code == 422
        assert "This password is too short." in response.text
        assert not User.objects.get(username="carla@acme.example").has_usable_password()

    def test_an_address_with_an_account_is_refused_and_nothing_is_sent(self, admin_client, admin):
        response = invite(admin_client, email="ADA@acme.example")

        assert response.status_code == 422
        assert "Email: ada@acme.example already has a Duly account." in response.text
        assert mail.outbox == [] and User.objects.count() == 1

    def test_a_resent_invitation_carries_a_working_link(self, admin_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            invite(admin_client)
        carla = User.objects.get(username="carla@acme.example")
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("crm:staff_resend", args=[carla.pk]))

        assert len(mail.outbox) == 2
        assert Client().get(link_in(mail.outbox[1])).status_code == 200


@pytest.mark.django_db
class TestRolesAndDeactivation:
    def test_roles_change_and_the_change_is_audited(self, admin_client, tenant, staff):
        response = admin_client.post(reverse("crm:staff_roles", args=[staff.pk]),
                                     {"roles": [Role.STAFF, Role.CAN_TAKE_PAYMENT]})

        assert response.status_code == 302
        staff = User.objects.get(pk=staff.pk)
        assert staff.has_perm("crm.take_payment")
        with scopes_disabled():
            entry = AuditEntry.objects.get(action="staff.roles")
        assert (entry.subject, entry.detail) == (staff.email or staff.username, "Staff → Staff, Can take payment")

    def test_the_last_administrator_keeps_the_role(self, admin_client, admin):
        response = admin_client.post(reverse("crm:staff_roles", args=[admin.pk]), {"roles": [Role.STAFF]})

        assert response.status_code == 422
        assert ("Roles: The organisation needs an active administrator: give another person the Administrator role "
                "first.") in response.text
        assert User.objects.get(pk=admin.pk).has_perm("crm.administer")

    def test_deactivating_ends_the_persons_sessions_at_once(self, admin_client, staff):
        their_session = logged_in(staff)
        assert their_session.get(reverse("reports:home")).status_code == 200

        response = admin_client.post(reverse("crm:staff_deactivate", args=[staff.pk]), follow=True)

        assert "is deactivated: their sessions have ended." in response.text
        assert their_session.get(reverse("reports:home")).url.startswith(reverse("login"))
        refused = Client().post(reverse("login"), {"username": staff.username, "password": PASSWORD})
        assert refused.status_code == 200 and "_auth_user_id" not in refused.wsgi_request.session

        admin_client.post(reverse("crm:staff_reactivate", args=[staff.pk]))
        assert Client().post(reverse("login"), {"username": staff.username, "password": PASSWORD}).status_code == 302

    def test_an_administrator_cannot_deactivate_themself(self, admin_client, admin):
        response = admin_client.post(reverse("crm:staff_deactivate", args=[admin.pk]), follow=True)

        assert "You cannot deactivate yourself." in response.text
        assert User.objects.get(pk=admin.pk).is_active


@pytest.mark.django_db
class TestWhoMay:
    @pytest.mark.parametrize("name", ["crm:staff_list", "crm:staff_invite", "crm:audit_log"])
    def test_staff_without_the_administrator_role_are_refused(self, staff_client, name):
        assert staff_client.get(reverse(name)).status_code == 403

    def test_staff_without_the_role_cannot_invite(self, staff_client):
        assert invite(staff_client).status_code == 403
        assert not User.objects.filter(username="carla@acme.example").exists()

    def test_another_tenants_administrator_finds_none_of_our_staff(self, staff, other_tenant):
        theirs = logged_in(UserFactory(tenant=other_tenant, username="otto", role_keys=[Role.ADMINISTRATOR]))

        for name in ("crm:staff_detail", "crm:staff_roles", "crm:staff_deactivate", "crm:staff_reactivate",
                     "crm:staff_resend"):
            method = theirs.get if name == "crm:staff_detail" else theirs.post
            assert method(reverse(name, args=[staff.pk]), {"roles": [Role.ADMINISTRATOR]}).status_code == 404
        assert User.objects.get(pk=staff.pk).is_active and not User.objects.get(pk=staff.pk).has_perm(
            "crm.administer")
        assert staff.username not in theirs.get(reverse("crm:staff_list")).text

    def test_an_invitation_is_always_into_the_administrators_own_tenant(self, other_tenant):
        theirs = logged_in(UserFactory(tenant=other_tenant, username="otto", role_keys=[Role.ADMINISTRATOR]))

        invite(theirs, email="newbie@globex.example")

        assert User.objects.get(username="newbie@globex.example").tenant == other_tenant
