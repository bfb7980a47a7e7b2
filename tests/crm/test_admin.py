import re

import pytest
from django.urls import reverse
from django_scopes import scope

from crm.models import ApiKey, AuditEntry, Role, Tenant, User
from tests.factories import UserFactory


@pytest.mark.django_db
class TestTenantAdmin:
    def test_support_creates_a_tenant_with_its_default_roles(self, support_client):
        response = support_client.post(
            reverse("admin:crm_tenant_add"),
            {"name": "Initech", "slug": "initech", "country": "US", "time_zone": "America/New_York",
             "default_currency": "USD", "locale": "en"},
        )

        assert response.status_code == 302
        tenant = Tenant.objects.get(slug="initech")
        with scope(tenant=tenant):
            assert Role.objects.count() == len(Role.KEYS)

    def test_support_invites_a_new_tenants_first_administrator(self, support_client, support_user, mailoutbox,
                                                                django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            support_client.post(reverse("admin:crm_tenant_add"), {
                "name": "Initech", "slug": "initech", "country": "US", "time_zone": "America/New_York",
                "default_currency": "USD", "locale": "en", "invite_administrator": "boss@initech.example"})

        tenant = Tenant.objects.get(slug="initech")
        boss = User.objects.get(username="boss@initech.example")
        [message] = mailoutbox
        assert (boss.tenant, boss.has_usable_password()) == (tenant, False)
        assert boss.has_perm("crm.administer")
        assert message.to == ["boss@initech.example"] and "/invitation/" in message.body
        with scope(tenant=tenant):
            assert set(AuditEntry.objects.values_list("action", "actor")) == {
                ("staff.invited", support_user.pk), ("support.added", support_user.pk)}

    def test_a_duplicate_slug_is_refused_with_a_message_and_nothing_is_saved(self, support_client, tenant):
        response = support_client.post(
            reverse("admin:crm_tenant_add"),
            {"name": "Other Acme", "slug": "acme", "country": "GB", "time_zone": "UTC", "default_currency": "GBP",
             "locale": "en"},
        )

        assert response.status_code == 200
        assert "Tenant with this Slug already exists." in response.text
        assert Tenant.objects.filter(slug="acme").count() == 1

    def test_tenant_staff_cannot_reach_the_admin(self, staff_client):
        response = staff_client.get(reverse("admin:index"))

        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))

    def test_support_sees_customers_of_every_tenant(self, support_client, customer, other_customer):
        response = support_client.get(reverse("admin:crm_customer_changelist"))

        assert response.status_code == 200
        assert "Harriet Holloway" in response.text
        assert "Oscar Other" in response.text


@pytest.mark.django_db
class TestApiKeyAdmin:
    def test_shows_the_new_key_once_and_stores_only_its_hash(self, support_client, tenant):
        response = support_client.post(
            reverse("admin:crm_apikey_add"), {"tenant": tenant.pk, "name": "Zapier"}, follow=True
        )

        shown = re.search(r"The API key is (duly_\S+) ", response.text).group(1)
        api_key = ApiKey.objects.get()
        assert shown.startswith(f"duly_{api_key.prefix}_")
        assert shown not in support_client.get(reverse("admin:crm_apikey_change", args=[api_key.pk])).text
        assert shown.split("_", 2)[2] not in api_key.hashed_key

    def test_the_revoke_action_revokes(self, support_client, tenant):
        from crm import services

        api_key, _ = services.create_api_key(tenant=tenant, name="Zapier")

        support_client.post(
            reverse("admin:crm_apikey_changelist"), {"action": "revoke", "_selected_action": [api_key.pk]}
        )

        api_key.refresh_from_db()
        assert api_key.revoked_at is not None


@pytest.mark.django_db
class TestUserAdmin:
    def test_offers_only_roles_of_the_users_own_tenant(self, support_client, tenant, other_tenant):
        user = UserFactory(tenant=tenant)

        response = support_client.get(reverse("admin:crm_user_change", args=[user.pk]))

        offered = {group.name for group in response.context["adminform"].form.fields["groups"].queryset}
        assert offered == {f"acme: {label}" for _, label in Role.KEYS}


@pytest.mark.django_db
class TestAdminIndex:
    def test_every_model_is_named_in_plain_english(self, support_client):
        page = support_client.get("/admin/").content.decode()

        assert ">Obligation settings<" in page and ">Notification settings<" in page
        assert "settingss" not in page


@pytest.mark.django_db
class TestSupportActionsAreInTheTenantsAuditLog:
    def test_a_change_to_a_tenants_customer_is_in_that_tenants_log(self, support_client, support_user, customer,
                                                                  other_tenant):
        page = support_client.get(reverse("admin:crm_customer_change", args=[customer.pk]))
        form = page.context["adminform"].form
        data = {name: form.initial.get(name) or "" for name in form.fields}
        support_client.post(reverse("admin:crm_customer_change", args=[customer.pk]),
                            {**data, "tenant": customer.tenant_id, "name": "Harriet H. Holloway", "language": "en"})

        with scope(tenant=customer.tenant):
            entry = AuditEntry.objects.get()
        assert (entry.action, entry.actor_id, entry.subject) == (
            "support.changed", support_user.pk, "customer: Harriet H. Holloway")
        assert "Name" in entry.detail
        with scope(tenant=other_tenant):
            assert not AuditEntry.objects.exists()

    def test_a_change_to_the_tenant_itself_is_in_its_log(self, support_client, tenant):
        support_client.post(reverse("admin:crm_tenant_change", args=[tenant.pk]), {
            "name": "Acme Brokers Ltd", "slug": "acme", "country": "GB", "time_zone": "Europe/London",
            "default_currency": "GBP", "locale": "en"})

        with scope(tenant=tenant):
            assert list(AuditEntry.objects.values_list("action", "subject")) == [
                ("support.changed", "tenant: Acme Brokers Ltd")]
