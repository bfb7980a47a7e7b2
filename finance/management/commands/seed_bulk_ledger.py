"""Seed a large, consistent ledger in one tenant, fast:
``manage.py seed_bulk_ledger acme --transactions 1000000``.

For benchmarks of the reports. Everything is ``INSERT … SELECT generate_series`` in one database
transaction, within what the database enforces (migration 0002): the composite foreign keys hold;
documents with lines (invoices, credit notes) are inserted as drafts, given their lines, then posted
by one ``UPDATE`` (the line trigger accepts lines only on drafts, and the transaction trigger lets a
draft change); payments and invoice cancellations, which have no lines, are inserted already posted
and never change afterwards. Posting numbers are gapless per classification and the tenant's
counters are moved past them, so ordinary postings continue the series.

The SQL runs as the connecting role (the tables' owner), which alone may ANALYZE the tables between
its statements, and ends with VACUUM ANALYZE outside any transaction, as autovacuum would.

Per ten invoices ("groups"): five are paid in full by a payment, one is half-credited by a credit
note, one is cancelled, three stay open — 17 transactions, each credit allocated to its invoice, so
open amounts, allocations and account balances agree.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_scopes import scope, scopes_disabled

from crm.models import Customer, Tenant
from finance import services
from finance.models import (
    Account,
    AccountKind,
    Classification,
    Counter,
    FinancialTransaction,
    PaymentMethod,
    Product,
    TaxRate,
    TransactionType,
)

PER_GROUP = 17  # transactions per ten invoices
TABLES_TO_VACUUM = ("finance_financialtransaction", "finance_transactionline", "finance_allocation", "finance_account")

SQL = """
CREATE TEMP TABLE bench_accounts (idx int PRIMARY KEY, id bigint, currency text) ON COMMIT DROP;
INSERT INTO bench_accounts SELECT row_number() OVER (ORDER BY id) - 1, id, currency
  FROM finance_account WHERE id = ANY(%(account_ids)s);

CREATE TEMP TABLE bench_groups ON COMMIT DROP AS
SELECT g, g %% 10 AS kind, a.id AS account_id, a.currency,
       (10 + (g %% 97) * 5)::numeric(14, 2) AS net,
       date_trunc('minute', %(now)s::timestamptz - ((g::bigint * 7919) %% (%(days)s * 1440)) * interval '1 minute')
         AS posted_at,
       (g %% %(products)s) AS product_idx
  FROM generate_series(0, %(groups)s - 1) AS g
  JOIN bench_accounts a ON a.idx = g %% %(accounts)s;
ALTER TABLE bench_groups ADD PRIMARY KEY (g);

-- invoices, as drafts
INSERT INTO finance_financialtransaction
  (tenant_id, account_id, currency, classification, direction, type_id, state, reference_number, number,
   back_office_code, external_reference, issued_at, posted_at, due_on, issue_note, net_amount, discount_amount,
   tax_amount, total_amount, open_amount, created_at)
SELECT %(tenant)s, account_id, currency, 'invoice', 'debit', %(invoice_type)s, 'draft', 'BI' || g, '', '', '',
       posted_at, NULL, (posted_at + interval '30 days')::date, '', net, 0, net * 0.2, net * 1.2, 0, posted_at
  FROM bench_groups;

-- credit notes for half of the invoice, as drafts
INSERT INTO finance_financialtransaction
  (tenant_id, account_id, currency, classification, direction, type_id, state, reference_number, number,
   back_office_code, external_reference, issued_at, posted_at, due_on, issue_note, net_amount, discount_amount,
   tax_amount, total_amount, open_amount, created_at)
SELECT %(tenant)s, account_id, currency, 'credit_note', 'credit', %(credit_type)s, 'draft', 'BC' || g, '', '', '',
       LEAST(posted_at + interval '2 days', %(now)s), NULL, NULL, '', net / 2, 0, net / 2 * 0.2, net / 2 * 1.2, 0,
       posted_at
  FROM bench_groups WHERE kind = 5;

