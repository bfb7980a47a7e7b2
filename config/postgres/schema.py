"""Django's PostgreSQL schema editor, keeping every distributed table co-located by tenant
(``core.distribution``).

For a model whose table has a ``tenant_id`` and is not a reference or coordinator table:

* its primary key is ``(id, tenant_id)`` (``id`` first, so a row is still found by its id alone);
* a foreign key to another such table is ``(column, tenant_id)`` → ``(id, tenant_id)``, which also
  keeps a row from naming another tenant's;
* a single-column unique foreign key (a one-to-one) is unique on ``(column, tenant_id)``. The column
  decides the tenant through that key, so this is the same rule.

Any other unique constraint states its ``tenant`` in the model. Django finds the composite constraints
again when a later migration alters or drops the field.
"""

from django.db.backends.ddl_references import Columns, Statement, Table
from django.db.backends.postgresql import schema

from core.distribution import DISTRIBUTION_COLUMN, is_distributed


def distributed(model) -> bool:
    return is_distributed(model._meta.db_table) and any(
        field.column == DISTRIBUTION_COLUMN for field in model._meta.local_concrete_fields
    )


def key_columns(model) -> list[str]:
    key = model._meta.pk
    return [field.column for field in getattr(key, "fields", [key])]  # a CompositePrimaryKey has fields


def colocated_key(model, field) -> bool:
    """Whether ``field`` of ``model`` is a foreign key between two distributed tables, to the primary key."""
    if not (field.remote_field and field.db_constraint and getattr(field, "target_field", None)):
        return False
    target = field.target_field
    return distributed(model) and distributed(target.model) and target.primary_key


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    _creating = None  # the distributed model create_model is writing: its id is made the key with its tenant

    def create_model(self, model):
        if not distributed(model) or DISTRIBUTION_COLUMN in key_columns(model):
            return super().create_model(model)
        self._creating = model
        try:
            super().create_model(model)
        finally:
            self._creating = None
        # Made here rather than by replacing the column's own key, which would have to be looked up in the
        # database: ``sqlmigrate`` (and so the migration linter) writes a new table's SQL without one.
        self.execute(self._create_primary_key_sql(model, model._meta.pk))

    def _key_with_tenant(self, model):
        """Put the tenant in ``model``'s primary key, unless it is in it already."""
        if DISTRIBUTION_COLUMN not in key_columns(model):
            self._delete_primary_key(model, strict=True)
            self.execute(self._create_primary_key_sql(model, model._meta.pk))

    def _create_primary_key_sql(self, model, field):
        if not distributed(model):
            return super()._create_primary_key_sql(model, field)
        return Statement(
            self.sql_create_pk,
            table=Table(model._meta.db_table, self.quote_name),
            name=self.quote_name(self._create_index_name(model._meta.db_table, [field.column], suffix="_pk")),
            columns=Columns(model._meta.db_table, [field.column, DISTRIBUTION_COLUMN], self.quote_name),
        )

    def _iter_column_sql(self, column_db_type, params, model, field, field_db_params, include_default):
        """A one-to-one between distributed tables is made unique with its tenant, after the table; a new
        distributed table's id is not its key alone."""
        for part in super()._iter_column_sql(column_db_type, params, model, field, field_db_params, include_default):
            if part == "PRIMARY KEY" and model is self._creating:
                continue  # the key is (id, tenant_id), made after the table
            if part == "UNIQUE" and colocated_key(model, field):
                self.deferred_sql.append(self._create_unique_sql(model, [field]))
                continue
            yield part

    def _create_unique_sql(self, model, fields, *args, **kwargs):
        if len(fields) == 1 and colocated_key(model, fields[0]) and not args and not kwargs:
            fields = [fields[0], model._meta.get_field("tenant")]
        return super()._create_unique_sql(model, fields, *args, **kwargs)

    def _create_fk_sql(self, model, field, suffix):
        if distributed(field.target_field.model) and not distributed(model):
            # A table without a tenant cannot refer to a distributed table. In the migrations, that is a
            # table whose tenant is added later (``add_field`` adds its keys then) or an implicit
            # many-to-many table (finance 0014 gives them a tenant and keys).
            return None
        statement = super()._create_fk_sql(model, field, suffix)
        if colocated_key(model, field):
            table = model._meta.db_table
            statement.parts["column"] = Columns(table, [field.column, DISTRIBUTION_COLUMN], self.quote_name)
            statement.parts["to_column"] = Columns(
                field.target_field.model._meta.db_table,
                [field.target_field.column, DISTRIBUTION_COLUMN],
                self.quote_name,
            )
        return statement

    def execute(self, sql, params=()):
        if sql is None:  # a key left out by _create_fk_sql
            return None
        return super().execute(sql, params)

    def add_field(self, model, field):
        target = getattr(field, "target_field", None) if field.remote_field else None
        if target is None or not distributed(target.model):
            super().add_field(model, field)
        else:
            self.sql_create_column_inline_fk = None  # a key to a distributed table is added after the column
            try:
                super().add_field(model, field)
            finally:
                del self.sql_create_column_inline_fk
        if field.column == DISTRIBUTION_COLUMN and distributed(field.model):  # ``model`` is from before the field
            self._now_distributed(field.model)

    def _now_distributed(self, model):
        """``model`` got its tenant: its primary key takes it, and so do its keys to distributed tables
        (left out until now) and the uniqueness of its one-to-ones."""
        self._key_with_tenant(model)
        for field in model._meta.local_concrete_fields:
            if not colocated_key(model, field):
                continue
            if field.unique:
                for name in super()._constraint_names(model, [field.column], unique=True, primary_key=False):
                    self.execute(self._delete_unique_sql(model, name))
                self.execute(self._create_unique_sql(model, [field]))
            self.deferred_sql.append(self._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s"))

    def _constraint_names(self, model, column_names=None, *args, **kwargs):
        names = super()._constraint_names(model, column_names, *args, **kwargs)
        if names or column_names is None or len(column_names) != 1 or not distributed(model):
            return names
        if not (kwargs.get("foreign_key") or kwargs.get("unique") or kwargs.get("primary_key")):
            return names
        return super()._constraint_names(model, [*column_names, DISTRIBUTION_COLUMN], *args, **kwargs)
