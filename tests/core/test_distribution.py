"""The schema can be distributed by tenant (Citus): the catalog keeps the co-location rules, the statements
that distribute it come in an order Citus accepts, and a database migrated before the rules is rewritten
to them (crm 0009, finance 0014 and 0015)."""

import importlib
import re
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction
from django.test.utils import isolate_apps
from django_scopes import scopes_disabled

from core import distribution
from core.distribution import ForeignKey, Schema
from finance.models import Account, Category, Classification, Counter, TransactionType, TransactionTypeCategory
from tests.factories import CustomerFactory, TenantFactory

DOCS = Path(__file__).resolve().parents[2] / "docs" / "distribution.md"


def current_schema() -> Schema:
    with connection.cursor() as cursor:
        return distribution.read_schema(cursor)


@pytest.mark.django_db
def test_the_schema_keeps_every_colocation_rule():
    assert distribution.colocation_problems(current_schema()) == []


@pytest.mark.django_db
def test_every_foreign_key_of_the_models_is_in_the_database():
    """The schema editor leaves out a key only while a table has no tenant yet; none may stay out."""
    schema = current_schema()
    keys = {(fk.table, fk.columns[0], fk.to_table) for fk in schema.foreign_keys}
    missing = [
        f"{model._meta.db_table}.{field.column}"
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
        for field in model._meta.local_concrete_fields
        if field.remote_field and field.db_constraint
        and (model._meta.db_table, field.column, field.target_field.model._meta.db_table) not in keys
    ]
    assert missing == []


@pytest.mark.django_db
def test_distributed_tables_are_keyed_by_id_and_tenant():
    schema = current_schema()
    assert schema.primary_keys["crm_customer"] == ("id", "tenant_id")
    assert schema.primary_keys["finance_counter"] == ("tenant_id", "series")
    assert schema.primary_keys["crm_user"] == ("id",)  # a reference table
    allocation_keys = {fk.name: (fk.columns, fk.to_columns) for fk in schema.foreign_keys
                       if fk.table == "finance_allocation"}
    assert allocation_keys["allocation_credit_same_account_fk"] == (
        ("credit_id", "account_id", "currency", "tenant_id"), ("id", "account_id", "currency", "tenant_id"))
    receipt_uniques = {columns for table, _, columns in schema.uniques if table == "payments_receipt"}
    assert ("ledger_payment_id", "tenant_id") in receipt_uniques


@pytest.mark.django_db
def test_a_row_cannot_name_another_tenants_row(unscoped):
    """The composite keys are also a wall between tenants, whatever writes the row."""
    mine, theirs = TenantFactory(), TenantFactory()
    customer = CustomerFactory(tenant=theirs)
    with pytest.raises(IntegrityError, match="finance_account_customer_id"), transaction.atomic():
        Account.objects.create(tenant=mine, customer=customer, name="Harriet", currency="GBP")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not Account.objects.filter(tenant=mine, customer=customer).exists()


def _schema(*, tenant_tables, primary_keys, uniques=(), foreign_keys=(), nullable=()):
    tables = frozenset(tenant_tables) | {fk.table for fk in foreign_keys} | {fk.to_table for fk in foreign_keys}
    listed = set(distribution.REFERENCE_TABLES) | set(distribution.COORDINATOR_TABLES)
    return Schema(
        tables=tables | listed,
        tenant_columns={table: table not in nullable for table in tenant_tables},
        primary_keys=primary_keys,
        uniques=tuple(uniques),
        foreign_keys=tuple(foreign_keys),
    )


def _fk(name, table, columns, to_table, to_columns):
    return ForeignKey(name, table, tuple(columns), to_table, tuple(to_columns), "FOREIGN KEY (…)")


