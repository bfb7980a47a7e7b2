"""The daily figures' triggers (their tables are created by 0002, whose unique indexes the upserts need)."""

from django.db import migrations

# The daily figures are kept where postings happen, by the database itself, whatever posts (the
# services, a bulk seed, psql): statement-level triggers with transition tables, so a bulk INSERT or
# UPDATE adds its postings in one grouped upsert per statement, and a posting of one transaction in
# one small upsert inside its own database transaction. A transaction counts once, when it becomes
# posted (inserted posted, or updated from another state to posted); posted rows never change.
# Each classification has rows of its own, and postings of one classification in one tenant already
# serialize on its gapless number, so the upserts add no new waiting between postings.
# The day is the tenant's calendar day, as the reports' periods are.
ADD_POSTINGS = """
-- PL/pgSQL rather than SQL: it keeps the statement's plan for the session, where an SQL function
-- plans it again at every call (milliseconds, inside the posting's serialized end). Index lookups by
-- id are the right plan for any number of ids; without seq scans the planner keeps to them even
-- inside a bulk statement whose rows it has no statistics for yet (the table looks empty to it, and
-- a nested loop over sequential scans of the lines made a 100,000-row seed take minutes).
CREATE OR REPLACE FUNCTION reports_add_postings(ids bigint[]) RETURNS void LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
WITH posted AS (
  SELECT t.id, t.tenant_id, (t.posted_at AT TIME ZONE tn.time_zone)::date AS day, t.currency, t.classification,
         a.kind = 'customer' AS customer_account, t.type_id,
         CASE WHEN t.classification = 'payment_cancellation' THEN r.payment_method_id ELSE t.payment_method_id END
           AS method_id,
         t.net_amount, t.discount_amount, t.tax_amount, t.total_amount,
         CASE WHEN t.classification = 'invoice_cancellation' THEN COALESCE(r.net_amount, t.net_amount)
              ELSE t.net_amount END AS revenue_net,
         CASE WHEN t.classification = 'invoice_cancellation' THEN COALESCE(r.discount_amount, 0)
              ELSE t.discount_amount END AS revenue_discount,
         CASE WHEN t.classification = 'invoice_cancellation' THEN COALESCE(r.tax_amount, 0)
              ELSE t.tax_amount END AS revenue_tax,
         CASE WHEN t.classification = 'invoice_cancellation'
              THEN COALESCE(r.net_amount - r.discount_amount, t.net_amount)
              ELSE t.net_amount - t.discount_amount END AS revenue_without_tax
    FROM unnest(ids) AS posting(id)  -- a join, not "= ANY(ids)": a bulk statement's ids are many
    JOIN finance_financialtransaction t ON t.id = posting.id
    JOIN crm_tenant tn ON tn.id = t.tenant_id
    JOIN finance_account a ON a.id = t.account_id
    LEFT JOIN finance_financialtransaction r ON r.id = t.related_id
   WHERE t.state = 'posted' AND t.posted_at IS NOT NULL
), figures AS (
  INSERT INTO reports_dailyfigure AS f
    (tenant_id, day, currency, classification, customer_account, type_id, method_id, count, net_amount,
     discount_amount, tax_amount, total_amount, revenue_net, revenue_discount, revenue_tax, revenue_without_tax)
  SELECT tenant_id, day, currency, classification, customer_account, type_id, method_id, count(*), sum(net_amount),
         sum(discount_amount), sum(tax_amount), sum(total_amount), sum(revenue_net), sum(revenue_discount),
         sum(revenue_tax), sum(revenue_without_tax)
    FROM posted GROUP BY tenant_id, day, currency, classification, customer_account, type_id, method_id
  ON CONFLICT (tenant_id, day, currency, classification, customer_account, type_id, method_id) DO UPDATE SET
    count = f.count + excluded.count, net_amount = f.net_amount + excluded.net_amount,
    discount_amount = f.discount_amount + excluded.discount_amount, tax_amount = f.tax_amount + excluded.tax_amount,
    total_amount = f.total_amount + excluded.total_amount, revenue_net = f.revenue_net + excluded.revenue_net,
    revenue_discount = f.revenue_discount + excluded.revenue_discount,
    revenue_tax = f.revenue_tax + excluded.revenue_tax,
    revenue_without_tax = f.revenue_without_tax + excluded.revenue_without_tax
)
INSERT INTO reports_dailyproductfigure AS f (tenant_id, day, currency, product_id, lines, revenue)
SELECT p.tenant_id, p.day, p.currency, l.product_id, count(*), sum(l.net_amount - l.discount_amount)
  FROM posted p JOIN finance_transactionline l ON l.transaction_id = p.id
 WHERE p.classification = 'invoice' AND p.customer_account
 GROUP BY p.tenant_id, p.day, p.currency, l.product_id
ON CONFLICT (tenant_id, day, currency, product_id) DO UPDATE SET
  lines = f.lines + excluded.lines, revenue = f.revenue + excluded.revenue;
END $$;

-- The trigger functions run as the tables' owner (SECURITY DEFINER), outside row-level security:
-- under it, every lookup of a posting by id also carries the policy's "tenant_id = setting", which
-- the planner cannot estimate, and it chose to scan all of the tenant's posted rows for one posting
-- (25 ms at 10,000 rows, growing with the tenant). They read only the rows of the statement that
-- fired them (its transition tables), which row-level security had already confined to the tenant,
-- and cannot be called other than as triggers.
CREATE OR REPLACE FUNCTION reports_postings_inserted() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  ids bigint[] := ARRAY(SELECT id FROM new_rows WHERE state = 'posted');
BEGIN
  IF cardinality(ids) > 0 THEN
    PERFORM reports_add_postings(ids);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reports_postings_updated() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  -- Posted now and not before. EXCEPT hashes; a join of the two transition tables, which have no
  -- statistics, may be planned as a nested loop: quadratic for a bulk update.
  ids bigint[] := ARRAY(SELECT id FROM new_rows WHERE state = 'posted'
                        EXCEPT SELECT id FROM old_rows WHERE state = 'posted');
BEGIN
  IF cardinality(ids) > 0 THEN
    PERFORM reports_add_postings(ids);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reports_rebuild_figures(tenant bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM reports_dailyfigure WHERE tenant_id = tenant;
  DELETE FROM reports_dailyproductfigure WHERE tenant_id = tenant;
  PERFORM reports_add_postings(ARRAY(SELECT id FROM finance_financialtransaction
                                      WHERE tenant_id = tenant AND state = 'posted'));
END $$;

-- The days are the tenant's calendar days: a new time zone moves them.
CREATE OR REPLACE FUNCTION reports_tenant_time_zone_changed() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  PERFORM reports_rebuild_figures(NEW.id);
  RETURN NULL;
END $$;

CREATE TRIGGER reports_tenant_time_zone_changed AFTER UPDATE OF time_zone ON crm_tenant
  FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
  EXECUTE FUNCTION reports_tenant_time_zone_changed();

CREATE TRIGGER reports_postings_inserted AFTER INSERT ON finance_financialtransaction
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_postings_inserted();
CREATE TRIGGER reports_postings_updated AFTER UPDATE ON finance_financialtransaction
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_postings_updated();

-- What was posted before this migration.
SELECT reports_add_postings(ARRAY(SELECT id FROM finance_financialtransaction WHERE state = 'posted'));
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS reports_tenant_time_zone_changed ON crm_tenant;
DROP FUNCTION IF EXISTS reports_tenant_time_zone_changed();
DROP TRIGGER IF EXISTS reports_postings_inserted ON finance_financialtransaction;
DROP TRIGGER IF EXISTS reports_postings_updated ON finance_financialtransaction;
DROP FUNCTION IF EXISTS reports_postings_inserted();
DROP FUNCTION IF EXISTS reports_postings_updated();
DROP FUNCTION IF EXISTS reports_rebuild_figures(bigint);
DROP FUNCTION IF EXISTS reports_add_postings(bigint[]);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('finance', '0007_list_indexes'),
        ('reports', '0002_daily_figures'),
    ]

    operations = [
        migrations.RunSQL(ADD_POSTINGS, DROP_TRIGGERS),
    ]
