"""Django's PostgreSQL backend with row-level security per tenant scope (see ``crm.rls``)."""

from django.db.backends.postgresql import base

from crm.rls import RowLevelSecurityMixin


class DatabaseWrapper(RowLevelSecurityMixin, base.DatabaseWrapper):
    pass