def test_the_check_names_each_breach():
    schema = _schema(
        tenant_tables=["shop_order", "shop_line", "crm_user"],
        primary_keys={"shop_order": ("id",), "shop_line": ("id", "tenant_id")},
        uniques=[("shop_line", "line_code_key", ("code",)), ("shop_line", "line_order_key", ("order_id", "tenant_id"))],
        foreign_keys=[
            _fk("tenant_session_fk", "crm_tenant", ["session_id"], "django_session", ["id"]),
            _fk("line_order_fk", "shop_line", ["order_id"], "shop_order", ["id"]),
            _fk("line_order_tenant_fk", "shop_line", ["order_id", "tenant_id"], "shop_order", ["id", "tenant_id"]),
            _fk("line_user_fk", "shop_line", ["user_id"], "crm_user", ["id"]),
            _fk("line_session_fk", "shop_line", ["session_id"], "django_session", ["id"]),
            _fk("user_line_fk", "crm_user", ["line_id"], "shop_line", ["id"]),
            _fk("session_user_fk", "django_session", ["user_id"], "crm_user", ["id"]),  # allowed
            _fk("loose_fk", "loose_table", ["order_id"], "shop_order", ["id"]),
        ],
        nullable=["shop_order"],
    )

    assert distribution.colocation_problems(schema) == [
        "loose_table has no tenant_id and is listed neither as reference nor coordinator",
        "shop_order.tenant_id may be empty",
        "shop_order's primary key (id) lacks tenant_id",
        "shop_line's unique line_code_key (code) lacks tenant_id",
        "crm_tenant.tenant_session_fk: a reference table refers to coordinator table django_session",
        "crm_user.user_line_fk: a reference table refers to distributed shop_line",
        "loose_table.loose_fk: a coordinator table refers to distributed shop_order",
        "shop_line.line_order_fk (order_id) → shop_order lacks tenant_id",
        "shop_line.line_session_fk: a distributed table refers to coordinator table django_session",
    ]


def test_the_check_names_a_listed_table_that_is_gone():
    schema = _schema(tenant_tables=[], primary_keys={})
    gone = Schema(schema.tables - {"crm_role"}, {}, {}, (), ())

    assert distribution.colocation_problems(gone) == ["crm_role is listed but is not in the schema"]


def test_the_statements_create_each_table_after_the_tables_it_refers_to():
    schema = _schema(
        tenant_tables=["b_child", "a_parent", "c_other"],
        primary_keys={"b_child": ("id", "tenant_id"), "a_parent": ("id", "tenant_id"), "c_other": ("id", "tenant_id")},
        foreign_keys=[
            _fk("child_parent", "a_parent", ["b_id", "tenant_id"], "b_child", ["id", "tenant_id"]),
            _fk("other_child", "c_other", ["b_id", "tenant_id"], "b_child", ["id", "tenant_id"]),
            _fk("child_other", "b_child", ["c_id", "tenant_id"], "c_other", ["id", "tenant_id"]),
            _fk("child_user", "b_child", ["user_id"], "crm_user", ["id"]),
        ],
    )

    statements = distribution.distribution_statements(schema)

    assert [s for s in statements if "create_reference_table" not in s] == [
        "ALTER TABLE b_child DROP CONSTRAINT child_other;",  # closes the cycle b_child ⇄ c_other
        "SELECT create_distributed_table('b_child', 'tenant_id');",
        "SELECT create_distributed_table('a_parent', 'tenant_id', colocate_with => 'b_child');",
        "SELECT create_distributed_table('c_other', 'tenant_id', colocate_with => 'b_child');",
        "ALTER TABLE b_child ADD CONSTRAINT child_other FOREIGN KEY (…);",
    ]
    assert statements[1:-4] == [f"SELECT create_reference_table('{table}');"
                                for table in sorted(distribution.REFERENCE_TABLES)]


