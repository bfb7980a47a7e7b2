"""The ORM's SQL compiler, grouping a distributed table's rows by their whole primary key.

To group rows, Django names only a model's primary key when it can: PostgreSQL takes every other column
of the table as dependent on it. PostgreSQL does so only for the whole primary key, which for a
distributed table is ``(id, tenant_id)`` (``config.postgres.schema``). So the tenant column stays in the
``GROUP BY`` with the id; where the query does not select it, every selected column of the table stays.
"""

from django.db.models.sql import compiler
from django.db.models.sql.compiler import (  # noqa: F401 (the backend's compiler module offers all five)
    SQLAggregateCompiler,
    SQLDeleteCompiler,
    SQLInsertCompiler,
    SQLUpdateCompiler,
)

from config.postgres.schema import distributed
from core.distribution import DISTRIBUTION_COLUMN


def _column(expression):
    target = getattr(expression, "target", None)
    return getattr(target, "column", None), getattr(target, "model", None)


class SQLCompiler(compiler.SQLCompiler):
    def collapse_group_by(self, expressions, having):
        collapsed = super().collapse_group_by(expressions, having)
        if len(collapsed) == len(expressions):
            return collapsed
        with_tenant = {e.alias for e in expressions if _column(e)[0] == DISTRIBUTION_COLUMN}

        def kept(expression) -> bool:
            column, model = _column(expression)
            if expression in collapsed:
                return True
            if model is None or not distributed(model):
                return False
            return column == DISTRIBUTION_COLUMN or expression.alias not in with_tenant

        return [expression for expression in expressions if kept(expression)]
