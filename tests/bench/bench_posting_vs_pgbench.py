"""Posting throughput against PostgreSQL's own ceiling, measured in one sitting (``make bench``).

The same unit of work both ways, with 1 and 4 concurrent clients, each client on its own account:

* Duly: ``finance.services.post_transaction`` posting a 20.00 payment that FIFO-allocates itself to
  the account's two earliest open 10.00 invoices (lock the account, number the payment, insert it
  and its event, two allocations, update both invoices, the payment and the account's balance). Each
  client is a process of its own, as web and Celery workers are (threads in one Python process
  would measure the GIL); all clients post for one tenant, so they share its gapless numbering;
* pgbench, the ``pgbench`` of the ``pgserver`` wheel against the same embedded PostgreSQL and
  database, running a raw-SQL script of that shape on tables of its own: lock the account, find the
  earliest open invoice, insert the transaction, two allocations, update the two invoices and the
  account.

Each line carries both rates and ``ratio`` = Duly / pgbench (issue #9's target: at least 0.40).

A third figure says how much of the gap is Python's: Duly's own statements, replayed by pgbench.
The database is copied (``createdb --template``) after the drafts are made and before Duly posts;
on one copy the same postings are made again, recording every statement each client sent, as it
reached PostgreSQL; on fresh copies each client's statements are replayed by a pgbench process
of its own, all starting together. The replay is the rate these postings would reach with no Python
at all: the ceiling of any change to the code that sends them. Two more replays show what the rows
every posting of the tenant writes cost: one with the daily figures' triggers disabled, and one with
no row shared at all (the triggers disabled and the number taken from a sequence, which is not
gapless): the ceiling of the database's own work on this machine, were nothing serialised.
"""

import multiprocessing
import re
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pgserver
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from core import rls
from finance import services
from finance.models import Allocation, Classification, FinancialTransaction, PaymentMethod
from tests.bench.bench_ledger import AT, analyze, bulk_open_invoices, emit
from tests.factories import CustomerFactory, TenantFactory

POSTINGS = 240
PGBENCH_PER_CLIENT = 1000
PG_BIN = Path(pgserver.__file__).parent / "pginstall" / "bin"
DAILY_FIGURES_TRIGGERS = ("reports_postings_inserted", "reports_postings_updated")
POSTING_FUNCTION = Path(__file__).resolve().parents[2] / "finance" / "sql" / "posting_v3.sql"
GAPLESS_NUMBER = """  INSERT INTO finance_counter AS s (tenant_id, series, last)
  VALUES (draft.tenant_id, draft.classification, 1)
  ON CONFLICT (tenant_id, series) DO UPDATE SET last = s.last + 1
  RETURNING s.last INTO sequence;
"""


def without_shared_rows() -> str:
    """The posting function taking its number from a sequence instead of the tenant's counter row (for
    the ceiling replay only: such numbers have gaps)."""
    function = POSTING_FUNCTION.read_text()
    assert function.count(GAPLESS_NUMBER) == 1, "the posting function no longer takes its number as this expects"
    return ("CREATE SEQUENCE bench_numbers START 1000000; GRANT USAGE ON SEQUENCE bench_numbers TO duly_app;\n"
            + function.replace(GAPLESS_NUMBER, "  sequence := nextval('bench_numbers');\n"))