@pytest.mark.django_db
def test_the_statements_for_this_schema_run_in_an_order_citus_accepts():
    schema = current_schema()
    statements = distribution.distribution_statements(schema)
    dropped = {m.group(2) for s in statements if (m := re.match(r"ALTER TABLE (\w+) DROP CONSTRAINT (\w+);", s))}
    created = set()
    for statement in statements:
        if match := re.match(r"SELECT create_(reference|distributed)_table\('(\w+)'", statement):
            kind, table = match.groups()
            for fk in schema.foreign_keys:
                if fk.table == table and fk.to_table != table and fk.name not in dropped:
                    assert fk.to_table in created, f"{table} is distributed before {fk.to_table}"
            assert (kind == "reference") == (table in distribution.REFERENCE_TABLES)
            created.add(table)
    assert created == {t for t in schema.tables if t not in distribution.COORDINATOR_TABLES}
    distributed = [s for s in statements if "create_distributed_table" in s]
    anchor = re.match(r"SELECT create_distributed_table\('(\w+)', 'tenant_id'\);", distributed[0]).group(1)
    assert all(s.endswith(f", colocate_with => '{anchor}');") for s in distributed[1:])
    added = [s for s in statements if " ADD CONSTRAINT " in s]
    assert len(added) == len(dropped) and statements[-len(added):] == added


@pytest.mark.django_db
def test_the_docs_show_the_command_s_output():
    output = StringIO()
    call_command("distribution_sql", stdout=output)
    script = output.getvalue().strip()
    assert script.splitlines() == distribution.distribution_script(current_schema())
    block = re.search(r"```sql\n(.*?)```", DOCS.read_text(), re.S).group(1).strip()
    assert block == script, "docs/distribution.md is behind: paste `manage.py distribution_sql` into it"


# --- a database migrated before the rules --------------------------------------------------------------------


def _migration(app, name):
    return importlib.import_module(f"{app}.migrations.{name}")


@pytest.mark.django_db
def test_the_conversion_rewrites_single_column_keys():
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE TABLE old_parent (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
            CREATE TABLE old_child (
              id bigint PRIMARY KEY, tenant_id bigint NOT NULL,
              parent_id bigint REFERENCES old_parent (id) DEFERRABLE INITIALLY DEFERRED,
              only_id bigint CONSTRAINT old_child_only_id_key UNIQUE
                             CONSTRAINT old_child_only_fk REFERENCES old_parent (id) DEFERRABLE INITIALLY DEFERRED);
            INSERT INTO old_parent VALUES (1, 10), (2, 20);
            INSERT INTO old_child VALUES (1, 10, 1, 1);
            SET CONSTRAINTS ALL IMMEDIATE;
        """)
    with connection.schema_editor() as editor:
        _migration("crm", "0009_colocated_by_tenant").colocate(apps, editor)

    schema = current_schema()
    assert [p for p in distribution.colocation_problems(schema) if "old_" in p] == []
    assert schema.primary_keys["old_parent"] == ("id", "tenant_id")
    assert {(fk.columns, fk.to_columns) for fk in schema.foreign_keys if fk.table == "old_child"} == {
        (("parent_id", "tenant_id"), ("id", "tenant_id")), (("only_id", "tenant_id"), ("id", "tenant_id"))}
    assert ("old_child", "old_child_only_id_key", ("only_id", "tenant_id")) in schema.uniques
    with pytest.raises(IntegrityError, match="old_child_parent_id_fkey"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO old_child VALUES (2, 10, 2, NULL); SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_the_conversion_stops_at_a_many_column_key_without_a_tenant():
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE TABLE wide_parent (id bigint, tenant_id bigint NOT NULL, code text, PRIMARY KEY (id, tenant_id),
                                      UNIQUE (id, code));
            CREATE TABLE wide_child (id bigint, tenant_id bigint NOT NULL, parent_id bigint, code text,
                                     PRIMARY KEY (id, tenant_id),
                                     FOREIGN KEY (parent_id, code) REFERENCES wide_parent (id, code));
        """)
    conversion = _migration("crm", "0009_colocated_by_tenant")
    with pytest.raises(RuntimeError, match=r"^wide_child\.\w+ has several columns and no tenant"):
        with connection.schema_editor() as editor:
            conversion.colocate(apps, editor)


