"""Backups that restore (``core.backups``, ``manage.py backup`` and ``restore``): a ledger with every
classification is dumped, restored into a fresh database, and the copy is checked as the fault suite checks
a ledger, with its daily figures rebuilt from its postings and compared with the original's, and its
tenants' row-level security in force."""

from contextlib import contextmanager

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_scopes import scopes_disabled

from core import backups
from finance import services
from finance.models import Classification, FinancialTransaction, RefundMethod
from tests.faults.invariants import assert_ledger_invariants
from tests.reports.conftest import at
from tests.reports.conftest import book as book
from tests.reports.test_daily_figures import figures, product_figures


@contextmanager
def connected_to(name):
    """The default connection, on database ``name`` for a while."""
    original = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


def drop(name):
    with psycopg.connect(backups.url_of(connection.get_connection_params()), autocommit=True) as server:
        server.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))


def the_ledger(tenant):
    with scopes_disabled():
        return (sorted(FinancialTransaction.objects.filter(tenant=tenant).values_list(
                    "number", "classification", "state", "total_amount", "open_amount")),
                figures(tenant), product_figures(tenant))


def policies() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_policies WHERE policyname = 'duly_tenant_only'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_to_a_ledger_that_balances_with_the_same_figures(ledger, book, tmp_path):
    services.refund(account=book["eur"], amount="5.00", actor=None, at=at(5, 28),
                    refund_method=RefundMethod.objects.get(tenant=ledger, name="Card refund"))
    original, original_policies = the_ledger(ledger), policies()
    copy = f"{connection.settings_dict['NAME']}_restored"
    drop(copy)
    dump = tmp_path / "duly.dump"

    call_command("backup", output=dump, stdout=None)
    call_command("restore", dump, into=copy, stdout=None)
    try:
        with connected_to(copy):
            restored, restored_policies = the_ledger(ledger), policies()
            assert_ledger_invariants(ledger, manual_payments=2)  # the book's payments, none by a provider
            with connection.cursor() as cursor:
                cursor.execute("SELECT reports_rebuild_figures(%s)", [ledger.pk])
            rebuilt = the_ledger(ledger)
    finally:
        drop(copy)

    assert {row[1] for row in original[0]} == set(Classification.values)  # every classification
    assert restored == original
    assert rebuilt == original  # the copy's figures are its postings'
    assert restored_policies == original_policies > 50


@pytest.mark.django_db(transaction=True)
def test_a_restore_never_writes_over_a_database_with_tables(tmp_path):
    dump = tmp_path / "duly.dump"
    call_command("backup", output=dump, stdout=None)
    here = backups.url_of(connection.get_connection_params())

    with pytest.raises(CommandError) as into_itself:
        call_command("restore", dump, into=here, stdout=None)
    with pytest.raises(CommandError) as into_existing:
        call_command("restore", dump, into=connection.settings_dict["NAME"], stdout=None)
    with pytest.raises(CommandError) as missing:
        call_command("restore", tmp_path / "none.dump", into="postgresql://localhost/none", stdout=None)

    assert str(into_itself.value).startswith("The database to restore into holds ")
    assert str(into_itself.value).endswith(" tables: restore into a new, empty one.")
    name = connection.settings_dict["NAME"]
    assert str(into_existing.value) == f"The database {name} exists already: restore into a new one."
    assert str(missing.value) == f"There is no backup at {tmp_path / 'none.dump'}."
