"""Administrators keep the organisation's details themselves, and may require a second factor of all staff."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled

from crm.models import AuditEntry, Role, Tenant
from tests.conftest import logged_in
from tests.factories import UserFactory

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
VALID = {"name": "Acme Brokers Ltd", "address": "1 Forge Yard\nManchester", "country": "GB",
         "time_zone": "Europe/London", "locale": "es", "require_two_factor": "on"}


@pytest.fixture
def admin_client(tenant):
    return logged_in(UserFactory(tenant=tenant, username="ada", role_keys=[Role.STAFF, Role.ADMINISTRATOR]))


@pytest.mark.django_db
class TestOrganisation:
    def test_an_administrator_changes_the_details_and_the_change_is_audited(self, admin_client, tenant):
        response = admin_client.post(reverse("crm:organisation"), {**VALID, "logo": SimpleUploadedFile(
            "logo.png", PNG, content_type="image/png")})

        assert response.status_code == 302
        tenant.refresh_from_db()
        assert (tenant.name, tenant.locale, tenant.require_two_factor, tenant.logo_type) == (
            "Acme Brokers Ltd", "es", True, "image/png")
        with scopes_disabled():
            entry = AuditEntry.objects.get(action="organisation.changed")
        assert entry.detail == "name, address, locale, require_two_factor, logo"

    def test_a_bad_time_zone_is_refused_naming_the_field_and_nothing_is_saved(self, admin_client, tenant):
        response = admin_client.post(reverse("crm:organisation"), {**VALID, "time_zone": "Mars/Olympus"})

        assert response.status_code == 422
        assert "Time zone: Select a valid choice." in response.text
        tenant.refresh_from_db()
        assert tenant.name == "Acme Brokers"

    def test_a_file_that_is_not_an_image_is_refused(self, admin_client, tenant):
        response = admin_client.post(reverse("crm:organisation"), {**VALID, "logo": SimpleUploadedFile(
            "logo.png", b"not an image", content_type="image/png")})

        assert response.status_code == 422
        assert "Logo: A logo is a PNG, JPEG or SVG image." in response.text
        tenant.refresh_from_db()
        assert tenant.name == "Acme Brokers" and not tenant.logo

    def test_staff_without_the_role_are_refused(self, staff_client):
        assert staff_client.get(reverse("crm:organisation")).status_code == 403

    def test_another_tenants_administrator_changes_only_their_own(self, tenant, other_tenant):
        theirs = logged_in(UserFactory(tenant=other_tenant, username="otto", role_keys=[Role.ADMINISTRATOR]))

        theirs.post(reverse("crm:organisation"), {**VALID, "name": "Globex Renamed"})

        assert Tenant.objects.get(pk=tenant.pk).name == "Acme Brokers"
        assert Tenant.objects.get(pk=other_tenant.pk).name == "Globex Renamed"