@pytest.mark.django_db
def test_the_joins_are_copied_with_their_owner_s_tenant(ledger):
    joins = _migration("finance", "0014_tenant_joins")
    kind = TransactionType.objects.get(classification=Classification.INVOICE, is_default=True)
    category = Category.objects.create(tenant=ledger, name="Insurance")
    with scopes_disabled(), connection.cursor() as cursor:  # as the tables' owner, as migrations run
        cursor.execute("""CREATE TABLE finance_transactiontype_categories_old (
                            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                            transactiontype_id bigint NOT NULL, category_id bigint NOT NULL)""")
        cursor.execute("INSERT INTO finance_transactiontype_categories_old (transactiontype_id, category_id)"
                       " VALUES (%s, %s)", [kind.pk, category.pk])
    with scopes_disabled(), connection.schema_editor() as editor:
        joins._copy("finance_transactiontype_categories", "transactiontype", "category").database_forwards(
            "finance", editor, None, None)

    assert list(TransactionTypeCategory.objects.values_list("tenant", "transactiontype", "category")) == [
        (ledger.pk, kind.pk, category.pk)]
    assert list(kind.categories.all()) == [category]


@pytest.mark.django_db
def test_the_counters_are_copied_from_django_sequences_table(unscoped):
    tenant = TenantFactory()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE sequences_sequence (name varchar(100) PRIMARY KEY, last bigint NOT NULL)")
        cursor.execute("INSERT INTO sequences_sequence VALUES (%s, 41), (%s, 7), (%s, 3)",
                       [f"finance:{tenant.pk}:invoice", f"finance:{tenant.pk}:credit_note", f"receipts:{tenant.pk}"])
        cursor.execute(_migration("finance", "0015_counters").COPY)
        cursor.execute("SELECT to_regclass('sequences_sequence')")
        assert cursor.fetchone() == (None,)

    assert dict(Counter.objects.filter(tenant=tenant).values_list("series", "last")) == {
        "invoice": 41, "credit_note": 7, "receipt": 3}


# --- the schema editor, for a model added later -------------------------------------------------------------


def _keys_of(table):
    schema = current_schema()
    return (schema.primary_keys.get(table),
            sorted((fk.columns, fk.to_table, fk.to_columns) for fk in schema.foreign_keys if fk.table == table),
            sorted(columns for owner, _, columns in schema.uniques if owner == table))


@pytest.mark.django_db
@isolate_apps("crm")
def test_a_model_added_later_gets_its_keys_with_the_tenant_through_every_change(unscoped):
    from crm.models import Customer, TenantOwned

    class Visit(TenantOwned):
        customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
        first = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "crm"

    with connection.schema_editor() as editor:
        editor.create_model(Visit)
    assert _keys_of("crm_visit") == (
        ("id", "tenant_id"),
        [(("customer_id", "tenant_id"), "crm_customer", ("id", "tenant_id")),
         (("first_id", "tenant_id"), "crm_customer", ("id", "tenant_id")),
         (("tenant_id",), "crm_tenant", ("id",))],
        [("first_id", "tenant_id")],
    )

    later = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, related_name="+")
    later.set_attributes_from_name("later")
    later.model = Visit
    loose = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, related_name="+")
    loose.set_attributes_from_name("customer")
    loose.model = Visit
    not_unique = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    not_unique.set_attributes_from_name("first")
    not_unique.model = Visit
    with connection.schema_editor() as editor:
        editor.add_field(Visit, later)
        editor.alter_field(Visit, Visit._meta.get_field("customer"), loose)  # found again, dropped, added back
        editor.alter_field(Visit, Visit._meta.get_field("first"), not_unique)  # its unique found and dropped
    assert _keys_of("crm_visit")[1:] == (
        [(("customer_id", "tenant_id"), "crm_customer", ("id", "tenant_id")),
         (("first_id", "tenant_id"), "crm_customer", ("id", "tenant_id")),
         (("later_id", "tenant_id"), "crm_customer", ("id", "tenant_id")),
         (("tenant_id",), "crm_tenant", ("id",))],
        [],
    )

    with connection.schema_editor() as editor:
        editor.remove_field(Visit, later)
        editor.delete_model(Visit)
    assert "crm_visit" not in current_schema().tables
