"""How the schema spreads over a tenant-distributed PostgreSQL (Citus), and the rules that keep it able to.

Every table with a ``tenant_id`` is *distributed* by it, unless it is listed here as a reference table;
every table without one is listed here, as a *reference* table (copied whole to every node) or a
*coordinator* table (kept on the coordinator alone). A distributed table's rows of one tenant live on one
node, so a tenant's queries, postings and foreign keys stay on that node. That holds only if:

* its primary key and every unique constraint or index include ``tenant_id``;
* its ``tenant_id`` is never empty;
* a foreign key between two distributed tables pairs ``tenant_id`` with ``tenant_id``;
* no reference or coordinator table has a foreign key to a distributed table, and only a coordinator
  table has one to a coordinator table.

``colocation_problems`` reads PostgreSQL's catalog and names every breach (``tests/core/
test_distribution.py`` expects none); ``distribution_statements`` writes the statements that distribute
the schema, in an order Citus accepts (``manage.py distribution_sql``; ``docs/distribution.md``). Django's
schema editor keeps new tables in line (``config.postgres.schema``).
"""

from __future__ import annotations

import graphlib
import itertools
from dataclasses import dataclass

DISTRIBUTION_COLUMN = "tenant_id"

# Copied to every node: small, read by every tenant's rows, or looked up before the tenant is known.
REFERENCE_TABLES: dict[str, str] = {
    "crm_tenant": "the tenants themselves",
    "crm_historicaltenant": "the tenants' history",
    "crm_user": "signs in by username before the tenant is known; named by most tables (created by)",
    "crm_user_groups": "a user's groups",
    "crm_user_user_permissions": "a user's permissions",
    "crm_role": "a tenant's roles, one Django group each (unique across tenants)",
    "crm_apikey": "an API key is found by its prefix before the tenant is known",
    "gateways_gatewayaccount": "a webhook is tied to its account by the URL's token before the tenant is known",
    "auth_group": "Django's groups",
    "auth_group_permissions": "Django's groups' permissions",
    "auth_permission": "Django's permissions",
    "django_content_type": "Django's content types",
    "django_admin_log": "the admin's log, by user",
    "otp_static_staticdevice": "recovery codes, by user",
    "otp_static_statictoken": "recovery codes, by device",
    "otp_totp_totpdevice": "authenticator apps, by user",
}

# Left on the coordinator: the platform's own bookkeeping, with no foreign key to a tenant's rows.
COORDINATOR_TABLES: dict[str, str] = {
    "django_migrations": "Django's applied migrations",
    "django_session": "sessions, read by key before the tenant is known",
    "axes_accessattempt": "failed sign-ins, by username and address",
    "axes_accessattemptexpiration": "failed sign-ins' expiry",
    "axes_accessfailurelog": "failed sign-ins' log",
    "axes_accesslog": "sign-ins' log",
    "notifications_devmail": "the development mailbox (not used in production)",
    "notifications_devsms": "the development text messages (not used in production)",
}


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    to_table: str
    to_columns: tuple[str, ...]
    definition: str


@dataclass(frozen=True)
class Schema:
    tables: frozenset[str]
    tenant_columns: dict[str, bool]  # table -> tenant_id is NOT NULL
    primary_keys: dict[str, tuple[str, ...]]
    uniques: tuple[tuple[str, str, tuple[str, ...]], ...]  # (table, index, columns)
    foreign_keys: tuple[ForeignKey, ...]

    def distributed(self, table: str) -> bool:
        return table in self.tenant_columns and is_distributed(table)


def is_distributed(table: str) -> bool:
    """Whether ``table``, when it has a ``tenant_id``, is distributed by it."""
    return table not in REFERENCE_TABLES and table not in COORDINATOR_TABLES


def read_schema(cursor) -> Schema:
    """The current schema's tables, tenant columns, keys and foreign keys, from the catalog."""
    cursor.execute(
        """SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace
             AND relkind IN ('r', 'p') AND NOT relispartition"""
    )
    tables = frozenset(row[0] for row in cursor.fetchall())
    cursor.execute(
        """SELECT c.relname, a.attnotnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = current_schema()::regnamespace AND a.attname = %s AND NOT a.attisdropped""",
        [DISTRIBUTION_COLUMN],
    )
    tenant_columns = {table: not_null for table, not_null in cursor.fetchall() if table in tables}
    cursor.execute(
        """SELECT c.relname, i.relname, i_.indisprimary,
                  ARRAY(SELECT a.attname FROM unnest(i_.indkey) WITH ORDINALITY k(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.n)
             FROM pg_index i_ JOIN pg_class c ON c.oid = i_.indrelid JOIN pg_class i ON i.oid = i_.indexrelid
            WHERE c.relnamespace = current_schema()::regnamespace AND i_.indisunique"""
    )
    primary_keys, uniques = {}, []
    for table, index, primary, columns in cursor.fetchall():
        if primary:
            primary_keys[table] = tuple(columns)
        else:
            uniques.append((table, index, tuple(columns)))
    cursor.execute(
        """SELECT con.conname, c.relname, f.relname, pg_get_constraintdef(con.oid),
                  ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n),
                  ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n)
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class f ON f.oid = con.confrelid
            WHERE con.contype = 'f' AND c.relnamespace = current_schema()::regnamespace"""
    )
    foreign_keys = tuple(
        ForeignKey(name, table, tuple(columns), to_table, tuple(to_columns), definition)
        for name, table, to_table, definition, columns, to_columns in cursor.fetchall()
    )
    return Schema(tables, tenant_columns, primary_keys, tuple(sorted(uniques)), foreign_keys)


