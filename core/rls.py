"""Row-level security: PostgreSQL itself keeps a tenant's transaction to that tenant's rows.

django-scopes makes an ORM query that forgot its tenant raise. This is the second wall, for what the
ORM scoping cannot see (raw SQL, a join through an unscoped model, a forgotten filter):

* every table with a ``tenant_id`` column has row-level security ENABLEd and FORCEd, a permissive
  policy open to everyone, and a RESTRICTIVE policy for the role ``duly_app`` that admits only rows
  whose ``tenant_id`` is the transaction's ``duly.tenant_id`` (``apply_row_level_security``, run after
  every ``migrate`` so new tables are covered without a migration of their own);
* ``duly_app`` is neither owner nor superuser and has only SELECT/INSERT/UPDATE/DELETE;
* while a tenant scope is open (``crm.middleware`` for a request, ``crm.scoping.tenant_task`` for a
  task) every transaction runs ``SET LOCAL ROLE duly_app`` and ``SET LOCAL duly.tenant_id``
  (``scope_transactions``, a database execute wrapper). ``LOCAL`` ends with the transaction, so
  nothing carries over to the next user of a pooled connection; a query outside a transaction is
  wrapped in one.
* Outside a tenant scope — migrations, platform support in the admin (``scopes_disabled``), the
  sweeps and the webhook inbox's intake, which look a token up before they know its tenant — queries
  run as the connecting role.
"""

from __future__ import annotations

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django_scopes.state import get_scope

APP_ROLE = "duly_app"
SETTING = "duly.tenant_id"
RESTRICTIVE = "duly_tenant_only"
PERMISSIVE = "duly_rows"


# The role exists once per server (roles are not a database's): a restored backup needs it too (core.backups).
CREATE_APP_ROLE = f"""DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;  -- created by a twin
    END $$"""


def _tenant_tables(cursor) -> list[str]:
    cursor.execute(
        """SELECT c.table_name FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id'
             AND t.table_type = 'BASE TABLE' ORDER BY 1"""
    )
    return [row[0] for row in cursor.fetchall()]


def apply_row_level_security(*, using: str = "default") -> list[str]:
    """Create ``duly_app`` if missing, grant it the data privileges, and put the tenant policies on
    every tenant table. Idempotent; returns the tables covered."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(CREATE_APP_ROLE)
        cursor.execute(
            f"""DO $$ BEGIN
                  IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
                    EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
                  END IF;
                END $$"""
        )
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        tables = _tenant_tables(cursor)
        cursor.execute(
            "SELECT tablename FROM pg_policies WHERE schemaname = current_schema() AND policyname = %s",
            [RESTRICTIVE],
        )
        covered = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
            " AND relrowsecurity AND relforcerowsecurity"
        )
        forced = {row[0] for row in cursor.fetchall()}
        for table in [t for t in tables if t not in covered or t not in forced]:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {PERMISSIVE} ON {quoted}")
            cursor.execute(f"DROP POLICY IF EXISTS {RESTRICTIVE} ON {quoted}")
            cursor.execute(f"CREATE POLICY {PERMISSIVE} ON {quoted} AS PERMISSIVE TO PUBLIC USING (true)")
            cursor.execute(
                f"""CREATE POLICY {RESTRICTIVE} ON {quoted} AS RESTRICTIVE TO {APP_ROLE}
                    USING (tenant_id = NULLIF(current_setting('{SETTING}', true), '')::bigint)
                    WITH CHECK (tenant_id = NULLIF(current_setting('{SETTING}', true), '')::bigint)"""
            )
    return tables


def on_post_migrate(sender, using="default", **kwargs) -> None:
    if sender.name == "crm":  # once per migrate, whichever apps it touched
        apply_row_level_security(using=using)


# --- per transaction --------------------------------------------------------------------------------


def _wanted_tenant() -> str | None:
    """The tenant id the current scope confines queries to, as text; ``None`` outside a tenant scope."""
    current = get_scope()
    if not current.get("_enabled", True) or "tenant" not in current:
        return None
    tenant = current["tenant"]
    tenant_id = getattr(tenant, "pk", tenant)
    return "" if tenant_id is None else str(int(tenant_id))


FRESH = "fresh"  # a new transaction: the connecting role, no tenant
UNKNOWN = "unknown"  # a savepoint was rolled back: whatever it set is undone, so set it again
# Django's savepoint statements run as they are: in a failed transaction nothing else may.
TRANSACTION_CONTROL = ("SAVEPOINT ", "ROLLBACK TO SAVEPOINT ", "RELEASE SAVEPOINT ")


def scope_sql(wanted: str | None) -> str:
    """The statement that confines a transaction to tenant ``wanted`` (an id as text, from
    ``_wanted_tenant``), or gives it back the connecting role (``None``)."""
    if wanted is None:
        return f"SET LOCAL ROLE NONE; SET LOCAL {SETTING} = ''"
    return f"SET LOCAL ROLE {APP_ROLE}; SET LOCAL {SETTING} = '{wanted}'"


def _apply(connection: BaseDatabaseWrapper, wanted: str | None) -> None:
    with connection.connection.cursor() as raw:  # the driver's cursor: not one of the app's queries
        raw.execute(scope_sql(wanted))
    connection.duly_rls_state = ("applied", wanted)


def scope_transactions(execute, sql, params, many, context):
    """Before a query, make its transaction's role and tenant those of the open scope.

    The backend (``config.postgres``) marks each transaction boundary, so this costs one statement per
    transaction whose scope differs from the connecting role, not one per query.
    """
    connection = context["connection"]
    if isinstance(sql, str) and sql.startswith(TRANSACTION_CONTROL):
        return execute(sql, params, many, context)
    wanted = _wanted_tenant()
    if not connection.in_atomic_block:
        if wanted is None:
            return execute(sql, params, many, context)
        with transaction.atomic(using=connection.alias):
            _apply(connection, wanted)
            return execute(sql, params, many, context)
    state = getattr(connection, "duly_rls_state", FRESH)
    current = ("applied", None) if state == FRESH else state
    if current != ("applied", wanted):
        _apply(connection, wanted)
    return execute(sql, params, many, context)


class RowLevelSecurityMixin:
    """For the database backend: run every query through ``scope_transactions`` and mark where a
    transaction ends (``SET LOCAL`` ends with it) or a savepoint is rolled back (which undoes it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(scope_transactions)
        self.duly_rls_state = FRESH

    def connect(self):
        self.duly_rls_state = FRESH
        return super().connect()

    def _commit(self):
        self.duly_rls_state = FRESH
        return super()._commit()

    def _rollback(self):
        self.duly_rls_state = FRESH
        return super()._rollback()

    def _set_autocommit(self, autocommit):
        self.duly_rls_state = FRESH
        return super()._set_autocommit(autocommit)

    def _savepoint_rollback(self, sid):
        super()._savepoint_rollback(sid)
        self.duly_rls_state = UNKNOWN
