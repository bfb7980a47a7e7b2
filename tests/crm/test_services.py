import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from crm import services
from crm.models import ApiKey, Customer, Role, Tenant, User
from tests.factories import CustomerFactory


@pytest.mark.django_db
class TestCreateTenant:
    def test_creates_the_tenant_with_its_five_roles_and_their_permissions(self):
        tenant = services.create_tenant(name="Acme Brokers", slug="acme", country="GB", default_currency="GBP")

        with scope(tenant=tenant):
            roles = {role.key: role for role in Role.objects.select_related("group")}
        assert sorted(roles) == sorted(key for key, _ in Role.KEYS)
        def codenames(key):
            return set(roles[key].group.permissions.values_list("codename", flat=True))

        assert codenames(Role.STAFF) == set()
        assert codenames(Role.CAN_TAKE_PAYMENT) == {"take_payment"}
        assert codenames(Role.PAYMENT_MANAGER) == {"manage_payments"}
        assert codenames(Role.ACCOUNTANT) == {"post_transactions"}
        assert codenames(Role.MANAGER) == {"see_manager_comments"}
        assert roles[Role.STAFF].group.name == "acme: Staff"

    def test_refuses_a_duplicate_slug_and_saves_nothing(self):
        services.create_tenant(name="Acme Brokers", slug="acme", country="GB")
        groups_before = Group.objects.count()

        with pytest.raises(ValidationError) as raised:
            services.create_tenant(name="Acme Two", slug="acme", country="GB")

        assert raised.value.message_dict == {"slug": ["The slug “acme” is already used by another tenant."]}
        assert Tenant.objects.count() == 1
        assert Group.objects.count() == groups_before

    def test_names_every_bad_field(self):
        with pytest.raises(ValidationError) as raised:
            services.create_tenant(name=" ", slug="Not A Slug", country="XX", time_zone="Mars/Olympus",
                                   default_currency="XYZ")

        assert set(raised.value.message_dict) == {"name", "slug", "country", "time_zone", "default_currency"}
        assert raised.value.message_dict["name"] == ["Name is required."]
        assert Tenant.objects.count() == 0


@pytest.mark.django_db
class TestCreateStaffUser:
    def test_gives_the_user_exactly_the_roles_asked_for(self, tenant):
        user = services.create_staff_user(
            tenant=tenant, username="carol", email="carol@example.com", password="a-long-password",
            role_keys=[Role.STAFF, Role.CAN_TAKE_PAYMENT],
        )

        assert user.tenant == tenant
        assert user.has_perm("crm.take_payment") is True
        assert user.has_perm("crm.manage_payments") is False
        assert user.is_staff is False

    def test_refuses_a_taken_username_and_a_bad_email(self, tenant, staff):
        with pytest.raises(ValidationError) as raised:
            services.create_staff_user(tenant=tenant, username="alice", email="not-an-email", password="x" * 12)

        assert raised.value.message_dict == {
            "username": ["The username “alice” is taken."],
            "email": ["“not-an-email” is not a valid email address."],
        }
        assert User.objects.filter(username="alice").count() == 1

    def test_tenant_staff_can_never_be_django_admin_users(self, staff):
        from django.db import IntegrityError

        staff.is_staff = True
        with pytest.raises(IntegrityError):
            staff.save()


@pytest.mark.django_db
class TestCreateCustomer:
    def test_normalises_the_phone_to_e164_using_the_tenant_country(self, in_tenant, staff):
        customer = services.create_customer(tenant=in_tenant, actor=staff, data=services.CustomerData(
            name="  Harriet Holloway ", email="harriet@example.com", phone="07911 123456", country="gb",
        ))

        customer.refresh_from_db()
        assert customer.name == "Harriet Holloway"
        assert str(customer.phone) == "+447911123456"
        assert customer.country.code == "GB"
        assert customer.language == "en"
        assert customer.tenant == in_tenant

    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"name": "", "email": "a@b.com"}, "name", "Name is required."),
            ({"name": "Ann", "email": "ann@"}, "email", "“ann@” is not a valid email address."),
            (
                {"name": "Ann", "phone": "12345"},
                "phone",
                "“12345” is not a valid phone number; use the international form, e.g. +44 20 7946 0958.",
            ),
            ({"name": "Ann", "country": "ZZ"}, "country", "“ZZ” is not an ISO 3166 country code."),
            ({"name": "Ann", "language": "xx"}, "language", "Language must be one of en, es, fr, de, el."),
        ],
    )
    def test_refuses_bad_input_naming_the_field_and_saves_nothing(self, in_tenant, staff, fields, field, message):
        with pytest.raises(ValidationError) as raised:
            services.create_customer(tenant=in_tenant, actor=staff, data=services.CustomerData(**fields))

        assert raised.value.message_dict == {field: [message]}
        assert Customer.objects.count() == 0

    def test_records_who_created_it_in_the_audit_log(self, in_tenant, staff):
        customer = services.create_customer(tenant=in_tenant, actor=staff, data=services.CustomerData(name="Ann"))

        record = customer.history.get()
        assert record.history_type == "+"
        assert record.history_user == staff