def _kind(schema: Schema, table: str) -> str:
    if schema.distributed(table):
        return "distributed"
    return "reference" if table in REFERENCE_TABLES else "coordinator"


def colocation_problems(schema: Schema) -> list[str]:
    """Every way ``schema`` breaks the rules above, one sentence each; none when it can be distributed."""
    problems = []
    for table in sorted(schema.tables):
        if table not in schema.tenant_columns and table not in REFERENCE_TABLES | COORDINATOR_TABLES:
            problems.append(f"{table} has no {DISTRIBUTION_COLUMN} and is listed neither as reference nor coordinator")
        if not schema.distributed(table):
            continue
        if not schema.tenant_columns[table]:
            problems.append(f"{table}.{DISTRIBUTION_COLUMN} may be empty")
        key = schema.primary_keys.get(table)
        if key is None:
            problems.append(f"{table} has no primary key")
        elif DISTRIBUTION_COLUMN not in key:
            problems.append(f"{table}'s primary key ({', '.join(key)}) lacks {DISTRIBUTION_COLUMN}")
    for table, index, columns in schema.uniques:
        if schema.distributed(table) and DISTRIBUTION_COLUMN not in columns:
            problems.append(f"{table}'s unique {index} ({', '.join(columns)}) lacks {DISTRIBUTION_COLUMN}")
    for listed in sorted((REFERENCE_TABLES | COORDINATOR_TABLES).keys() - schema.tables):
        problems.append(f"{listed} is listed but is not in the schema")
    for fk in sorted(schema.foreign_keys, key=lambda fk: (fk.table, fk.name)):
        source, target = _kind(schema, fk.table), _kind(schema, fk.to_table)
        pairs = set(zip(fk.columns, fk.to_columns, strict=True))
        if source == target == "distributed":
            if (DISTRIBUTION_COLUMN, DISTRIBUTION_COLUMN) not in pairs:
                problems.append(
                    f"{fk.table}.{fk.name} ({', '.join(fk.columns)}) → {fk.to_table} lacks {DISTRIBUTION_COLUMN}"
                )
        elif target == "distributed":
            problems.append(f"{fk.table}.{fk.name}: a {source} table refers to distributed {fk.to_table}")
        elif target == "coordinator" and source != "coordinator":
            problems.append(f"{fk.table}.{fk.name}: a {source} table refers to coordinator table {fk.to_table}")
    return problems


def _in_order(schema: Schema, tables: set[str]) -> tuple[list[str], list[ForeignKey]]:
    """``tables`` with every table after the tables it refers to (alphabetical where free to choose), and
    the foreign keys left out to break a cycle (to drop before and add after)."""
    keys = [fk for fk in schema.foreign_keys if {fk.table, fk.to_table} <= tables and fk.table != fk.to_table]
    left_out: list[ForeignKey] = []
    while True:
        order = graphlib.TopologicalSorter({table: set() for table in tables})
        for fk in keys:
            order.add(fk.table, fk.to_table)
        try:
            order.prepare()
        except graphlib.CycleError as error:
            cycle = error.args[1]  # [a, b, …, a]: a refers to b
            closing = min(
                (fk for fk in keys if (fk.to_table, fk.table) in itertools.pairwise(cycle)),
                key=lambda fk: (fk.table, fk.name),
            )
            keys.remove(closing)
            left_out.append(closing)
            continue
        result = []
        while order.is_active():
            ready = sorted(order.get_ready())
            result.extend(ready)
            order.done(*ready)
        return result, left_out


def distribution_statements(schema: Schema) -> list[str]:
    """The statements that distribute ``schema`` on a Citus coordinator: the reference tables first, then
    the distributed ones, each after the tables it refers to, all co-located with the first. A foreign key
    that closes a cycle is dropped first and added again at the end."""
    reference, reference_cycles = _in_order(schema, {table for table in schema.tables if table in REFERENCE_TABLES})
    distributed, cycles = _in_order(schema, {table for table in schema.tables if schema.distributed(table)})
    cycles += reference_cycles
    statements = [f"ALTER TABLE {fk.table} DROP CONSTRAINT {fk.name};" for fk in cycles]
    statements += [f"SELECT create_reference_table('{table}');" for table in reference]
    for table in distributed:
        colocated = f", colocate_with => '{distributed[0]}'" if table != distributed[0] else ""
        statements.append(f"SELECT create_distributed_table('{table}', '{DISTRIBUTION_COLUMN}'{colocated});")
    statements += [f"ALTER TABLE {fk.table} ADD CONSTRAINT {fk.name} {fk.definition};" for fk in cycles]
    return statements


def distribution_script(schema: Schema) -> list[str]:
    """``distribution_statements`` as a script to read: each reference table with why it is one, and the
    tables left on the coordinator."""
    lines = ["-- Run on the Citus coordinator after `manage.py migrate`, in this order."]
    for statement in distribution_statements(schema):
        table = statement.split("'")[1] if "create_reference_table" in statement else None
        lines.append(f"{statement}  -- {REFERENCE_TABLES[table]}" if table else statement)
    lines.append("-- Left on the coordinator:")
    lines += [f"--   {table}: {why}" for table, why in sorted(COORDINATOR_TABLES.items()) if table in schema.tables]
    return lines
