-- The posting, version 3: the only code that posts a transaction and allocates (docs/ledger.md,
-- docs/decisions/posting.md). Applied by finance/migrations/0016_posting_v3.py;
-- a change is a new file (posting_v4.sql) and a new migration, so a database says which version it runs.
-- Since version 2: the open amounts of what the posting settles are written before the number is taken,
-- so the postings of a tenant wait on each other only for the posting's own row (and the commit).
-- Since version 1: the gapless number comes from the tenant's finance_counter row, not django-sequences'.
--
-- Python (finance.services.post_transaction) validates and drafts, works out an invoice's due date
-- from the due-date rules, and turns the errors raised here into the messages users read:
--   DL001  the transaction is not a draft (DETAIL: its state, HINT: its number)
--   DL002  the account is terminated, or suspended and the transaction is an invoice (DETAIL: its
--          state, HINT: its name)
--   DL003  the transaction's total is zero
--   DL004  the transaction to settle is not a posted one of the other direction on this account
-- Functions run as the caller (SECURITY INVOKER), so row-level security confines them to the tenant
-- like every other statement. PL/pgSQL keeps each statement's plan for the session.

-- End the active allocations of transaction ``txn`` (except those from credit ``keep_credit``) and
-- give their amounts back to both sides.
CREATE OR REPLACE FUNCTION finance_unallocate(txn bigint, keep_credit bigint, at timestamptz, reason text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  back record;
BEGIN
  -- One update by id for each transaction given back: a join with the transactions table would be
  -- planned as a scan of the tenant's rows, whose number the row-level security filter hides.
  FOR back IN
    WITH ended AS (
      UPDATE finance_allocation
         SET reversed_at = at, reversal_reason = left(reason, 200)
       WHERE (credit_id = txn OR debit_id = txn) AND reversed_at IS NULL
         AND credit_id IS DISTINCT FROM keep_credit
      RETURNING credit_id, debit_id, amount
    )
    SELECT side.id, sum(ended.amount) AS amount
      FROM ended, LATERAL (VALUES (ended.credit_id), (ended.debit_id)) AS side(id)
     GROUP BY side.id
  LOOP
    UPDATE finance_financialtransaction t SET open_amount = t.open_amount + back.amount WHERE t.id = back.id;
  END LOOP;
END $$;

-- Allocate ``amount`` of ``credit`` to ``debit`` now; neither is the transaction being posted.
CREATE OR REPLACE FUNCTION finance_allocate(
  tenant bigint, account bigint, currency text, credit bigint, debit bigint, amount numeric, at timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO finance_allocation (tenant_id, account_id, currency, credit_id, debit_id, amount, created_at,
                                  reversal_reason)
  VALUES (tenant, account, currency, credit, debit, amount, at, '');
END $$;

-- Post draft ``txn`` at ``at`` by ``actor`` and return its posted row:
--  1. lock its account, then the draft (FOR NO KEY UPDATE: rows being inserted that refer to them, a
--     draft on the same account say, check their foreign keys without waiting); refuse what the
--     account's or the draft's state does not allow;
--  2. add it to the balance and write the audit event;
--  3. allocate: first to ``settle`` (ending ``settle``'s own allocations before, with ``unsettle_reason``,
--     when one is given: a cancellation), or, for a credit naming invoices under Against Item & FIFO,
--     to those invoices in order, de-allocating what settled them (``reallocation_reason``); then FIFO:
--     the earliest posted open credit to the earliest due open debit, until one side runs out;
--  4. write the allocations, and the open amounts of the transactions they settle in one UPDATE;
--  5. take the tenant's next gapless number of the classification, last: its row stays locked until
--     the commit, so concurrent postings of one tenant wait on each other only for this end: the
--     posting's own row (its daily figures' trigger with it) and the commit.
-- ``due_on`` is an invoice's due date, worked out by the caller from the due-date rules; other
-- debits are due on the day posted (the tenant's calendar day), credits have none.
CREATE OR REPLACE FUNCTION finance_post(
  txn bigint, actor bigint, at timestamptz, due_on date, settle bigint, unsettle_reason text,
  reallocation_reason text
) RETURNS SETOF finance_financialtransaction LANGUAGE plpgsql AS $$
DECLARE
  account_id bigint;
  account record;
  draft finance_financialtransaction%ROWTYPE;
  is_debit boolean;
  due date;
  still_open numeric(14, 2);
  other record;
  target record;
  amount numeric(14, 2);
  credits refcursor;
  debits refcursor;
  mine_credit boolean;
  mine_debit boolean;
  credit_ahead boolean;
  ahead_credit_id bigint;
  ahead_credit_open numeric(14, 2);
  ahead_credit_at timestamptz;
  debit_ahead boolean;
  ahead_debit_id bigint;
  ahead_debit_open numeric(14, 2);
  ahead_debit_due date;
  credit_id bigint;
  credit_open numeric(14, 2);
  debit_id bigint;
  debit_open numeric(14, 2);
  pair_credit bigint[] := '{}';
  pair_debit bigint[] := '{}';
  pair_amount numeric[] := '{}';
  sequence bigint;
BEGIN
  SELECT t.account_id INTO account_id FROM finance_financialtransaction t WHERE t.id = txn;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'financial transaction % does not exist', txn USING ERRCODE = 'no_data_found';
  END IF;
  SELECT a.id, a.tenant_id, a.state, a.currency, a.name, tn.time_zone INTO account
    FROM finance_account a JOIN crm_tenant tn ON tn.id = a.tenant_id
   WHERE a.id = account_id FOR NO KEY UPDATE OF a;
  SELECT * INTO draft FROM finance_financialtransaction t WHERE t.id = txn FOR NO KEY UPDATE;
  IF draft.state <> 'draft' THEN
    RAISE EXCEPTION 'financial transaction % is %', txn, draft.state
      USING ERRCODE = 'DL001', DETAIL = draft.state, HINT = draft.number;
  END IF;
  IF account.state = 'terminated' OR (account.state = 'suspended' AND draft.classification = 'invoice') THEN
    RAISE EXCEPTION 'account % is %', account.id, account.state
      USING ERRCODE = 'DL002', DETAIL = account.state, HINT = account.name;
  END IF;
  IF draft.total_amount <= 0 THEN
    RAISE EXCEPTION 'financial transaction % totals zero', txn USING ERRCODE = 'DL003';
  END IF;
  is_debit := draft.direction = 'debit';
  due := CASE WHEN draft.classification = 'invoice' THEN finance_post.due_on
              WHEN is_debit THEN (at AT TIME ZONE account.time_zone)::date
              ELSE draft.due_on END;
  IF due IS NULL AND is_debit THEN
    RAISE EXCEPTION 'an invoice is posted with its due date' USING ERRCODE = 'null_value_not_allowed';
  END IF;

  UPDATE finance_account a SET balance = a.balance + CASE WHEN is_debit THEN draft.total_amount
                                                          ELSE -draft.total_amount END
   WHERE a.id = account.id;
  INSERT INTO finance_transactionevent (tenant_id, transaction_id, action, from_state, to_state, actor_id, at, detail)
  VALUES (draft.tenant_id, txn, 'post', 'draft', 'posted', actor, at, '');
  still_open := draft.total_amount;

  IF settle IS NOT NULL THEN
    IF unsettle_reason IS NOT NULL THEN
      PERFORM finance_unallocate(settle, NULL, at, unsettle_reason);
    END IF;
    SELECT t.id, t.open_amount INTO other FROM finance_financialtransaction t
     WHERE t.id = settle AND t.account_id = account.id AND t.state = 'posted' AND t.direction <> draft.direction;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'transaction % cannot settle %', settle, txn USING ERRCODE = 'DL004';
    END IF;
    amount := least(other.open_amount, still_open);
    IF amount > 0 THEN
      PERFORM finance_allocate(draft.tenant_id, account.id, account.currency,
                               CASE WHEN is_debit THEN settle ELSE txn END,
                               CASE WHEN is_debit THEN txn ELSE settle END, amount, at);
      UPDATE finance_financialtransaction t SET open_amount = t.open_amount - amount WHERE t.id = settle;
      still_open := still_open - amount;
    END IF;
  ELSIF NOT is_debit AND EXISTS (SELECT FROM finance_targetedinvoice ti WHERE ti.credit_id = txn)
        AND (SELECT d.allocation_principle FROM finance_ledgerdefinition d WHERE d.tenant_id = draft.tenant_id)
            = 'against_item_fifo' THEN
    FOR target IN SELECT ti.invoice_id FROM finance_targetedinvoice ti WHERE ti.credit_id = txn
                   ORDER BY ti.position LOOP
      EXIT WHEN still_open <= 0;
      PERFORM finance_unallocate(target.invoice_id, txn, at, reallocation_reason);
      SELECT least(t.open_amount, still_open) INTO amount FROM finance_financialtransaction t
       WHERE t.id = target.invoice_id;
      IF amount > 0 THEN
        PERFORM finance_allocate(draft.tenant_id, account.id, account.currency, txn, target.invoice_id, amount, at);
        UPDATE finance_financialtransaction t SET open_amount = t.open_amount - amount WHERE t.id = target.invoice_id;
        still_open := still_open - amount;
      END IF;
    END LOOP;
  END IF;

  -- FIFO, with the posting in its place among the open items (its row still says draft). Each side is
  -- read lazily off its index, in order, one row ahead, so an account with 10,000 open invoices reads
  -- the few a posting settles; the posting is taken when it comes before the row ahead.
  mine_credit := NOT is_debit AND still_open > 0;
  mine_debit := is_debit AND still_open > 0;
  OPEN credits FOR
    SELECT t.id, t.open_amount, t.posted_at FROM finance_financialtransaction t
     WHERE t.account_id = account.id AND t.state = 'posted' AND t.direction = 'credit' AND t.open_amount > 0
     ORDER BY t.posted_at, t.id;
  FETCH credits INTO ahead_credit_id, ahead_credit_open, ahead_credit_at;
  credit_ahead := FOUND;
  LOOP
    IF credit_id IS NULL THEN
      IF mine_credit AND (NOT credit_ahead OR ROW(at, txn) < ROW(ahead_credit_at, ahead_credit_id)) THEN
        credit_id := txn;
        credit_open := still_open;
        mine_credit := false;
      ELSIF credit_ahead THEN
        credit_id := ahead_credit_id;
        credit_open := ahead_credit_open;
        FETCH credits INTO ahead_credit_id, ahead_credit_open, ahead_credit_at;
        credit_ahead := FOUND;
      ELSE
        EXIT;
      END IF;
    END IF;
    IF debits IS NULL THEN
      OPEN debits FOR
        SELECT t.id, t.open_amount, t.due_on FROM finance_financialtransaction t
         WHERE t.account_id = account.id AND t.state = 'posted' AND t.direction = 'debit' AND t.open_amount > 0
         ORDER BY t.due_on, t.id;
      FETCH debits INTO ahead_debit_id, ahead_debit_open, ahead_debit_due;
      debit_ahead := FOUND;
    END IF;
    IF debit_id IS NULL THEN
      IF mine_debit AND (NOT debit_ahead OR ROW(due, txn) < ROW(ahead_debit_due, ahead_debit_id)) THEN
        debit_id := txn;
        debit_open := still_open;
        mine_debit := false;
      ELSIF debit_ahead THEN
        debit_id := ahead_debit_id;
        debit_open := ahead_debit_open;
        FETCH debits INTO ahead_debit_id, ahead_debit_open, ahead_debit_due;
        debit_ahead := FOUND;
      ELSE
        EXIT;
      END IF;
    END IF;
    amount := least(credit_open, debit_open);
    pair_credit := pair_credit || credit_id;
    pair_debit := pair_debit || debit_id;
    pair_amount := pair_amount || amount;
    credit_open := credit_open - amount;
    debit_open := debit_open - amount;
    IF credit_id = txn THEN still_open := credit_open; END IF;
    IF debit_id = txn THEN still_open := debit_open; END IF;
    IF credit_open = 0 THEN credit_id := NULL; END IF;
    IF debit_open = 0 THEN debit_id := NULL; END IF;
  END LOOP;
  CLOSE credits;
  IF debits IS NOT NULL THEN
    CLOSE debits;
  END IF;
  IF cardinality(pair_amount) > 0 THEN
    INSERT INTO finance_allocation (tenant_id, account_id, currency, credit_id, debit_id, amount, created_at,
                                    reversal_reason)
    SELECT draft.tenant_id, account.id, account.currency, p.credit, p.debit, p.amount, at, ''
      FROM unnest(pair_credit, pair_debit, pair_amount) AS p(credit, debit, amount);
  END IF;

  -- The rows are found by id (= ANY): joined with a list of changes, the planner scanned the tenant's
  -- rows, whose number the row-level security filter hides from it.
  IF cardinality(pair_amount) > 0 THEN
    UPDATE finance_financialtransaction t
       SET open_amount = t.open_amount - (SELECT sum(side.amount)
                                            FROM unnest(pair_credit || pair_debit, pair_amount || pair_amount)
                                                 AS side(id, amount)
                                           WHERE side.id = t.id)
     WHERE t.id = ANY(array_remove(pair_credit || pair_debit, txn));
  END IF;

  INSERT INTO finance_counter AS s (tenant_id, series, last)
  VALUES (draft.tenant_id, draft.classification, 1)
  ON CONFLICT (tenant_id, series) DO UPDATE SET last = s.last + 1
  RETURNING s.last INTO sequence;

  RETURN QUERY
  UPDATE finance_financialtransaction t SET
    state = 'posted',
    number = CASE draft.classification WHEN 'invoice' THEN 'INV' WHEN 'credit_note' THEN 'CN'
             WHEN 'payment' THEN 'PAY' WHEN 'refund' THEN 'RF' WHEN 'write_off' THEN 'WO'
             WHEN 'invoice_cancellation' THEN 'IC' WHEN 'payment_cancellation' THEN 'PC' END
             || '-' || CASE WHEN sequence < 1000000 THEN lpad(sequence::text, 6, '0') ELSE sequence::text END,
    posted_at = at,
    due_on = due,
    open_amount = still_open
  WHERE t.id = txn
  RETURNING t.*;
END $$;
