"""Row-level security: a query that forgot its tenant still sees only the scope's tenant (core.rls)."""

import pytest
from django.db import ProgrammingError, connection, transaction
from django_scopes import scope, scopes_disabled

from core.rls import APP_ROLE, RESTRICTIVE
from tests.factories import CustomerFactory


def one(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def customer_names():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM crm_customer ORDER BY name")  # deliberately unscoped
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def two_tenants(tenant, other_tenant):
    with scopes_disabled():
        CustomerFactory(tenant=tenant, name="Ada of Acme")
        CustomerFactory(tenant=other_tenant, name="Gus of Globex")
    return tenant, other_tenant


@pytest.mark.django_db
class TestPolicies:
    def test_every_tenant_table_is_enabled_forced_and_restricted(self):
        tenant_tables = {row[0] for row in _rows(
            "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
            " USING (table_schema, table_name) WHERE c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'"
            " AND c.table_schema = current_schema()")}
        protected = {row[0] for row in _rows(
            "SELECT c.relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname"
            " WHERE c.relrowsecurity AND c.relforcerowsecurity AND p.policyname = %s"
            " AND p.permissive = 'RESTRICTIVE' AND p.roles = %s", [RESTRICTIVE, "{duly_app}"])}

        assert {"crm_customer", "finance_financialtransaction", "finance_allocation", "payments_gatewaypayment",
                "payments_paymentrequest", "notifications_notification", "gateways_gatewayaccount"} <= tenant_tables
        assert tenant_tables - protected == set()

    def test_the_app_role_is_neither_superuser_nor_owner_nor_exempt(self):
        assert _rows("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = %s",
                     [APP_ROLE]) == [(False, False, False)]
        assert _rows("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [APP_ROLE]) == [(0,)]


def _rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.mark.django_db
class TestAForgottenScope:
    def test_an_unscoped_raw_query_sees_only_the_scopes_tenant(self, two_tenants):
        acme, globex = two_tenants

        with scope(tenant=acme):
            seen_by_acme = customer_names()
            role = one("SELECT current_user")
        with scope(tenant=globex):
            seen_by_globex = customer_names()

        assert seen_by_acme == ["Ada of Acme"]
        assert seen_by_globex == ["Gus of Globex"]
        assert role == APP_ROLE

    def test_outside_a_tenant_scope_the_platform_sees_every_tenant(self, two_tenants):
        with scopes_disabled():
            assert customer_names() == ["Ada of Acme", "Gus of Globex"]
            assert one("SELECT current_user") != APP_ROLE

    def test_writing_another_tenants_row_is_refused(self, two_tenants):
        acme, globex = two_tenants

        with scope(tenant=acme), pytest.raises(ProgrammingError, match="row-level security"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE crm_customer SET tenant_id = %s", [globex.pk])

        with scopes_disabled():
            assert customer_names() == ["Ada of Acme", "Gus of Globex"]
            assert one("SELECT count(*) FROM crm_customer WHERE tenant_id = %s", [acme.pk]) == 1

    def test_inserting_into_another_tenant_is_refused(self, two_tenants):
        acme, globex = two_tenants

        with scope(tenant=acme), pytest.raises(ProgrammingError, match="row-level security"):
            with transaction.atomic():
                CustomerFactory.build(tenant=globex, name="Smuggled").save()

        with scopes_disabled():
            assert customer_names() == ["Ada of Acme", "Gus of Globex"]

    def test_a_rolled_back_savepoint_does_not_leave_the_wrong_tenant(self, two_tenants):
        acme, globex = two_tenants

        with scope(tenant=acme):
            assert customer_names() == ["Ada of Acme"]
            try:
                with transaction.atomic(), scope(tenant=globex):
                    assert customer_names() == ["Gus of Globex"]
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
            with scope(tenant=globex):
                assert customer_names() == ["Gus of Globex"]
            assert customer_names() == ["Ada of Acme"]


@pytest.mark.django_db(transaction=True)
class TestNothingCarriesOver:
    def test_the_tenant_ends_with_its_transaction_on_a_reused_connection(self, two_tenants):
        acme, globex = two_tenants

        with scope(tenant=acme):
            inside = customer_names()  # autocommit: wrapped in its own transaction
            with transaction.atomic():
                in_a_transaction = customer_names()
        after = _rows("SELECT current_user, coalesce(current_setting('duly.tenant_id', true), '')")[0]
        with scope(tenant=globex):
            other = customer_names()

        assert (inside, in_a_transaction, other) == (["Ada of Acme"], ["Ada of Acme"], ["Gus of Globex"])
        assert after[0] != APP_ROLE and after[1] == ""