-- Statistics as the rows arrive: without them the planner takes the tables for empty (autovacuum may
-- even analyze them meanwhile, without this transaction's rows) and joins them by nested loops
-- over sequential scans, here and in the triggers that run with these statements.
ANALYZE finance_financialtransaction;

CREATE TEMP TABLE bench_docs ON COMMIT DROP AS
SELECT substr(reference_number, 3)::bigint AS g, substr(reference_number, 1, 2) AS what, id
  FROM finance_financialtransaction WHERE tenant_id = %(tenant)s AND reference_number LIKE 'B%%'
   AND state = 'draft';
CREATE INDEX ON bench_docs (what, g);

INSERT INTO finance_transactionline
  (tenant_id, transaction_id, position, product_id, description, quantity, unit_price, discount_percent,
   discount_given, tax_rate_id, tax_percent, price_includes_tax, net_amount, discount_amount, tax_amount,
   total_amount)
SELECT %(tenant)s, d.id, 1, p.id, p.name, 1, t.net_amount, NULL, NULL, %(tax_rate)s, 20, false, t.net_amount, 0,
       t.tax_amount, t.total_amount
  FROM bench_docs d JOIN finance_financialtransaction t ON t.id = d.id
  JOIN bench_groups g ON g.g = d.g
  JOIN unnest(%(product_ids)s::bigint[], %(product_names)s::text[]) WITH ORDINALITY AS p(id, name, n)
    ON p.n = g.product_idx + 1;

ANALYZE bench_docs, bench_groups, finance_transactionline;

-- post them: numbered gaplessly in posting order, six digits at least as the services number them
CREATE OR REPLACE FUNCTION pg_temp.numbered(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
  $f$ SELECT CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END $f$;
UPDATE finance_financialtransaction t SET state = 'posted', posted_at = t.issued_at, number = n.number,
       open_amount = CASE WHEN t.classification = 'credit_note' OR g.kind BETWEEN 0 AND 4 OR g.kind = 6 THEN 0
                          WHEN g.kind = 5 THEN t.total_amount - t.total_amount / 2
                          ELSE t.total_amount END
  FROM (SELECT id, CASE what WHEN 'BI' THEN 'INV-' ELSE 'CN-' END
                   || pg_temp.numbered(row_number() OVER (PARTITION BY what ORDER BY g)
                                       + CASE what WHEN 'BI' THEN %(inv_start)s ELSE %(cn_start)s END) AS number, g
          FROM bench_docs) n
  JOIN bench_groups g ON g.g = n.g
 WHERE t.id = n.id;

-- payments (groups 0-4) and invoice cancellations (group 6), posted and fully allocated at once
INSERT INTO finance_financialtransaction
  (tenant_id, account_id, currency, classification, direction, type_id, state, reference_number, number,
   back_office_code, external_reference, issued_at, posted_at, due_on, issue_note, net_amount, discount_amount,
   tax_amount, total_amount, open_amount, payment_method_id, related_id, created_at)
SELECT %(tenant)s, g.account_id, g.currency, 'payment', 'credit', %(payment_type)s, 'posted', 'BP' || g.g,
       'PAY-' || pg_temp.numbered(row_number() OVER (ORDER BY g.g) + %(pay_start)s), '', '',
       LEAST(g.posted_at + interval '5 days', %(now)s), LEAST(g.posted_at + interval '5 days', %(now)s), NULL, '',
       g.net * 1.2, 0, 0, g.net * 1.2, 0,
       (%(method_ids)s::bigint[])[1 + g.g %% cardinality(%(method_ids)s::bigint[])], NULL, g.posted_at
  FROM bench_groups g WHERE g.kind BETWEEN 0 AND 4;

INSERT INTO finance_financialtransaction
  (tenant_id, account_id, currency, classification, direction, type_id, state, reference_number, number,
   back_office_code, external_reference, issued_at, posted_at, due_on, issue_note, net_amount, discount_amount,
   tax_amount, total_amount, open_amount, related_id, created_at)
SELECT %(tenant)s, g.account_id, g.currency, 'invoice_cancellation', 'credit', %(cancel_type)s, 'posted', 'BX' || g.g,
       'IC-' || pg_temp.numbered(row_number() OVER (ORDER BY g.g) + %(ic_start)s), '', '',
       LEAST(g.posted_at + interval '1 day', %(now)s), LEAST(g.posted_at + interval '1 day', %(now)s), NULL,
       'Entered in error', g.net * 1.2, 0, 0,
       g.net * 1.2, 0, d.id, g.posted_at
  FROM bench_groups g JOIN bench_docs d ON d.what = 'BI' AND d.g = g.g WHERE g.kind = 6;

ANALYZE finance_financialtransaction;

INSERT INTO finance_allocation (tenant_id, account_id, currency, credit_id, debit_id, amount, created_at,
                                reversal_reason)
SELECT %(tenant)s, c.account_id, c.currency, c.id, i.id, c.total_amount, c.posted_at, ''
  FROM bench_groups g
  JOIN finance_financialtransaction i ON i.tenant_id = %(tenant)s AND i.reference_number = 'BI' || g.g
  JOIN finance_financialtransaction c ON c.tenant_id = %(tenant)s
   AND c.reference_number = CASE WHEN g.kind BETWEEN 0 AND 4 THEN 'BP' WHEN g.kind = 5 THEN 'BC' ELSE 'BX' END || g.g
 WHERE g.kind BETWEEN 0 AND 6;

UPDATE finance_account a SET balance = s.balance
  FROM (SELECT account_id, sum(CASE direction WHEN 'debit' THEN total_amount ELSE -total_amount END) AS balance
          FROM finance_financialtransaction WHERE tenant_id = %(tenant)s AND state = 'posted'
         GROUP BY account_id) s
 WHERE a.id = s.account_id;
"""


class Command(BaseCommand):
    help = "Seed many posted transactions (with lines, payments, credit notes, cancellations) in one tenant, fast."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("--transactions", type=int, default=1_000_000)
        parser.add_argument("--accounts", type=int, default=5_000)
        parser.add_argument("--days", type=int, default=450, help="Spread postings over this many days back.")

    def handle(self, *args, tenant: str, transactions: int, accounts: int, days: int, **options):
        started = time.monotonic()
        with scopes_disabled():
            found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        groups = max(1, round(transactions * 10 / PER_GROUP))
        with scope(tenant=found), transaction.atomic():
            self._seed(found, groups=groups, accounts=accounts, days=days)
        # VACUUM sets the visibility map, so the reports' covering indexes are read without the table
        # (autovacuum does this in production); inside a transaction (a test) only ANALYZE can run.
        # Outside any tenant scope: a scoped query is wrapped in a transaction as ``duly_app``
        # (core.rls), where VACUUM cannot run and which owns no table to vacuum or analyze.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with scopes_disabled(), connection.cursor() as cursor:
            for table in TABLES_TO_VACUUM:
                cursor.execute(f"{command} {table}")
        self.stdout.write(f"Seeded {groups * PER_GROUP // 10} transactions in {tenant} "
                          f"in {time.monotonic() - started:.1f} s.")

    def _seed(self, tenant: Tenant, *, groups: int, accounts: int, days: int) -> None:
        from django.utils import timezone

        services.set_up_ledger(tenant=tenant)
        if FinancialTransaction.objects.filter(tenant=tenant, reference_number="BI0").exists():
            raise CommandError("This tenant was seeded already (its bulk references would repeat).")
        existing = Account.objects.filter(tenant=tenant, kind=AccountKind.CUSTOMER).count()
        if existing < accounts:
            start = Customer.objects.filter(tenant=tenant).count()
            customers = Customer.objects.bulk_create(
                Customer(tenant=tenant, name=f"Bench customer {start + n}", email=f"bench{start + n}@example.com")
                for n in range(accounts - existing)
            )
            Account.objects.bulk_create(
                Account(tenant=tenant, customer=c, name=f"{c.name} ({'USD' if n % 10 == 9 else 'EUR'})",
                        currency="USD" if n % 10 == 9 else "EUR")
                for n, c in enumerate(customers)
            )
        account_ids = list(Account.objects.filter(tenant=tenant, kind=AccountKind.CUSTOMER).order_by("id")
                           .values_list("id", flat=True)[:accounts])
        products = [Product.objects.get_or_create(tenant=tenant, code=f"BENCH-{n}",
                                                  defaults={"name": f"Bench product {n}"})[0] for n in range(10)]
        types = {t.classification: t.pk for t in TransactionType.objects.filter(tenant=tenant, is_default=True)}
        starts = {}
        for classification in (Classification.INVOICE, Classification.CREDIT_NOTE, Classification.PAYMENT,
                               Classification.INVOICE_CANCELLATION):
            starts[classification] = Counter.objects.filter(
                tenant=tenant, series=classification).values_list("last", flat=True).first() or 0
        # As the connecting role (the tables' owner), which alone may ANALYZE; the rows name their tenant.
        with scopes_disabled(), connection.cursor() as cursor:
            cursor.execute(SQL, {
                "tenant": tenant.pk, "account_ids": account_ids, "accounts": len(account_ids), "groups": groups,
                "days": days, "now": timezone.now(), "products": len(products),
                "product_ids": [p.pk for p in products], "product_names": [p.name for p in products],
                "tax_rate": TaxRate.objects.get(tenant=tenant, name="Standard").pk,
                "method_ids": list(PaymentMethod.objects.filter(tenant=tenant).values_list("pk", flat=True)),
                "invoice_type": types[Classification.INVOICE], "credit_type": types[Classification.CREDIT_NOTE],
                "payment_type": types[Classification.PAYMENT],
                "cancel_type": types[Classification.INVOICE_CANCELLATION],
                "inv_start": starts[Classification.INVOICE], "cn_start": starts[Classification.CREDIT_NOTE],
                "pay_start": starts[Classification.PAYMENT], "ic_start": starts[Classification.INVOICE_CANCELLATION],
            })
        added = {
            Classification.INVOICE: groups,
            Classification.CREDIT_NOTE: len(range(5, groups, 10)),
            Classification.PAYMENT: sum(1 for g in range(groups) if g % 10 < 5),
            Classification.INVOICE_CANCELLATION: len(range(6, groups, 10)),
        }
        for classification, count in added.items():
            Counter.objects.update_or_create(tenant=tenant, series=classification,
                                             defaults={"last": starts[classification] + count})
