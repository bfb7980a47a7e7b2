import pytest
from django.urls import reverse

from crm.models import User
from tests.conftest import logged_in
from tests.factories import UserFactory


@pytest.fixture
def spanish(tenant):
    tenant.locale = "es"
    tenant.save(update_fields=["locale"])
    return tenant


@pytest.mark.django_db
class TestAStaffMembersOwnLanguage:
    def test_staff_read_the_tenants_language_until_they_choose_their_own(self, spanish, staff, staff_client):
        colleague = logged_in(UserFactory(tenant=spanish, username="carmen"))

        response = staff_client.post(reverse("crm:my_settings"), {"language": "de"}, follow=True)

        assert response.redirect_chain == [(reverse("crm:my_settings"), 302)]
        assert '<html lang="de">' in response.text and "Ihre Einstellungen sind gespeichert." in response.text
        assert "<h1>Heute</h1>" in staff_client.get(reverse("reports:home")).text
        assert "<h1>Hoy</h1>" in colleague.get(reverse("reports:home")).text
        staff.refresh_from_db()
        assert staff.language == "de"

    def test_the_empty_choice_is_the_tenants_language_again(self, spanish, staff, staff_client):
        User.objects.filter(pk=staff.pk).update(language="de")

        page = staff_client.get(reverse("crm:my_settings")).text
        staff_client.post(reverse("crm:my_settings"), {"language": ""})

        assert '<option value="">Die der Organisation (Español)</option>' in page
        assert '<option value="de" selected>Deutsch</option>' in page
        assert "<h1>Hoy</h1>" in staff_client.get(reverse("reports:home")).text
        staff.refresh_from_db()
        assert staff.language == ""

    def test_a_language_duly_does_not_speak_is_refused_naming_the_field(self, tenant, staff, staff_client):
        response = staff_client.post(reverse("crm:my_settings"), {"language": "fr"})

        assert response.status_code == 200
        assert "Language: Select a valid choice. fr is not one of the available choices." in response.text
        staff.refresh_from_db()
        assert staff.language == ""

    def test_the_top_bar_names_the_staff_member_and_leads_to_their_settings(self, tenant, staff, staff_client):
        page = staff_client.get(reverse("reports:home")).text

        assert f'<a href="{reverse("crm:my_settings")}" title="Your settings">' in page
