"""Django's PostgreSQL backend with row-level security per tenant scope (see ``core.rls``) and tables
co-located by tenant (see ``config.postgres.schema`` and ``config.postgres.compiler``)."""

from django.db.backends.postgresql import operations
from django_prometheus.db.backends.postgresql import base as prometheus

from config.postgres.schema import DatabaseSchemaEditor
from core.rls import RowLevelSecurityMixin


class DatabaseOperations(operations.DatabaseOperations):
    compiler_module = "config.postgres.compiler"


class DatabaseWrapper(RowLevelSecurityMixin, prometheus.DatabaseWrapper):
    """Also counts and times its statements for the metrics page (django-prometheus, ``config.metrics``)."""

    SchemaEditorClass = DatabaseSchemaEditor
    ops_class = DatabaseOperations
