import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled

from crm.models import Customer
from tests.factories import CustomerFactory
from tests.helpers import assert_404_for_other_tenant


def detail_url(customer):
    return reverse("crm:customer_detail", args=[customer.pk])


def edit_url(customer):
    return reverse("crm:customer_update", args=[customer.pk])


VALID_FORM = {"name": "Ivan Ilic", "email": "ivan@example.com", "phone": "+44 7911 123457", "address_line1": "",
              "address_line2": "", "city": "Leeds", "postcode": "LS1 4AP", "country": "GB", "language": "en",
              "notes": ""}


@pytest.mark.django_db
class TestLoginRequired:
    @pytest.mark.parametrize("name", ["crm:customer_list", "crm:customer_create"])
    def test_anonymous_visitors_are_sent_to_log_in(self, client, name):
        url = reverse(name)

        response = client.get(url)

        assert response.status_code == 302
        assert response.url == f"{reverse('login')}?next={url}"

    def test_anonymous_visitors_are_sent_to_log_in_from_a_customer_file(self, client, customer):
        response = client.get(detail_url(customer))

        assert response.status_code == 302

    def test_platform_support_is_refused_tenant_pages(self, support_client):
        response = support_client.get(reverse("crm:customer_list"))

        assert response.status_code == 403


@pytest.mark.django_db
class TestCustomerList:
    def test_lists_only_the_tenants_customers_in_name_order(self, staff_client, tenant, other_tenant):
        CustomerFactory(tenant=tenant, name="Zed")
        CustomerFactory(tenant=tenant, name="Abe")
        CustomerFactory(tenant=other_tenant, name="Not Mine")

        response = staff_client.get(reverse("crm:customer_list"))

        assert [c.name for c in response.context["page"]] == ["Abe", "Zed"]
        assert "Not Mine" not in response.text

    def test_search_matches_name_email_phone_and_city(self, staff_client, tenant):
        CustomerFactory(tenant=tenant, name="Harriet Holloway", email="h@example.com", city="London")
        CustomerFactory(tenant=tenant, name="Ivan Ilic", email="ivan@kiln.example", city="Leeds")

        by_email = staff_client.get(reverse("crm:customer_list"), {"q": "kiln"})
        by_city = staff_client.get(reverse("crm:customer_list"), {"q": "london"})

        assert [c.name for c in by_email.context["page"]] == ["Ivan Ilic"]
        assert [c.name for c in by_city.context["page"]] == ["Harriet Holloway"]

    def test_htmx_search_renders_only_the_rows(self, staff_client, tenant):
        CustomerFactory(tenant=tenant, name="Ivan Ilic")

        response = staff_client.get(reverse("crm:customer_list"), {"q": "ivan"}, headers={"HX-Request": "true"})

        assert next(t.name for t in response.templates) == "crm/_customer_rows.html"
        assert "<html" not in response.text
        assert "Ivan Ilic" in response.text

    def test_paginates_by_25(self, staff_client, tenant):
        CustomerFactory.create_batch(30, tenant=tenant)

        second = staff_client.get(reverse("crm:customer_list"), {"page": 2})

        assert len(second.context["page"]) == 5
        assert "Page 2 of 2 · 30 in all" in second.text

    def test_the_query_count_does_not_grow_with_the_page(self, staff_client, tenant):
        CustomerFactory.create_batch(3, tenant=tenant)
        with CaptureQueriesContext(connection) as few:
            staff_client.get(reverse("crm:customer_list"))
        CustomerFactory.create_batch(22, tenant=tenant)

        with CaptureQueriesContext(connection) as many:
            staff_client.get(reverse("crm:customer_list"))

        assert len(many) == len(few) == 5  # session, user+tenant, count, page, and nothing per row


