"""Every distributed table's primary key, one-to-one keys and foreign keys between distributed tables
include ``tenant_id`` (``core.distribution``).

A database migrated before this has single-column keys; this rewrites them: it drops each foreign key
to a distributed table, puts ``tenant_id`` in the primary keys and one-to-one keys, and adds the foreign
keys back with ``tenant_id`` (``NOT VALID``, then validated, so the check reads the rows without holding
off writes). A fresh database is built this way by the schema editor (``config.postgres.schema``), so
here it finds nothing to do. The implicit many-to-many tables lose their keys here and get a tenant in
finance 0014.
"""

from django.db import migrations

from core.distribution import DISTRIBUTION_COLUMN as TENANT
from core.distribution import read_schema


def colocate(apps, schema_editor):
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        schema = read_schema(cursor)
        distributed = {table for table in schema.tables if schema.distributed(table)}
        rewritten = [fk for fk in schema.foreign_keys if fk.to_table in distributed and TENANT not in fk.columns]
        for fk in rewritten:
            cursor.execute(f"ALTER TABLE {quote(fk.table)} DROP CONSTRAINT {quote(fk.name)}")
        keyed = {(fk.table, fk.columns) for fk in rewritten if fk.table in distributed}
        for table, name, columns in schema.uniques:
            if (table, columns) in keyed and len(columns) == 1:
                cursor.execute(
                    f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)},"
                    f" ADD CONSTRAINT {quote(name)} UNIQUE ({quote(columns[0])}, {TENANT})"
                )
        for table in sorted(distributed):
            key = schema.primary_keys[table]
            if TENANT in key:
                continue
            cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [table])
            name = quote(cursor.fetchone()[0])
            columns = ", ".join(quote(column) for column in (*key, TENANT))
            cursor.execute(
                f"ALTER TABLE {quote(table)} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} PRIMARY KEY ({columns})"
            )
        for fk in rewritten:
            if fk.table not in distributed:
                continue
            if len(fk.columns) != 1:
                raise RuntimeError(f"{fk.table}.{fk.name} has several columns and no tenant: give it one first")
            cursor.execute(
                f"ALTER TABLE {quote(fk.table)} ADD CONSTRAINT {quote(fk.name)}"
                f" FOREIGN KEY ({quote(fk.columns[0])}, {TENANT})"
                f" REFERENCES {quote(fk.to_table)} ({quote(fk.to_columns[0])}, {TENANT})"
                " DEFERRABLE INITIALLY DEFERRED"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0008_customer_iban"),
        ("banking", "0001_initial"),
        ("billing", "0005_unique_per_tenant"),
        ("finance", "0013_unique_per_tenant"),
        ("gateways", "0008_unique_per_tenant"),
        ("notifications", "0001_initial"),
        ("obligations", "0001_initial"),
        ("paylinks", "0002_bank_matching_indexes"),
        ("payments", "0017_unique_per_tenant"),
        ("receivables", "0001_initial"),
        ("reports", "0003_daily_figures_triggers"),
        ("sandbox", "0003_unique_per_tenant"),
    ]

    operations = [migrations.RunPython(colocate, migrations.RunPython.noop, elidable=False)]