SCHEMA = """
DROP TABLE IF EXISTS pgb_allocation, pgb_txn, pgb_invoice, pgb_account;
CREATE TABLE pgb_account (id int PRIMARY KEY, balance numeric(14, 2) NOT NULL);
CREATE TABLE pgb_invoice (id bigint PRIMARY KEY, account_id int NOT NULL REFERENCES pgb_account,
                          due_on date NOT NULL, total numeric(14, 2) NOT NULL, open_amount numeric(14, 2) NOT NULL);
CREATE INDEX pgb_invoice_open ON pgb_invoice (account_id, due_on, id) WHERE open_amount > 0;
CREATE TABLE pgb_txn (id bigserial PRIMARY KEY, account_id int NOT NULL REFERENCES pgb_account,
                      amount numeric(14, 2) NOT NULL, open_amount numeric(14, 2) NOT NULL,
                      posted_at timestamptz NOT NULL);
CREATE TABLE pgb_allocation (id bigserial PRIMARY KEY, credit_id bigint NOT NULL REFERENCES pgb_txn,
                             debit_id bigint NOT NULL REFERENCES pgb_invoice, amount numeric(14, 2) NOT NULL);
"""
SEED = """
INSERT INTO pgb_account SELECT a, 10.00 * %(invoices)s FROM generate_series(1, %(clients)s) a;
INSERT INTO pgb_invoice
SELECT (a - 1) * %(invoices)s + n, a, DATE '2026-01-01' + n, 10.00, 10.00
FROM generate_series(1, %(clients)s) a, generate_series(1, %(invoices)s) n;
ANALYZE pgb_account, pgb_invoice;
"""
SCRIPT = """\\set account :client_id + 1
BEGIN;
SELECT balance FROM pgb_account WHERE id = :account FOR UPDATE;
SELECT id AS first_invoice FROM pgb_invoice WHERE account_id = :account AND open_amount > 0
 ORDER BY due_on, id LIMIT 1 FOR UPDATE \\gset
INSERT INTO pgb_txn (account_id, amount, open_amount, posted_at) VALUES (:account, 20.00, 0, now())
 RETURNING id AS payment \\gset
INSERT INTO pgb_allocation (credit_id, debit_id, amount)
 VALUES (:payment, :first_invoice, 10.00), (:payment, :first_invoice + 1, 10.00);
UPDATE pgb_invoice SET open_amount = open_amount - 10.00 WHERE id IN (:first_invoice, :first_invoice + 1);
UPDATE pgb_account SET balance = balance - 20.00 WHERE id = :account;
END;
"""