@pytest.mark.django_db
class TestUpdateCustomer:
    def test_changes_only_the_given_fields_and_logs_the_change(self, in_tenant, staff, customer):
        services.update_customer(customer=customer, actor=staff,
                                 changes=services.CustomerChanges(email="new@example.com"))

        customer.refresh_from_db()
        assert customer.email == "new@example.com"
        assert customer.name == "Harriet Holloway"
        latest = customer.history.order_by("-history_id").first()
        assert latest.history_user == staff
        assert [change.field for change in latest.diff_against(latest.prev_record).changes] == ["email"]

    def test_a_bad_field_leaves_the_customer_unchanged(self, in_tenant, staff, customer):
        with pytest.raises(ValidationError):
            services.update_customer(customer=customer, actor=staff,
                                     changes=services.CustomerChanges(email="x@y.com", phone="not a phone"))

        customer.refresh_from_db()
        assert customer.email == "harriet@example.com"
        assert customer.history.count() == 1


@pytest.mark.django_db
class TestApiKeys:
    def test_stores_only_a_hash_and_authenticates_the_raw_key(self, tenant):
        api_key, raw_key = services.create_api_key(tenant=tenant, name="Zapier")
        now = timezone.now()

        assert raw_key.startswith(f"duly_{api_key.prefix}_")
        assert raw_key.split("_", 2)[2] not in api_key.hashed_key
        assert services.authenticate_api_key(raw_key=raw_key, at=now) == api_key
        api_key.refresh_from_db()
        assert api_key.last_used_at == now

    @pytest.mark.parametrize("mangle", [lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"), lambda k: "x" + k,
                                        lambda k: "", lambda k: "duly_nope"])
    def test_refuses_a_wrong_key(self, tenant, mangle):
        _, raw_key = services.create_api_key(tenant=tenant, name="Zapier")

        assert services.authenticate_api_key(raw_key=mangle(raw_key), at=timezone.now()) is None

    def test_refuses_a_revoked_key(self, tenant):
        api_key, raw_key = services.create_api_key(tenant=tenant, name="Zapier")
        revoked_at = timezone.now()

        services.revoke_api_key(api_key=api_key, at=revoked_at)
        services.revoke_api_key(api_key=api_key, at=timezone.now())

        assert services.authenticate_api_key(raw_key=raw_key, at=timezone.now()) is None
        assert ApiKey.objects.get(pk=api_key.pk).revoked_at == revoked_at

    def test_refuses_a_key_without_a_name(self, tenant):
        with pytest.raises(ValidationError) as raised:
            services.create_api_key(tenant=tenant, name="  ")

        assert raised.value.message_dict == {"name": ["Name is required."]}
        assert ApiKey.objects.count() == 0


@pytest.mark.django_db
class TestScoping:
    def test_a_tenant_owned_query_outside_any_scope_raises(self, customer):
        from django_scopes import ScopeError

        with pytest.raises(ScopeError):
            list(Customer.objects.all())

    def test_a_scope_shows_only_its_tenants_rows(self, tenant, other_tenant):
        CustomerFactory(tenant=tenant, name="Mine")
        CustomerFactory(tenant=other_tenant, name="Theirs")

        with scope(tenant=tenant):
            names = list(Customer.objects.values_list("name", flat=True))
        with scopes_disabled():
            total = Customer.objects.count()

        assert names == ["Mine"]
        assert total == 2
