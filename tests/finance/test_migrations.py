"""The ledger's data migrations, run backwards and forwards on a real ledger row."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_scopes import scopes_disabled

from finance import services
from finance.models import Classification
from tests.finance.conftest import AT


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def finance_migration(suffix: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The finance migration whose name ends with ``suffix``, and the finance migration before it."""
    migrations = MigrationExecutor(connection).loader.disk_migrations
    (key,) = [k for k in migrations if k[0] == "finance" and k[1].endswith(suffix)]
    (before,) = [d for d in migrations[key].dependencies if d[0] == "finance"]
    return key, before


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

        issue_reasons, before_them = finance_migration("_issue_reasons")

        with scopes_disabled(), connection.cursor() as cursor:
            # The test's rows are uncommitted: check their deferred constraints now, as a commit would,
            # so that the migration may alter the table.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            migrate(before_them)
            before = issue_column(payment.pk, "issue_reason")
            migrate(issue_reasons)

        assert before == "Customer phoned to cancel"
        assert (issue_column(payment.pk, "issue_note"), issue_column(payment.pk, "issue_reason_id")) == (
            "Customer phoned to cancel", None)
