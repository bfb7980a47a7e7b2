"""Test data. Factories derive ``tenant`` from their parent, so test data cannot mix tenants by accident."""

from contextlib import nullcontext

import factory
from django.contrib.auth.hashers import make_password
from django_scopes import scope, scopes_disabled

from crm import services
from crm.models import Customer, Role, Tenant, User

PASSWORD = "correct-horse-battery"


class RowFactory(factory.django.DjangoModelFactory):
    """Writes each row inside its own tenant's scope, as Duly would: row-level security refuses a row
    of another tenant than the scope's, whatever fixture scope the test has open around it."""

    class Meta:
        abstract = True

    @classmethod
    def _generate(cls, strategy, params):
        if strategy != factory.CREATE_STRATEGY:
            context = nullcontext()
        elif isinstance(params.get("tenant"), Tenant):
            context = scope(tenant=params["tenant"])
        else:
            context = scopes_disabled()
        with context:
            return super()._generate(strategy, params)


class TenantFactory(RowFactory):
    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    country = "GB"
    time_zone = "Europe/London"
    default_currency = "GBP"
    locale = "en"

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create:
            from django_scopes import scope

            with scope(tenant=self):
                services.ensure_default_roles(tenant=self)


class UserFactory(RowFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Sam"
    last_name = factory.Sequence(lambda n: f"Staff{n}")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))

    @factory.post_generation
    def role_keys(self, create, extracted, **kwargs):
        if create and self.tenant_id:
            services.set_roles(user=self, role_keys=extracted or [Role.STAFF])


class SupportUserFactory(UserFactory):
    tenant = None
    is_staff = True
    is_superuser = True


class CustomerFactory(RowFactory):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n:03d}")
    email = factory.LazyAttribute(lambda c: f"{c.name.lower().replace(' ', '.')}@example.com")
    phone = "+447911123456"
    city = "London"
    country = "GB"
    language = "en"