@pytest.mark.django_db
class TestCustomerFile:
    def test_shows_the_details_and_the_audit_log(self, staff_client, staff, customer):
        staff_client.post(edit_url(customer), {**VALID_FORM, "name": customer.name, "email": "new@example.com"})

        response = staff_client.get(detail_url(customer))

        assert response.status_code == 200
        assert "Harriet Holloway" in response.text
        history = response.context["history"]
        assert [entry["kind"] for entry in history] == ["Changed", "Created"]
        assert history[0]["user"] == staff
        assert {"field": "email", "old": "harriet@example.com", "new": "new@example.com"} in history[0]["changes"]
        assert "“harriet@example.com” → “new@example.com”" in response.text

    def test_the_query_count_does_not_grow_with_the_history(self, staff_client, customer):
        with CaptureQueriesContext(connection) as short:
            staff_client.get(detail_url(customer))
        for n in range(5):
            staff_client.post(edit_url(customer), {**VALID_FORM, "name": customer.name, "notes": f"note {n}"})

        with CaptureQueriesContext(connection) as long:
            staff_client.get(detail_url(customer))

        assert len(long) == len(short)

    def test_another_tenants_customer_is_not_found(self, other_client, customer):
        assert_404_for_other_tenant(other_client, detail_url(customer))
        assert_404_for_other_tenant(other_client, edit_url(customer))
        assert_404_for_other_tenant(other_client, edit_url(customer), method="post", data=VALID_FORM)

    def test_another_tenants_post_changes_nothing(self, other_client, customer):
        other_client.post(edit_url(customer), {**VALID_FORM, "name": "Hijacked"})

        customer.refresh_from_db()
        assert customer.name == "Harriet Holloway"

    def test_a_missing_customer_is_not_found(self, staff_client):
        assert staff_client.get("/customers/999999/").status_code == 404


@pytest.mark.django_db
class TestCustomerCreate:
    def test_creates_the_customer_and_opens_its_file(self, staff_client, tenant):
        response = staff_client.post(reverse("crm:customer_create"), VALID_FORM)

        with scopes_disabled():
            customer = Customer.objects.get()
        assert response.status_code == 302
        assert response.url == detail_url(customer)
        assert customer.tenant == tenant
        assert str(customer.phone) == "+447911123457"

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"name": ""}, "Name: This field is required."),
            ({"email": "ivan@"}, "Email: “ivan@” is not a valid email address."),
            ({"phone": "555"}, "Phone: “555” is not a valid phone number"),
        ],
    )
    def test_bad_input_names_the_field_and_saves_nothing(self, staff_client, change, message):
        response = staff_client.post(reverse("crm:customer_create"), {**VALID_FORM, **change})

        assert response.status_code == 200
        assert message in response.text
        assert "Nothing was saved" in response.text
        with scopes_disabled():
            assert Customer.objects.count() == 0

    def test_a_screen_reader_hears_each_fields_help_and_errors_with_it(self, staff_client):
        page = staff_client.post(reverse("crm:customer_create"), {**VALID_FORM, "phone": "555"}).text

        assert re.search(r'<input type="text" name="phone" [^>]*aria-describedby="id_phone_helptext id_phone-error"'
                         r'[^>]*aria-invalid="true"', page)
        assert '<small class="help" id="id_phone_helptext">' in page
        assert '<div id="id_phone-error"><p class="error">Phone: “555” is not a valid phone number' in page
        assert re.search(r'<input type="text" name="city" (?![^>]*aria-)[^>]*>', page)  # nothing to tell

    def test_every_staff_page_offers_to_skip_the_navigation(self, staff_client):
        page = staff_client.get(reverse("crm:customer_list")).text

        assert page.index('<a class="skip-link" href="#main">Skip to the content</a>') < page.index("<nav")
        assert '<main id="main" tabindex="-1">' in page
        assert '<div id="customer-rows" aria-live="polite">' in page  # the search's results are announced


@pytest.mark.django_db
class TestPasswordReset:
    def test_sends_a_reset_link_to_a_known_address(self, client, staff, mailoutbox):
        response = client.post(reverse("password_reset"), {"email": staff.email})

        assert response.status_code == 302
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == [staff.email]
        assert "/accounts/reset/" in mailoutbox[0].body
