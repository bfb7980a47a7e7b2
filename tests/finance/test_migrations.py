"""The ledger's data migrations, run backwards and forwards on a real ledger row.

Each migration is run on its own, from the state its ancestors make, inside the test's transaction (which
rolls it back): migrating the whole project back to it would unapply and reapply every later migration of
every app, rendering the models at each step, which takes half a minute for one test.
"""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_scopes import scopes_disabled

from finance import services
from finance.models import Classification
from tests.finance.conftest import AT


def unapply(key: tuple[str, str]) -> None:
    """Run the migration ``key`` backwards (Django hands a migration the state before it either way)."""
    loader = MigrationLoader(connection)
    with connection.schema_editor(atomic=False) as editor:
        loader.graph.nodes[key].unapply(loader.project_state(key, at_end=False), editor)


def apply(key: tuple[str, str]) -> None:
    loader = MigrationLoader(connection)
    with connection.schema_editor(atomic=False) as editor:
        loader.graph.nodes[key].apply(loader.project_state(key, at_end=False), editor)


def finance_migration(suffix: str) -> tuple[str, str]:
    """The finance migration whose name ends with ``suffix``."""
    (key,) = [k for k in MigrationLoader(connection).disk_migrations if k[0] == "finance" and k[1].endswith(suffix)]
    return key


def issue_column(txn_id: int, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM finance_financialtransaction WHERE id = %s", [txn_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db
class TestIssueReasonsMigration:
    def test_the_free_text_reason_of_a_posted_transaction_is_kept_as_its_issue_note(self, account, card):
        payment = services.create_posted_transaction(
            account=account,
            classification=Classification.PAYMENT,
            actor=None,
            at=AT,
            data=services.TransactionData(amount="10.00", payment_method=card, issue_note="Customer phoned to cancel"),
        ).transaction

        issue_reasons = finance_migration("_issue_reasons")

        with scopes_disabled(), connection.cursor() as cursor:
            # The test's rows are uncommitted: check their deferred constraints now, as a commit would,
            # so that the migration may alter the table.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            unapply(issue_reasons)
            before = issue_column(payment.pk, "issue_reason")
            apply(issue_reasons)

        assert before == "Customer phoned to cancel"
        assert (issue_column(payment.pk, "issue_note"), issue_column(payment.pk, "issue_reason_id")) == (
            "Customer phoned to cancel", None)
