-- The booking of a gateway payment's success, version 2 (docs/gateways.md, "Booking a success";
-- docs/decisions/booking.md). Applied by payments/migrations/0018_counters.py; a change is a new
-- file (booking_v3.sql) and a new migration.
-- Since version 1: the receipt's number comes from the tenant's finance_counter row, not django-sequences'.
--
-- Python (payments.services.gateway_payments.apply_state) locks the payment, decides what it books
-- (the amount check, the invoice a settlement allocates to), drafts the ledger payment with the ledger's
-- own validation, and makes the receipt link's token. Here, in one round trip: the posting (finance_post,
-- the only code that posts), the payment's new state and its event, the receipt, and the notice the
-- notifications worker turns into the payer's confirmation and the staff's note.
-- Functions run as the caller, so row-level security confines them to the tenant.

-- The receipt of posted ledger payment ``ledger_payment`` (of gateway payment ``gateway_payment``, if
-- any): the tenant's next gapless receipt number, and what the payer sees copied from the rows as they
-- are now. Returns its id. The caller checks it is a posted payment without a receipt.
CREATE OR REPLACE FUNCTION payments_issue_receipt(
  ledger_payment bigint, gateway_payment bigint, at timestamptz, token_hash text
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  txn finance_financialtransaction%ROWTYPE;
  paid payments_gatewaypayment%ROWTYPE;
  payer record;
  invoice_number text;
  next_number bigint;
  receipt_id bigint;
BEGIN
  SELECT * INTO STRICT txn FROM finance_financialtransaction WHERE id = ledger_payment;
  IF gateway_payment IS NOT NULL THEN
    SELECT * INTO STRICT paid FROM payments_gatewaypayment WHERE id = gateway_payment;
    -- its ledger payment names only the invoice it paid, if any
    SELECT i.number INTO invoice_number FROM finance_financialtransaction i WHERE i.id = paid.invoice_id;
  ELSE
    SELECT i.number INTO invoice_number
      FROM finance_targetedinvoice t JOIN finance_financialtransaction i ON i.id = t.invoice_id
     WHERE t.credit_id = txn.id ORDER BY t.position LIMIT 1;
  END IF;
  SELECT a.name AS account_name, c.id AS customer_id, c.name AS customer_name, c.email AS customer_email
    INTO STRICT payer
    FROM finance_account a LEFT JOIN crm_customer c ON c.id = a.customer_id
   WHERE a.id = txn.account_id;
  -- the first is 1, and the row stays locked until the commit
  INSERT INTO finance_counter AS s (tenant_id, series, last) VALUES (txn.tenant_id, 'receipt', 1)
    ON CONFLICT (tenant_id, series) DO UPDATE SET last = s.last + 1
    RETURNING s.last INTO next_number;
  INSERT INTO payments_receipt (
    tenant_id, number, gateway_payment_id, ledger_payment_id, amount, currency, provider, provider_reference,
    invoice_number, description, payer_name, payer_email, issued_at, public_token_hash)
  VALUES (
    txn.tenant_id,
    'RC-' || CASE WHEN next_number < 1000000 THEN lpad(next_number::text, 6, '0') ELSE next_number::text END,
    gateway_payment, txn.id, txn.total_amount, txn.currency, coalesce(paid.provider, ''),
    coalesce(nullif(txn.external_reference, ''), paid.provider_reference, ''), coalesce(invoice_number, ''),
    coalesce(paid.description, ''),
    CASE WHEN payer.customer_id IS NULL THEN payer.account_name ELSE payer.customer_name END,
    coalesce(payer.customer_email, ''), at, token_hash)
  RETURNING id INTO receipt_id;
  RETURN receipt_id;
END $$;

-- Book the success of gateway payment ``payment`` (locked by the caller, in state ``from_status``):
-- post its drafted ledger payment ``draft`` (allocated first to ``invoice`` while that is open), record
-- the payment succeeded with its event, issue the receipt and write the payment's notice. Returns the
-- posted ledger payment. Raises what finance_post raises (DL001-DL004), with nothing written.
CREATE OR REPLACE FUNCTION payments_book_success(
  payment bigint, draft bigint, invoice bigint, from_status text, actor bigint, at timestamptz, source text,
  reallocation_reason text, receipt_token text, receipt_token_hash text
) RETURNS SETOF finance_financialtransaction LANGUAGE plpgsql AS $$
DECLARE
  posted finance_financialtransaction%ROWTYPE;
  settle bigint;
BEGIN
  SELECT i.id INTO settle FROM finance_financialtransaction i WHERE i.id = invoice AND i.open_amount > 0;
  SELECT * INTO STRICT posted FROM finance_post(draft, actor, at, NULL, settle, NULL, reallocation_reason);
  UPDATE payments_gatewaypayment
     SET status = 'succeeded', ledger_payment_id = draft, invoice_id = invoice, settled_at = at,
         failure_message = '', updated_at = at
   WHERE id = payment;
  INSERT INTO payments_paymentevent (tenant_id, payment_id, from_status, to_status, source, at)
  VALUES (posted.tenant_id, payment, from_status, 'succeeded', left(source, 60), at);
  PERFORM payments_issue_receipt(draft, payment, at, receipt_token_hash);
  INSERT INTO payments_paymentnotice (tenant_id, payment_id, receipt_token, at)
  VALUES (posted.tenant_id, payment, receipt_token, at);
  RETURN NEXT posted;
END $$;