def drafts_to_post(clients: int):
    """The tenant, and for each client a batch of payment drafts on an account of its own."""
    tenant = TenantFactory()
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        method = PaymentMethod.objects.get(tenant=tenant, name="Card")
        batches = []
        for _ in range(clients):
            account = services.open_account(customer=CustomerFactory(tenant=tenant), currency="EUR")
            bulk_open_invoices(account, 2 * POSTINGS // clients)
            batches.append([
                services.create_transaction(account=account, classification=Classification.PAYMENT, actor=None, at=AT,
                                            data=services.TransactionData(amount=Decimal("20.00"),
                                                                          payment_method=method)).pk
                for _ in range(POSTINGS // clients)
            ])
    analyze("finance_financialtransaction")
    return tenant, batches


def _client(tenant, draft_ids, ready, database=None, record_to=None):
    """Post ``draft_ids``; with ``record_to``, write each posting's statements there as a pgbench script."""
    connection.close()  # the parent's connection is not this process's to use
    if database:
        connection.settings_dict["NAME"] = database
    with scope(tenant=tenant):
        drafts = [FinancialTransaction.objects.get(pk=pk) for pk in draft_ids]
        ready.wait(timeout=120)
        if record_to is None:
            for draft in drafts:
                services.post_transaction(txn=draft, actor=None, at=AT)
        else:
            script = []
            for draft in drafts:
                with CaptureQueriesContext(connection) as posting:
                    services.post_transaction(txn=draft, actor=None, at=AT)
                for query in posting.captured_queries:  # BEGIN, the statements as sent, COMMIT
                    script.append(f"{query['sql'].strip()};")
                    if query["sql"] == "BEGIN":  # core.rls sets the tenant on the driver's cursor, unrecorded
                        script.append(f"{rls.scope_sql(str(tenant.pk))};")
            Path(record_to).write_text("\n".join(script) + "\n")
    connection.close()


def post_in_processes(tenant, batches, *, database: str | None = None, scripts: list[Path] | None = None) -> float:
    """Post each batch in a forked process of its own, all starting together; return the wall time.
    With ``database`` and ``scripts`` (one per batch), a recording run on that database."""
    connection.close()
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(len(batches) + 1)
    clients = [context.Process(target=_client, args=(tenant, batch, ready),
                               kwargs={"database": database, "record_to": script})
               for batch, script in zip(batches, scripts or [None] * len(batches), strict=True)]
    for client in clients:
        client.start()
    ready.wait(timeout=120)
    started = time.perf_counter()
    for client in clients:
        client.join(timeout=600)
    elapsed = time.perf_counter() - started
    assert [client.exitcode for client in clients] == [0] * len(clients)
    return elapsed


def _pg_command(program: str, *args: str) -> list[str]:
    db = connection.settings_dict
    return [str(PG_BIN / program), "-h", db["HOST"], "-U", db["USER"], *args]


def copy_database(name: str) -> str:
    """A copy of the test database as it is now, named ``name`` (replacing one left by a failed run)."""
    connection.close()  # a template database must have no one connected
    drop_databases(name)
    subprocess.run(_pg_command("createdb", "--template", connection.settings_dict["NAME"], name), check=True,
                   capture_output=True)
    return name


def replay(database: str, scripts: list[Path], *, without_triggers: tuple[str, ...] = (),
           change: str = "") -> float:
    """Make ``change`` on ``database`` and disable ``without_triggers``, then run each client's recorded
    script there in a pgbench process of its own, all at once; return the longest client's time (without
    connecting), in seconds."""
    if without_triggers:
        change += ("; ALTER TABLE finance_financialtransaction "
                   + ", ".join(f"DISABLE TRIGGER {name}" for name in without_triggers))
    if change:
        subprocess.run(_pg_command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database), input=change,
                       check=True, capture_output=True, text=True)
    runs = [subprocess.Popen(_pg_command("pgbench", "-n", "-t", "1", "-f", str(script), database),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for script in scripts]
    latencies = []
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0 and "failed transactions: 0 " in out, err
        latencies.append(float(re.search(r"latency average = ([\d.]+) ms", out).group(1)))
    return max(latencies) / 1000


def allocations_in(database: str) -> int:
    count = subprocess.run(_pg_command("psql", "-X", "-At", "-d", database, "-c",
                                       "SELECT count(*) FROM finance_allocation"),
                           check=True, capture_output=True, text=True)
    return int(count.stdout)


def drop_databases(*names: str) -> None:
    for name in names:
        subprocess.run(_pg_command("dropdb", "--if-exists", name), check=True, capture_output=True)


def pgbench_tps(clients: int) -> float:
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA)
        cursor.execute(SEED % {"clients": clients, "invoices": 2 * PGBENCH_PER_CLIENT + 2})
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(SCRIPT)
        script.flush()
        run = subprocess.run(
            _pg_command("pgbench", "-n", "-f", script.name, "-c", str(clients), "-j", str(clients),
                        "-t", str(PGBENCH_PER_CLIENT), connection.settings_dict["NAME"]),
            capture_output=True, text=True, check=True, timeout=600,
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pgb_allocation")
        assert cursor.fetchone()[0] == 2 * clients * PGBENCH_PER_CLIENT
        cursor.execute("DROP TABLE pgb_allocation, pgb_txn, pgb_invoice, pgb_account")
    return float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout).group(1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("clients", [1, 4])
def bench_posting_against_pgbench(clients):
    tenant, batches = drafts_to_post(clients)
    record, full, bare, unshared = copies = [copy_database(f"{connection.settings_dict['NAME']}_{use}")
                                             for use in ("record", "replay", "bare", "unshared")]
    try:
        duly = POSTINGS / post_in_processes(tenant, batches)
        with scope(tenant=tenant):
            assert Allocation.objects.filter(tenant=tenant).count() == 2 * POSTINGS
        with tempfile.TemporaryDirectory() as folder:
            scripts = [Path(folder) / f"client{n}.sql" for n in range(clients)]
            post_in_processes(tenant, batches, database=record, scripts=scripts)
            replayed = POSTINGS / replay(full, scripts)
            without_figures = POSTINGS / replay(bare, scripts, without_triggers=DAILY_FIGURES_TRIGGERS)
            nothing_shared = POSTINGS / replay(unshared, scripts, without_triggers=DAILY_FIGURES_TRIGGERS,
                                               change=without_shared_rows())
        assert [allocations_in(copy) for copy in copies] == [2 * POSTINGS] * 4
    finally:
        drop_databases(*copies)
    raw = pgbench_tps(clients)
    emit(bench="ledger.payment_post_two_allocations", clients=clients, postings=POSTINGS,
         postings_per_second=round(duly, 1))
    emit(bench="pgbench.payment_post_two_allocations", clients=clients,
         transactions=clients * PGBENCH_PER_CLIENT, tps=round(raw, 1))
    emit(bench="ledger.posting_vs_pgbench", clients=clients, ratio=round(duly / raw, 3), target=0.40)
    emit(bench="pgbench.duly_postings_replayed", clients=clients, postings=POSTINGS,
         postings_per_second=round(replayed, 1), ratio_to_pgbench_script=round(replayed / raw, 3),
         duly_to_replay=round(duly / replayed, 3), without_daily_figures_per_second=round(without_figures, 1),
         without_daily_figures_ratio_to_pgbench_script=round(without_figures / raw, 3),
         nothing_shared_per_second=round(nothing_shared, 1),
         nothing_shared_ratio_to_pgbench_script=round(nothing_shared / raw, 3))
