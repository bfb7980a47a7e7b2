"""Django's PostgreSQL backend with row-level security per tenant scope (see ``core.rls``)."""

from django.db.backends.postgresql import base

from core.rls import RowLevelSecurityMixin


class DatabaseWrapper(RowLevelSecurityMixin, base.DatabaseWrapper):
    pass
